"""RNN with its cells (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells) and ConvLSTM1D/2D: shapes, weights and
counts against Keras (PARITY_CASES, FUNCTIONAL_PARITY_CASES, collected by the coverage test too), refusals as
located errors, and the NumPy kernels against Keras layers on the same weights, with masks and initial states."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnspec
from rnnspec.backends.numpy.base import kernels, make_kernel
from rnnspec.errors import RnnspecError
from rnnspec.graph import resolve_call
from rnnspec.layers.base import LayerNode, Tensor
from rnnspec.parser import parse
from tests.test_parity import assert_functional_parity, assert_parity, case, fcase

kernels()

PARITY_CASES = [
    case("Input(5, 3) > Bidirectional(RNN(LSTMCell(4)), backward_layer=RNN(LSTMCell(4), backwards))",
         lambda L: [L.Input((5, 3)), L.Bidirectional(L.RNN(L.LSTMCell(4)),
                                                     backward_layer=L.RNN(L.LSTMCell(4), go_backwards=True))]),
    case("Input(3, 5, 2) > Bidirectional(ConvLSTM1D(2, 2), backward_layer=ConvLSTM1D(2, 2, backwards))",
         lambda L: [L.Input((3, 5, 2)), L.Bidirectional(L.ConvLSTM1D(2, 2),
                                                        backward_layer=L.ConvLSTM1D(2, 2, go_backwards=True))]),
    case("Input(5, 3) > RNN(SimpleRNNCell(3, trainable=false))",
         lambda L: [L.Input((5, 3)), L.RNN(L.SimpleRNNCell(3, trainable=False))]),
    case("Input(5, 3) > RNN(SimpleRNNCell(4, relu, use_bias=false, dropout=0.1, recurrent_dropout=0.2, seed=3))",
         lambda L: [L.Input((5, 3)), L.RNN(L.SimpleRNNCell(4, "relu", use_bias=False, dropout=0.1,
                                                             recurrent_dropout=0.2, seed=3))]),
    case("Input(5, 3) > RNN(LSTMCell(4, recurrent_activation=hard_sigmoid, unit_forget_bias=false), seq, "
         "backwards, unroll, zero_output_for_mask)",
         lambda L: [L.Input((5, 3)), L.RNN(L.LSTMCell(4, recurrent_activation="hard_sigmoid", unit_forget_bias=False),
                                           return_sequences=True, go_backwards=True, unroll=True,
                                           zero_output_for_mask=True)]),
    case("Input(None, 3) > RNN(GRUCell(4, reset_after=false, trainable=false))",
         lambda L: [L.Input((None, 3)), L.RNN(L.GRUCell(4, reset_after=False, trainable=False))]),
    case("Input(None, 3) > RNN(GRUCell(2, use_bias=false), seq) > RNN(LSTMCell(3, trainable=false))",
         lambda L: [L.Input((None, 3)), L.RNN(L.GRUCell(2, use_bias=False), return_sequences=True),
                    L.RNN(L.LSTMCell(3, trainable=False))]),
    case("Input(5, 3) > RNN(StackedRNNCells((LSTMCell(4), SimpleRNNCell(2), GRUCell(3))), seq)",
         lambda L: [L.Input((5, 3)), L.RNN(L.StackedRNNCells([L.LSTMCell(4), L.SimpleRNNCell(2), L.GRUCell(3)]),
                                           return_sequences=True)]),
    case("Input(5, 3) > RNN((LSTMCell(4), GRUCell(2, trainable=false)))",
         lambda L: [L.Input((5, 3)), L.RNN([L.LSTMCell(4), L.GRUCell(2, trainable=False)])]),
    case("Input(5, 3) > Bidirectional(RNN(LSTMCell(4), seq))",
         lambda L: [L.Input((5, 3)), L.Bidirectional(L.RNN(L.LSTMCell(4), return_sequences=True))]),
    case("Input(6, 8, 3) > ConvLSTM1D(4, 3, strides=2, padding=same, data_format=channels_last, relu, "
         "recurrent_activation=hard_sigmoid, use_bias=false, unit_forget_bias=false, dropout=0.1, "
         "recurrent_dropout=0.1, seed=1, seq, backwards, unroll)".replace(", relu,", ", activation=relu,"),
         lambda L: [L.Input((6, 8, 3)), L.ConvLSTM1D(4, 3, strides=2, padding="same", data_format="channels_last",
                                                     activation="relu", recurrent_activation="hard_sigmoid",
                                                     use_bias=False, unit_forget_bias=False, dropout=0.1,
                                                     recurrent_dropout=0.1, seed=1, return_sequences=True,
                                                     go_backwards=True, unroll=True)]),
    case("Input(None, 9, 2) > ConvLSTM1D(3, 3, dilation_rate=2)",
         lambda L: [L.Input((None, 9, 2)), L.ConvLSTM1D(3, 3, dilation_rate=2)]),
    case("Input(4, 6, 5, 2) > ConvLSTM2D(3, (3, 2), seq) > ConvLSTM2D(2, 2, strides=(2, 1), padding=same)",
         lambda L: [L.Input((4, 6, 5, 2)), L.ConvLSTM2D(3, (3, 2), return_sequences=True),
                    L.ConvLSTM2D(2, 2, strides=(2, 1), padding="same")]),
    case("Input(4, 6, 6, 2) > Bidirectional(ConvLSTM2D(3, 3, seq))",
         lambda L: [L.Input((4, 6, 6, 2)), L.Bidirectional(L.ConvLSTM2D(3, 3, return_sequences=True))]),
    # every option of the gated cells, and of ConvLSTM2D, at a value other than its default
    case("Input(5, 3) > RNN(GRUCell(3, relu, recurrent_activation=hard_sigmoid, dropout=0.1, recurrent_dropout=0.2, "
         "seed=4), seq) > RNN(LSTMCell(2, activation=None, use_bias=false, dropout=0.2, recurrent_dropout=0.1, seed=5))",
         lambda L: [L.Input((5, 3)),
                    L.RNN(L.GRUCell(3, "relu", recurrent_activation="hard_sigmoid", dropout=0.1,
                                    recurrent_dropout=0.2, seed=4), return_sequences=True),
                    L.RNN(L.LSTMCell(2, activation=None, use_bias=False, dropout=0.2, recurrent_dropout=0.1,
                                     seed=5))]),
    case("Input(3, 7, 6, 2) > ConvLSTM2D(2, (3, 2), padding=same, data_format=channels_last, dilation_rate=(2, 1), "
         "activation=relu, recurrent_activation=hard_sigmoid, use_bias=false, unit_forget_bias=false, dropout=0.1, "
         "recurrent_dropout=0.2, seed=6, seq, backwards, unroll)",
         lambda L: [L.Input((3, 7, 6, 2)),
                    L.ConvLSTM2D(2, (3, 2), padding="same", data_format="channels_last", dilation_rate=(2, 1),
                                 activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
                                 unit_forget_bias=False, dropout=0.1, recurrent_dropout=0.2, seed=6,
                                 return_sequences=True, go_backwards=True, unroll=True)]),
    case("Input(4, 5, 5, 2) > ConvLSTM2D(2, 2, dilation_rate=2)",
         lambda L: [L.Input((4, 5, 5, 2)), L.ConvLSTM2D(2, 2, dilation_rate=2)]),
]


def _stacked_states(K: Any, L: Any) -> tuple[list[Any], list[Any]]:
    x = K.Input((5, 3))
    y, (h1, c1), h2 = L.RNN([L.LSTMCell(4), L.GRUCell(2)], return_state=True)(x)
    return [x], [y, c1, h2]


def _cell_initial_state(K: Any, L: Any) -> tuple[list[Any], list[Any]]:
    x, h, c = K.Input((5, 3)), K.Input((4,)), K.Input((4,))
    m = K.Input((5,), dtype="bool")
    return [x, h, c, m], [L.RNN(L.LSTMCell(4), return_sequences=True)(x, initial_state=[h, c], mask=m)]


def _conv_states(K: Any, L: Any) -> tuple[list[Any], list[Any]]:
    x = K.Input((4, 6, 6, 2))
    y, h, c = L.ConvLSTM2D(3, 3, padding="same", return_state=True)(x)
    return [x], [y, h, c]


def _conv1d_states(K: Any, L: Any) -> tuple[list[Any], list[Any]]:
    x = K.Input((4, 6, 2))
    y, h, c = L.ConvLSTM1D(3, 3, return_sequences=True, return_state=True)(x)
    return [x], [y, h, c]


FUNCTIONAL_PARITY_CASES = [
    fcase("x = Input(5, 3)\ny, h1, c1, h2 = x > RNN((LSTMCell(4), GRUCell(2)), state)\noutput y, c1, h2",
          _stacked_states),
    fcase("x = Input(5, 3)\nh = Input(4)\nc = Input(4)\nm = Input(5, dtype=bool)\n"
          "x > RNN(LSTMCell(4), seq, initial_state=(h, c), mask=m)", _cell_initial_state),
    fcase("x = Input(4, 6, 6, 2)\ny, h, c = x > ConvLSTM2D(3, 3, padding=same, state)\noutput y, h, c",
          _conv_states),
    fcase("x = Input(4, 6, 2)\ny, h, c = x > ConvLSTM1D(3, 3, seq, state)\noutput y, h, c", _conv1d_states),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), PARITY_CASES)
def test_parity(spec: str, build: Any) -> None:
    assert_parity(spec, build)


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), FUNCTIONAL_PARITY_CASES)
def test_functional_parity(spec: str, build: Any) -> None:
    assert_functional_parity(spec, build)


# ---------------------------------------------------------------- refusals, located


@pytest.mark.parametrize(("spec", "code", "column", "hint"), [
    ("Input(5, 3) > LSTMCell(8)", "E200", 15, "RNN(LSTMCell(8))"),
    ("Input(5, 3) > RNN(LSTM(8))", "E202", 19, "RNN(LSTMCell"),
    ("Input(5, 3) > RNN(LSTMCell(8), stateful=true)", "E302", 15, "batch_size=4"),
    ("Input(4, 6, 2) > ConvLSTM1D(2, 3, stateful=true)", "E302", 18, "Input(20, 8, 8, batch_size=4)"),
    ("Input(5, 3) > RNN(StackedRNNCells(LSTMCell(4)))", "E202", 35, "RNN(LSTMCell(8))"),
    ("Input(5, 3) > RNN((LSTMCell(4), Dense(2)))", "E202", 33, None),
    ("Input(4, 6, 2) > ConvLSTM1D(2, 3, strides=2, dilation_rate=2)", "E203", 46, None),
    ("Input(4, 2, 2) > ConvLSTM1D(2, 3)", "E300", 18, "padding=same"),
    ("Input(4, None, 2) > ConvLSTM1D(2, 3)", "E302", 21, None),
    ("Input(4, 6, 2) > ConvLSTM1D(2, 3, data_format=channels_first)", "E203", 47, None),
])
def test_refusals_are_located(spec: str, code: str, column: int, hint: str | None) -> None:
    (err,) = [e for report in rnnspec.check(spec) for e in report.errors]
    assert (err.code, err.span.column) == (code, column), err
    assert hint is None or hint in (err.hint or ""), err


# ---------------------------------------------------------------- NumPy against Keras on the same weights

STEPS = 5


def node_of(spec: str) -> LayerNode:
    return resolve_call(parse(spec).models[0].chain.stages[0].element)


def padding(batch: int) -> np.ndarray:
    mask = np.ones((batch, STEPS), bool)
    mask[0, STEPS - 2:] = False
    mask[1, :2] = False
    mask[2, 1:3] = False
    mask[3, :] = False
    return mask


def compare(spec: str, keras_layer: Any, step_shape: tuple[int, ...]) -> None:
    """Output and states, with and without a mask and an initial state, within 1e-5 of Keras."""
    batch = 4
    node = node_of(spec)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(batch, STEPS, *step_shape)).astype("float32")
    keras_layer(x)
    keras_layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                             for w in keras_layer.get_weights()])
    kernel = make_kernel(node, (None, STEPS, *step_shape), np.dtype("float32"))
    kernel.load(keras_layer.get_weights())
    shapes = node.kind.state_shapes(node.args, Tensor((batch, STEPS, *step_shape)))
    initial = [rng.normal(size=s).astype("float32") for s in shapes]
    for mask in (None, padding(batch)):
        for given in (None, initial):
            theirs = keras_layer(x, mask=mask, initial_state=nest(node, given))
            import keras

            theirs = [np.asarray(t) for t in keras.tree.flatten(theirs)]
            ours, _ = kernel.call([x], [mask], given)
            where = f"{spec}, mask {mask is not None}, initial {given is not None}"
            assert len(ours) == len(theirs), where
            for a, b in zip(ours, theirs):
                assert a.shape == b.shape and np.abs(a - b).max() < 1e-5, where
            if given is None:
                assert np.abs(kernel.forward(x, mask)[0] - theirs[0]).max() < 1e-5, where


def nest(node: LayerNode, states: list[Any] | None) -> Any:
    """Keras's StackedRNNCells takes each cell's states as one item (a list for LSTMCell)."""
    from rnnspec.backends.keras import nested_states

    return None if states is None else nested_states(node, states)


KERNEL_CASES = [
    ("RNN(SimpleRNNCell(3), state)", lambda L: L.RNN(L.SimpleRNNCell(3), return_state=True), (2,)),
    ("RNN(LSTMCell(3), seq, backwards, state)",
     lambda L: L.RNN(L.LSTMCell(3), return_sequences=True, go_backwards=True, return_state=True), (2,)),
    ("RNN(GRUCell(3, reset_after=false), zero_output_for_mask, state)",
     lambda L: L.RNN(L.GRUCell(3, reset_after=False), zero_output_for_mask=True, return_state=True), (2,)),
    ("RNN(LSTMCell(3), seq, zero_output_for_mask)",
     lambda L: L.RNN(L.LSTMCell(3), return_sequences=True, zero_output_for_mask=True), (2,)),
    ("RNN((LSTMCell(4), GRUCell(3), SimpleRNNCell(2, relu)), seq, state)",
     lambda L: L.RNN([L.LSTMCell(4), L.GRUCell(3), L.SimpleRNNCell(2, "relu")], return_sequences=True,
                     return_state=True), (2,)),
    ("RNN((GRUCell(3), LSTMCell(2)), backwards, state)",
     lambda L: L.RNN([L.GRUCell(3), L.LSTMCell(2)], go_backwards=True, return_state=True), (2,)),
    ("Bidirectional(RNN(LSTMCell(3), seq, state))",
     lambda L: L.Bidirectional(L.RNN(L.LSTMCell(3), return_sequences=True, return_state=True)), (2,)),
    ("ConvLSTM1D(3, 3, state)", lambda L: L.ConvLSTM1D(3, 3, return_state=True), (6, 2)),
    ("ConvLSTM1D(2, 2, strides=2, padding=same, seq, backwards, state)",
     lambda L: L.ConvLSTM1D(2, 2, strides=2, padding="same", return_sequences=True, go_backwards=True,
                            return_state=True), (7, 2)),
    ("ConvLSTM2D(2, (3, 2), padding=same, dilation_rate=(1, 2), seq, state)",
     lambda L: L.ConvLSTM2D(2, (3, 2), padding="same", dilation_rate=(1, 2), return_sequences=True,
                            return_state=True), (4, 5, 2)),
    ("ConvLSTM2D(2, 2, use_bias=false, recurrent_activation=hard_sigmoid)",
     lambda L: L.ConvLSTM2D(2, 2, use_bias=False, recurrent_activation="hard_sigmoid"), (4, 4, 2)),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build", "step_shape"), KERNEL_CASES, ids=[c[0] for c in KERNEL_CASES])
def test_numpy_equals_keras(spec: str, build: Any, step_shape: tuple[int, ...]) -> None:
    import keras

    compare(spec, build(keras.layers), step_shape)


def test_fresh_weights_run() -> None:
    for spec, shape in (("RNN((LSTMCell(4), GRUCell(3)), seq)", (None, 5, 2)),
                        ("ConvLSTM2D(2, 3, padding=same)", (None, 5, 4, 4, 2))):
        node = node_of(spec)
        kernel = make_kernel(node, shape, np.dtype("float32"))
        kernel.load(kernel.fresh(np.random.default_rng(0)))
        x = np.random.default_rng(1).normal(size=(2, *shape[1:])).astype("float32")
        y, _ = kernel.forward(x, None)
        assert y.shape == (2, *node.kind.output_shape(node.args, shape)[1:]) and np.isfinite(y).all()


# ---------------------------------------------------------------- compiled stacks: the Keras and NumPy backends agree

COMPILED_STACKS = [
    "x = Input(5, 3)\ny, h1, c1, h2 = x > RNN((LSTMCell(4), GRUCell(3)), seq, state)\noutput y, h1, c1, h2",
    "x = Input(5, 3)\nh = Input(4)\nc = Input(4)\ng = Input(3)\nm = Input(5, dtype=bool)\n"
    "y, h1, c1, h2 = x > RNN((LSTMCell(4), GRUCell(3)), seq, state, initial_state=(h, c, g), mask=m)\n"
    "output y, h1, c1, h2",
]


@pytest.mark.keras
@pytest.mark.parametrize("spec", COMPILED_STACKS, ids=["states", "initial_state"])
def test_compiled_stack_numpy_equals_keras(spec: str) -> None:
    report = rnnspec.select(spec)
    keras_model = rnnspec.compile(report)
    rng = np.random.default_rng(11)
    keras_model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                             for w in keras_model.get_weights()])
    numpy_model = rnnspec.compile(report, backend="numpy")
    numpy_model.set_weights(keras_model.get_weights())
    inputs = []
    for _, tensor in report.inputs:
        shape = (4, *tensor.shape[1:])
        inputs.append(padding(4) if tensor.dtype == "bool" else rng.normal(size=shape).astype("float32"))
    theirs = keras_model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    ours = numpy_model(inputs if len(inputs) > 1 else inputs[0])
    assert isinstance(theirs, list) and isinstance(ours, list) and len(ours) == len(theirs) == 4
    for name, mine, keras_out in zip(("y", "h1", "c1", "h2"), ours, theirs):
        assert mine.shape == keras_out.shape and np.abs(mine - keras_out).max() < 1e-5, name


def test_bidirectional_halves_of_rnn_or_conv_lstm_must_be_the_same_size() -> None:
    """A backward RNN or ConvLSTM is sized by its cell or its filters, as a recurrent layer by its units."""
    import rnnspec

    for text, words in [
        ("Input(5, 3) > Bidirectional(RNN(LSTMCell(4)), backward_layer=RNN(GRUCell(3), backwards))",
         "the backward layer has 3 units but the forward layer has 4"),
        ("Input(3, 5, 2) > Bidirectional(ConvLSTM1D(2, 2), backward_layer=ConvLSTM1D(3, 2, backwards))",
         "the backward layer has 3 filters but the forward layer has 2"),
    ]:
        (report,) = rnnspec.check(text)
        assert [e.code for e in report.errors] == ["E203"] and words in report.errors[0].message
