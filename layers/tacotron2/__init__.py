"""Tacotron 2 blocks and networks, written with trtnet ops."""
