"""`Bidirectional(layer, backward_layer=...)` against real Keras 3: shapes, weights and counts (parity helper),
NumPy outputs with and without a padding mask (the helper that pairs a Keras model with its NumPy copy), the
refusals (Keras's own, and the size mismatch Keras builds but cannot run), and the `--fill` round trip."""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import rnnspec
from rnnspec.cli import main
from rnnspec.errors import RnnspecError

from .test_numpy_layers import assert_same, floats, padded_ids
from .test_parity import assert_parity, case

# Keras warns whenever a layer drops a mask, and the masked cases end in a layer that does
pytestmark = pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")


def bidi(L: Any, layer: Any, backward: Any, **kwargs: Any) -> Any:
    return L.Bidirectional(layer, backward_layer=backward, **kwargs)


# ---------------------------------------------------------------- shapes, weights and counts equal Keras's

PARITY = [
    case("Input(5, 3) > Bidirectional(LSTM(4, seq), backward_layer=LSTM(4, seq, backwards, activation=relu))",
         lambda L: [L.Input((5, 3)), bidi(L, L.LSTM(4, return_sequences=True),
                                          L.LSTM(4, return_sequences=True, go_backwards=True, activation="relu"))]),
    case("Input(5, 3) > Bidirectional(LSTM(4, seq), sum, backward_layer=GRU(4, seq, backwards))",
         lambda L: [L.Input((5, 3)), bidi(L, L.LSTM(4, return_sequences=True),
                                          L.GRU(4, return_sequences=True, go_backwards=True), merge_mode="sum")]),
    case("Input(None, 3) > Bidirectional(GRU(3, reset_after=false), ave, backward_layer=GRU(3, backwards))",
         lambda L: [L.Input((None, 3)), bidi(L, L.GRU(3, reset_after=False), L.GRU(3, go_backwards=True),
                                             merge_mode="ave")]),
    case("Input(5, 3) > Bidirectional(SimpleRNN(2, use_bias=false), mul, backward_layer=LSTM(2, backwards))",
         lambda L: [L.Input((5, 3)), bidi(L, L.SimpleRNN(2, use_bias=False), L.LSTM(2, go_backwards=True),
                                          merge_mode="mul")]),
    case("Input(5, 3) > Bidirectional(LSTM(3), backward_layer=SimpleRNN(3, backwards, trainable=false))",
         lambda L: [L.Input((5, 3)), bidi(L, L.LSTM(3), L.SimpleRNN(3, go_backwards=True, trainable=False))]),
    case("Input(5, 3) > Bidirectional(GRU(2), backward_layer=None)",
         lambda L: [L.Input((5, 3)), bidi(L, L.GRU(2), None)]),
    case("Embedding(20, 4, mask_zero) > Bidirectional(GRU(3, seq), backward_layer=LSTM(3, seq, backwards)) > LSTM(2)",
         lambda L: [L.Input((None,), dtype="int32"), L.Embedding(20, 4, mask_zero=True),
                    bidi(L, L.GRU(3, return_sequences=True), L.LSTM(3, return_sequences=True, go_backwards=True)),
                    L.LSTM(2)]),
    case("Input(None, 4, 3) > TimeDistributed(Bidirectional(LSTM(2, seq), backward_layer=GRU(2, seq, backwards)))",
         lambda L: [L.Input((None, 4, 3)), L.TimeDistributed(
             bidi(L, L.LSTM(2, return_sequences=True), L.GRU(2, return_sequences=True, go_backwards=True)))]),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), PARITY)
def test_shapes_weights_and_counts_equal_keras(spec: str, build: Any) -> None:
    assert_parity(spec, build)


