"""One full-size Tacotron 2 decoder step of trtnet's own layer code (the ``decoder-step`` network's eager twin,
dropout off, batch 1, 128 text positions) on a CUDA GPU: per-step time run eagerly, and replayed as one CUDA
graph, with the number of kernels it launches.  The graph replay is what the step costs with every layer as its
own kernel and no launch overhead from Python: an upper bound for a TensorRT engine of the same step, which fuses
pointwise layers.  Then the same step traced to ATen ops (``make_fx``), compiled by Inductor (pointwise chains
fused into Triton kernels, GEMMs to cuBLAS) and replayed as one CUDA graph: a measured stand-in for TensorRT's
fusion of the step (``inductor_*`` keys).  Usage: ``python3 docs/bench/step_graph.py [OUT.json]`` (needs a CUDA
GPU)."""

from __future__ import annotations

import json
import sys
import time

import torch
from torch.fx.experimental.proxy_tensor import make_fx

from trtnet.engines.eager import EagerNetwork
from trtnet.layers.options import NetworkOptions
from trtnet.runtime.host_loop import zero_state_feeds
from trtnet.verify.anchors import capture, count_kernels
from trtnet.weights.cache import cache_dir
from trtnet.weights.sources import resolve
from trtnet.weights.store import WeightStore

T_IN, REPLAYS = 128, 2000


def measure(store: WeightStore, precision: str) -> dict:
    net = EagerNetwork("decoder-step", store, NetworkOptions(precision=precision, dropout="off"), device="cuda")
    dt = torch.float16 if precision == "fp16" else torch.float32
    cfg = store.config
    feeds = {k: torch.as_tensor(v).cuda() for k, v in zero_state_feeds(net.io, {"B": 1, "T_in": T_IN}).items()}
    gen = torch.Generator(device="cuda").manual_seed(0)
    feeds.update(memory=(torch.randn(1, T_IN, cfg.encoder_embedding_dim, device="cuda", generator=gen) * 0.3).to(dt),
                 processed_memory=(torch.randn(1, T_IN, cfg.attention_dim, device="cuda", generator=gen) * 0.3).to(dt),
                 lengths=torch.tensor([T_IN], dtype=torch.int32, device="cuda"),
                 gate_threshold=torch.tensor(0.5, device="cuda"))
    for _ in range(5):
        net.run_torch(feeds)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(100):
        net.run_torch(feeds)
    torch.cuda.synchronize()
    eager_s = (time.perf_counter() - t0) / 100
    kernels = count_kernels(lambda: net.run_torch(feeds))
    graph, out = capture(net.run_torch, feeds)
    replay_s = _replay_seconds(graph)
    replay_kernels = count_kernels(graph.replay)
    fused = _inductor(net, feeds)
    assert torch.isfinite(out["mel"].float()).all()
    return {"precision": precision, "kernels_per_step": kernels, "eager_step_us": eager_s * 1e6,
            "cuda_graph_step_us": replay_s * 1e6, "us_per_kernel": replay_s * 1e6 / kernels,
            "graph_replay_kernels": replay_kernels, **fused}


def _replay_seconds(graph: torch.cuda.CUDAGraph) -> float:
    graph.replay()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(REPLAYS):
        graph.replay()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / REPLAYS


def _inductor(net: EagerNetwork, feeds: dict) -> dict:
    """The step as ATen ops (weights folded in as constants), compiled by Inductor, captured as one CUDA graph."""
    names = sorted(feeds)
    tensors = [feeds[k] for k in names]

    def step(*values):
        out = net.run_torch(dict(zip(names, values)))
        return tuple(out[k] for k in sorted(out))
    t0 = time.perf_counter()
    compiled = torch.compile(make_fx(step)(*tensors), dynamic=False)
    compiled(*tensors)
    torch.cuda.synchronize()
    compile_s = time.perf_counter() - t0
    graph, out = capture(compiled, *tensors)
    replay_s = _replay_seconds(graph)
    kernels = count_kernels(graph.replay) or count_kernels(lambda: compiled(*tensors))
    want = net.run_torch(feeds)
    mel = out[sorted(want).index("mel")].float()
    return {"inductor_kernels_per_step": kernels, "inductor_cuda_graph_step_us": replay_s * 1e6,
            "inductor_compile_s": compile_s,
            "inductor_mel_max_abs_diff": float((mel - want["mel"].float()).abs().max())}


def main() -> None:
    src = resolve(None, "tacotron2", cache_dir(None), demo_size="full")     # the weights cache bench uses too
    with WeightStore.open(src.h5_path, "tacotron2") as store:
        rows = [measure(store, p) for p in ("fp16", "fp32")]
    doc = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "batch": 1, "T_in": T_IN,
           "replays": REPLAYS, "rows": rows}
    for r in rows:
        print(f"{r['precision']}: {r['kernels_per_step']} kernels per step; eager {r['eager_step_us']:.0f} µs, "
              f"CUDA graph {r['cuda_graph_step_us']:.1f} µs ({r['us_per_kernel']:.2f} µs per kernel); Inductor + "
              f"CUDA graph: {r['inductor_kernels_per_step']} kernels, {r['inductor_cuda_graph_step_us']:.1f} µs "
              f"(compiled in {r['inductor_compile_s']:.0f} s; mel within {r['inductor_mel_max_abs_diff']:.1e})")
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
