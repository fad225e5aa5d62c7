"""trtnet.weights."""
