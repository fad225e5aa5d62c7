"""trtnet.runtime."""
