"""WaveGlow and Denoiser blocks and networks, written with trtnet ops."""
