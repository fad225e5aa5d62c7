"""Graph definition rules: strong typing, truthiness, dimension names, scopes and layer names."""

from __future__ import annotations

import numpy as np
import pytest

from trtnet import ops
from trtnet.errors import DTypeError, GraphError
from trtnet.graph import Graph
from trtnet.iospec import SpecError


def test_dtype_mismatch_is_refused_in_both_backends():
    for g in (Graph.trt(), Graph.eager({"a": np.zeros(2, np.float32), "b": np.zeros(2, np.float16)})):
        a = g.input("a", "float32", (2,))
        b = g.input("b", "float16", (2,))
        with pytest.raises(DTypeError, match=r"a: float32, b: float16"):
            ops.add(a, b)
        with pytest.raises(DTypeError):
            ops.matmul(ops.reshape(a, (1, 2)), g.constant(np.ones((2, 2), np.float16)))


def test_tensor_in_boolean_context_raises():
    g = Graph.eager({"x": np.ones(3, np.float32)})
    x = g.input("x", "float32", (3,))
    with pytest.raises(TypeError, match="no truth value"):
        if x > 0:  # noqa: SIM108 - the point of the test
            pass
    with pytest.raises(TypeError):
        bool(x)


def test_unknown_dimension_name():
    g = Graph.trt()
    g.dim("B", 1, 1, 4)
    with pytest.raises(GraphError, match="unknown dimension name 'T'"):
        g.input("x", "float32", ("B", "T"))


def test_operands_from_two_graphs():
    g1, g2 = Graph.trt("one"), Graph.trt("two")
    a = g1.input("a", "float32", (2,))
    b = g2.input("b", "float32", (2,))
    with pytest.raises(GraphError, match="belongs to graph 'two'"):
        ops.add(a, b)


def test_eager_feeds_are_checked_against_the_declaration():
    g = Graph.eager({"x": np.zeros((2, 9), np.float32), "y": np.zeros((3, 4), np.float32),
                     "z": np.zeros((2, 4), np.float64)})
    g.dim("B", 1, 2, 4)
    g.dim("T", 1, 4, 8)
    with pytest.raises(SpecError, match="'T' = 9 is outside"):
        g.input("x", "float32", ("B", "T"))
    g.input("y", "float32", (3, "T"))
    with pytest.raises(DTypeError, match="expected float32, got float64"):
        g.input("z", "float32", (2, "T"))


def test_layer_names_follow_scopes_and_every_layer_is_named():
    g = Graph.trt("names")
    x = g.input("x", "float32", (2, 4))
    with g.scope("decoder.attention_rnn"):
        w = g.constant(np.ones((4, 4), np.float32), name="weight_ih")
        y = ops.sigmoid(ops.matmul(x, w))
        y2 = ops.sigmoid(y)
    g.output("y", y2)
    net = g.backend.network
    names = [net.get_layer(i).name for i in range(net.num_layers)]
    assert "decoder/attention_rnn/weight_ih" in names
    assert "decoder/attention_rnn/sigmoid_0" in names and "decoder/attention_rnn/sigmoid_1" in names
    assert "decoder/attention_rnn/matmul_0" in names
    assert not [n for n in names if "Unnamed" in n]
    assert y.name == "decoder/attention_rnn/sigmoid_0"


def test_duplicate_io_names_are_refused():
    g = Graph.trt()
    x = g.input("x", "float32", (2,))
    with pytest.raises(GraphError):
        g.input("x", "float32", (2,))
    g.output("y", ops.relu(x))
    with pytest.raises(GraphError, match="already used"):
        g.output("y", ops.relu(x))


def test_output_can_cast_and_can_be_an_input():
    g = Graph.trt()
    x = g.input("x", "float16", (2,))
    g.output("x_out", x, dtype="float32")
    g.output("same", x)
    assert g.outputs["x_out"][0].dtype == "float32" and g.outputs["same"][0].dtype == "float16"


def test_output_dims_name_run_time_axes_and_static_ones_must_agree():
    from trtnet import ops
    g = Graph.trt("dims")
    g.dim("B", 1, 2, 4)
    x = g.input("x", "float32", ("B", 3))
    g.output("y", ops.concat([x, x], axis=0), dims=("2·B", 3))
    assert g.outputs["y"][0].shape == ("2·B", 3)
    with pytest.raises(GraphError, match="axis 1: size 3, declared 4"):
        g.output("z", ops.relu(x), dims=("B", 4))
    with pytest.raises(GraphError, match="name 1 axes, the tensor has 2"):
        g.output("w", ops.tanh(x), dims=("B",))
