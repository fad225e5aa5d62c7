"""Library demo: a 2-layer character LSTM whose whole generation loop runs inside one TensorRT engine.

    python examples/char_lstm.py "the quick brown fox" --out out/char_lstm

The network is defined once (``define``) and then (1) evaluated eagerly with PyTorch and (2) built into a
TensorRT plan with its JSON sidecar — with TensorRT-RTX this works on a machine without a GPU.  The weights are
random (seeded), so the text is gibberish; the point is the graph: a priming loop over the prompt with an
iterator, then a generation loop carrying (h, c) per layer plus the last token, stopping when every row has
produced '.' (WHILE) or after ``max_new`` steps (COUNT, a shape-tensor input set per call).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trtnet import ops
from trtnet.build import BuildConfig, build
from trtnet.graph import Graph
from trtnet.layers.common import lstm_step
from trtnet.loop import loop
from trtnet.tensor import Tensor

VOCAB = " abcdefghijklmnopqrstuvwxyz.,'"
END = VOCAB.index(".")


@dataclass
class Gen:
    h: list[Tensor]
    c: list[Tensor]
    token: Tensor      # [B] int32, the last token
    done: Tensor       # [B] bool, a row has produced END


def make_weights(embed=32, hidden=64, layers=2, seed=0) -> dict[str, np.ndarray]:
    r = np.random.default_rng(seed)
    w = {"embedding": r.standard_normal((len(VOCAB), embed)) * 0.5, "out.weight_t": r.standard_normal((hidden, len(VOCAB)))}
    for n in range(layers):
        w[f"lstm{n}.w_ih_t"] = r.standard_normal((embed if n == 0 else hidden, 4 * hidden)) / np.sqrt(hidden)
        w[f"lstm{n}.w_hh_t"] = r.standard_normal((hidden, 4 * hidden)) / np.sqrt(hidden)
        w[f"lstm{n}.bias"] = r.standard_normal(4 * hidden) * 0.1
    return {k: v.astype(np.float32) for k, v in w.items()}


def define(g: Graph, weights: dict[str, np.ndarray], max_batch: int = 8, max_prompt: int = 64,
           max_new: int = 256) -> None:
    g.dim("B", 1, 1, max_batch)
    g.dim("P", 1, 16, max_prompt)
    prompt = g.input("prompt", "int32", ("B", "P"))                 # token ids
    steps = g.shape_input("max_new", 1, 64, max_new)                 # COUNT limit, read on the host
    n_layers = sum(1 for k in weights if k.endswith(".w_hh_t"))
    W = {k: g.constant(v, name=k) for k, v in weights.items()}
    hidden = weights["lstm0.w_hh_t"].shape[0]

    def stack(x: Tensor, s: Gen) -> tuple[list[Tensor], list[Tensor]]:
        hs, cs = [], []
        for n in range(n_layers):
            with g.scope(f"lstm{n}"):
                h, c = lstm_step(ops.matmul(x, W[f"lstm{n}.w_ih_t"]) + W[f"lstm{n}.bias"], s.h[n], s.c[n],
                                 W[f"lstm{n}.w_hh_t"])
            hs.append(h)
            cs.append(c)
            x = h
        return hs, cs

    B = ops.dim_size(prompt, 0)
    zeros = [ops.zeros(g, [B, hidden], "float32") for _ in range(2 * n_layers)]
    first = Gen(zeros[:n_layers], zeros[n_layers:], ops.zeros(g, [B], "int32"), ops.zeros(g, [B], "bool"))
    emb = ops.gather(W["embedding"], ops.transpose(prompt, 0, 1), 0)           # [P, B, E] time-major

    def prime(s: Gen, x: dict):
        hs, cs = stack(x["emb"], s)
        return Gen(hs, cs, x["ids"], s.done | False), {}, None

    with g.scope("prime"):
        primed = loop(prime, first, max_steps=ops.cast(ops.dim_size(prompt, 1), "int32"),
                      sequences={"emb": emb, "ids": ops.transpose(prompt, 0, 1)}, name="prime").state

    def generate(s: Gen, x: dict):
        hs, cs = stack(ops.gather(W["embedding"], s.token, 0), s)
        token = ops.argmax(ops.matmul(hs[-1], W["out.weight_t"]), -1)
        done = s.done | ops.equal(token, END)
        out = ops.where(s.done, 0, token)                                      # pad after a row's END
        keep_going = ops.reduce_min(ops.cast(done, "int32"), None) < 1         # some row still running
        return Gen(hs, cs, token, done), {"tokens": out}, keep_going

    with g.scope("generate"):
        r = loop(generate, primed, max_steps=steps, name="gen")
    g.output("tokens", ops.transpose(r.collected["tokens"], 0, 1))           # [B, max_new]
    g.output("n_steps", r.n_steps)


def encode(texts: list[str]) -> np.ndarray:
    width = max(len(t) for t in texts)
    return np.array([[VOCAB.index(ch) for ch in t.lower() if ch in VOCAB].__add__([0] * width)[:width]
                     for t in texts], np.int32)


def decode(tokens: np.ndarray) -> list[str]:
    return ["".join(VOCAB[i] for i in row).rstrip() for row in tokens]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("prompt", nargs="*", default=["the quick brown fox", "hello"])
    p.add_argument("--max-new", type=int, default=80)
    p.add_argument("--out", type=Path, default=Path("out/char_lstm"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    weights = make_weights()
    ids = encode(args.prompt)

    g = Graph.eager({"prompt": ids, "max_new": args.max_new})
    define(g, weights)
    res = g.results()
    for prompt, text in zip(args.prompt, decode(res["tokens"].numpy())):
        logging.info("eager: %r -> %r", prompt, text)
    logging.info("eager: %d generation steps", int(res["n_steps"]))

    t0 = time.perf_counter()
    g = Graph.trt("char_lstm")
    define(g, weights)
    built = build(g, args.out / "char_lstm.plan", BuildConfig())
    logging.info("engine: %s (%.1f MB) built in %.2f s with %s; sidecar %s", built.plan_path, built.plan_bytes / 1e6,
                 time.perf_counter() - t0, g.backend.flavor, built.sidecar_path)


if __name__ == "__main__":
    main()
