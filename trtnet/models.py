"""The one registry of model architectures: the networks built from each one's weights and the roles they play.

Plain data, in the base layer, so that every layer above derives from it rather than naming networks again:
``layers/networks.py`` defines exactly these networks (each one's architecture is looked up here),
``runtime/acoustic.py`` and ``runtime/vocoder.py`` take their network names and roles from it, the engine set its
defaults, ``verify/references.py`` its list of vocoder references, and the Triton export the networks a server
runs and the weight files it packs (one per architecture, named after it).

Roles are the names a caller may use for "whichever model is in the set": a vocoder plays ``vocoder`` and
``vocoder-denoiser``; an acoustic model plays Tacotron 2's network names (FastPitch's one network plays all of
them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

ACOUSTIC_KIND, VOCODER_KIND = "acoustic", "vocoder"
#: The role names of a vocoder (its network, its denoiser).
VOCODER_ROLES = ("vocoder", "vocoder-denoiser")


@dataclass(frozen=True)
class Model:
    """One architecture: its kind, every network built from its weights, what a synthesis runs, what
    ``build-engines`` builds by default, and the roles its networks play (role → networks)."""

    architecture: str                       # the weights' architecture (and the weights' flag / file name)
    title: str                              # its name for people ("Tacotron 2")
    kind: str                               # ACOUSTIC_KIND | VOCODER_KIND
    networks: tuple[str, ...]               # every network of layers/networks.py built from these weights
    runs: tuple[str, ...]                   # what a synthesis runs (the Triton server needs these engines)
    engines: tuple[str, ...]                # build-engines' default
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        named = {*self.runs, *self.engines, *(n for ns in self.roles.values() for n in ns)}
        if not named <= set(self.networks):
            raise ValueError(f"{self.architecture}: {sorted(named - set(self.networks))} are not among its networks "
                             f"{list(self.networks)}")

    def resolve(self, names: Sequence[str]) -> tuple[str, ...]:
        """``names`` with each role replaced by the networks that play it (each network once, order kept)."""
        out: list[str] = []
        for n in names:
            for m in self.roles.get(n, (n,)):
                if m not in out:
                    out.append(m)
        return tuple(out)

    def role(self, name: str) -> str:
        """The one network that plays role ``name``."""
        (network,) = self.roles[name]
        return network


_TACOTRON2 = ("encoder", "decoder-loop", "decoder-step", "decoder-chunk", "postnet", "fused")
MODELS: dict[str, Model] = {m.architecture: m for m in (
    Model("tacotron2", "Tacotron 2", ACOUSTIC_KIND, _TACOTRON2, ("encoder", "decoder-loop", "postnet"),
          ("encoder", "decoder-loop", "decoder-step", "postnet")),
    Model("fastpitch", "FastPitch", ACOUSTIC_KIND, ("fastpitch",), ("fastpitch",), ("fastpitch",),
          {n: ("fastpitch",) for n in _TACOTRON2}),
    Model("waveglow", "WaveGlow", VOCODER_KIND, ("waveglow", "denoiser"), ("waveglow",), ("waveglow", "denoiser"),
          {"vocoder": ("waveglow",), "vocoder-denoiser": ("denoiser",)}),
    Model("hifigan", "HiFi-GAN", VOCODER_KIND,
          ("hifigan", "hifigan-denoiser"), ("hifigan",), ("hifigan", "hifigan-denoiser"),
          {"vocoder": ("hifigan",), "vocoder-denoiser": ("hifigan-denoiser",)}),
)}
#: Tacotron 2's network names: the roles every acoustic model plays.
ACOUSTIC_ROLES = _TACOTRON2


def models(kind: str) -> tuple[Model, ...]:
    """The registered models of ``kind`` (ACOUSTIC_KIND or VOCODER_KIND), in registry order."""
    return tuple(m for m in MODELS.values() if m.kind == kind)


def architectures(kind: str) -> tuple[str, ...]:
    """The architectures of ``kind``, in registry order (the first one is the default)."""
    return tuple(m.architecture for m in models(kind))


def architecture_of(network: str) -> str:
    """The architecture whose weights build ``network`` (a KeyError naming the known networks if none)."""
    for m in MODELS.values():
        if network in m.networks:
            return m.architecture
    raise KeyError(f"unknown network {network!r}; known: {sorted(n for m in MODELS.values() for n in m.networks)}")


def all_networks() -> tuple[str, ...]:
    """Every registered network, in registry order."""
    return tuple(n for m in MODELS.values() for n in m.networks)


def check_covers(table: str, have: Iterable[str], registered: Iterable[str]) -> None:
    """An ImportError naming what ``table`` (a module's own list keyed by architecture or network) lacks of the
    ``registered`` names, or holds beyond them: every module that keeps such a list checks it at import."""
    have, registered = set(have), set(registered)
    if have != registered:
        raise ImportError(f"{table} lacks {sorted(registered - have)} and has {sorted(have - registered)} beyond "
                          f"what trtnet.models registers ({sorted(registered)})")
