"""Make the fixtures in this folder with NVIDIA/waveglow's own code (run once; the outputs are committed).

What it does, per fixture in ``FIXTURES``:
1. ``git show COMMIT:glow.py`` and ``COMMIT:glow_old.py`` from a clone of https://github.com/NVIDIA/waveglow into a
   temporary folder, imported from there as the modules ``glow`` / ``glow_old`` (the names their pickles carry).
   Their code is never copied here.
2. Builds the class the fixture names with small hyperparameters, ``torch.manual_seed(SEED)``, then replaces the
   hard-coded ``ConvTranspose1d(n_mel, n_mel, 1024, stride=256)`` by a small one (what a user who edited those
   constants gets; ``infer`` reads ``kernel_size``/``stride`` from the module) and gives every weight random
   values (the original zero-initialises ``WN.end``, which would make every coupling the identity).
3. Saves ``{'model': model, 'iteration', 'optimizer', 'learning_rate'}`` with ``torch.save`` as its ``train.py``
   does (zip serialization, or the legacy one with ``_use_new_zipfile_serialization=False``).
4. Runs the original ``WaveGlow.infer(mel, sigma)`` on CPU.  Its noise comes from
   ``torch.cuda.FloatTensor(*size).normal_()``; a shim replaces ``torch.cuda.FloatTensor`` for the call so that
   ``.normal_()`` returns seeded CPU draws, recorded in order of use.  Also with sigma 0.
5. Writes ``NAME.npz``: ``mel`` [B, n_mel, T], ``z`` [B, G, T'] (the draws concatenated in order of use: the
   initial audio channels, then each early injection), ``sigma``, ``audio`` [B, S·T] (infer with sigma and z),
   ``audio_sigma0`` [B, S·T] (infer with sigma 0) and ``hparams`` (JSON of the constructor arguments).

Runtime shims (applied in this process only, never to their files): ``torch.cuda.FloatTensor`` as above;
``torch.qr`` → ``torch.linalg.qr`` where torch no longer has it.

Made with: ``python3 -m venv /tmp/h23a-orig && /tmp/h23a-orig/bin/pip install torch==2.13.0 numpy`` (CPU wheel),
NVIDIA/waveglow at 8afb643 (HEAD of master: "convert_model.py: for compatibility with new pytorch") and c429cc3
(its first commit, "waveglow": the first release, ``res_layers``/``skip_layers``), then
``/tmp/h23a-orig/bin/python tests/data/original/make_fixtures.py --waveglow-git /path/to/waveglow/.git``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

SEED = 1234
HEAD = "8afb643"       # NVIDIA/waveglow master: glow.py (fused cond_layer), glow_old.py (own WN, cond_layers)
FIRST = "c429cc3"      # the first release: glow.WN with res_layers/skip_layers; glow_old.WaveGlow uses glow.WN

# name → (commit, module, constructor kwargs, (upsample kernel, stride), zip serialization, batch, frames, sigma)
FIXTURES = {
    "glow": (HEAD, "glow", dict(n_mel_channels=4, n_flows=6, n_group=8, n_early_every=2, n_early_size=2,
                                WN_config=dict(n_layers=2, n_channels=4, kernel_size=3)), (64, 16), True, 2, 5, 0.6),
    "glow_old": (HEAD, "glow_old", dict(n_mel_channels=4, n_flows=6, n_group=8, n_early_every=4, n_early_size=2,
                                        WN_config=dict(n_layers=2, n_channels=4, kernel_size=3)), (96, 32), True,
                 2, 4, 0.6),
    "first_release_glow_old": (FIRST, "glow_old", dict(n_mel_channels=4, n_flows=5, n_group=8, n_early_every=4,
                                                       n_early_size=2,
                                                       WN_config=dict(n_layers=2, n_channels=4, kernel_size=3)),
                               (64, 16), False, 1, 6, 0.6),
    "first_release_glow": (FIRST, "glow", dict(n_mel_channels=4, n_flows=4, n_group=8, n_early_every=2,
                                               n_early_size=2, WN_config=dict(n_layers=2, n_channels=4,
                                                                              kernel_size=5)),
                           (48, 16), False, 1, 5, 0.6),
}


class _Draws:
    """Stands in for ``torch.cuda.FloatTensor``: ``_Draws(*size).normal_()`` → a seeded CPU draw, recorded."""

    generator: torch.Generator
    record: list[torch.Tensor] = []

    def __init__(self, *size: int):
        self.size = size

    def normal_(self) -> torch.Tensor:
        draw = torch.randn(*self.size, generator=_Draws.generator)
        _Draws.record.append(draw)
        return draw


def _sources(git_dir: str, commit: str, into: Path) -> None:
    for name in ("glow.py", "glow_old.py"):
        text = subprocess.run(["git", "--git-dir", git_dir, "show", f"{commit}:{name}"], check=True,
                              capture_output=True, text=True).stdout
        (into / name).write_text(text)


def _import(folder: Path, module: str):
    for name in ("glow", "glow_old"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(folder))


def _randomise(model: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_g"):
                p.mul_(torch.empty(p.shape).uniform_(0.8, 1.2, generator=g))
            elif ".end." in name:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif name.startswith("convinv."):
                p.add_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.add_(0.05 * torch.randn(p.shape, generator=g))


def make(name: str, git_dir: str, out: Path) -> None:
    commit, module, kwargs, (kernel, stride), zip_format, batch, frames, sigma = FIXTURES[name]
    with tempfile.TemporaryDirectory() as tmp:
        _sources(git_dir, commit, Path(tmp))
        mod = _import(Path(tmp), module)
        torch.manual_seed(SEED)
        model = mod.WaveGlow(**kwargs)
        n_mel = kwargs["n_mel_channels"]
        model.upsample = torch.nn.ConvTranspose1d(n_mel, n_mel, kernel, stride=stride)
        _randomise(model)
        model.eval()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        torch.save({"model": model, "iteration": 10, "optimizer": optimizer.state_dict(), "learning_rate": 1e-4},
                   out / f"{name}.pt", _use_new_zipfile_serialization=zip_format)
        mel = (torch.randn(batch, n_mel, frames, generator=torch.Generator().manual_seed(SEED + 2)) - 2.0)
        cuda_float = torch.cuda.FloatTensor
        torch.cuda.FloatTensor = _Draws
        try:
            with torch.no_grad():
                _Draws.generator, _Draws.record = torch.Generator().manual_seed(SEED + 3), []
                audio = model.infer(mel, sigma=sigma)
                z = torch.cat(_Draws.record, dim=1)
                _Draws.generator, _Draws.record = torch.Generator().manual_seed(SEED + 4), []
                audio0 = model.infer(mel, sigma=0.0)
        finally:
            torch.cuda.FloatTensor = cuda_float
        hparams = dict(kwargs, upsample_kernel_size=kernel, upsample_stride=stride, commit=commit,
                       model_class=f"{module}.WaveGlow", serialization="zip" if zip_format else "legacy")
        np.savez(out / f"{name}.npz", mel=mel.numpy(), z=z.numpy(), sigma=np.float32(sigma),
                 audio=audio.numpy(), audio_sigma0=audio0.numpy(), hparams=json.dumps(hparams, sort_keys=True))
        print(f"{name}: {module}.WaveGlow @ {commit}, audio {tuple(audio.shape)}, max |audio| "
              f"{float(audio.abs().max()):.3f}, z {tuple(z.shape)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--waveglow-git", required=True, help="git directory of a NVIDIA/waveglow clone")
    p.add_argument("--out", default=str(Path(__file__).parent), help="output folder (default: this one)")
    p.add_argument("names", nargs="*", default=list(FIXTURES), help=f"fixtures (default: all of {list(FIXTURES)})")
    args = p.parse_args()
    if not hasattr(torch, "qr"):
        torch.qr = torch.linalg.qr
    for name in args.names:
        make(name, args.waveglow_git, Path(args.out))


if __name__ == "__main__":
    main()