@pytest.mark.keras
def test_weights_are_the_forward_layers_then_the_backward_layers() -> None:
    """Where the halves differ in type, Keras's `model.weights` holds the forward half's first, then the
    backward half's: the declared list splits at the forward layer's own weight count."""
    spec = "Input(5, 3) > Bidirectional(LSTM(2, seq), backward_layer=GRU(2, seq, backwards, use_bias=false))"
    model = rnnspec.compile(spec)
    forward, backward = model.layers[0].forward_layer, model.layers[0].backward_layer
    assert [w.path for w in model.weights] == [w.path for w in forward.weights + backward.weights]
    row = rnnspec.select(spec).rows[0]
    own = row.node.args.layer.kind.weights(row.node.args.layer.args, row.input_shape)
    assert len(own) == len(forward.weights) != len(backward.weights)
    assert [w.shape for w in row.weights] == [tuple(w.shape) for w in model.weights]


@pytest.mark.keras
def test_the_keras_backend_passes_the_backward_layer_as_written() -> None:
    bidirectional = rnnspec.compile(
        "Input(5, 3) > Bidirectional(LSTM(2), backward_layer=GRU(2, relu, backwards, reset_after=false))").layers[0]
    backward = bidirectional.backward_layer
    assert type(backward).__name__ == "GRU" and type(bidirectional.forward_layer).__name__ == "LSTM"
    assert (backward.go_backwards, backward.cell.reset_after, backward.cell.activation.__name__) == (
        True, False, "relu")


# ---------------------------------------------------------------- NumPy computes what Keras computes

NUMERIC = [
    ("Input(6, 3) > Bidirectional(LSTM(4, seq), backward_layer=GRU(4, seq, backwards, activation=relu))", (4, 6, 3)),
    # the forward half has 3 weights and the backward 2: splitting the list in half would misplace a weight
    ("Input(6, 3) > Bidirectional(LSTM(3), mul, backward_layer=SimpleRNN(3, backwards, use_bias=false))", (3, 6, 3)),
    ("Input(None, 3) > Bidirectional(GRU(3, reset_after=false), ave, backward_layer=GRU(3, backwards))", (2, 5, 3)),
    ("Input(5, 3) > Bidirectional(SimpleRNN(2, seq), sum, backward_layer=LSTM(2, seq, backwards, unroll))", (1, 5, 3)),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "shape"), NUMERIC)
def test_numpy_equals_keras(spec: str, shape: tuple[int, ...]) -> None:
    assert_same(spec, floats(*shape))


MASKED = [
    "Embedding(10, 3, mask_zero) > Bidirectional(LSTM(4, seq), sum, backward_layer=GRU(4, seq, backwards)) > LSTM(2)",
    "Embedding(10, 3, mask_zero) > Bidirectional(GRU(3, seq), backward_layer=SimpleRNN(3, seq, backwards, "
    "use_bias=false)) > GlobalAveragePooling1D",
    "Embedding(10, 3, mask_zero) > Bidirectional(GRU(3), ave, backward_layer=LSTM(3, backwards))",
]


@pytest.mark.keras
@pytest.mark.parametrize("spec", MASKED, ids=MASKED)
def test_numpy_equals_keras_under_a_padding_mask(spec: str) -> None:
    """Padding at the end, in the middle, at the start and a fully padded row; in a returned sequence both halves
    give zeros at masked steps (Keras forces `zero_output_for_mask` on the backward layer it is given, too)."""
    ids = padded_ids(batch=4, steps=6)
    assert (ids == 0).any(axis=1).all()
    assert_same(spec, ids)


# ---------------------------------------------------------------- refusals: located, with a hint

def refused(spec: str, at: str, blames: str, message: str, hint: str, build: Any) -> Any:
    """A refused spec; the error points at the first `at` inside the backward layer argument (`blames`
    "backward") or before it ("forward"); `build(keras.layers)` makes the same wrapper in Keras."""
    return pytest.param(spec, at, blames, message, hint, build, id=spec)


def lstm(L: Any, units: int, seq: bool = False, backwards: bool = False) -> Any:
    return L.LSTM(units, return_sequences=seq, go_backwards=backwards)


