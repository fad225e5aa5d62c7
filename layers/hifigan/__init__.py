"""HiFi-GAN generator blocks and networks, written with trtnet ops."""
