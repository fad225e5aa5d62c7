"""Full-model pickles read without running them: inert stand-ins under the exact names the pickles use.

NVIDIA/waveglow's ``train.py`` saves ``{'model': <the WaveGlow object>, 'iteration', 'optimizer',
'learning_rate'}``.  Such a pickle holds class names, plain attributes and tensors only, so torch's
weights-only unpickler can read it once those class names are allowed.  They are allowed here as
**stand-ins**: one empty class per name (:data:`MODULE_CLASSES`, :data:`HOOK_CLASSES`) that only keeps the
state the pickle gives it (``BUILD`` → :meth:`StandIn.__setstate__`, stored as is, never interpreted) and
refuses to be called.  Any other global is still refused by torch, with its name in the error.

The names were read off pickles written by those repositories' classes (``pickletools`` on ``torch.save``
output, zip and legacy): ``glow.WaveGlow``, ``glow.WN``, ``glow.Invertible1x1Conv`` (``glow_old.WaveGlow`` and
``glow_old.WN`` for its per-layer-cond variant, which imports ``Invertible1x1Conv`` from ``glow``), the
``torch.nn`` containers and convolutions, ``torch.nn.utils.weight_norm.WeightNorm`` (the forward pre-hook that
weight norm installs), plus, in pickles from PyTorch before 1.5, ``torch.nn.backends.thnn.
_get_thnn_function_backend`` (every module's ``_backend``, pickled as a call with no arguments).

:func:`module_tensors` walks a stand-in tree into a flat state dict (``WN.0.in_layers.3.weight_v``, ...), the
way ``nn.Module.state_dict`` would: ``_parameters`` and persistent ``_buffers`` of each module, then its
``_modules``.  Other attributes (a cached ``W_inverse``, the derived ``weight`` of a weight-normed conv) are
ignored.
"""

from __future__ import annotations

import contextlib
import pickle
from typing import Any, ClassVar, Iterator, Mapping

import torch

from .errors import CheckpointError

#: Classes a supported full-model pickle may name → the architecture of a root object (None: not a root).
MODULE_CLASSES: dict[str, str | None] = {
    "glow.WaveGlow": "waveglow",
    "glow_old.WaveGlow": "waveglow",
    "glow.WN": None,
    "glow_old.WN": None,
    "glow.Invertible1x1Conv": None,
    "torch.nn.modules.conv.Conv1d": None,
    "torch.nn.modules.conv.ConvTranspose1d": None,
    "torch.nn.modules.container.ModuleList": None,
}
HOOK_CLASSES = ("torch.nn.utils.weight_norm.WeightNorm",)
THNN_BACKEND = "torch.nn.backends.thnn._get_thnn_function_backend"
_MAX_DEPTH = 16  # WaveGlow nests 4 deep; anything deeper is not one of ours (or a cycle)


class StandIn:
    """An object a pickle named: keeps the state it is given, runs nothing.  Subclassed once per name."""

    qualified_name: ClassVar[str] = ""
    __slots__ = ("_pickled_state",)

    def __init__(self, *args: Any, **kwargs: Any):  # reached only by a REDUCE that calls the class
        raise pickle.UnpicklingError(f"the checkpoint calls {self.qualified_name}(...); a saved module is never "
                                     "built by calling its class, so this pickle is refused")

    def __setstate__(self, state: Any) -> None:
        object.__setattr__(self, "_pickled_state", state)  # stored, not interpreted

    @property
    def pickled_state(self) -> Any:
        try:
            return object.__getattribute__(self, "_pickled_state")
        except AttributeError:
            return None

    def __repr__(self) -> str:
        return f"<stand-in {self.qualified_name}>"


class _ThnnBackend:
    """What a pre-1.5 module's ``_backend`` becomes: nothing."""

    __slots__ = ()


def _thnn_backend(*args: Any) -> _ThnnBackend:
    if args:
        raise pickle.UnpicklingError(f"the checkpoint calls {THNN_BACKEND} with arguments {args!r}")
    return _ThnnBackend()


def _stand_in(qualified: str) -> type[StandIn]:
    module, _, name = qualified.rpartition(".")
    return type(name, (StandIn,), {"__module__": module, "__qualname__": name, "__slots__": (),
                                   "qualified_name": qualified})


STAND_INS: dict[str, type[StandIn]] = {n: _stand_in(n) for n in (*MODULE_CLASSES, *HOOK_CLASSES)}
_thnn_backend.__module__, _thnn_backend.__qualname__ = THNN_BACKEND.rpartition(".")[::2]
ALLOWLIST = sorted([*STAND_INS, THNN_BACKEND])


