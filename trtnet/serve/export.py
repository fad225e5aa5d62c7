"""Write a Triton model repository serving trtnet: ``trtnet_tts/{config.pbtxt, 1/model.py}`` (dynamic batching),
``trtnet_tts_stream/...`` (decoupled: audio chunks as they are ready; left out with ``stream=False``) and a README.

The backend spec (engine directory, or eager networks with their weights resolved to .h5 files now, so server
instances never race to write demo checkpoints) is stored in ``config.pbtxt``'s parameters, its files copied into
the repository and named relative to it (:mod:`.portable`); ``model.py`` is a two-line shim over
:mod:`trtnet.serve.triton_model`, imported from the installed trtnet.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trtnet.engines.spec import BackendSpec

MODEL = "trtnet_tts"
STREAM_MODEL = "trtnet_tts_stream"
AUDIO_DTYPES = {"float32": "TYPE_FP32", "int16": "TYPE_INT16"}

MODEL_PY = '''"""trtnet_tts (written by trtnet export-triton): trtnet's text-to-speech pipeline on each dynamic batch.
See README.md at the top of this model repository for its inputs and outputs."""
import triton_python_backend_utils as pb_utils

from trtnet.serve.triton_model import make_model

TritonPythonModel = make_model(pb_utils)
'''

STREAM_MODEL_PY = '''"""trtnet_tts_stream (written by trtnet export-triton): decoupled; one response per audio chunk of a request.
See README.md at the top of this model repository for its inputs and outputs."""
import triton_python_backend_utils as pb_utils

from trtnet.serve.triton_stream_model import make_stream_model

TritonPythonModel = make_stream_model(pb_utils)
'''


@dataclass(frozen=True)
class BackendFacts:
    kind: str                 # "engine" | "eager"
    max_batch: int
    max_text_len: int
    sampling_rate: int
    hop: int
    description: str


@dataclass(frozen=True)
class ExportOptions:
    max_queue_delay_us: int = 2000
    preferred_batch_sizes: tuple[int, ...] = ()
    instances: int = 1                 # per GPU for engines, on the CPU for eager
    audio_dtype: str = "float32"
    stream: bool = True                # also write the decoupled trtnet_tts_stream model
    extra_parameters: dict[str, str] = field(default_factory=dict)


def backend_spec(spec: BackendSpec) -> tuple[dict[str, Any], BackendFacts]:
    """What the model instances open (a ``BackendSpec.to_dict()``), and the facts the config needs.  Eager
    weights are resolved (demo checkpoints written, checkpoints extracted) now, and the spec names the .h5 files."""
    from trtnet.engines.spec import network_options, resolve_sources
    from trtnet.runtime.acoustic import ACOUSTIC, acoustic_architecture
    from trtnet.runtime.vocoder import VOCODERS, vocoder_architecture
    if spec.emulate:
        raise ValueError("--emulate-engines is for trying the engine path here; Triton serves real engines")
    if spec.engine_dir:
        from trtnet.runtime.engine_dir import read_build_config
        from trtnet.weights.config import CONFIG_CLASSES
        root = Path(spec.engine_dir).resolve()
        cfg = read_build_config(root)
        arch = vocoder_architecture(cfg["hparams"], str(root))
        acoustic = ACOUSTIC[acoustic_architecture(cfg["hparams"])]
        needed = (*acoustic.networks, *VOCODERS[arch].model.runs)
        for name in needed:
            if name not in cfg["engines"]:
                raise ValueError(f"{root} has no {name} engine (built: {sorted(cfg['engines'])}); the server runs "
                                 f"{', '.join(needed)} (+ {VOCODERS[arch].denoiser})")
        wg = CONFIG_CLASSES[arch].from_dict(cfg["hparams"][arch])
        opts = cfg["options"]
        return BackendSpec(engine_dir=str(root), **spec.overrides()).to_dict(), BackendFacts(
            "engine", int(opts["max_batch"]), int(opts["max_text_len"]), wg.sampling_rate, wg.upsample_stride,
            f"TensorRT engines in {root}")
    from trtnet.weights.store import WeightStore
    sources = resolve_sources(spec)
    opts = network_options(spec)
    arch = spec.vocoder_arch
    with WeightStore.open(sources[arch].h5_path, arch) as store:
        wg = store.config
    acoustic = spec.acoustic_arch
    served = BackendSpec(eager_explicit=True, **{acoustic: str(Path(sources[acoustic].h5_path).resolve())},
                         **{arch: str(Path(sources[arch].h5_path).resolve())}, vocoder=arch,
                         cache_dir=None if spec.cache_dir is None else str(Path(spec.cache_dir).resolve()),
                         device=spec.device, precision=spec.precision, dropout=opts.dropout, noise=opts.noise,
                         **spec.overrides())
    return served.to_dict(), BackendFacts("eager", opts.max_batch, opts.max_text_len, wg.sampling_rate,
                                          wg.upsample_stride, f"eager PyTorch twin ({opts.precision}, dropout "
                                          f"{opts.dropout}, noise {opts.noise})")


def _pbtxt_string(value: str) -> str:
    return json.dumps(value)          # a JSON string literal is a valid protobuf text-format string (ASCII)


def _check(facts: BackendFacts, options: ExportOptions) -> None:
    bad = [b for b in options.preferred_batch_sizes if not 1 <= b <= facts.max_batch]
    if bad:
        raise ValueError(f"--preferred-batch-size {bad}: must be within 1..{facts.max_batch} (the max batch)")
    if options.audio_dtype not in AUDIO_DTYPES:
        raise ValueError(f"audio dtype {options.audio_dtype!r}: choose from {sorted(AUDIO_DTYPES)}")


def _io(inputs: list[tuple[str, str, bool]], outputs: list[tuple[str, str, str]]) -> list[str]:
    lines = ["input ["]
    lines += [",\n".join(f'  {{ name: "{n}" data_type: {t} dims: [ 1 ]{" optional: true" if o else ""} }}'
                         for n, t, o in inputs)]
    lines += ["]", "output ["]
    lines += [",\n".join(f'  {{ name: "{n}" data_type: {t} dims: [ {d} ] }}' for n, t, d in outputs), "]"]
    return lines


def _tail(spec: dict[str, Any], facts: BackendFacts, options: ExportOptions) -> list[str]:
    kind = "KIND_GPU" if facts.kind == "engine" else "KIND_CPU"
    params = {"trtnet_backend": json.dumps(spec, sort_keys=True), "engine_dir": spec.get("engine_dir", ""),
              "audio_dtype": options.audio_dtype, "sampling_rate": str(facts.sampling_rate), "hop": str(facts.hop),
              "max_text_len": str(facts.max_text_len), **options.extra_parameters}
    lines = [f"instance_group [ {{ count: {options.instances} kind: {kind} }} ]"]
    lines += [f'parameters: {{ key: "{k}" value: {{ string_value: {_pbtxt_string(v)} }} }}' for k, v in params.items()]
    return lines


INPUTS = [("TEXT", "TYPE_STRING", False)] + [(n, "TYPE_FP32", True) for n in
                                             ("GATE_THRESHOLD", "SIGMA", "DENOISER_STRENGTH")] + [("SEED", "TYPE_INT64", True)]


def config_pbtxt(spec: dict[str, Any], facts: BackendFacts, options: ExportOptions) -> str:
    _check(facts, options)
    preferred = list(options.preferred_batch_sizes)
    lines = [f'name: "{MODEL}"', 'backend: "python"', f"max_batch_size: {facts.max_batch}"]
    lines += _io(INPUTS, [("AUDIO", AUDIO_DTYPES[options.audio_dtype], "-1"), ("MEL_LENGTH", "TYPE_INT32", "1")])
    lines += ["dynamic_batching {"]
    if preferred:
        lines.append(f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]")
    lines += [f"  max_queue_delay_microseconds: {options.max_queue_delay_us}", "}"]
    return "\n".join(lines + _tail(spec, facts, options)) + "\n"


def stream_config_pbtxt(spec: dict[str, Any], facts: BackendFacts, options: ExportOptions) -> str:
    """The decoupled model: batch dimension 1 (the same [1, 1] request tensors as trtnet_tts), no dynamic
    batching, so each instance streams one request at a time."""
    _check(facts, options)
    lines = [f'name: "{STREAM_MODEL}"', 'backend: "python"', "max_batch_size: 1",
             "model_transaction_policy { decoupled: true }"]
    lines += _io(INPUTS + [("CHUNK_FRAMES", "TYPE_INT32", True)],
                 [("AUDIO", AUDIO_DTYPES[options.audio_dtype], "-1"), ("CHUNK_INDEX", "TYPE_INT32", "1"),
                  ("FINAL", "TYPE_BOOL", "1")])
    return "\n".join(lines + _tail(spec, facts, options)) + "\n"


MANIFEST = ".trtnet-export.json"     # what the export wrote at the repository's top level (what --overwrite replaces)


def _written_before(out: Path) -> set[str]:
    try:
        return set(json.loads((out / MANIFEST).read_text())["written"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _check_target(out: Path, names: list[str], overwrite: bool) -> set[str]:
    """The entries of an earlier export that may be replaced; FileExistsError for a non-empty ``out`` without
    ``overwrite``, or for any entry to write that an earlier export did not write (never touched).  Called under
    ``out``'s lock, whose file does not count."""
    from trtnet.files import LOCK_NAME
    present = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)
    if present and not overwrite:
        raise FileExistsError(f"{out} is not empty (holds {', '.join(present[:4])}{', ...' if len(present) > 4 else ''}"
                              "); pass --overwrite to replace what an earlier export wrote there, or choose another -o")
    ours = _written_before(out)
    foreign = [n for n in names if n in present and n not in ours]
    if foreign:
        raise FileExistsError(f"{out / foreign[0]} was not written by trtnet export-triton, so it is left alone; "
                              "move it away or choose another -o")
    return ours & set(present)


