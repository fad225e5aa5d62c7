"""trtnet/backends."""
