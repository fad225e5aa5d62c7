"""Plain-PyTorch Tacotron 2 reference: DLE keys, block math against hand-written formulas, DLE stop semantics."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fixtures_reference import SMALL_T2, random_tokens, small_t2, small_t2_ckpt  # noqa: F401 (fixtures)
from trtnet.weights.config import ConfigError, Tacotron2Config
from trtnet.weights.demo import default_text_tokens
from trtnet.weights.reference import ReferenceLoadError, Tacotron2Reference, make_prenet_masks


def _bn(n: int, prefix: str) -> dict[str, tuple]:
    return {f"{prefix}.{f}": (n,) for f in ("weight", "bias", "running_mean", "running_var")} | \
        {f"{prefix}.num_batches_tracked": ()}


def dle_tacotron2_keys() -> dict[str, tuple]:
    """Spec §1.3, full DLE sizes, r = 1."""
    keys: dict[str, tuple] = {"embedding.weight": (148, 512)}
    for i in range(3):
        keys |= {f"encoder.convolutions.{i}.0.conv.weight": (512, 512, 5),
                 f"encoder.convolutions.{i}.0.conv.bias": (512,)}
        keys |= _bn(512, f"encoder.convolutions.{i}.1")
    for sfx in ("l0", "l0_reverse"):
        keys |= {f"encoder.lstm.weight_ih_{sfx}": (1024, 512), f"encoder.lstm.weight_hh_{sfx}": (1024, 256),
                 f"encoder.lstm.bias_ih_{sfx}": (1024,), f"encoder.lstm.bias_hh_{sfx}": (1024,)}
    keys |= {
        "decoder.prenet.layers.0.linear_layer.weight": (256, 80),
        "decoder.prenet.layers.1.linear_layer.weight": (256, 256),
        "decoder.attention_rnn.weight_ih": (4096, 768), "decoder.attention_rnn.weight_hh": (4096, 1024),
        "decoder.attention_rnn.bias_ih": (4096,), "decoder.attention_rnn.bias_hh": (4096,),
        "decoder.attention_layer.query_layer.linear_layer.weight": (128, 1024),
        "decoder.attention_layer.memory_layer.linear_layer.weight": (128, 512),
        "decoder.attention_layer.v.linear_layer.weight": (1, 128),
        "decoder.attention_layer.location_layer.location_conv.conv.weight": (32, 2, 31),
        "decoder.attention_layer.location_layer.location_dense.linear_layer.weight": (128, 32),
        "decoder.decoder_rnn.weight_ih": (4096, 1536), "decoder.decoder_rnn.weight_hh": (4096, 1024),
        "decoder.decoder_rnn.bias_ih": (4096,), "decoder.decoder_rnn.bias_hh": (4096,),
        "decoder.linear_projection.linear_layer.weight": (80, 1536),
        "decoder.linear_projection.linear_layer.bias": (80,),
        "decoder.gate_layer.linear_layer.weight": (1, 1536), "decoder.gate_layer.linear_layer.bias": (1,),
    }
    widths = [(80, 512), (512, 512), (512, 512), (512, 512), (512, 80)]
    for i, (cin, cout) in enumerate(widths):
        keys |= {f"postnet.convolutions.{i}.0.conv.weight": (cout, cin, 5),
                 f"postnet.convolutions.{i}.0.conv.bias": (cout,)}
        keys |= _bn(cout, f"postnet.convolutions.{i}.1")
    return keys


def test_state_dict_is_exactly_dle_full():
    with torch.device("meta"):
        state = Tacotron2Reference(Tacotron2Config()).state_dict()
    expected = dle_tacotron2_keys()
    assert sorted(state) == sorted(expected)
    assert {k: tuple(v.shape) for k, v in state.items()} == expected
    assert sum(v.numel() for v in state.values()) == pytest.approx(28.2e6, rel=0.01)


def test_lstm_cell_matches_gate_equations(small_t2):
    cell = small_t2.decoder.attention_rnn
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, cell.input_size, generator=gen, dtype=torch.float64)
    h, c = (torch.randn(2, cell.hidden_size, generator=gen, dtype=torch.float64) for _ in range(2))
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(c_new)
    h_ref, c_ref = cell(x, (h, c))
    torch.testing.assert_close(h_ref, h_new, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c_ref, c_new, rtol=1e-12, atol=1e-12)


def test_location_attention_tiny_case_by_hand(small_t2):
    att = small_t2.decoder.attention_layer
    gen = torch.Generator().manual_seed(2)
    b, t_in = 2, 6
    query = torch.randn(b, SMALL_T2.attention_rnn_dim, generator=gen, dtype=torch.float64)
    memory = torch.randn(b, t_in, SMALL_T2.encoder_embedding_dim, generator=gen, dtype=torch.float64)
    w_cat = torch.rand(b, 2, t_in, generator=gen, dtype=torch.float64)
    mask = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    wq = att.query_layer.linear_layer.weight
    wm = att.memory_layer.linear_layer.weight
    conv = att.location_layer.location_conv.conv.weight  # [F, 2, k]
    dense = att.location_layer.location_dense.linear_layer.weight
    v = att.v.linear_layer.weight[0]
    k = conv.shape[2]
    pad = (k - 1) // 2
    energies = torch.empty(b, t_in, dtype=torch.float64)
    for n in range(b):
        for j in range(t_in):
            feats = torch.zeros(conv.shape[0], dtype=torch.float64)
            for tap in range(k):
                src = j + tap - pad
                if 0 <= src < t_in:
                    feats += conv[:, :, tap] @ w_cat[n, :, src]
            energies[n, j] = v @ torch.tanh(wq @ query[n] + dense @ feats + wm @ memory[n, j])
    energies[mask] = -math.inf
    weights = torch.exp(energies - energies.max(1, keepdim=True).values)
    weights = weights / weights.sum(1, keepdim=True)
    context = torch.einsum("bt,bte->be", weights, memory)
    ctx_ref, w_ref = att(query, memory, att.memory_layer(memory), w_cat, mask)
    torch.testing.assert_close(w_ref, weights, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ctx_ref, context, rtol=1e-10, atol=1e-12)
    assert torch.all(w_ref[1, 4:] == 0)


def test_prenet_fed_masks_scale_kept_units(small_t2):
    prenet = small_t2.decoder.prenet
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(3, SMALL_T2.n_mel_channels, generator=gen, dtype=torch.float64)
    masks = make_prenet_masks(1, 3, SMALL_T2, gen)[0]
    w0, w1 = (layer.linear_layer.weight for layer in prenet.layers)
    p = SMALL_T2.prenet_dropout
    expected = F.relu(F.relu(x @ w0.T) * masks[:, 0] / (1 - p) @ w1.T) * masks[:, 1] / (1 - p)
    torch.testing.assert_close(prenet(x, masks, p), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(prenet(x, "off", p), F.relu(F.relu(x @ w0.T) @ w1.T), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="expected"):
        prenet(x, masks[:2], p)


def test_make_prenet_masks_statistics_and_determinism():
    cfg = Tacotron2Config.small(prenet_dropout=0.3)
    a = make_prenet_masks(200, 4, cfg, torch.Generator().manual_seed(5))
    b = make_prenet_masks(200, 4, cfg, torch.Generator().manual_seed(5))
    assert a.shape == (200, 4, 2, cfg.prenet_dim) and a.dtype == torch.float32
    assert torch.equal(a, b) and set(a.unique().tolist()) == {0.0, 1.0}
    assert a.mean().item() == pytest.approx(0.7, abs=0.03)


def test_dropout_on_with_generator_equals_fed_masks(small_t2):
    tokens, lengths = random_tokens([20, 13], seed=4)
    out = small_t2.infer(tokens, lengths, generator=torch.Generator().manual_seed(9))
    masks = make_prenet_masks(SMALL_T2.max_decoder_steps, 2, SMALL_T2, torch.Generator().manual_seed(9))
    fed = small_t2.infer(tokens, lengths, dropout=masks)
    assert out["n_steps"] == fed["n_steps"]
    torch.testing.assert_close(out["mel_postnet"], fed["mel_postnet"], rtol=0, atol=0)
    off = small_t2.infer(tokens, lengths, dropout="off")
    assert not torch.allclose(off["mel"][..., :5], out["mel"][..., :5])
    with pytest.raises(ValueError, match="cover 3 steps"):
        small_t2.infer(tokens, lengths, dropout=masks[:3])


def test_dropout_on_default_uses_global_rng(small_t2):
    tokens, lengths = random_tokens([15], seed=6)
    torch.manual_seed(11)
    a = small_t2.infer(tokens, lengths)["mel"]
    torch.manual_seed(11)
    b = small_t2.infer(tokens, lengths)["mel"]
    c = small_t2.infer(tokens, lengths)["mel"]
    assert torch.equal(a, b) and not torch.equal(a[..., :3], c[..., :3])


def test_infer_equals_blocks_composed_by_hand(small_t2):
    tokens, lengths = random_tokens([17], seed=7)
    out = small_t2.infer(tokens, lengths, dropout="off")
    memory, processed = small_t2.encode(tokens, lengths)
    mask = small_t2.padding_mask(lengths, memory.shape[1])
    state, frame = small_t2.initial_state(memory), small_t2.go_frame(memory)
    frames, gates = [], []
    for _ in range(out["n_steps"]):
        frame, gate, state = small_t2.decoder_step(frame, state, memory, processed, mask, dropout="off")
        frames.append(frame)
        gates.append(gate)
    mel = torch.stack(frames, dim=2)
    torch.testing.assert_close(out["mel"], mel, rtol=0, atol=0)
    torch.testing.assert_close(out["gate"], torch.stack(gates, dim=1), rtol=0, atol=0)
    torch.testing.assert_close(out["mel_postnet"], mel + small_t2.postnet.residual(mel), rtol=0, atol=0)


def test_conv_bn_block_uses_running_stats(small_t2):
    block = small_t2.postnet.convolutions[0]
    conv, bn = block[0].conv, block[1]
    x = torch.randn(2, SMALL_T2.n_mel_channels, 9, dtype=torch.float64)
    y = F.conv1d(x, conv.weight, conv.bias, padding=2)
    y = (y - bn.running_mean[:, None]) / torch.sqrt(bn.running_var[:, None] + 1e-5)
    y = y * bn.weight[:, None] + bn.bias[:, None]
    torch.testing.assert_close(block(x), y, rtol=1e-12, atol=1e-12)


def test_stop_frame_generated_but_not_counted(small_t2):
    tokens, lengths = default_text_tokens()
    out = small_t2.infer(tokens, lengths, dropout="off")
    stop = int(out["mel_lengths"][0])
    assert out["mel_lengths"].dtype == torch.int32
    assert out["n_steps"] == stop + 1 and out["mel"].shape == (1, SMALL_T2.n_mel_channels, stop + 1)
    assert torch.all(torch.sigmoid(out["gate"][0, :stop]) <= 0.5) and torch.sigmoid(out["gate"][0, stop]) > 0.5
    assert out["alignments"].shape == (1, stop + 1, tokens.shape[1])
    longer = small_t2.infer(tokens, lengths, dropout="off", early_stopping=False, max_decoder_steps=stop + 9)
    assert longer["n_steps"] == stop + 9 and int(longer["mel_lengths"][0]) == stop
    torch.testing.assert_close(longer["mel"][..., :stop + 1], out["mel"], rtol=0, atol=0)


def test_gate_on_first_step_gives_length_zero_and_cap_counts_all(small_t2):
    tokens, lengths = random_tokens([9, 5], seed=8)
    small_t2.decoder.gate_layer.linear_layer.bias.data.fill_(100.0)
    out = small_t2.infer(tokens, lengths, dropout="off")
    assert out["n_steps"] == 1 and out["mel_lengths"].tolist() == [0, 0]
    small_t2.decoder.gate_layer.linear_layer.bias.data.fill_(-100.0)
    out = small_t2.infer(tokens, lengths, dropout="off", max_decoder_steps=7)
    assert out["n_steps"] == 7 and out["mel_lengths"].tolist() == [7, 7]
    out = small_t2.infer(tokens, lengths, dropout="off", max_decoder_steps=7, gate_threshold=0.0)
    assert out["n_steps"] == 1 and out["mel_lengths"].tolist() == [0, 0]


def test_ragged_batch_in_any_order_matches_single_runs(small_t2):
    lengths = [40, 128, 75]  # deliberately not sorted
    tokens, lens = random_tokens(lengths, seed=10)
    batch = small_t2.infer(tokens, lens, dropout="off")
    assert batch["n_steps"] == int(batch["mel_lengths"].max()) + 1
    for row, n in enumerate(lengths):
        padded = small_t2.infer(tokens[row:row + 1], lens[row:row + 1], dropout="off")  # same pad tokens as the batch
        alone = small_t2.infer(tokens[row:row + 1, :n], lens[row:row + 1], dropout="off")  # no padding at all
        stop = int(padded["mel_lengths"][0])
        assert int(batch["mel_lengths"][row]) == stop == int(alone["mel_lengths"][0])
        torch.testing.assert_close(batch["mel"][row, :, :stop + 1], padded["mel"][0], rtol=1e-9, atol=1e-11)
        torch.testing.assert_close(batch["alignments"][row, :stop + 1], padded["alignments"][0], rtol=1e-9, atol=1e-11)
        assert torch.all(batch["alignments"][row, :, n:] == 0)


def test_encoder_keeps_dle_pad_token_leak_and_honours_lengths(small_t2):
    tokens, lengths = random_tokens([12, 30], seed=12)
    memory, processed = small_t2.encode(tokens, lengths)
    alone, _ = small_t2.encode(tokens[:1, :12], lengths[:1])
    assert memory.shape == (2, 30, SMALL_T2.encoder_embedding_dim) and processed.shape[-1] == SMALL_T2.attention_dim
    assert torch.all(memory[0, 12:] == 0)
    # The convs see the pad embeddings of the padded row (DLE quirk): the short row differs from its solo run.
    assert not torch.allclose(memory[0, :12], alone[0], atol=1e-6)
    swapped, _ = small_t2.encode(tokens.flip(0), lengths.flip(0))
    torch.testing.assert_close(swapped.flip(0), memory, rtol=0, atol=0)


def test_float32_and_float64_agree(small_t2_ckpt):
    m32 = Tacotron2Reference.from_checkpoint(small_t2_ckpt)
    m64 = Tacotron2Reference.from_checkpoint(small_t2_ckpt).double()
    tokens, lengths = default_text_tokens()
    o32, o64 = m32.infer(tokens, lengths, dropout="off"), m64.infer(tokens, lengths, dropout="off")
    assert o32["mel"].dtype == torch.float32 and o64["mel"].dtype == torch.float64
    assert torch.equal(o32["mel_lengths"], o64["mel_lengths"])
    torch.testing.assert_close(o32["mel_postnet"].double(), o64["mel_postnet"], rtol=1e-4, atol=1e-5)


def test_from_checkpoint_prefixes_bare_fp16_and_path(small_t2_ckpt, tmp_path):
    ref = Tacotron2Reference.from_checkpoint(small_t2_ckpt)
    assert ref.config == SMALL_T2  # from ckpt['config']
    state = small_t2_ckpt["state_dict"]
    ddp = {"state_dict": {f"module.{k}": v for k, v in state.items()}, "config": small_t2_ckpt["config"]}
    bare_fp16 = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    torch.save(ddp, tmp_path / "ddp.pt")
    from_path = Tacotron2Reference.from_checkpoint(tmp_path / "ddp.pt")
    from_bare = Tacotron2Reference.from_checkpoint(bare_fp16, SMALL_T2)
    for key, value in ref.state_dict().items():
        assert torch.equal(from_path.state_dict()[key], value)
        assert from_bare.state_dict()[key].dtype == value.dtype
        torch.testing.assert_close(from_bare.state_dict()[key], bare_fp16[key].to(value.dtype), rtol=0, atol=0)
    assert not from_path.training


def test_from_checkpoint_errors_name_keys_and_shapes(small_t2_ckpt):
    state = dict(small_t2_ckpt["state_dict"])
    state.pop("decoder.gate_layer.linear_layer.bias")
    state["decoder.prenet.layers.0.linear_layer.weight"] = torch.zeros(3, 3)
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(ReferenceLoadError) as err:
        Tacotron2Reference.from_checkpoint(state, SMALL_T2)
    message = str(err.value)
    assert "decoder.gate_layer.linear_layer.bias" in message and "extra.weight" in message
    assert "checkpoint (3, 3) vs model (10, 12)" in message
    with pytest.raises(ReferenceLoadError, match="does not fit"):
        Tacotron2Reference.from_checkpoint(small_t2_ckpt, Tacotron2Config())
    with pytest.raises(ConfigError, match="symbols_embedding_dim"):
        Tacotron2Reference(Tacotron2Config.small(symbols_embedding_dim=8))
    with pytest.raises(ReferenceLoadError, match="expected a dict"):
        Tacotron2Reference.from_checkpoint([1, 2])