@contextlib.contextmanager
def stand_ins_allowed() -> Iterator[None]:
    """Within: ``torch.load(weights_only=True)`` builds stand-ins for the names in :data:`ALLOWLIST`."""
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    if safe_globals is None:  # torch < 2.5: full-model pickles stay refused, plain checkpoints still load
        yield
        return
    with safe_globals([*STAND_INS.values(), _thnn_backend]):
        yield


def describe(obj: Any) -> str:
    """A short name for a pickled value in messages (never its contents)."""
    return obj.qualified_name if isinstance(obj, StandIn) else f"a {type(obj).__name__}"


def is_module(obj: Any) -> bool:
    return isinstance(obj, StandIn) and obj.qualified_name in MODULE_CLASSES


def root_architecture(obj: Any) -> str | None:
    """``"waveglow"`` for a stand-in of a supported model root, else None."""
    return MODULE_CLASSES.get(obj.qualified_name) if is_module(obj) else None


def _entries(state: Mapping[str, Any], attr: str, where: str, source: str) -> Mapping[Any, Any]:
    value = state.get(attr)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CheckpointError(source, f"{where}.{attr} is a {type(value).__name__}, expected a dict: not a saved "
                                      "torch module")
    return value


def _child_name(name: Any, where: str, source: str) -> str:
    if not isinstance(name, str) or not name or "." in name:
        raise CheckpointError(source, f"{where} has an entry named {name!r}: not a torch module attribute name")
    return name


def _check_hooks(state: Mapping[str, Any], params: Mapping[str, Any], where: str, source: str) -> None:
    """Weight-norm pre-hooks must be dim 0 over existing ``{name}_g``/``{name}_v``; no other pre-hook."""
    for hook in _entries(state, "_forward_pre_hooks", where, source).values():
        if not (isinstance(hook, StandIn) and hook.qualified_name in HOOK_CLASSES):
            raise CheckpointError(source, f"{where} has a forward pre-hook {describe(hook)}; only "
                                          f"{', '.join(HOOK_CLASSES)} is supported")
        hs = hook.pickled_state if isinstance(hook.pickled_state, Mapping) else {}
        name, dim = hs.get("name"), hs.get("dim")
        if not isinstance(name, str) or f"{name}_g" not in params or f"{name}_v" not in params:
            raise CheckpointError(source, f"{where}: weight norm on {name!r}, but {where} has no "
                                          f"{name}_g/{name}_v parameters")
        if dim != 0:
            raise CheckpointError(source, f"{where}.{name}: weight norm over dim {dim!r}, expected 0 (per output "
                                          "channel, as torch's weight_norm default)")


def module_tensors(root: Any, source: str, prefix: str = "") -> dict[str, torch.Tensor]:
    """Flat ``state_dict`` of a stand-in module tree (parameters and persistent buffers, dotted keys)."""
    out: dict[str, torch.Tensor] = {}
    _walk(root, prefix, out, source, depth=0)
    return out


def _walk(obj: Any, prefix: str, out: dict[str, torch.Tensor], source: str, depth: int) -> None:
    where = prefix[:-1] or "the model"
    if depth > _MAX_DEPTH:
        raise CheckpointError(source, f"{where}: modules nested more than {_MAX_DEPTH} deep (a cycle?)")
    state = obj.pickled_state
    if not isinstance(state, Mapping):
        raise CheckpointError(source, f"{where} ({obj.qualified_name}) has no saved attributes")
    params = _entries(state, "_parameters", where, source)
    skip = state.get("_non_persistent_buffers_set")
    skip = skip if isinstance(skip, (set, frozenset)) else set()
    tensors = [*params.items(), *((n, b) for n, b in _entries(state, "_buffers", where, source).items()
                                  if n not in skip)]
    for name, value in tensors:
        name = _child_name(name, where, source)
        if value is None:
            continue
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(source, f"{prefix}{name} is a {type(value).__name__}, not a tensor")
        out[f"{prefix}{name}"] = value
    _check_hooks(state, params, where, source)
    for name, child in _entries(state, "_modules", where, source).items():
        name = _child_name(name, where, source)
        if child is None:
            continue
        if not is_module(child):
            raise CheckpointError(source, f"{prefix}{name} is {describe(child)}, expected one of the module classes "
                                          f"{sorted(MODULE_CLASSES)}")
        _walk(child, f"{prefix}{name}.", out, source, depth + 1)
