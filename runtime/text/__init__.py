"""runtime/text."""
