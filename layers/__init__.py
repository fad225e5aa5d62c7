"""trtnet.layers."""
