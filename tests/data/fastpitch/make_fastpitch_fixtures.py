"""Generate tests/data/fastpitch/ ONCE with DLE's own FastPitch code (not part of trtnet; never imported by it).

    git archive <DeepLearningExamples> PyTorch/SpeechSynthesis/FastPitch/{common,fastpitch} | tar -x -C /tmp/dle
    python tests/data/fastpitch/make_fastpitch_fixtures.py /tmp/dle/PyTorch/SpeechSynthesis/FastPitch

DLE's ``fastpitch.model.FastPitch`` with a tiny config (2 heads, 2 layers per FFT, energy on) and PyTorch's
default random init (seed 0), the duration predictor's fc bias set to ln 6 so symbols last a few frames and
the pitch statistics set; saved as DLE's ``Checkpointer.maybe_save`` saves (``module.`` keys as from DDP, an
``ema_state_dict``, ``config``, ``train_setup``) in ``fastpitch_dle_tiny.pt``; ``FastPitch.infer`` outputs (mel,
dec_lens, dur_pred, pitch_pred, energy_pred) for a ragged batch and single items at several paces and one
affine pitch transform (DLE inference.py's amplify + shift) in ``fastpitch_dle_outputs.npz``.  librosa and numba
(training-only imports) are stubbed.
"""

import math
import sys
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
CONFIG = dict(
    n_mel_channels=12, n_symbols=148, padding_idx=0, symbols_embedding_dim=16,
    in_fft_n_layers=2, in_fft_n_heads=2, in_fft_d_head=6, in_fft_conv1d_kernel_size=3,
    in_fft_conv1d_filter_size=24, in_fft_output_size=16,
    p_in_fft_dropout=0.1, p_in_fft_dropatt=0.1, p_in_fft_dropemb=0.0,
    out_fft_n_layers=2, out_fft_n_heads=2, out_fft_d_head=6, out_fft_conv1d_kernel_size=3,
    out_fft_conv1d_filter_size=24, out_fft_output_size=16,
    p_out_fft_dropout=0.1, p_out_fft_dropatt=0.1, p_out_fft_dropemb=0.0,
    dur_predictor_kernel_size=3, dur_predictor_filter_size=12, p_dur_predictor_dropout=0.1,
    dur_predictor_n_layers=2,
    pitch_predictor_kernel_size=3, pitch_predictor_filter_size=12, p_pitch_predictor_dropout=0.1,
    pitch_predictor_n_layers=2, pitch_embedding_kernel_size=3,
    energy_conditioning=True, energy_predictor_kernel_size=3, energy_predictor_filter_size=12,
    p_energy_predictor_dropout=0.1, energy_predictor_n_layers=2, energy_embedding_kernel_size=3,
    n_speakers=1, speaker_emb_weight=1.0)
SEQUENCES = [[38, 45, 52, 52, 55, 11, 63, 55, 58, 52, 44, 7], [20, 39, 41, 11, 50, 38], [45, 60, 11, 39]]
PACES = (1.0, 0.8, 1.3)
PITCH = (1.5, 20.0)  # amplify, shift in Hz


def _stub(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module


def main(dle_dir: str) -> None:
    _stub("librosa", filters=types.SimpleNamespace(mel=None), util=types.SimpleNamespace(pad_center=None))
    _stub("librosa.filters", mel=None)
    _stub("librosa.util", pad_center=None, tiny=None)
    _stub("numba", jit=lambda *a, **k: (lambda f: f), prange=range)
    sys.path.insert(0, dle_dir)
    from fastpitch.model import FastPitch

    torch.manual_seed(0)
    model = FastPitch(**CONFIG)
    with torch.no_grad():
        model.duration_predictor.fc.bias.fill_(math.log(6.0))
        model.pitch_mean.fill_(218.14)
        model.pitch_std.fill_(67.24)
    model.eval()
    setup = {"symbol_set": "english_basic", "text_cleaners": ["english_cleaners_v2"], "epochs": 1}
    sd = model.state_dict()
    ckpt = {"epoch": 1, "iteration": 1, "config": CONFIG, "train_setup": setup,
            "state_dict": {f"module.{k}": v for k, v in sd.items()},
            "ema_state_dict": {k: v.clone() for k, v in sd.items()},
            "optimizer": {"state": {}, "param_groups": []}, "scaler": {}}
    torch.save(ckpt, HERE / "fastpitch_dle_tiny.pt")

    amplify, shift = PITCH
    transform = lambda pitch, pitch_lens, mean, std: (pitch * amplify) + shift / std  # noqa: E731
    cases = {"batch": (SEQUENCES, 1.0, None)}
    for i, seq in enumerate(SEQUENCES):
        for pace in PACES:
            cases[f"item{i}_pace{pace}"] = ([seq], pace, None)
    cases["item0_pitch"] = ([SEQUENCES[0]], 1.0, transform)
    arrays = {}
    with torch.no_grad():
        for name, (seqs, pace, fn) in cases.items():
            ids = torch.zeros(len(seqs), max(map(len, seqs)), dtype=torch.long)
            for b, s in enumerate(seqs):
                ids[b, :len(s)] = torch.tensor(s)
            mel, lens, dur, pitch, energy = model.infer(ids, pace=pace, pitch_transform=fn)
            arrays.update({f"{name}/ids": ids.numpy(), f"{name}/pace": np.float32(pace),
                           f"{name}/pitch_scale": np.float32(amplify if fn else 1.0),
                           f"{name}/pitch_shift": np.float32(shift if fn else 0.0),
                           f"{name}/mel": mel.numpy(), f"{name}/mel_lengths": lens.numpy(),
                           f"{name}/durations": dur.numpy(), f"{name}/pitch": pitch.numpy(),
                           f"{name}/energy": energy.numpy()})
    np.savez_compressed(HERE / "fastpitch_dle_outputs.npz", **arrays)
    print({k: v.shape for k, v in arrays.items() if k.endswith("mel")})


if __name__ == "__main__":
    main(sys.argv[1])
