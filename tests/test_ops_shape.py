"""Shape and data-movement ops: eager vs numpy, TensorRT shapes vs eager shapes, TensorRT-RTX builds
(including run-time sizes from input dimensions)."""

from __future__ import annotations

import numpy as np
import pytest

from trtnet import ops
from graph_helpers import check_against, trt_graph
from interpret_helpers import check_interpret


@pytest.fixture
def x(rng):
    return rng.standard_normal((2, 3, 5)).astype(np.float32)


def test_reshape_permute_transpose(x, tmp_path):
    check_against(lambda g, i: {"r": ops.reshape(i["x"], (2, -1)), "p": ops.permute(i["x"], (2, 0, 1)),
                                "t": ops.transpose(i["x"], 0, 2), "keep": ops.reshape(i["x"], (0, 15))},
                  {"x": x}, lambda x: {"r": x.reshape(2, -1), "p": x.transpose(2, 0, 1), "t": x.transpose(2, 1, 0),
                                       "keep": x.reshape(2, 15)}, tmp_path)


def test_squeeze_unsqueeze_with_dynamic_leading_dim(x, tmp_path):
    check_against(lambda g, i: {"u0": ops.unsqueeze(i["x"], 0), "u2": ops.unsqueeze(i["x"], [1, -1]),
                                "s": ops.squeeze(ops.unsqueeze(i["x"], 1), 1)},
                  {"x": x}, lambda x: {"u0": x[None], "u2": x[:, None, :, :, None], "s": x}, tmp_path)


def test_concat_split_slice(x, tmp_path):
    def define(g, i):
        a, b = ops.split(i["x"], [2, 3], axis=-1)
        return {"cat": ops.concat([i["x"], i["x"]], axis=1), "a": a, "b": b,
                "step": ops.slice_axis(i["x"], 2, 0, 5, 2), "neg": ops.slice_axis(i["x"], 2, -2)}
    check_against(define, {"x": x}, lambda x: {"cat": np.concatenate([x, x], 1), "a": x[..., :2], "b": x[..., 2:],
                                               "step": x[..., 0:5:2], "neg": x[..., -2:]}, tmp_path)


def test_dynamic_slice_from_runtime_sizes(x, tmp_path):
    """start/stop computed from input dimensions (0-D int64 tensors), as the decoder's trims are."""
    def define(g, i):
        t = ops.dim_size(i["x"], 0)
        return {"tail": ops.slice_axis(i["x"], 0, t - 1, t), "sz": ops.shape(i["x"])}
    check_against(define, {"x": x}, lambda x: {"tail": x[-1:], "sz": np.array(x.shape)}, tmp_path)


@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_pad(mode, x, tmp_path):
    check_against(lambda g, i: ops.pad(i["x"], [(2, 3)], mode=mode), {"x": x},
                  lambda x: np.pad(x, [(0, 0), (0, 0), (2, 3)], mode=mode), tmp_path)


def test_pad_constant_value(x):
    check_against(lambda g, i: ops.pad(i["x"], [(1, 1), (0, 2)], value=-7.0), {"x": x},
                  lambda x: np.pad(x, [(0, 0), (1, 1), (0, 2)], constant_values=-7.0))


def test_gather_embedding(rng, tmp_path):
    table = rng.standard_normal((11, 4)).astype(np.float32)
    ids = rng.integers(0, 11, (3, 6)).astype(np.int32)
    ids.flat[:2] = [0, 10]
    check_against(lambda g, i: {"e": ops.gather(g.constant(table, name="emb"), i["ids"], 0),
                                "c": ops.gather(ops.transpose(g.constant(table), 0, 1), i["ids"], 1)},
                  {"ids": ids}, lambda ids: {"e": table[ids], "c": table.T[:, ids]}, tmp_path)


def test_broadcast_to_and_full(rng, tmp_path):
    v = rng.standard_normal((1, 4)).astype(np.float32)
    check_against(lambda g, i: {"b": ops.broadcast_to(i["v"], [3, 4]), "z": ops.zeros(g, [2, ops.dim_size(i["v"], 1)], "float16"),
                                "f": ops.full(g, [2, 2], 3, "int32")},
                  {"v": v}, lambda v: {"b": np.broadcast_to(v, (3, 4)), "z": np.zeros((2, 4), np.float16),
                                       "f": np.full((2, 2), 3, np.int32)}, tmp_path, dyn_axes={"v": (1,)})


