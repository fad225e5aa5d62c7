"""trtnet.tools."""
