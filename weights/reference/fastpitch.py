"""Plain-PyTorch reference of DLE FastPitch inference, written from the model's math over a DLE state_dict.

Notation: B items, L symbols, T frames, D = symbols_embedding_dim, H heads of width d.
  mask_L      = ids ≠ padding_idx                                         [B, L]
  x           = E[ids] + P(0..L−1)·mask_L,  P(p) = [sin(p·ω), cos(p·ω)],  ω_j = 10000^(−2j/D), j < D/2
  FFT layer   a = LN(x + Wo·softmax(q·kᵀ/√d, keys outside the mask → −∞)·v) · mask
              x = LN(a + conv_k(ReLU(conv_k(a)))) · mask          (post-norm; conv 'same', padding k//2)
  predictor   h = LN(ReLU(conv_k(x·mask))) repeated, out = (fc h)·mask
  durations   dur = clamp(exp(predictor_dur) − 1, 0, max_duration)
  pitch       p = predictor_pitch (optionally p·scale + shift_hz / σ, σ = pitch_std or the LJSpeech 67.24)
              x += conv_k(p);  energy (when trained with it): e = predictor_energy(x), x += conv_k(e)
  regulator   r = ⌊dur / pace + 0.5⌋;  c_i = Σ_{j<i} r_j;  frame t takes symbol i iff c_i ≤ t < c_{i+1};
              T = max_b Σ r (mel_lengths = Σ r)
  output      y = FFT_out(regulated, mask_T = t < mel_lengths);  mel = (proj y)ᵀ  [B, n_mel, T]
Nothing here is trtnet code; the dtype follows the weights given (float64 after ``to(torch.float64)``).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
import torch.nn.functional as F

LJSPEECH_PITCH_STD = 67.24


def _layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(x − mean) / √(var + eps) · w + b over the last axis (biased variance)."""
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def _conv(x_btc: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """'same' 1-D convolution over time of [B, T, C_in] → [B, T, C_out] (padding k // 2)."""
    return F.conv1d(x_btc.transpose(1, 2), w, b, padding=w.shape[2] // 2).transpose(1, 2)


def positions(length: int, d: int, dtype: torch.dtype) -> torch.Tensor:
    """P [length, D]: sin(p·ω) then cos(p·ω), ω_j = 10000^(−2j/D)."""
    omega = 1.0 / (10000.0 ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angle = torch.arange(length, dtype=torch.float64)[:, None] * omega[None, :]
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1).to(dtype)


def _attention(x: torch.Tensor, mask: torch.Tensor, p: Mapping[str, torch.Tensor], prefix: str,
               heads: int) -> torch.Tensor:
    b, t, _ = x.shape
    qkv = x @ p[f"{prefix}.qkv_net.weight"].T + p[f"{prefix}.qkv_net.bias"]
    q, k, v = (part.reshape(b, t, heads, -1).transpose(1, 2) for part in qkv.chunk(3, dim=-1))  # [B, H, T, d]
    score = (q @ k.transpose(2, 3)) / math.sqrt(q.shape[-1])
    score = score.masked_fill(~mask[:, None, None, :], float("-inf"))
    ctx = (torch.softmax(score, dim=-1) @ v).transpose(1, 2).reshape(b, t, -1)
    out = x + ctx @ p[f"{prefix}.o_net.weight"].T
    return _layer_norm(out, p[f"{prefix}.layer_norm.weight"], p[f"{prefix}.layer_norm.bias"])


def fft_stack(x: torch.Tensor, mask: torch.Tensor, p: Mapping[str, torch.Tensor], prefix: str, n_layers: int,
              heads: int) -> torch.Tensor:
    """Positional encoding (masked), then n post-norm FFT layers; [B, T, D] → [B, T, D]."""
    m = mask[..., None].to(x.dtype)
    x = x + positions(x.shape[1], x.shape[2], x.dtype)[None] * m
    for i in range(n_layers):
        lp = f"{prefix}.layers.{i}"
        x = _attention(x, mask, p, f"{lp}.dec_attn", heads) * m
        h = _conv(torch.relu(_conv(x, p[f"{lp}.pos_ff.CoreNet.0.weight"], p[f"{lp}.pos_ff.CoreNet.0.bias"])),
                  p[f"{lp}.pos_ff.CoreNet.2.weight"], p[f"{lp}.pos_ff.CoreNet.2.bias"])
        x = _layer_norm(x + h, p[f"{lp}.pos_ff.layer_norm.weight"], p[f"{lp}.pos_ff.layer_norm.bias"]) * m
    return x


def predictor(x: torch.Tensor, mask: torch.Tensor, p: Mapping[str, torch.Tensor], prefix: str,
              n_layers: int) -> torch.Tensor:
    """[B, L, D] → [B, L, n_out]: (conv, ReLU, LayerNorm) × n on the masked input, fc, masked."""
    m = mask[..., None].to(x.dtype)
    h = x * m
    for j in range(n_layers):
        lp = f"{prefix}.layers.{j}"
        h = _layer_norm(torch.relu(_conv(h, p[f"{lp}.conv.weight"], p[f"{lp}.conv.bias"])),
                        p[f"{lp}.norm.weight"], p[f"{lp}.norm.bias"])
    return (h @ p[f"{prefix}.fc.weight"].T + p[f"{prefix}.fc.bias"]) * m


def regulate(dur: torch.Tensor, x: torch.Tensor, pace: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each symbol repeated ⌊dur/pace + 0.5⌋ times: ([B, T, D] with T = the longest item, lengths [B])."""
    reps = torch.floor(dur / pace[:, None] + 0.5).long()
    lengths = reps.sum(1)
    ends = torch.cumsum(reps, 1)
    frames = torch.arange(int(lengths.max()))[None, :, None]
    take = ((ends - reps)[:, None, :] <= frames) & (ends[:, None, :] > frames)   # [B, T, L]
    return take.to(x.dtype) @ x, lengths


def _per_item(value: Any, b: int) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float64).expand(b).clone() if torch.as_tensor(value).ndim == 0 \
        else torch.as_tensor(value, dtype=torch.float64)


def infer(p: Mapping[str, torch.Tensor], config: Any, ids: torch.Tensor, pace: Any = 1.0, pitch_scale: Any = 1.0,
          pitch_shift: Any = 0.0) -> dict[str, torch.Tensor]:
    """FastPitch inference on ``ids`` [B, L] (padded with padding_idx) with the DLE state_dict ``p``.

    Returns mel [B, n_mel, T], mel_lengths [B] (int64), durations [B, L] (before pace and rounding), pitch
    [B, formants, L] (after the affine transform) and energy [B, L] (when the model has it).
    """
    c, dtype, b = config, p["proj.weight"].dtype, ids.shape[0]
    pace, scale, shift = (_per_item(v, b).to(dtype) for v in (pace, pitch_scale, pitch_shift))
    mask = ids != c.padding_idx
    x = fft_stack(F.embedding(ids, p["encoder.word_emb.weight"]), mask, p, "encoder", c.in_fft_n_layers,
                  c.in_fft_n_heads)
    dur = torch.clamp(torch.exp(predictor(x, mask, p, "duration_predictor", c.dur_predictor_n_layers)[..., 0]) - 1,
                      0, c.max_duration)
    pitch = predictor(x, mask, p, "pitch_predictor", c.pitch_predictor_n_layers).transpose(1, 2)  # [B, F, L]
    std = float(p["pitch_std"][0])
    pitch = pitch * scale[:, None, None] + (shift / (std if std != 0.0 else c.fallback_pitch_std))[:, None, None]
    x = x + _conv(pitch.transpose(1, 2), p["pitch_emb.weight"], p["pitch_emb.bias"])
    out: dict[str, torch.Tensor] = {}
    if c.energy_conditioning:
        energy = predictor(x, mask, p, "energy_predictor", c.energy_predictor_n_layers)[..., 0]
        x = x + _conv(energy[..., None], p["energy_emb.weight"], p["energy_emb.bias"])
        out["energy"] = energy
    regulated, lengths = regulate(dur, x, pace)
    frames = torch.arange(regulated.shape[1])[None, :] < lengths[:, None]
    y = fft_stack(regulated, frames, p, "decoder", c.out_fft_n_layers, c.out_fft_n_heads)
    mel = (y @ p["proj.weight"].T + p["proj.bias"]).transpose(1, 2)
    out.update(mel=mel, mel_lengths=lengths, durations=dur, pitch=pitch)
    return out


def tensors(sd: Mapping[str, Any], dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    """A DLE state_dict (``module.`` removed) as tensors of ``dtype``."""
    return {k.replace("module.", ""): torch.as_tensor(v).to(dtype) for k, v in sd.items()}
