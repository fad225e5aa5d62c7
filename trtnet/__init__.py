"""trtnet: build TensorRT engines layer by layer, with an eager PyTorch twin of every graph."""

from .version import __version__

__all__ = ["__version__"]
