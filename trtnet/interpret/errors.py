"""The interpreter's one exception type."""

from __future__ import annotations


class InterpretError(ValueError):
    """A network cannot be interpreted: an unsupported layer, a bad feed, or a value TensorRT would reject
    (a strict slice out of bounds, an iterator past its tensor, a shape that differs from TensorRT's inference).
    ``layer`` names the layer when one is at fault."""

    def __init__(self, message: str, layer: str | None = None):
        self.layer = layer
        super().__init__(f"layer '{layer}': {message}" if layer else message)