def test_arange_with_runtime_length(x, tmp_path):
    check_against(lambda g, i: ops.arange(g, ops.dim_size(i["x"], 0)), {"x": x},
                  lambda x: np.arange(x.shape[0], dtype=np.int32), tmp_path)


def test_reverse_sequence_per_item(rng, tmp_path):
    seq = rng.standard_normal((6, 3, 2)).astype(np.float32)   # [T, B, C]
    lengths = np.array([6, 2, 4], np.int32)

    def ref(s, lengths):
        out = s.copy()
        for b, n in enumerate(lengths):
            out[:n, b] = s[:n, b][::-1]
        return out
    check_against(lambda g, i: ops.reverse_sequence(i["s"], i["lengths"], batch_axis=1, seq_axis=0),
                  {"s": seq, "lengths": lengths}, ref, tmp_path, dyn_axes={"s": (0,), "lengths": ()})


def test_reshape_then_permute_in_one_layer(x, tmp_path):
    """``perm`` reorders the reshaped axes in the same IShuffleLayer (second transpose): one layer, not two."""
    define = lambda g, i: {"r": ops.reshape(i["x"], (0, -1), perm=(1, 0)),                      # noqa: E731
                           "s": ops.squeeze(ops.unsqueeze(i["x"], 3), 3, perm=(2, 0, 1))}
    check_against(define, {"x": x}, lambda x: {"r": x.reshape(2, -1).T, "s": x.transpose(2, 0, 1)}, tmp_path)
    check_interpret(define, {"x": x}, dyn_axes={"x": (0, 2)})
    net = trt_graph(define, {"x": x}, static=False).backend.network
    assert [str(net.get_layer(i).type).split(".")[-1] for i in range(net.num_layers)].count("SHUFFLE") == 3


def test_run_time_sizes_are_gathered_only_where_needed(x):
    """A size vector of two run-time axes of one tensor is one IGatherLayer of its shape (no scalar gathers, no
    concatenation); a 0-D size gets its own gather only once a layer reads it, with the right value."""
    def define(g, i):
        b, _, t = ops.dims(i["x"])
        return {"z": ops.full(g, [b, 2, t], 1.5, i["x"].dtype)}
    net = trt_graph(define, {"x": x}, static=False, dyn_axes={"x": (0, 2)}).backend.network
    kinds = [str(net.get_layer(i).type).split(".")[-1] for i in range(net.num_layers)]
    assert (kinds.count("SHAPE"), kinds.count("GATHER"), kinds.count("CONCATENATION")) == (1, 1, 0), kinds
    check_interpret(define, {"x": x}, dyn_axes={"x": (0, 2)})

    def read(g, i):
        t = ops.dims(i["x"])[2]
        return {"z": ops.full(g, [2, t], 1.0, i["x"].dtype), "last": ops.slice_axis(i["x"], 2, t - 1, t)}
    got = check_interpret(read, {"x": x}, dyn_axes={"x": (0, 2)})
    np.testing.assert_array_equal(got["last"], x[..., -1:])


def test_eager_slices_are_checked_on_the_host_and_taken_as_views(x):
    """An in-range slice with a positive stride shares the input's memory (no index kernel, no device sync); one
    that leaves the input in strict mode is an error naming the slice; a reverse stride still gathers."""
    from trtnet.errors import GraphError
    from trtnet.graph import Graph
    g = Graph.eager({"x": x})
    xin = g.input("x", x.dtype, x.shape)
    part = ops.slice_axis(xin, 2, 1, 5, 2)
    assert part.handle.untyped_storage().data_ptr() == xin.handle.untyped_storage().data_ptr()
    np.testing.assert_array_equal(part.handle.numpy(), x[..., 1:5:2])
    back = ops.slice(xin, [4], [5], [-1], axes=[2])
    np.testing.assert_array_equal(back.handle.numpy(), x[..., ::-1])
    with pytest.raises(GraphError, match="leaves the input"):
        ops.slice(xin, [3], [4], axes=[2], name="too_far")
