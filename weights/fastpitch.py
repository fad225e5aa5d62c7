"""FastPitch checkpoints: key layouts, hparams from shapes, extraction arrays.

A DLE checkpoint ``FastPitch_checkpoint_<epoch>.pt`` is ``{'epoch', 'iteration', 'config': FastPitch(...)
kwargs, 'train_setup': argparse namespace, 'state_dict', 'ema_state_dict' (when trained with EMA), 'optimizer',
'scaler'}``; keys may carry ``module.`` (DDP).  ``ema_state_dict`` is read when asked (``use_ema``).
``train_setup`` gives ``symbol_set`` and ``text_cleaners`` (the text front end).

The DLE layout includes the training-only aligner (``attention.*``: a ConvAttention over mels and text
embeddings) and the positional-embedding buffers ``*.pos_emb.inv_freq`` = 10000^(−2i/D); the HDF5 layout drops
both (the network recomputes inv_freq) and keeps everything else unchanged (no fold: FastPitch has no weight norm).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .config import FastPitchConfig
from .errors import HParamMismatchError

Shapes = dict[str, tuple[int, ...]]

PREFIXES = ("duration_predictor.", "pitch_predictor.", "pitch_emb.")
TRAIN_SETUP_FIELDS = ("symbol_set", "text_cleaners")
ALIGNER_CHANNELS = 80  # DLE ConvAttention's n_att_channels (its default; FastPitch does not pass one)
TRAINING_ONLY = ("attention.",)
_PREDICTORS = ("duration_predictor", "pitch_predictor", "energy_predictor")


def _fft(s: Shapes, prefix: str, c: FastPitchConfig, which: str) -> None:
    """FFTransformer layers: qkv [3·H·dh, D], o_net [D, H·dh] (no bias), two LayerNorms, conv FF D→d_inner→D."""
    d, f = c.symbols_embedding_dim, c.fft(which)
    hd = f["n_heads"] * f["d_head"]
    for i in range(f["n_layers"]):
        p = f"{prefix}.layers.{i}"
        s[f"{p}.dec_attn.qkv_net.weight"] = (3 * hd, d)
        s[f"{p}.dec_attn.qkv_net.bias"] = (3 * hd,)
        s[f"{p}.dec_attn.o_net.weight"] = (d, hd)
        s[f"{p}.pos_ff.CoreNet.0.weight"] = (f["d_inner"], d, f["kernel"])
        s[f"{p}.pos_ff.CoreNet.0.bias"] = (f["d_inner"],)
        s[f"{p}.pos_ff.CoreNet.2.weight"] = (d, f["d_inner"], f["kernel"])
        s[f"{p}.pos_ff.CoreNet.2.bias"] = (d,)
        for norm in ("dec_attn.layer_norm", "pos_ff.layer_norm"):
            s[f"{p}.{norm}.weight"] = (d,)
            s[f"{p}.{norm}.bias"] = (d,)


def _predictor(s: Shapes, prefix: str, c: FastPitchConfig, which: str, n_out: int) -> None:
    """TemporalPredictor: n × (conv k, ReLU, LayerNorm) then fc [n_out, filter]."""
    p = c.predictor(which)
    for j in range(p["n_layers"]):
        s[f"{prefix}.layers.{j}.conv.weight"] = (p["filter"], c.symbols_embedding_dim if j == 0 else p["filter"],
                                                 p["kernel"])
        for name in ("conv.bias", "norm.weight", "norm.bias"):
            s[f"{prefix}.layers.{j}.{name}"] = (p["filter"],)
    s[f"{prefix}.fc.weight"] = (n_out, p["filter"])
    s[f"{prefix}.fc.bias"] = (n_out,)


def _aligner(s: Shapes, c: FastPitchConfig) -> None:
    """The training-only ConvAttention: key_proj D→2D (k3)→80, query_proj n_mel→2n_mel (k3)→n_mel→80."""
    d, m, a = c.symbols_embedding_dim, c.n_mel_channels, ALIGNER_CHANNELS
    convs = {"key_proj.0": (2 * d, d, 3), "key_proj.2": (a, 2 * d, 1), "query_proj.0": (2 * m, m, 3),
             "query_proj.2": (m, 2 * m, 1), "query_proj.4": (a, m, 1)}
    for name, shape in convs.items():
        s[f"attention.{name}.conv.weight"] = shape
        s[f"attention.{name}.conv.bias"] = (shape[0],)
    s["attention.attn_proj.weight"] = (1, a, 1, 1)
    s["attention.attn_proj.bias"] = (1,)


def fastpitch_shapes(c: FastPitchConfig, folded: bool) -> Shapes:
    """DLE layout (with the aligner and inv_freq buffers) or the HDF5 layout (without)."""
    d = c.symbols_embedding_dim
    s: Shapes = {"encoder.word_emb.weight": (c.n_symbols, d)}
    _fft(s, "encoder", c, "in")
    _fft(s, "decoder", c, "out")
    _predictor(s, "duration_predictor", c, "dur", 1)
    _predictor(s, "pitch_predictor", c, "pitch", c.pitch_conditioning_formants)
    s["pitch_emb.weight"] = (d, c.pitch_conditioning_formants, c.pitch_embedding_kernel_size)
    s["pitch_emb.bias"] = (d,)
    s["pitch_mean"] = (1,)
    s["pitch_std"] = (1,)
    if c.energy_conditioning:
        _predictor(s, "energy_predictor", c, "energy", 1)
        s["energy_emb.weight"] = (d, 1, c.energy_embedding_kernel_size)
        s["energy_emb.bias"] = (d,)
    s["proj.weight"] = (c.n_mel_channels, d)
    s["proj.bias"] = (c.n_mel_channels,)
    if not folded:
        s["encoder.pos_emb.inv_freq"] = (d // 2,)
        s["decoder.pos_emb.inv_freq"] = (d // 2,)
        _aligner(s, c)
    return s


def pick_state_dict(obj: Mapping[str, Any], use_ema: bool) -> tuple[str, dict[str, Any]]:
    """(the state-dict key to read, extra meta) of a DLE FastPitch checkpoint dict: ``ema_state_dict`` with
    ``use_ema`` when present; the ``train_setup``'s text settings merged into the config."""
    key = "ema_state_dict" if use_ema and obj.get("ema_state_dict") is not None else "state_dict"
    meta: dict[str, Any] = {"state_dict_key": key}
    config, setup = obj.get("config"), obj.get("train_setup")
    if isinstance(config, Mapping) and isinstance(setup, Mapping):
        text = {k: setup[k] for k in TRAIN_SETUP_FIELDS if k in setup}
        cleaners = text.get("text_cleaners")
        if isinstance(cleaners, (list, tuple)) and len(cleaners) == 1:  # DLE's argparse nargs='*'
            text["text_cleaners"] = cleaners[0]
        meta["config"] = {**text, **config}
    return key, meta


