"""Exceptions of ``trtnet.weights``.  Each carries its values (file, key, expected, actual) as attributes, and
its message names them, so the CLI can print one clear line.  All derive from :class:`WeightsError`
(a ``ValueError``)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence


def _short(items: Sequence[Any], limit: int = 12) -> str:
    """``a, b, c`` listing at most ``limit`` items, then ``... (+N more)``."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")


class WeightsError(ValueError):
    """Base class: something about a checkpoint, a weights file or a weight store is wrong."""


class CheckpointError(WeightsError):
    """A checkpoint file is missing, unreadable, or holds no state_dict; names the file and what was found."""

    def __init__(self, path: str, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path}: {problem}")


class UnsafeCheckpointError(CheckpointError):
    """The pickle needs globals that ``torch.load(weights_only=True)`` refuses; it was not executed."""


class ArchitectureError(WeightsError):
    """The state_dict is not the architecture that was asked for, or none could be recognised."""

    def __init__(self, source: str, message: str, found: str | None = None, wanted: str | None = None):
        self.source, self.found, self.wanted = source, found, wanted
        super().__init__(f"{source}: {message}")


class HParamMismatchError(WeightsError):
    """Hyper-parameters inferred from the tensor shapes disagree with a given config (checkpoint or override).

    ``mismatches`` holds ``(field, inferred, given)`` triples.
    """

    def __init__(self, source: str, given_by: str, mismatches: Sequence[tuple[str, Any, Any]], *,
                 against: str = "the tensor shapes", known_as: str = "inferred"):
        self.source, self.given_by, self.mismatches = source, given_by, list(mismatches)
        detail = "; ".join(f"{f}: {known_as} {a!r}, {given_by} {b!r}" for f, a, b in self.mismatches)
        super().__init__(f"{source}: the {given_by} disagrees with {against}: {detail}")


class WeightKeysError(WeightsError):
    """A set of tensors does not match the expected schema: missing keys, unexpected keys, wrong shapes.

    ``mismatched`` holds ``(key, expected_shape, actual_shape)`` triples.
    """

    def __init__(self, source: str, missing: Iterable[str] = (), unexpected: Iterable[str] = (),
                 mismatched: Iterable[tuple[str, tuple, tuple]] = (), context: str = ""):
        self.source = source
        self.missing, self.unexpected = sorted(missing), sorted(unexpected)
        self.mismatched = sorted(mismatched)
        parts = []
        if self.missing:
            parts.append(f"missing keys ({len(self.missing)}): {_short(self.missing)}")
        if self.unexpected:
            parts.append(f"unexpected keys ({len(self.unexpected)}): {_short(self.unexpected)}")
        if self.mismatched:
            shapes = [f"{k} expected {tuple(e)} got {tuple(a)}" for k, e, a in self.mismatched]
            parts.append(f"shape mismatches ({len(shapes)}): {_short(shapes)}")
        super().__init__(f"{source}: {context + ': ' if context else ''}{'; '.join(parts)}")


EXTRACT_ANYWAY = "use --allow-nonfinite / allow_nonfinite=True to extract anyway"


class NonFiniteWeightError(WeightsError):
    """NaN or Inf values in the named tensors (``counts`` maps key → number of non-finite values); ``hint``
    says what to do (extraction: how to extract anyway; an opened file: re-extract from finite weights)."""

    def __init__(self, source: str, counts: dict[str, int], hint: str = EXTRACT_ANYWAY):
        self.source, self.counts, self.hint = source, dict(counts), hint
        listed = [f"{k} ({n})" for k, n in sorted(self.counts.items())]
        super().__init__(f"{source}: NaN/Inf values in {len(listed)} tensor(s): {_short(listed)} ({hint})")


class WeightsFormatError(WeightsError):
    """A weights HDF5 file has a wrong format version, architecture or root attribute; names the file."""

    def __init__(self, path: str, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path}: {problem}")


class ContentHashError(WeightsFormatError):
    """A weights file's tensors or config differ from the ``content_sha256`` written at extraction (edited or
    corrupt), or the file has no such attribute (written before trtnet recorded one)."""

    def __init__(self, path: str, problem: str, expected: str | None = None, actual: str | None = None):
        self.expected, self.actual = expected, actual
        super().__init__(path, problem)


class WrongArchitectureError(WeightsFormatError):
    """A weights file holds the other model (a WaveGlow file where Tacotron 2 is wanted, or the reverse)."""

    def __init__(self, path: str, found: str, wanted: str):
        self.found, self.wanted = found, wanted
        WeightsError.__init__(self, f"{path} holds {found} weights; --{wanted} needs {wanted} weights "
                                    f"(were the two files swapped?)")
        self.path, self.problem = str(path), f"holds {found} weights, not {wanted}"


class SymbolTableError(WeightsError):
    """The embedding's row count differs from the text front end's symbol table (token ids would overflow)."""

    def __init__(self, source: str, rows: int, symbols: int, *, key: str = "embedding.weight",
                 model: str = "Tacotron 2"):
        self.source, self.rows, self.symbols = source, rows, symbols
        super().__init__(f"{source}: {key} has {rows} rows but the text front end has {symbols} "
                         f"symbols; this {model} was trained with another symbol set, which trtnet does not "
                         f"support")


class SingularWeightError(WeightsError):
    """A WaveGlow 1×1 convolution weight cannot be inverted, so no inverse flow exists."""

    def __init__(self, source: str, key: str, detail: str = "singular matrix"):
        self.source, self.key, self.detail = source, key, detail
        super().__init__(f"{source}: {key} is not invertible ({detail}); WaveGlow needs an invertible 1x1 "
                         f"convolution: the checkpoint is corrupt")


class OutputPathError(WeightsError):
    """An output path cannot be used: it is the input itself, it exists (and overwriting was not asked for),
    or its directory cannot be created or written."""

    def __init__(self, path: str, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path}: {problem}")


class MissingWeightError(WeightsError):
    """A key read from a WeightStore does not exist; names the key, the store, and close matches."""

    def __init__(self, key: str, store: str, close: Sequence[str] = ()):
        self.key, self.store, self.close = key, store, list(close)
        hint = f"; close matches: {', '.join(self.close)}" if self.close else ""
        super().__init__(f"{store}: no weight {key!r}{hint}")


class WeightShapeError(WeightsError):
    """A weight's shape is not the one the caller expects."""

    def __init__(self, key: str, store: str, expected: tuple, actual: tuple):
        self.key, self.store, self.expected, self.actual = key, store, tuple(expected), tuple(actual)
        super().__init__(f"{store}: weight {key!r} has shape {self.actual}, expected {self.expected}")


class UnusedWeightError(WeightsError):
    """Weights that exist in the store but were never read while building a network."""

    def __init__(self, store: str, keys: Sequence[str]):
        self.store, self.keys = store, list(keys)
        super().__init__(f"{store}: {len(self.keys)} weight(s) never read: {_short(self.keys)}"
                         " (pass allow_unused / --allow-unused to only warn)")
