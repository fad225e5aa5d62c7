"""trtnet's own version; the sidecar and build_config.json record it."""

__version__ = "0.1.0"
