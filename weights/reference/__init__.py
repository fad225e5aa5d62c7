"""weights/reference."""
