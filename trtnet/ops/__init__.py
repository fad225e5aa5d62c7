"""trtnet/ops."""
