"""Exceptions of the graph core.  Each message carries the values needed to act on it."""


class GraphError(ValueError):
    """A graph is defined wrongly (unknown dimension, duplicate name, bad op arguments)."""


class DTypeError(GraphError, TypeError):
    """Operands of an op have different or unsupported dtypes (networks are strongly typed)."""


class ShapeError(GraphError):
    """Operand shapes do not fit an op."""


class LoopError(GraphError):
    """A loop body breaks the loop contract (a carried value not updated, a changed dtype or shape)."""


class BuildError(RuntimeError):
    """TensorRT failed to build a plan; ``log`` holds the builder's captured errors and warnings."""

    def __init__(self, message: str, log: list[str] | None = None):
        self.log = list(log or [])
        detail = "\n  ".join(self.log[-20:])
        super().__init__(message + (f"\nTensorRT log:\n  {detail}" if detail else ""))
