"""trtnet verify: parity of engine vs eager vs the independent PyTorch reference (deterministic inputs).

It says first what it will check.  With --engine-dir, the directory's index and plans are checked before any
work, and engines that cannot run here are an error (use --emulate-engines where no TensorRT GPU exists); an
engine that cannot be compared deterministically (random numbers drawn in the engine) is listed as not checked
and makes the exit status 1."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .argtypes import DENOISER_STRENGTH, POSITIVE_INT, SEED, SIGMA
from .common import (add_emulate_arg, add_model_args, add_text_args, check_emulate, resolve_sources, spec_from_args,
                     text_frontend, vocoder_arch)
from .verify_interpret import add_interpret_args, engine_checks, interpret_checks


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    p.add_argument("--engine-dir", default=None, help="also compare these engines with the eager twin (default: none)")
    add_emulate_arg(p)
    p.add_argument("--text", default=None, help="text to synthesize (default: DLE's benchmark sentence)")
    add_text_args(p)
    p.add_argument("--seed", type=SEED, default=0, help="seed of the fed dropout masks and noise (default 0)")
    p.add_argument("--max-decoder-steps", type=POSITIVE_INT, default=None, help="step cap (default: the model's)")
    p.add_argument("--sigma", type=SIGMA, default=0.6, help="WaveGlow sigma (default 0.6, DLE test_infer)")
    p.add_argument("--denoiser-strength", type=DENOISER_STRENGTH, default=0.01,
                   help="denoiser strength (default 0.01; 0 = off)")
    p.add_argument("--json", default=None, help="write the checks to this JSON file (default: none)")
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="also write the eager decode of the verified line as a PNG: mel, alignment, stop gate "
                        "(needs the [plot] extra; default: none)")
    add_interpret_args(p)


def _check_engine_dir(args: argparse.Namespace, emulate: bool) -> None:
    """Before any eager work: the engine directory's index and every plan (against its sidecar hash), and that
    this machine can run them (or that they are emulated).  Anything else is an error, never a skip."""
    from trtnet.runtime.engine_dir import read_build_config
    from trtnet.runtime.gpu import engine_runtime_status
    from trtnet.sidecar import verified_sidecar
    root = Path(args.engine_dir)
    cfg = read_build_config(root)
    for name, entry in cfg["engines"].items():
        side = verified_sidecar(root / entry["plan"])
        if emulate:                     # the weights the emulator defines it from, hash-checked, before eager work
            from trtnet.emulate import EmulationError, check_same_code
            from trtnet.emulate.network import weights_file
            try:
                check_same_code(root / entry["plan"], side)
                weights_file(root / entry["plan"], side)
            except EmulationError as e:
                raise RuntimeError(f"cannot emulate {root / entry['plan']}: {e}") from None
        else:
            ok, why = engine_runtime_status(side.flavor)
            if not ok:
                raise RuntimeError(f"--engine-dir {root}: the {name} engine ({side.flavor}) cannot run here: {why}; "
                                   "add --emulate-engines to run the engine path on the TensorRT emulator")


def _plot(detail: dict, path: str):
    """The eager decode of the verified case as ``synthesize --plot`` draws an utterance."""
    from types import SimpleNamespace

    from trtnet.runtime.pipeline import valid_frames
    from trtnet.runtime.text import sequence_to_text
    from .plots import plot_utterance
    dec, post = detail["outputs"]["decoder-loop"], detail["outputs"]["postnet"]["mel_postnet"]
    n, tokens = int(dec["mel_lengths"][0]), detail["case"].tokens[0]
    frames = int(valid_frames(dec["mel_lengths"][:1], int(dec["n_steps"]))[0])
    u = SimpleNamespace(index=0, text=sequence_to_text(tokens), mel_postnet=post[0, :, :n], mel_length=n,
                        hit_cap=n >= int(dec["n_steps"]), gate=dec["gate"][0, :frames],
                        alignment=dec["alignments"][0, :frames, :len(tokens)])
    return plot_utterance(u, detail["gate_threshold"], Path(path))


def run(args: argparse.Namespace) -> int:
    from trtnet.verify.parity import engines_vs_eager, eager_vs_reference
    from trtnet.runtime.text import DEFAULT_TEXT
    from trtnet.weights.store import WeightStore
    emulate = check_emulate(args)
    if args.plot:
        from .plots import require_matplotlib
        require_matplotlib()
    from trtnet.files import check_writable
    for report in (args.json, args.plot):       # where the results go, before the checks
        if report:
            check_writable(Path(report))
    if args.engine_dir:
        _check_engine_dir(args, emulate)
    print("checks: eager twin vs the independent reference"
          + (", interpreted TensorRT networks vs eager" if args.interpret else "")
          + (f", {'emulated ' if emulate else ''}engines of {args.engine_dir} vs eager" if args.engine_dir else
             " (no --engine-dir: no engine checks)"), flush=True)
    sources = resolve_sources(args)
    for arch, src in sources.items():
        if src.checkpoint is None:
            raise ValueError(f"verify needs the {arch} DLE checkpoint (the reference loads it), not only {src.h5_path}")
    voc, acoustic = vocoder_arch(args), spec_from_args(args).acoustic_arch
    if acoustic == "fastpitch":
        from trtnet.verify.parity_fastpitch import fastpitch_vs_reference as eager_vs_reference  # noqa: F811
        if args.plot:
            raise ValueError("--plot draws Tacotron 2's alignment and gate; FastPitch has neither")
    with WeightStore.open(sources[acoustic].h5_path) as t2, WeightStore.open(sources[voc].h5_path) as wg:
        checks, detail = eager_vs_reference(sources[acoustic].checkpoint, sources[voc].checkpoint, t2, wg,
                                            text=args.text or DEFAULT_TEXT, seed=args.seed,
                                            steps=args.max_decoder_steps, sigma=args.sigma,
                                            strength=args.denoiser_strength, frontend=text_frontend(args))
    print("eager (FP32) vs independent reference (float64):")
    for c in checks:
        print("  " + c.row())
    if args.interpret:
        checks += interpret_checks(args, sources)
    skipped = []                       # asked for (an engine of --engine-dir) but not compared
    if args.engine_dir:
        from trtnet.engines.spec import engine_provider
        from trtnet.runtime.engine_dir import open_engine_dir
        with open_engine_dir(args.engine_dir, provider=engine_provider(spec_from_args(args))) as d:   # checked above: a failure is an error
            eng, skipped = engines_vs_eager(d.sessions, d.sidecars, d.options, detail)
            print("emulated engines vs eager:" if emulate else "engines vs eager:")
            for c in eng:
                print("  " + c.row())
            checks += eng
            if args.interpret:
                more, skip = engine_checks(d, args.seed, emulated=emulate)
                checks += more
                skipped += skip
    for s in skipped:
        print(f"  NOT CHECKED: {s}")
    if args.plot:
        print(f"plot: {_plot(detail, args.plot)}")
    failed = [c for c in checks if not c.passed]
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed" + (f", {len(skipped)} not checked"
                                                                        if skipped else ""))
    if args.json:
        from trtnet.files import atomic_write_bytes
        doc = {"checks": [{"name": c.name, "value": c.value if math.isfinite(c.value) else None,
                           "threshold": c.threshold, "passed": c.passed} for c in checks], "not_checked": skipped}
        atomic_write_bytes(Path(args.json), (json.dumps(doc, indent=2, allow_nan=False) + "\n").encode())
    return 1 if failed or skipped else 0