def write_repository(out: str | Path, spec: dict[str, Any], facts: BackendFacts, options: ExportOptions, *,
                     overwrite: bool = False) -> Path:
    """A self-contained repository in ``out``: ``trtnet_tts/{config.pbtxt, 1/model.py}`` with the engines or
    weights inside it (:mod:`.portable`), ``trtnet_tts_stream/...`` (unless ``options.stream`` is off: then an
    earlier one is removed), ``README.md`` and the export's manifest; returns ``out``.

    One writer at a time (``out``'s directory lock, taken before anything is checked).  A non-empty ``out`` needs
    ``overwrite``, which replaces only what an earlier export wrote (its manifest), never other files.  Everything
    is built in a temp directory inside ``out`` (``.staging.tmp-<pid>``, removed by the next locked writer if this
    process dies), then the earlier export's entries are removed all or none and the new ones renamed in."""
    from trtnet.files import locked_dir, remove_all_or_none, temp_path
    from .portable import PATH_KEYS, pack_engines, pack_weights
    from .repo_readme import repository_readme
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a directory; choose another -o")
    names = [MANIFEST, MODEL] + ([STREAM_MODEL] if options.stream else []) + ["README.md"]   # manifest first
    with locked_dir(out, "trtnet export-triton"):
        replace = _check_target(out, names, overwrite)
        stage = temp_path(out / "staging")
        stage.mkdir()
        try:
            portable = {k: v for k, v in spec.items() if k != "cache_dir"}
            if spec.get("engine_dir"):
                portable["engine_dir"] = pack_engines(spec["engine_dir"], stage)
            else:
                portable.update(pack_weights({k: spec[k] for k in PATH_KEYS[1:] if spec.get(k)}, stage))
            models = {MODEL: (config_pbtxt(portable, facts, options), MODEL_PY)}
            if options.stream:
                models[STREAM_MODEL] = (stream_config_pbtxt(portable, facts, options), STREAM_MODEL_PY)
            for name, (config, code) in models.items():
                (stage / name / "1").mkdir(parents=True, exist_ok=True)
                (stage / name / "config.pbtxt").write_text(config)
                (stage / name / "1" / "model.py").write_text(code)
            (stage / "README.md").write_text(repository_readme(facts, options))
            (stage / MANIFEST).write_text(json.dumps({"written": names}, indent=1) + "\n")
            remove_all_or_none(out, [out / n for n in sorted(replace)], directories=True)
            for name in names:
                (stage / name).rename(out / name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return out
