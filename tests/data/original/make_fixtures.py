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

NVIDIA/tacotron2 (``nvidia_tacotron2.pt`` / ``.npz``): ``model.py``, ``layers.py``, ``utils.py`` at ``T2_COMMIT``,
``Tacotron2(hparams)`` with ``T2_HPARAMS`` (a namespace: its ``hparams.py`` needs tensorflow), BatchNorm
statistics randomised, the gate's weights scaled by -20 and its bias chosen so that the gate fires after a few
steps, saved as its ``train.py`` saves (``{'iteration', 'state_dict', 'optimizer', 'learning_rate'}``), then
``model.inference(tokens)`` with the prenet's always-on ``F.dropout`` replaced by seeded keep masks that are
recorded: ``tokens``, ``masks`` [T, B, 2, P] (keep 0/1), ``mel``, ``mel_postnet`` [B, n_mel, T], ``gate``
[B, T, 1], ``alignments`` [B, T, T_in]; T counts the stop frame (its loop appends it, then breaks).

Runtime shims (applied in this process only, never to their files): ``torch.cuda.FloatTensor`` as above;
``torch.qr`` → ``torch.linalg.qr`` where torch no longer has it; ``model.F`` (its ``torch.nn.functional``) with the
recording dropout; empty modules for ``librosa``, ``scipy.io.wavfile``, ``audio_processing``, ``stft`` (imported by
training-only code).

Made with: ``python3 -m venv /tmp/h23a-orig && /tmp/h23a-orig/bin/pip install torch==2.13.0 numpy`` (CPU wheel),
NVIDIA/waveglow at 8afb643 (HEAD of master: "convert_model.py: for compatibility with new pytorch") and c429cc3
(its first commit, "waveglow": the first release, ``res_layers``/``skip_layers``), then
``/tmp/h23a-orig/bin/python tests/data/original/make_fixtures.py --waveglow-git /path/to/waveglow/.git
--tacotron2-git /path/to/tacotron2/.git`` (NVIDIA/tacotron2 at 185cd24, master).
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


# ----- NVIDIA/tacotron2 -----
T2_COMMIT = "185cd24"  # NVIDIA/tacotron2 master ("waveglow: updating waveglow submodule")
T2_HPARAMS = dict(  # hparams.py's names (it imports tensorflow, so a namespace stands in for create_hparams())
    mask_padding=True, fp16_run=False, n_mel_channels=12, n_frames_per_step=1, n_symbols=148,
    symbols_embedding_dim=16, encoder_kernel_size=5, encoder_n_convolutions=3, encoder_embedding_dim=16,
    attention_rnn_dim=24, attention_dim=8, attention_location_n_filters=4, attention_location_kernel_size=7,
    decoder_rnn_dim=20, prenet_dim=10, max_decoder_steps=40, gate_threshold=0.5, p_attention_dropout=0.1,
    p_decoder_dropout=0.1, postnet_embedding_dim=16, postnet_kernel_size=5, postnet_n_convolutions=5)
# layers.py / utils.py import these for training-only code (TacotronSTFT, load_wav_to_torch): empty stand-ins
T2_STUBS = {"librosa": {}, "librosa.filters": {"mel": None}, "audio_processing": {
    "dynamic_range_compression": None, "dynamic_range_decompression": None}, "stft": {"STFT": None},
    "scipy": {}, "scipy.io": {}, "scipy.io.wavfile": {"read": None}}


