"""Deterministic random-weight checkpoints in DLE's training-checkpoint layout (the built-in demo models).

Weights follow PyTorch-default-like uniform scales drawn from a seeded ``torch.Generator``; BatchNorm statistics
and affine parameters are non-trivial; WaveGlow's ``end`` convs are small but non-zero and ``convinv`` is
orthonormal with det +1.  Same seed, same machine → identical tensors.

A purely random Tacotron 2 decoder settles on a fixed point within a few steps, so nothing would tell its gate
when to stop.  Three small structures are therefore planted in the random weights (see :func:`plant_alignment`):
1. unit 0 of each encoder LSTM direction is a counter, h(j) ≈ tanh(κ·(steps seen)): the forward one measures the
   distance from the start of the text, the reverse one the distance to its end;
2. attention unit 0 reads only the location features, e(j) ∝ c₀·α(j) + γ·α(j−s) − Σα(j) − β·h_fwd(j): the
   alignment starts on the first symbol and walks forward monotonically (s symbols per step, or one symbol
   every ~c₀ steps), independent of the prenet, so prenet dropout does not change it;
3. the gate reads the reverse counter from the attention context, so its logit rises as the alignment nears the
   last symbol.  The gate bias is then calibrated on ``DEFAULT_TEXT`` (:func:`calibrate_gate_bias`).
Every other weight stays random.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import torch

from ..runtime.text import DEFAULT_TEXT, text_to_sequence
from .config import ConfigError, Tacotron2Config, WaveGlowConfig
from .demo_cache import (DEMO_FORMAT, PAIR, SIZES, content_key, demo_config, demo_configs,  # noqa: F401
                         demo_path, is_cached, key_path, key_record)
from .errors import OutputPathError
from .hdf5 import check_writable_dir
from .reference import Tacotron2Reference, WaveGlowReference
from .demo_fastpitch import fastpitch_checkpoint
from .demo_hifigan import hifigan_checkpoint
from .reference.waveglow import WeightNormConv1d

log = logging.getLogger(__name__)

END_SCALE = 0.1  # WaveGlow ``end`` init relative to the default scale
_SATURATED = 6.0  # pre-activation that makes a sigmoid gate ≈ 1


class AlignmentPlan(NamedTuple):
    """Planted attention walk and the stop-step window wanted for DEFAULT_TEXT (mel_lengths, dropout off)."""

    shift: int  # symbols advanced per move
    dwell: float  # c₀: larger → more steps per symbol (0: move every step)
    pull: float  # γ: weight of α(j − shift)
    counter_step: float  # κ of the encoder counters
    window: tuple[int, int]


#: ~4.5 frames per symbol, like DLE's ~600 frames for 128 characters.
SLOW_PLAN = AlignmentPlan(shift=1, dwell=5.0, pull=1.0, counter_step=0.3, window=(450, 650))
#: ~3 symbols per frame, for small models with a low max_decoder_steps.
FAST_PLAN = AlignmentPlan(shift=3, dwell=0.0, pull=2.0, counter_step=0.1, window=(30, 80))
_ATTENTION_GAIN = 10.0  # energy per unit of the location score
_LOCATION_SCALE = 0.05  # pre-tanh scale of attention unit 0 (keeps tanh near-linear)
_GATE_GAIN = 10.0  # gate logit per unit of the reverse counter in the context
_START_PULL = 1.0  # β
_DLE_WAVEGLOW_KEYS = ("n_mel_channels", "n_flows", "n_group", "n_early_every", "n_early_size")
_NON_DLE_WAVEGLOW_KEYS = ("upsample_kernel_size", "upsample_stride", "sampling_rate", "stft_filter_length",
                          "stft_hop_length", "stft_win_length", "denoiser_bias_frames")


class GateCalibration(NamedTuple):
    bias: float
    stop_step: int  # mel_lengths of DEFAULT_TEXT with dropout off (the stop frame is step stop_step)
    margin: float  # logit distance from the threshold on either side of the stop step


def _fill_uniform(tensor: torch.Tensor, bound: float, gen: torch.Generator) -> None:
    tensor.uniform_(-bound, bound, generator=gen)


def _init_module(module: torch.nn.Module, gen: torch.Generator) -> None:
    """PyTorch-default-like init of one module's own parameters (and BN buffers), drawn from ``gen``."""
    own = dict(module.named_parameters(recurse=False))
    if isinstance(module, torch.nn.Embedding):
        _fill_uniform(own["weight"], math.sqrt(6.0 / sum(module.weight.shape)), gen)  # Xavier, as DLE
    elif isinstance(module, (torch.nn.LSTM, torch.nn.LSTMCell)):
        for value in own.values():
            _fill_uniform(value, 1.0 / math.sqrt(module.hidden_size), gen)
    elif isinstance(module, torch.nn.BatchNorm1d):
        module.weight.uniform_(0.6, 1.4, generator=gen)
        module.bias.uniform_(-0.2, 0.2, generator=gen)
        module.running_mean.uniform_(-0.2, 0.2, generator=gen)
        module.running_var.uniform_(0.5, 1.5, generator=gen)
        module.num_batches_tracked.fill_(1000)
    elif isinstance(module, WeightNormConv1d):
        v = module.weight_v
        _fill_uniform(v, 1.0 / math.sqrt(v.shape[1] * v.shape[2]), gen)
        module.weight_g.copy_(v.norm(dim=(1, 2), keepdim=True) * torch.empty_like(module.weight_g).uniform_(
            0.8, 1.2, generator=gen))
        _fill_uniform(module.bias, 1.0 / math.sqrt(v.shape[1] * v.shape[2]), gen)
    elif own:  # Linear, Conv1d, ConvTranspose1d: U(±1/√fan_in) for weight and bias
        weight = own["weight"]
        fan_in = weight.shape[1] * math.prod(weight.shape[2:])
        for value in own.values():
            _fill_uniform(value, 1.0 / math.sqrt(fan_in), gen)