REFUSED = [  # Keras refuses these too ...
    refused("Input(5, 3) > Bidirectional(LSTM(4, seq), backward_layer=GRU(4, seq))", "GRU(4, seq)", "backward",
            "must read backwards", "add `backwards` to the backward layer",
            lambda L: bidi(L, lstm(L, 4, seq=True), L.GRU(4, return_sequences=True))),
    refused("Input(5, 3) > Bidirectional(LSTM(4), backward_layer=GRU(4, backwards=false))", "backwards=false",
            "backward", "must read backwards", "add `backwards`", lambda L: bidi(L, lstm(L, 4), L.GRU(4))),
    refused("Input(5, 3) > Bidirectional(LSTM(4, seq), backward_layer=LSTM(4, backwards))", "LSTM(4, backwards)",
            "backward", "return_sequences (true), found false", "add `seq` to the backward layer",
            lambda L: bidi(L, lstm(L, 4, seq=True), lstm(L, 4, backwards=True))),
    refused("Input(5, 3) > Bidirectional(LSTM(4), backward_layer=LSTM(4, seq, backwards))", "seq", "backward",
            "return_sequences (false), found true", "remove `seq` from the backward layer",
            lambda L: bidi(L, lstm(L, 4), lstm(L, 4, seq=True, backwards=True))),
    refused("Input(5, 3) > Bidirectional(LSTM(4, backwards), backward_layer=LSTM(4, backwards))", "backwards",
            "forward", "found `backwards` on both layers", "remove `backwards` from the forward layer",
            lambda L: bidi(L, lstm(L, 4, backwards=True), lstm(L, 4, backwards=True))),
]
STRICTER = [  # ... and Keras builds these
    refused("Input(5, 3) > Bidirectional(LSTM(4), backward_layer=GRU(2, backwards))", "2", "backward",
            "backward layer has 2 units but the forward layer has 4", "give the backward layer 4 units",
            lambda L: bidi(L, lstm(L, 4), L.GRU(2, go_backwards=True))),
    refused("Input(5, 3) > Bidirectional(LSTM(4, seq), sum, backward_layer=LSTM(units=6, seq, backwards))",
            "units=6", "backward", "backward layer has 6 units but the forward layer has 4",
            "give the backward layer 4 units", lambda L: bidi(L, lstm(L, 4, seq=True), lstm(L, 6, True, True),
                                                             merge_mode="sum")),
    refused("Input(5, 3) > Bidirectional(LSTM(4, backwards), backward_layer=LSTM(4))", "backwards", "forward",
            "must read forwards", "move `backwards` from the forward layer to the backward layer",
            lambda L: bidi(L, lstm(L, 4, backwards=True), lstm(L, 4))),
]


def _error(spec: str) -> RnnspecError:
    with pytest.raises(RnnspecError) as caught:
        rnnspec.select(spec)
    return caught.value


def _assert_located(spec: str, at: str, blames: str, message: str, hint: str) -> None:
    err = _error(spec)
    assert err.code == "E203" and err.span is not None and err.hint is not None
    assert message in err.message and hint in err.hint
    argument = spec.index("backward_layer=")
    start = spec.index(at, argument) if blames == "backward" else spec.index(at)
    if blames == "forward":
        assert start + len(at) < argument
    assert (err.span.line, err.span.end_line) == (1, 1)
    assert (err.span.column - 1, err.span.end_column - 1) == (start, start + len(at))


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "at", "blames", "message", "hint", "build"), REFUSED)
def test_what_keras_refuses_is_refused_where_it_is_wrong(spec: str, at: str, blames: str, message: str,
                                                         hint: str, build: Any) -> None:
    import keras

    _assert_located(spec, at, blames, message, hint)
    with pytest.raises(ValueError, match="Forward layer and backward layer"):
        build(keras.layers)


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "at", "blames", "message", "hint", "build"), STRICTER)
def test_what_keras_builds_but_cannot_work_is_refused_too(spec: str, at: str, blames: str, message: str,
                                                          hint: str, build: Any) -> None:
    import keras

    _assert_located(spec, at, blames, message, hint)
    keras.Sequential([keras.Input((5, 3)), build(keras.layers)])