class _RecordedDropout:
    """``model.F`` for the run: ``dropout(x, p, training=True)`` (the prenet's, always on) with a seeded keep
    mask, recorded; everything else is ``torch.nn.functional``."""

    def __init__(self, seed: int):
        self.generator, self.masks = torch.Generator().manual_seed(seed), []

    def __getattr__(self, name: str):
        return getattr(torch.nn.functional, name)

    def dropout(self, x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
        if not training:
            return x
        keep = (torch.rand(x.shape, generator=self.generator) >= p).to(x.dtype)
        self.masks.append(keep)
        return x * keep / (1 - p)


def make_tacotron2(git_dir: str, out: Path) -> None:
    import types
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("model.py", "layers.py", "utils.py"):
            text = subprocess.run(["git", "--git-dir", git_dir, "show", f"{T2_COMMIT}:{name}"], check=True,
                                  capture_output=True, text=True).stdout
            (Path(tmp) / name).write_text(text)
        for name, attrs in T2_STUBS.items():
            sys.modules.setdefault(name, types.ModuleType(name)).__dict__.update(attrs)
        model_module = _import_t2(Path(tmp))
        torch.manual_seed(SEED)
        hp = types.SimpleNamespace(**T2_HPARAMS)
        model = model_module.Tacotron2(hp)
        g = torch.Generator().manual_seed(SEED + 5)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm1d):
                    m.running_mean.copy_(0.3 * torch.randn(m.running_mean.shape, generator=g))
                    m.running_var.copy_(torch.empty(m.running_var.shape).uniform_(0.5, 1.5, generator=g))
                    m.weight.copy_(torch.empty(m.weight.shape).uniform_(0.8, 1.2, generator=g))
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        model.eval()
        tokens = torch.randint(1, T2_HPARAMS["n_symbols"], (1, 11), generator=g)
        # The gate must fire after a few steps, clearly: random weights give a nearly constant gate logit, so its
        # weights are scaled by -20 and its bias set (the gate never feeds back: the trajectory does not depend on
        # it) half-way between the highest logit of steps 0-5 and the first later logit above it.
        gate = model.decoder.gate_layer.linear_layer
        with torch.no_grad():
            gate.weight.mul_(-20.0)
            gate.bias.fill_(-1e3)
        model_module.F = _RecordedDropout(SEED + 6)
        with torch.no_grad():
            logits = model.inference(tokens)[2].reshape(-1) + 1e3  # max_decoder_steps of them, none stops
        head = float(logits[:6].max())
        later = [t for t in range(6, len(logits)) if float(logits[t]) > head]
        if not later:
            raise SystemExit("the gate logit never rises above its first 6 steps'")
        bias = -(head + float(logits[later[0]])) / 2
        with torch.no_grad():
            gate.bias.fill_(bias)
        drop = _RecordedDropout(SEED + 6)
        model_module.F = drop
        with torch.no_grad():
            mel, mel_postnet, gates, alignments = model.inference(tokens)
        assert mel.shape[2] == later[0] + 1 and torch.sigmoid(gates[0, -1]) > hp.gate_threshold
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        torch.save({"iteration": 10, "state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "learning_rate": 1e-3}, out / "nvidia_tacotron2.pt")  # train.py's save_checkpoint
        steps = mel.shape[2]
        masks = torch.stack(drop.masks).reshape(steps, 2, 1, -1).transpose(1, 2)  # [T, B, 2 layers, P]
        np.savez(out / "nvidia_tacotron2.npz", tokens=tokens.numpy().astype(np.int32), masks=masks.numpy(),
                 mel=mel.numpy(), mel_postnet=mel_postnet.numpy(), gate=gates.numpy(),
                 alignments=alignments.numpy(), hparams=json.dumps(dict(T2_HPARAMS, commit=T2_COMMIT,
                                                                         gate_bias=bias), sort_keys=True))
        print(f"nvidia_tacotron2: Tacotron2 @ {T2_COMMIT}, {steps} frames (stop frame included), gate bias {bias}")


def _import_t2(folder: Path):
    for name in ("model", "layers", "utils"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("model")
    finally:
        sys.path.remove(str(folder))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--waveglow-git", help="git directory of a NVIDIA/waveglow clone")
    p.add_argument("--tacotron2-git", help="git directory of a NVIDIA/tacotron2 clone")
    p.add_argument("--out", default=str(Path(__file__).parent), help="output folder (default: this one)")
    p.add_argument("names", nargs="*", default=list(FIXTURES), help=f"fixtures (default: all of {list(FIXTURES)})")
    args = p.parse_args()
    if not hasattr(torch, "qr"):
        torch.qr = torch.linalg.qr
    if args.waveglow_git:
        for name in args.names:
            make(name, args.waveglow_git, Path(args.out))
    if args.tacotron2_git:
        make_tacotron2(args.tacotron2_git, Path(args.out))


if __name__ == "__main__":
    main()