def infer_fastpitch_config(sd: Mapping[str, Any], *, ckpt_config: Mapping[str, Any] | None = None,
                           overrides: Mapping[str, Any] | None = None, source: str = "<state_dict>") -> FastPitchConfig:
    """FastPitchConfig from a DLE state_dict: sizes from shapes; the head count (shapes tell only H·d_head),
    padding_idx, speaker weight and text front end from the checkpoint config, else the overrides, else DLE's
    defaults."""
    from .hparams import _checkpoint_config, _finish, _Shapes, count_indexed

    shape = _Shapes(sd, source)
    ckpt = _checkpoint_config(ckpt_config, source)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    n_symbols, d = shape("encoder.word_emb.weight", "n_symbols / symbols_embedding_dim")
    inferred: dict[str, Any] = dict(n_symbols=n_symbols, symbols_embedding_dim=d, in_fft_output_size=d,
                                    out_fft_output_size=d)
    for which, prefix in (("in", "encoder"), ("out", "decoder")):
        p = f"{which}_fft_"
        layers = count_indexed(sd, prefix + ".layers.{}.dec_attn.qkv_net.weight")
        hd = shape(f"{prefix}.layers.0.dec_attn.qkv_net.weight", p + "d_head")[0] // 3
        inner, _, k = shape(f"{prefix}.layers.0.pos_ff.CoreNet.0.weight", p + "conv1d_filter_size")
        heads = ckpt.get(p + "n_heads", given.get(p + "n_heads", getattr(FastPitchConfig, p + "n_heads")))
        if not isinstance(heads, int) or heads < 1 or hd % heads:
            raise HParamMismatchError(source, "checkpoint config", [(p + "n_heads · " + p + "d_head", hd, heads)])
        inferred.update({p + "n_layers": layers, p + "n_heads": heads, p + "d_head": hd // heads,
                         p + "conv1d_kernel_size": k, p + "conv1d_filter_size": inner})
    energy = "energy_emb.weight" in sd
    for which, prefix in (("dur", "duration_predictor"), ("pitch", "pitch_predictor"), ("energy", "energy_predictor")):
        if which == "energy" and not energy:
            continue
        f, _, k = shape(f"{prefix}.layers.0.conv.weight", f"{which}_predictor_filter_size")
        inferred.update({f"{which}_predictor_n_layers": count_indexed(sd, prefix + ".layers.{}.conv.weight"),
                         f"{which}_predictor_filter_size": f, f"{which}_predictor_kernel_size": k})
    _, formants, k = shape("pitch_emb.weight", "pitch_embedding_kernel_size")
    inferred.update(pitch_conditioning_formants=formants, pitch_embedding_kernel_size=k, energy_conditioning=energy,
                    n_mel_channels=shape("proj.weight", "n_mel_channels")[0],
                    n_speakers=shape("speaker_emb.weight", "n_speakers")[0] if "speaker_emb.weight" in sd else 1)
    if energy:
        inferred["energy_embedding_kernel_size"] = shape("energy_emb.weight", "energy_embedding_kernel_size")[2]
    if "energy_conditioning" in ckpt:
        ckpt["energy_conditioning"] = bool(ckpt["energy_conditioning"])
    if not energy:  # DLE states the unused energy sizes; no shape can check them, so they are taken as stated
        inferred.update({k: v for k, v in ckpt.items() if k.startswith("energy_") and k != "energy_conditioning"})
    return _finish(FastPitchConfig, inferred, ckpt, given, source)


def fastpitch_hdf5_arrays(sd: dict[str, np.ndarray], config: FastPitchConfig) -> dict[str, np.ndarray]:
    """HDF5 layout from a checked DLE-layout state_dict: the aligner and the inv_freq buffers dropped."""
    keep = fastpitch_shapes(config, folded=True)
    return {k: v for k, v in sd.items() if k in keep}