@pytest.mark.keras
def test_keras_builds_unequal_halves_but_cannot_run_them() -> None:
    """Why rnnspec refuses different units: Keras states the concat width from the forward half alone (so its
    summary is wrong) and the element-wise merges fail on the first call."""
    import keras

    L, x = keras.layers, floats(2, 5, 3)
    concat = keras.Sequential([L.Input((5, 3)), bidi(L, L.LSTM(8), L.GRU(4, go_backwards=True))])
    assert concat.output_shape[-1] != concat(x).shape[-1]
    summed = keras.Sequential([L.Input((5, 3)), bidi(L, L.LSTM(8), L.GRU(4, go_backwards=True), merge_mode="sum")])
    with pytest.raises(Exception, match="[Ii]ncompatible shapes"):
        summed(x)


def test_a_backward_layer_that_is_not_recurrent_is_a_type_error() -> None:
    spec = "Input(5, 3) > Bidirectional(LSTM(4), backward_layer=Dense(4))"
    err = _error(spec)
    assert (err.code, err.span.column if err.span else None) == ("E202", spec.index("Dense") + 1)
    assert "'backward_layer' expects a recurrent layer or None, found Dense" in err.message


# ---------------------------------------------------------------- `check --fill` writes it back

@pytest.mark.parametrize("spec", [
    "Input(5, 3) > Bidirectional(LSTM(4, seq), sum, backward_layer=GRU(4, seq, backwards, activation=relu)) > GRU(2)",
    "Input(5, 3) > Bidirectional(GRU(2))",
])
def test_fill_round_trips(spec: str) -> None:
    result = CliRunner().invoke(main, ["check", "--fill", "-e", spec])
    assert result.exit_code == 0, result.output
    filled = re.search(r"^model .*?\n(?=\n|\Z)", result.output, re.M | re.S)
    assert filled is not None, result.output
    assert "backward_layer=" in filled.group()
    again, first = rnnspec.select(filled.group()), rnnspec.select(spec)
    assert [(r.output_shape, r.weights) for r in again.rows] == [(r.output_shape, r.weights) for r in first.rows]
    assert _backward(again) == _backward(first)


def _backward(report: Any) -> tuple[str, dict[str, Any]] | None:
    node = report.rows[0].node.args.backward_layer
    return None if node is None else (node.type_name, dict(node.args))


# ---------------------------------------------------------------- fresh weights, names and warnings per half

@pytest.mark.keras
@pytest.mark.parametrize("spec", [
    "Input(5, 3) > Bidirectional(LSTM(3), backward_layer=GRU(3, backwards))",
    "Input(5, 3) > Bidirectional(GRU(3), backward_layer=LSTM(3, backwards))",
    "Input(5, 3) > TimeDistributed(Dense(2)) > Bidirectional(LSTM(2, seq), backward_layer=LSTM(2, seq, backwards))",
])
def test_fresh_biases_follow_each_halfs_own_initialiser(spec: str) -> None:
    """Keras opens an LSTM's forget gate (ones) and zeroes a GRU's bias, half by half: biases are deterministic,
    so the NumPy model's fresh ones must equal a fresh Keras model's."""
    keras_model = rnnspec.compile(spec)
    numpy_model = rnnspec.compile(spec, backend="numpy", seed=3)
    ours = [w for w, name in zip(numpy_model.get_weights(), numpy_model.weight_names()) if name.endswith("bias")]
    theirs = [w.numpy() for w in keras_model.weights if w.path.endswith("bias")]
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_weight_names_split_at_the_forward_halfs_own_count() -> None:
    model = rnnspec.compile("Input(5, 3) > Bidirectional(LSTM(2), backward_layer=SimpleRNN(2, backwards, "
                            "use_bias=false))", backend="numpy")
    assert model.weight_names() == [
        "bidirectional/forward/kernel", "bidirectional/forward/recurrent_kernel", "bidirectional/forward/bias",
        "bidirectional/backward/kernel", "bidirectional/backward/recurrent_kernel"]


def test_an_unrolled_backward_layer_over_an_unknown_length_is_warned_about() -> None:
    (report,) = rnnspec.check("Input(None, 3) > Bidirectional(LSTM(2), backward_layer=LSTM(2, backwards, unroll))")
    assert [w.code for w in report.warnings] == ["W104"]
