"""The layer budget (docs/performance.md): what each full-size FP16 network hands to TensorRT, by layer type,
read back from the network definition (``INetworkDefinition`` after ``define``), and the decoder loop's layers per
iteration from the interpreter's loop plan.  Inside a TensorRT loop every surviving layer costs at least one
kernel per step, and shape plumbing (IShapeLayer, IGatherLayer, size-vector concatenations) is pure overhead, so
these counts may only shrink: a change that adds layers past a ceiling fails here and says which type grew.

Ceilings are the issue's targets (decoder-loop: at most 4 SHAPE, 4 GATHER, 8 CONCATENATION and 130 non-constant
layers; WaveGlow: at most 2500 layers and 20 SHAPE) or, where the design does better, the counts reached.  The
fed-masks variant with alignments has its own ceilings: the fed masks' [S, B, 2, P] layout and the collected
alignments cost layers the default build does not have.
"""

from __future__ import annotations

from collections import Counter

import pytest

from fixtures_fastpitch import fp_full  # noqa: F401 (fixture)
from fixtures_hifigan import hg_full  # noqa: F401 (fixture)
from fixtures_tacotron2 import t2_full
from fixtures_waveglow import wg_full  # noqa: F401 (fixture)
from trtnet.graph import Graph
from trtnet.interpret import plan_network
from trtnet.verify.interpret_compare import loop_layer_counts
from trtnet.layers.networks import define
from trtnet.layers.options import NetworkOptions
from trtnet.tools.inspect_loops import network_layer_counts

__all__ = ["t2_full"]

SHAPE_PLUMBING = ("SHAPE", "GATHER", "CONCATENATION")

# network → ceilings on the whole network: layer type → most allowed ("TOTAL" all layers, "NONCONST" all but
# CONSTANT).  Figures before → after the lean-engine work, FP16, default options: see docs/performance.md.
BUDGET = {
    "decoder-loop": {"SHAPE": 4, "GATHER": 4, "CONCATENATION": 8, "NONCONST": 128},
    "decoder-step": {"SHAPE": 4, "GATHER": 4, "CONCATENATION": 8, "NONCONST": 88},
    "fused": {"SHAPE": 5, "GATHER": 8, "CONCATENATION": 7},
    "postnet": {"SHAPE": 1, "GATHER": 1, "CONCATENATION": 0},
    "waveglow": {"TOTAL": 2500, "SHAPE": 20, "SHUFFLE": 40, "CONCATENATION": 20},
    "denoiser": {"SHAPE": 3},
    "hifigan": {"SHAPE": 20},
    "fastpitch": {"SHAPE": 5, "GATHER": 6, "CONCATENATION": 3, "NONCONST": 948},   # ω computed in the graph
}
# the fed-masks build with alignments: ceilings that differ from BUDGET's
FED_MASKS_BUDGET = {"decoder-loop": {"NONCONST": 131}}
# loop name → per-iteration ceilings (the body TensorRT runs every step), default build and fed-masks build
LOOP_BUDGET = {"decoder_0": {"SHAPE": 0, "GATHER": 0, "TOTAL": 73}}
FED_MASKS_LOOP_BUDGET = {"decoder_0": {"TOTAL": 75}}


def _counts(store, network: str, precision: str = "fp16", **options) -> tuple[Counter, dict[str, Counter]]:
    g = Graph.trt(network)
    define(network, g, store, NetworkOptions(precision=precision, **options))
    net = g.backend.network
    return network_layer_counts(net), loop_layer_counts(plan_network(net)) if network != "waveglow" else {}


def _over(counts: Counter, ceilings: dict[str, int]) -> list[str]:
    seen = dict(counts, TOTAL=sum(counts.values()), NONCONST=sum(counts.values()) - counts["CONSTANT"])
    return [f"{k} {seen.get(k, 0)} > {limit}" for k, limit in ceilings.items() if seen.get(k, 0) > limit]


@pytest.mark.parametrize("options", [{}, {"dropout": "input", "alignments": True}], ids=["default", "fed-masks"])
@pytest.mark.parametrize("network", ["decoder-loop", "decoder-step", "fused", "postnet"])
def test_tacotron2_networks_stay_within_the_budget(t2_full, network, options):
    fed = bool(options)
    total, loops = _counts(t2_full.store, network, **options)
    ceilings = {**BUDGET[network], **(FED_MASKS_BUDGET.get(network, {}) if fed else {})}
    assert not _over(total, ceilings), f"{network}: {_over(total, ceilings)}; all: {dict(total)}"
    for name, per_step in loops.items():
        over = _over(per_step, {**LOOP_BUDGET.get(name, {}), **(FED_MASKS_LOOP_BUDGET.get(name, {}) if fed else {})})
        assert not over, f"{network} loop {name}, per iteration: {over}; all: {dict(per_step)}"


def test_decoder_loop_body_has_no_shape_plumbing(t2_full):
    """Every loop-invariant size is computed before the loop: no IShapeLayer / IGatherLayer per step."""
    _, loops = _counts(t2_full.store, "decoder-loop")
    body = loops["decoder_0"]
    assert body["SHAPE"] == body["GATHER"] == 0, dict(body)
    assert body["MATRIX_MULTIPLY"] == 9, dict(body)    # prenet 2, LSTMs 2, query, energies, context, projection, gate


def test_fp32_decoder_step_projects_frame_and_gate_in_one_gemm(t2_full):
    """Where the dtypes allow (float32 networks), the frame projection and the gate are one GEMM per step."""
    _, loops = _counts(t2_full.store, "decoder-loop", "fp32")
    assert loops["decoder_0"]["MATRIX_MULTIPLY"] == 8, dict(loops["decoder_0"])


@pytest.mark.parametrize("network", ["waveglow", "denoiser"])
def test_waveglow_networks_stay_within_the_budget(wg_full, network):
    total, _ = _counts(wg_full.store, network)
    assert not _over(total, BUDGET[network]), f"{network}: {_over(total, BUDGET[network])}; all: {dict(total)}"


def test_waveglow_has_no_per_layer_shape_plumbing(wg_full):
    """96 WN layers, 324 convolutions: shape layers and reshapes do not scale with them."""
    total, _ = _counts(wg_full.store, "waveglow")
    assert total["CONVOLUTION"] == 324
    assert total["SHAPE"] + total["GATHER"] + total["SHUFFLE"] < 40, dict(total)


def test_hifigan_stays_within_the_budget(hg_full):
    total, _ = _counts(hg_full.store, "hifigan")
    assert not _over(total, BUDGET["hifigan"]), f"hifigan: {_over(total, BUDGET['hifigan'])}; all: {dict(total)}"


def test_fastpitch_stays_within_the_budget(fp_full):
    """No loop: one pass of 12 FFT layers, 3 predictors and the regulator's single expansion matmul."""
    total, _ = _counts(fp_full.store, "fastpitch")
    assert not _over(total, BUDGET["fastpitch"]), f"fastpitch: {_over(total, BUDGET['fastpitch'])}; all: {dict(total)}"
    assert total["MATRIX_MULTIPLY"] == 53 and total["LOOP"] == 0, dict(total)
