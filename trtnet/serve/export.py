"""Write a Triton model repository serving trtnet: ``trtnet_tts/{config.pbtxt, 1/model.py}`` and a README.

The backend spec (engine directory, or eager networks with their weights resolved to .h5 files now, so server
instances never race to write demo checkpoints) is stored in ``config.pbtxt``'s parameters; ``model.py`` is a
two-line shim over :mod:`trtnet.serve.triton_model`, imported from the installed trtnet.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL = "trtnet_tts"
AUDIO_DTYPES = {"float32": "TYPE_FP32", "int16": "TYPE_INT16"}

MODEL_PY = '''"""trtnet_tts (written by trtnet export-triton): trtnet's text-to-speech pipeline on each dynamic batch.
See README.md at the top of this model repository for its inputs and outputs."""
import triton_python_backend_utils as pb_utils

from trtnet.serve.triton_model import make_model

TritonPythonModel = make_model(pb_utils)
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
    extra_parameters: dict[str, str] = field(default_factory=dict)


def backend_spec(args: argparse.Namespace) -> tuple[dict[str, Any], BackendFacts]:
    """What the model instances open (the ``open_backend`` arguments), and the facts the config needs, from the
    CLI's backend flags.  Eager weights are resolved (demo checkpoints written, checkpoints extracted) now."""
    from trtnet.runtime.vocoder import VOCODERS, vocoder_architecture
    from trtnet.tools.common import check_emulate, eager_options, resolve_sources, vocoder_arch
    if check_emulate(args):
        raise ValueError("--emulate-engines is for trying the engine path here; Triton serves real engines")
    if args.engine_dir:
        from trtnet.runtime.engine_dir import read_build_config
        from trtnet.weights.config import CONFIG_CLASSES
        root = Path(args.engine_dir).resolve()
        cfg = read_build_config(root)
        arch = vocoder_architecture(cfg["hparams"])
        needed = ("encoder", "decoder-loop", "postnet", VOCODERS[arch].network)
        for name in needed:
            if name not in cfg["engines"]:
                raise ValueError(f"{root} has no {name} engine (built: {sorted(cfg['engines'])}); the server runs "
                                 f"{', '.join(needed)} (+ {VOCODERS[arch].denoiser})")
        wg = CONFIG_CLASSES[arch].from_dict(cfg["hparams"][arch])
        opts = cfg["options"]
        spec = {"engine_dir": str(root)}
        return spec, BackendFacts("engine", int(opts["max_batch"]), int(opts["max_text_len"]), wg.sampling_rate,
                                  wg.upsample_stride, f"TensorRT engines in {root}")
    from trtnet.weights.store import WeightStore
    sources = resolve_sources(args)
    opts = eager_options(args)
    arch = vocoder_arch(args)
    with WeightStore.open(sources[arch].h5_path, arch) as store:
        wg = store.config
    spec = {"backend": "eager", "tacotron2": str(Path(sources["tacotron2"].h5_path).resolve()),
            arch: str(Path(sources[arch].h5_path).resolve()), "vocoder": arch,
            "cache_dir": None if args.cache_dir is None else str(Path(args.cache_dir).resolve()),
            "device": args.device, "precision": args.precision, "dropout": opts.dropout, "noise": opts.noise,
            **{k: getattr(args, k) for k in ("gate_threshold", "sigma", "denoiser_strength")
               if getattr(args, k, None) is not None}}
    return spec, BackendFacts("eager", opts.max_batch, opts.max_text_len, wg.sampling_rate, wg.upsample_stride,
                              f"eager PyTorch twin ({opts.precision}, dropout {opts.dropout}, noise {opts.noise})")


def _pbtxt_string(value: str) -> str:
    return json.dumps(value)          # a JSON string literal is a valid protobuf text-format string (ASCII)


def config_pbtxt(spec: dict[str, Any], facts: BackendFacts, options: ExportOptions) -> str:
    preferred = [b for b in options.preferred_batch_sizes]
    bad = [b for b in preferred if not 1 <= b <= facts.max_batch]
    if bad:
        raise ValueError(f"--preferred-batch-size {bad}: must be within 1..{facts.max_batch} (the max batch)")
    if options.audio_dtype not in AUDIO_DTYPES:
        raise ValueError(f"audio dtype {options.audio_dtype!r}: choose from {sorted(AUDIO_DTYPES)}")
    kind = "KIND_GPU" if facts.kind == "engine" else "KIND_CPU"
    params = {"trtnet_backend": json.dumps(spec, sort_keys=True), "engine_dir": spec.get("engine_dir", ""),
              "audio_dtype": options.audio_dtype, "sampling_rate": str(facts.sampling_rate), "hop": str(facts.hop),
              "max_text_len": str(facts.max_text_len), **options.extra_parameters}
    inputs = [("TEXT", "TYPE_STRING", False)] + [(n, "TYPE_FP32", True) for n in
                                                 ("GATE_THRESHOLD", "SIGMA", "DENOISER_STRENGTH")] + [("SEED", "TYPE_INT64", True)]
    lines = [f'name: "{MODEL}"', 'backend: "python"', f"max_batch_size: {facts.max_batch}", "input ["]
    lines += [",\n".join(f'  {{ name: "{n}" data_type: {t} dims: [ 1 ]{" optional: true" if o else ""} }}'
                         for n, t, o in inputs)]
    lines += ["]", "output [", f'  {{ name: "AUDIO" data_type: {AUDIO_DTYPES[options.audio_dtype]} dims: [ -1 ] }},',
              '  { name: "MEL_LENGTH" data_type: TYPE_INT32 dims: [ 1 ] }', "]", "dynamic_batching {"]
    if preferred:
        lines.append(f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]")
    lines += [f"  max_queue_delay_microseconds: {options.max_queue_delay_us}", "}",
              f"instance_group [ {{ count: {options.instances} kind: {kind} }} ]"]
    lines += [f'parameters: {{ key: "{k}" value: {{ string_value: {_pbtxt_string(v)} }} }}' for k, v in params.items()]
    return "\n".join(lines) + "\n"


def write_repository(out: str | Path, spec: dict[str, Any], facts: BackendFacts, options: ExportOptions, *,
                     overwrite: bool = False) -> Path:
    """``out/trtnet_tts/config.pbtxt``, ``out/trtnet_tts/1/model.py``, ``out/README.md``; returns ``out``."""
    from .repo_readme import repository_readme
    out = Path(out)
    model_dir = out / MODEL
    if model_dir.exists():
        if not overwrite:
            raise FileExistsError(f"{model_dir} already exists; pass --overwrite to replace it, or choose another -o")
        shutil.rmtree(model_dir)
    config = config_pbtxt(spec, facts, options)
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "config.pbtxt").write_text(config)
    (model_dir / "1" / "model.py").write_text(MODEL_PY)
    (out / "README.md").write_text(repository_readme(facts, options))
    return out
