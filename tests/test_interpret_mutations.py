"""Mutation tests: one wrong lowering at a time patched into the TensorRT backend (the eager twin untouched).
Each wrong network still builds, and the interpreter-vs-eager comparison must report it, naming the layer scope
where the difference starts."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures_tacotron2 import t2_small
from fixtures_waveglow import wg_small
from trtnet.verify.interpret_suite import run_case
from trtnet.backends.trt import TrtBackend

__all__ = ["t2_small", "wg_small"]


def transpose_flag(mp):
    """IMatrixMultiplyLayer: the second operand's TRANSPOSE flag flipped where that keeps shapes (square)."""
    orig = TrtBackend.op_matmul

    def op_matmul(self, name, a, b, *, transpose_a, transpose_b):
        s = tuple(b.shape)
        square = len(s) >= 2 and s[-1] == s[-2] > 0
        return orig(self, name, a, b, transpose_a=transpose_a, transpose_b=transpose_b ^ square)
    mp.setattr(TrtBackend, "op_matmul", op_matmul)


def conv_padding(mp):
    """IConvolutionLayer: padding p on both sides becomes p+1 before and p−1 after (same output length)."""
    orig = TrtBackend.add

    def add(self, name, kind, *args, **props):
        pad = props.get("padding_nd")
        if kind == "convolution_nd" and pad and pad[0] > 0:
            del props["padding_nd"]
            props.update(pre_padding=(pad[0] + 1, 0), post_padding=(pad[0] - 1, 0))
        return orig(self, name, kind, *args, **props)
    mp.setattr(TrtBackend, "add", add)


def shuffle_permutation(mp):
    """IShuffleLayer: the last two axes of the permutation swapped, a reshape restoring the right shape."""
    def op_transpose(self, name, x, *, perm):
        right = self.out(name, "shuffle", x, first_transpose=tuple(perm), part="right")
        wrong = list(perm)
        wrong[-1], wrong[-2] = wrong[-2], wrong[-1]
        bad = self.out(name, "shuffle", x, first_transpose=tuple(wrong), part="wrong")
        return self._reshape(name, bad, self.out(name, "shape", right, part="shape"), "hide")
    mp.setattr(TrtBackend, "op_transpose", op_transpose)


def slice_start(mp):
    """ISliceLayer: the first positive static start one lower (still inside the input)."""
    orig = TrtBackend.op_slice

    def op_slice(self, name, x, *, start, size, stride, mode="strict", fill=None, axes=None):
        if isinstance(start, tuple) and any(s > 0 for s in start):
            i = next(i for i, s in enumerate(start) if s > 0)
            start = start[:i] + (start[i] - 1,) + start[i + 1:]
        return orig(self, name, x, start=start, size=size, stride=stride, mode=mode, fill=fill, axes=axes)
    mp.setattr(TrtBackend, "op_slice", op_slice)


def sub_to_sum(mp):
    """IElementWiseLayer: SUB lowered as SUM."""
    orig = TrtBackend.op_elementwise
    mp.setattr(TrtBackend, "op_elementwise",
               lambda self, name, a, b, *, op: orig(self, name, a, b, op="add" if op == "sub" else op))


def loop_output_kind(mp):
    """ILoopOutputLayer: CONCATENATE emitted as REVERSE."""
    orig = TrtBackend.add

    def add(self, name, kind, *args, **props):
        if kind == "loop_output" and args[1] == self.trt.LoopOutput.CONCATENATE:
            args = (args[0], self.trt.LoopOutput.REVERSE) + args[2:]
        return orig(self, name, kind, *args, **props)
    mp.setattr(TrtBackend, "add", add)


MUTATIONS = [  # (mutation, network, architecture, the scope the report must name)
    (transpose_flag, "decoder-loop", "t2", "decoder/prenet/layer1"),
    (conv_padding, "postnet", "t2", "postnet/convolutions/0/conv"),
    (shuffle_permutation, "encoder", "t2", "embedding/transpose"),
    (slice_start, "encoder", "t2", "encoder/"),
    (sub_to_sum, "waveglow", "wg", "/sub_"),
    (loop_output_kind, "decoder-loop", "t2", "/collect/"),
]


@pytest.mark.parametrize("mutation,network,arch,scope", MUTATIONS, ids=[m[0].__name__ for m in MUTATIONS])
def test_a_wrong_lowering_is_reported_at_its_layer(mutation, network, arch, scope, monkeypatch, t2_small, wg_small):
    store = (t2_small if arch == "t2" else wg_small).store
    with monkeypatch.context() as mp:
        mutation(mp)
        res = run_case(network, "fp32", store)
    assert not res.passed, f"{mutation.__name__} was not caught:\n" + "\n".join(c.row() for c in res.checks)
    assert res.first_difference is not None and scope in res.first_difference.split(":")[0], res.first_difference
    assert run_case(network, "fp32", store).passed          # and the unpatched network agrees again