def _orthonormal(channels: int, gen: torch.Generator) -> torch.Tensor:
    """Random orthonormal [c, c] with det +1 (QR of a Gaussian matrix, first column flipped if needed)."""
    q, r = torch.linalg.qr(torch.randn(channels, channels, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))[None, :]
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q.to(torch.float32)


@torch.no_grad()
def init_random(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Fill every parameter and BN buffer of a reference model from ``torch.Generator().manual_seed(seed)``."""
    gen = torch.Generator().manual_seed(seed)
    for _, module in model.named_modules():
        _init_module(module, gen)
    if isinstance(model, WaveGlowReference):
        for flow in model.convinv:
            flow.conv.weight.copy_(_orthonormal(flow.conv.weight.shape[0], gen)[:, :, None])
        for wn in model.WN:  # DLE zero-initialises ``end``; small non-zero values keep the flows non-trivial
            wn.end.weight.mul_(END_SCALE)
            wn.end.bias.mul_(END_SCALE)
    return model


def choose_plan(config: Tacotron2Config) -> AlignmentPlan:
    """SLOW_PLAN when DEFAULT_TEXT at ~4.5 frames/symbol fits max_decoder_steps, else FAST_PLAN."""
    if config.max_decoder_steps > SLOW_PLAN.window[1]:
        return SLOW_PLAN
    if config.max_decoder_steps <= FAST_PLAN.window[1]:
        raise ConfigError(f"max_decoder_steps={config.max_decoder_steps} leaves no room for the demo stop window "
                          f"{FAST_PLAN.window}")
    return FAST_PLAN


@torch.no_grad()
def plant_alignment(model: Tacotron2Reference, plan: AlignmentPlan) -> None:
    """Overwrite the few weights that make the alignment walk and the gate see the end (module docstring)."""
    cfg = model.config
    half = (cfg.attention_location_kernel_size - 1) // 2
    if plan.shift > half:
        raise ConfigError(f"attention_location_kernel_size={cfg.attention_location_kernel_size} cannot shift the "
                          f"alignment by {plan.shift}")
    lstm, h = model.encoder.lstm, cfg.encoder_lstm_dim
    for suffix in ("l0", "l0_reverse"):  # rows 0, H, 2H, 3H are unit 0's gates i, f, g, o
        getattr(lstm, f"weight_ih_{suffix}")[0::h] = 0.0
        getattr(lstm, f"weight_hh_{suffix}")[0::h] = 0.0
        getattr(lstm, f"bias_ih_{suffix}")[0::h] = torch.tensor(
            [_SATURATED, _SATURATED, math.atanh(plan.counter_step), _SATURATED])
        getattr(lstm, f"bias_hh_{suffix}")[0::h] = 0.0
    att = model.decoder.attention_layer
    att.query_layer.linear_layer.weight[0] = 0.0
    memory_row = att.memory_layer.linear_layer.weight[0]
    memory_row.zero_()
    memory_row[0] = -_LOCATION_SCALE * _START_PULL  # forward counter: prefer the start
    dense = att.location_layer.location_dense.linear_layer.weight
    dense[0] = 0.0
    dense[:, 0] = 0.0
    dense[0, 0] = _LOCATION_SCALE
    taps = att.location_layer.location_conv.conv.weight[0]  # [2, k]: channel 0 = α, channel 1 = Σα
    taps.zero_()
    taps[0, half] = plan.dwell
    taps[0, half - plan.shift] = plan.pull  # cross-correlation: tap half − s reads α(j − s)
    taps[1, half] = -1.0
    att.v.linear_layer.weight[0, 0] = _ATTENTION_GAIN / _LOCATION_SCALE
    gate = model.decoder.gate_layer.linear_layer.weight
    gate[0, cfg.decoder_rnn_dim + h] = -_GATE_GAIN  # context index E/2: reverse counter


def default_text_tokens() -> tuple[torch.Tensor, torch.Tensor]:
    """DEFAULT_TEXT as ([1, T_in] int64 ids, [1] lengths)."""
    ids = torch.tensor([text_to_sequence(DEFAULT_TEXT)], dtype=torch.int64)
    return ids, torch.tensor([ids.shape[1]])


@torch.no_grad()
def calibrate_gate_bias(model: Tacotron2Reference, window: tuple[int, int]) -> GateCalibration:
    """Pick the gate bias that stops DEFAULT_TEXT (dropout off) at a step S in ``window``.

    The gate does not feed back, so one run with the bias at 0 gives the raw logits g_t.  S is the step in the
    window where g_t beats the running maximum m_S = max_{t<S} g_t by the most; the bias puts the threshold
    logit half-way between m_S and g_S, so steps before S stay below it and step S crosses it.
    """
    cfg = model.config
    layer = model.decoder.gate_layer.linear_layer
    layer.bias.zero_()
    ids, lengths = default_text_tokens()
    out = model.infer(ids, lengths, dropout="off", max_decoder_steps=window[1] + 1, early_stopping=False)
    g = out["gate"][0].double()
    best = None
    for step in range(window[0], min(window[1], len(g) - 1) + 1):
        running = float(g[:step].max())
        gap = float(g[step]) - running
        if gap > 0 and (best is None or gap > best[1]):
            best = (step, gap, running)
    if best is None:
        raise RuntimeError(f"gate logits never set a new maximum inside steps {window}; cannot calibrate")
    step, gap, running = best
    threshold_logit = math.log(cfg.gate_threshold / (1.0 - cfg.gate_threshold))
    bias = round(threshold_logit - (running + float(g[step])) / 2.0, 3)  # rounded: stable bytes across BLAS builds
    layer.bias.fill_(bias)
    return GateCalibration(bias=bias, stop_step=step, margin=gap / 2.0)


def dle_tacotron2_config(cfg: Tacotron2Config) -> dict[str, Any]:
    """DLE ``Tacotron2(**config)`` keyword dict, in constructor order."""
    return {"mask_padding": False, **{k: getattr(cfg, k) for k in (
        "n_mel_channels", "n_symbols", "symbols_embedding_dim", "encoder_kernel_size", "encoder_n_convolutions",
        "encoder_embedding_dim", "attention_rnn_dim", "attention_dim", "attention_location_n_filters",
        "attention_location_kernel_size", "n_frames_per_step", "decoder_rnn_dim", "prenet_dim",
        "max_decoder_steps", "gate_threshold")},
        "p_attention_dropout": 0.1, "p_decoder_dropout": 0.1, "postnet_embedding_dim": cfg.postnet_embedding_dim,
        "postnet_kernel_size": cfg.postnet_kernel_size, "postnet_n_convolutions": cfg.postnet_n_convolutions,
        "decoder_no_early_stopping": False}


def dle_waveglow_config(cfg: WaveGlowConfig) -> dict[str, Any]:
    """DLE ``WaveGlow(**config)`` keyword dict (n_mel_channels, n_flows, n_group, n_early_every, n_early_size,
    WN_config).  DLE hard-codes the upsampler (1024, stride 256) and the denoiser STFT; a config that differs
    there cannot be a DLE model anyway, so its differing fields are added under their WaveGlowConfig names."""
    out: dict[str, Any] = {k: getattr(cfg, k) for k in _DLE_WAVEGLOW_KEYS}
    out["WN_config"] = {"n_layers": cfg.wn_n_layers, "kernel_size": cfg.wn_kernel_size, "n_channels": cfg.wn_n_channels}
    defaults = WaveGlowConfig()
    out.update({k: getattr(cfg, k) for k in _NON_DLE_WAVEGLOW_KEYS if getattr(cfg, k) != getattr(defaults, k)})
    return out


def _training_checkpoint(config: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return {"epoch": 0, "config": config, "state_dict": state, "optimizer": {}}


@contextlib.contextmanager
def one_thread():
    """Calibration sums depend on torch's thread count; one thread makes the demo weights the same everywhere."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tacotron2_model(config: Tacotron2Config | None = None, seed: int = 0) -> tuple[Tacotron2Reference, GateCalibration]:
    with one_thread():
        return _tacotron2_model(config, seed)


def _tacotron2_model(config: Tacotron2Config | None, seed: int) -> tuple[Tacotron2Reference, GateCalibration]:
    """The demo Tacotron 2 as a reference model (float32, eval) and its gate calibration."""
    cfg = config or Tacotron2Config()
    plan = choose_plan(cfg)
    model = init_random(Tacotron2Reference(cfg), seed)
    plant_alignment(model, plan)
    calibration = calibrate_gate_bias(model, plan.window)
    log.info("demo tacotron2 (seed %d): gate bias %.4f stops DEFAULT_TEXT at step %d (margin %.3f logits)",
             seed, calibration.bias, calibration.stop_step, calibration.margin)
    return model, calibration


def tacotron2_checkpoint(config: Tacotron2Config | None = None, seed: int = 0) -> dict[str, Any]:
    """DLE training-checkpoint dict {'epoch', 'config', 'state_dict', 'optimizer'} of the demo Tacotron 2."""
    model, _ = tacotron2_model(config, seed)
    return _training_checkpoint(dle_tacotron2_config(model.config), model)


def waveglow_checkpoint(config: WaveGlowConfig | None = None, seed: int = 0) -> dict[str, Any]:
    """DLE training-checkpoint dict of the demo WaveGlow (weight-normed keys, per-layer cond_layers)."""
    cfg = config or WaveGlowConfig()
    return _training_checkpoint(dle_waveglow_config(cfg), init_random(WaveGlowReference(cfg), seed))


def _atomic_write(path: Path, write) -> None:
    """``write(tmp)`` then rename onto ``path``; a failed write (torch reports a full or read-only disk as a
    RuntimeError) becomes OutputPathError naming the file, and leaves no temp file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:
        reason = getattr(e, "strerror", None) or str(e).split("strerror: ")[-1].strip().splitlines()[0]
        raise OutputPathError(str(path), f"cannot be written ({reason}); choose another output directory") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def save_reproducibly(obj: Any, path: Path) -> None:
    """``torch.save`` through an open file: the zip's folder is then always ``archive`` (given a path, torch
    names it after the file, here a temp name), so the same tensors give the same bytes in any directory."""
    with open(path, "wb") as f:
        torch.save(obj, f)


def write_demo_checkpoints(out_dir: str | os.PathLike, size: str = "full", seed: int = 0,
                           kinds: tuple[str, ...] = PAIR) -> dict[str, Path]:
    """Write ``<kind>_demo_{size}.pt`` for each of ``kinds`` (default Tacotron 2 and WaveGlow; "hifigan" and
    "fastpitch" too)
    atomically into ``out_dir``.

    A file whose ``.key`` record matches (same content key, sha256 of the file's bytes) is reused, not rebuilt.
    Returns {kind: path}.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputPathError(str(out), f"cannot create the directory ({e.strerror or e}); choose another") from None
    check_writable_dir(out, demo_path(out, "tacotron2", size).name)  # before minutes of generation
    builders = {"tacotron2": tacotron2_checkpoint, "waveglow": waveglow_checkpoint, "hifigan": hifigan_checkpoint,
                "fastpitch": fastpitch_checkpoint}
    jobs = {kind: (demo_config(kind, size), builders[kind]) for kind in kinds}
    paths: dict[str, Path] = {}
    for kind, (cfg, build) in jobs.items():
        path = demo_path(out, kind, size)
        key = content_key(kind, cfg, seed)
        if is_cached(path, key):
            log.info("reusing %s (content key %s…)", path, key[:12])
        else:
            log.info("building %s (size %s, seed %d)", path, size, seed)
            ckpt = build(cfg, seed)
            _atomic_write(path, lambda tmp: save_reproducibly(ckpt, tmp))
            record = json.dumps(key_record(path, key), allow_nan=False)
            _atomic_write(key_path(path), lambda tmp: tmp.write_text(record))
        paths[kind] = path
    return paths
