"""BackendSpec: what to run, as plain typed data; ``open_backend(spec, names)`` opens it.

A backend is either the TensorRT engines of an engine directory (``engine_dir``; ``emulate`` runs them on
trtnet.emulate's TensorRT stand-in) or the eager PyTorch twin of the same networks over model weights
(``tacotron2`` and one vocoder: a DLE checkpoint or an extracted .h5 each; ``None`` = the built-in demo weights of
``demo_size``, cached under ``cache_dir``).  The CLI's backend flags map one to one onto the fields
(``tools/common.py`` turns argparse into a spec); the Triton models read a spec back from ``to_dict()``::

    from trtnet.engines.spec import BackendSpec, open_backend
    spec = BackendSpec(engine_dir="engines")                     # or BackendSpec(tacotron2="t2.pt", waveglow="wg.pt")
    with open_backend(spec, PIPELINE) as b:          # network names, or the roles "vocoder", "vocoder-denoiser"
        pipe = Pipeline(b.sessions, t2_config=b.t2_config, vocoder_config=b.vocoder_config, limits=b.limits,
                        settings=b.settings)

Run-time overrides (``gate_threshold``, ``sigma``, ``denoiser_strength``, ``max_decoder_steps``, ``seed``,
``text_frontend``): ``None`` means the engines' build defaults, else the model configs' (DLE's).  ``dropout`` / ``noise``: the eager mode
(default in-engine); for engines they must equal the build's (``None`` accepts it).  Nothing here imports torch
until an eager backend is opened, nor TensorRT until engines are.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from trtnet.models import ACOUSTIC_KIND, VOCODER_KIND, architectures

VOCODER_ARCHS = architectures(VOCODER_KIND)       # the first is the default
ACOUSTIC_ARCHS = architectures(ACOUSTIC_KIND)
#: The run-time overrides: settings a request-independent caller may change without rebuilding anything.
RUNTIME_OVERRIDES = ("gate_threshold", "sigma", "denoiser_strength", "max_decoder_steps", "text_frontend", "pace",
                     "pitch_scale", "pitch_shift")
PIPELINE = ("encoder", "decoder-loop", "postnet", "vocoder", "vocoder-denoiser")   # text to audio (vocoder roles)


@dataclass(frozen=True)
class BackendSpec:
    engine_dir: str | None = None        # run these TensorRT engines (else the eager twin)
    emulate: bool = False                # engine_dir on the TensorRT emulator (no speed figures)
    tacotron2: str | None = None         # eager: DLE checkpoint or .h5, URL or published name (None: demo)
    fastpitch: str | None = None         # the acoustic model instead of Tacotron 2 (checkpoint or .h5)
    acoustic: str | None = None          # "tacotron2" | "fastpitch" when no acoustic weights are given
    waveglow: str | None = None
    hifigan: str | None = None
    vocoder: str | None = None           # "waveglow" | "hifigan" when no vocoder weights are given (default waveglow)
    demo_size: str = "full"              # "full" | "small": the demo models used where no weights are given
    cache_dir: str | None = None         # weights cache (None: $TRTNET_CACHE, else ~/.cache/trtnet)
    device: str = "cpu"                  # eager: torch device
    precision: str = "fp32"              # eager: "fp32" | "fp16" (engines run their build precision)
    dropout: str | None = None           # "in-engine" | "input" | "off"
    noise: str | None = None             # "in-engine" | "input"
    alignments: bool = False             # eager: the decoder also returns alignments
    gate_threshold: float | None = None  # run-time overrides: None = engines' build default, else the model's
    sigma: float | None = None
    denoiser_strength: float | None = None
    max_decoder_steps: int | None = None
    seed: int = 0                        # fed randomness per line, eager random fills
    text_frontend: str | None = None     # runtime.text front end: default | dle | nemo (None: the default)
    eager_explicit: bool = False         # the eager twin was asked for (only changes the description)
    pace: float | None = None            # FastPitch: durations / pace (None: 1.0, DLE's default)
    pitch_scale: float | None = None     # FastPitch: pitch · scale + shift Hz (None: 1.0 and 0.0)
    pitch_shift: float | None = None

    def __post_init__(self) -> None:
        if self.emulate and not self.engine_dir:
            raise ValueError("--emulate-engines emulates the engines of --engine-dir DIR; give --engine-dir")
        if self.engine_dir and self.eager_explicit:
            raise ValueError("give --engine-dir or --backend eager, not both")

    def _selected(self, archs: tuple[str, ...], choice: str, kind: str) -> str:
        """The one of ``archs`` whose weights are given, else the ``choice`` field, else ``archs[0]``; a
        ValueError for two given or a choice that contradicts the given one."""
        given = [a for a in archs if getattr(self, a)]
        if len(given) > 1:
            raise ValueError(f"give one {kind}: {' or '.join('--' + a for a in archs)}, not both")
        chosen = getattr(self, choice)
        if given and chosen and chosen != given[0]:
            raise ValueError(f"--{choice} {chosen} contradicts --{given[0]} {getattr(self, given[0])}")
        return given[0] if given else chosen or archs[0]

    @property
    def vocoder_arch(self) -> str:
        """The vocoder selected: the one whose weights are given, else ``vocoder``, else WaveGlow."""
        return self._selected(VOCODER_ARCHS, "vocoder", "vocoder")

    @property
    def acoustic_arch(self) -> str:
        """The acoustic model selected: the one whose weights are given, else ``acoustic``, else Tacotron 2."""
        return self._selected(ACOUSTIC_ARCHS, "acoustic", "acoustic model")

    def weights(self, arch: str) -> str | None:
        return getattr(self, arch)

    def overrides(self) -> dict[str, Any]:
        """The run-time overrides it sets (``RUNTIME_OVERRIDES`` that are not None)."""
        return {f: getattr(self, f) for f in RUNTIME_OVERRIDES if getattr(self, f) is not None}

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from the defaults (JSON-ready; ``from_dict`` reads it back)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != f.default}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "BackendSpec":
        """A spec from ``to_dict()`` output; unknown keys are an error naming them.  (Repositories exported before
        the spec existed wrote ``backend: eager`` and ``emulate_engines``: both are read.)"""
        d = dict(d)
        if d.pop("backend", None) == "eager":
            d["eager_explicit"] = True
        if "emulate_engines" in d:
            d["emulate"] = bool(d.pop("emulate_engines"))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"backend spec: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


@dataclass
class OpenBackend:
    """An opened backend: sessions by network name (``run(feeds) -> outputs``), model configs, profile limits,
    the dropout / noise modes it runs, runtime defaults, the run-time settings the spec selects, and ``close``."""

    kind: str                            # "engine" | "emulated engine" | "eager"
    sessions: dict
    t2_config: Any
    vocoder_config: Any
    limits: Any                          # trtnet.runtime.pipeline.Limits
    dropout: str
    noise: str
    defaults: dict                       # engines: build_config.json runtime_defaults; eager: from flags / models
    close: Callable[[], None]
    description: str = ""                # one line: what runs (backend, precision, device, models), for the user
    settings: Any = None                 # trtnet.runtime.pipeline.Settings

    def __enter__(self) -> "OpenBackend":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def resolve_sources(spec: BackendSpec, need: Iterable[str] | None = None, *, progress: Any = None) -> dict:
    """The weights (``trtnet.weights.sources.WeightSource``) of each architecture in ``need`` (default: Tacotron 2
    and the selected vocoder): the given checkpoint / .h5 (a URL or published name downloaded first, reporting
    to ``progress``, ``trtnet.weights.remote``'s), or the demo, via the cache."""
    from trtnet.weights.cache import cache_dir
    from trtnet.weights.download import no_progress
    from trtnet.weights.remote import locate
    from trtnet.weights.sources import resolve
    need = (spec.acoustic_arch, spec.vocoder_arch) if need is None else tuple(need)
    cache = cache_dir(spec.cache_dir)
    if any(spec.weights(a) is None or not str(spec.weights(a)).endswith((".h5", ".hdf5")) for a in need):
        logging.getLogger("trtnet").info("weights cache: %s (--cache-dir or $TRTNET_CACHE moves it)", cache)

    def local(a: str) -> Any:
        given = spec.weights(a)
        return None if given is None else locate(given, cache, model=a, flag=f"--{a}",
                                                 progress=progress or no_progress)
    return {a: resolve(local(a), a, cache, demo_size=spec.demo_size) for a in sorted(need)}


def runtime_defaults(spec: BackendSpec, sources: Mapping[str, Any]) -> dict[str, Any]:
    """gate_threshold / max_decoder_steps and the vocoder's settings (sigma, denoiser_strength): the spec's
    overrides, else the models' configs."""
    from trtnet.runtime.vocoder import VOCODERS
    from trtnet.weights.store import WeightStore
    out: dict[str, Any] = {}
    fields_of = {"tacotron2": ("gate_threshold", "max_decoder_steps"), **{a: v.settings for a, v in VOCODERS.items()}}
    out.update({f: getattr(spec, f) for f in ("pace", "pitch_scale", "pitch_shift") if getattr(spec, f) is not None})
    for arch, fields in fields_of.items():
        if arch not in sources:
            continue
        with WeightStore.open(sources[arch].h5_path, arch) as store:
            for f in fields:
                given = getattr(spec, f)
                out[f] = given if given is not None else getattr(store.config, f)
    return out


def network_options(spec: BackendSpec, **changes: Any):
    """The eager twin's network options: its profile limits (batch, tokens) are the defaults engines are built
    with, so eager and engines accept the same inputs.  ``changes`` replace fields (e.g. ``max_batch``)."""
    from trtnet.layers.options import NetworkOptions
    return NetworkOptions(precision=spec.precision, dropout=spec.dropout or "in-engine",
                          noise=spec.noise or "in-engine", max_decoder_steps=spec.max_decoder_steps,
                          alignments=spec.alignments, **changes)


def text_limits(spec: BackendSpec) -> tuple[int, int]:
    """(max batch, max tokens per line) of the backend ``spec`` selects, known before any model is loaded."""
    if spec.engine_dir:
        from trtnet.runtime.engine_dir import read_build_config
        opts = read_build_config(Path(spec.engine_dir))["options"]
        return int(opts["max_batch"]), int(opts["max_text_len"])
    opts = network_options(spec)
    return opts.max_batch, opts.max_text_len


def open_backend(spec: BackendSpec, names: tuple[str, ...], *, sources: Mapping[str, Any] | None = None,
                 options: Any = None, progress: Any = None, downloads: Any = None) -> OpenBackend:
    """Open the sessions named ``names`` (network names, or the roles "vocoder" / "vocoder-denoiser") of the
    engine directory, or eager twins over the spec's weights (``sources``: already resolved ones; ``options``:
    NetworkOptions other than ``network_options(spec)``).  Bad specs raise ValueError naming the field.
    ``progress``: a ``runtime.progress.ProgressHook`` told of each engine load and each network run;
    ``downloads``: downloads' progress, see :func:`resolve_sources`."""
    from trtnet.runtime.progress import observe
    if spec.engine_dir:
        b = open_engines(spec, names, progress=progress)
    else:
        b = open_eager(spec, names, sources=sources, options=options, downloads=downloads)
    b.sessions = observe(b.sessions, progress)
    return b


def open_engines(spec: BackendSpec, names: tuple[str, ...] | None = None, *, progress: Any = None) -> OpenBackend:
    """The engines ``names`` (default: all) of ``spec.engine_dir``; the build's dropout / noise must match."""
    from trtnet.runtime.engine_dir import open_engine_dir
    d = open_engine_dir(spec.engine_dir, names, provider=engine_provider(spec), progress=progress)
    for flag in ("dropout", "noise"):
        built, asked = d.options[flag], getattr(spec, flag)
        if asked not in (None, built):
            d.close()
            raise ValueError(f"--{flag} {asked}: the engines in {spec.engine_dir} were built with --{flag} {built}; "
                             "rebuild them to change it")
    side = next(iter(d.sidecars.values()), None)
    built = f"{side.flavor} {side.trt_version}, " if side is not None else ""
    what = (f"{'emulated TensorRT engines (no speed figures)' if spec.emulate else 'TensorRT engines'} in "
            f"{spec.engine_dir} ({built}{d.options.get('precision', '?')}, dropout {d.options['dropout']}, "
            f"noise {d.options['noise']})")
    b = OpenBackend("emulated engine" if spec.emulate else "engine", d.sessions, d.t2_config, d.vocoder_config,
                    d.limits, d.options["dropout"], d.options["noise"], d.defaults, d.close, what)
    b.settings = settings_for(spec, b)
    return b


def engine_provider(spec: BackendSpec) -> Any:
    """What runs the engines instead of TensorRT: ``trtnet.emulate.Emulator()`` with ``emulate``, else None."""
    if not spec.emulate:
        return None
    from trtnet.emulate import Emulator
    return Emulator()


def open_eager(spec: BackendSpec, names: tuple[str, ...], *, sources: Mapping[str, Any] | None = None,
               options: Any = None, downloads: Any = None) -> OpenBackend:
    """Eager twins of ``names`` over the spec's weights (``spec.engine_dir`` is not looked at: bench opens both);
    ``downloads``: downloads' progress (:func:`resolve_sources`); ``close`` closes the weight stores."""
    from trtnet.engines.eager import eager_sessions
    from trtnet.runtime.acoustic import ACOUSTIC
    from trtnet.runtime.pipeline import Limits
    from trtnet.runtime.vocoder import VOCODERS
    from trtnet.weights.store import WeightStore
    sources = resolve_sources(spec, progress=downloads) if sources is None else sources
    opts = network_options(spec) if options is None else options
    voc, acoustic = VOCODERS[spec.vocoder_arch], ACOUSTIC[spec.acoustic_arch]
    names = acoustic.resolve(voc.resolve(names))
    stores = {arch: WeightStore.open(src.h5_path, arch) for arch, src in sources.items()}
    t2, wg = stores[acoustic.architecture].config, stores[voc.architecture].config
    limits = Limits(max_batch=opts.max_batch, max_text_len=opts.max_text_len, max_decoder_steps=opts.steps_cap(t2))
    sessions = eager_sessions(stores, opts, names, device=spec.device, seed=spec.seed)

    def close() -> None:
        for s in stores.values():
            s.close()
    weights = ", ".join(f"{arch} {src.h5_path}" + (" (demo, random weights)" if src.demo else "")
                        for arch, src in sorted(sources.items()))
    what = (f"eager twin (PyTorch on {spec.device}, {opts.precision}, dropout {opts.dropout}, noise {opts.noise})"
            + ("" if spec.eager_explicit else ", the default without --engine-dir") + f"; weights: {weights}")
    b = OpenBackend("eager", sessions, t2, wg, limits, opts.dropout, opts.noise, runtime_defaults(spec, sources),
                    close, what)
    b.settings = settings_for(spec, b)
    return b


def settings_for(spec: BackendSpec, backend: OpenBackend):
    """Run-time settings: the spec's overrides, else the engines' build defaults, else the model configs (DLE)."""
    from trtnet.runtime.pipeline import Settings
    from trtnet.runtime.text import DEFAULT_FRONTEND
    t2, wg, d = backend.t2_config, backend.vocoder_config, backend.defaults

    def pick(name: str, model: Any) -> Any:
        """The override, else the engines' build default, else the model's (0 for a setting the model lacks:
        HiFi-GAN has no sigma)."""
        v = getattr(spec, name)
        return v if v is not None else d.get(name, getattr(model, name, 0.0))
    # FastPitch has no decoder steps: its mel frame bound (max_frames) is the engines' / the profile's cap
    return Settings(max_decoder_steps=int(pick("max_decoder_steps", t2) or backend.limits.max_decoder_steps),
                    gate_threshold=float(pick("gate_threshold", t2)), sigma=float(pick("sigma", wg)),
                    denoiser_strength=float(pick("denoiser_strength", wg)), dropout=backend.dropout,
                    noise=backend.noise, seed=int(spec.seed or 0),
                    text_frontend=spec.text_frontend or DEFAULT_FRONTEND,
                    **{f: float(pick(f, Settings)) for f in ("pace", "pitch_scale", "pitch_shift")})
