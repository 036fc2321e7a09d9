"""`stateful=true` on SimpleRNN, LSTM, GRU, RNN over cells and the ConvLSTMs (and Bidirectional around them): the
checker wants a fixed batch
as Keras does, and the NumPy model carries each layer's final states into its next call, across predict's
slices, until `reset_states()`, as Keras 3 does (there `layer.reset_states()`; a Keras 3 Model has none)."""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import rnnspec
from rnnspec.errors import RnnspecError
from tests.test_parity import assert_parity, case

PARITY_CASES = [
    case("Input(5, 3, batch_size=4) > LSTM(4, stateful=true)",
         lambda L: [L.Input((5, 3), batch_size=4), L.LSTM(4, stateful=True)]),
    case("Input(5, 3, batch_size=2) > SimpleRNN(4, seq, stateful=true) > GRU(2, stateful=true)",
         lambda L: [L.Input((5, 3), batch_size=2), L.SimpleRNN(4, return_sequences=True, stateful=True),
                    L.GRU(2, stateful=True)]),
    case("Input(None, 3, batch_size=3) > Bidirectional(LSTM(4, seq, stateful=true))",
         lambda L: [L.Input((None, 3), batch_size=3), L.Bidirectional(L.LSTM(4, return_sequences=True,
                                                                              stateful=True))]),
    case("Input(5, 3, batch_size=2) > RNN((LSTMCell(4), GRUCell(2)), stateful=true)",
         lambda L: [L.Input((5, 3), batch_size=2), L.RNN([L.LSTMCell(4), L.GRUCell(2)], stateful=True)]),
    case("Input(5, 6, 3, batch_size=2) > ConvLSTM1D(4, 3, stateful=true, seq)",
         lambda L: [L.Input((5, 6, 3), batch_size=2), L.ConvLSTM1D(4, 3, stateful=True, return_sequences=True)]),
    case("Input(5, 6, 6, 3, batch_size=2) > ConvLSTM2D(4, 3, stateful=true)",
         lambda L: [L.Input((5, 6, 6, 3), batch_size=2), L.ConvLSTM2D(4, 3, stateful=True)]),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), PARITY_CASES)
def test_parity(spec: str, build: Any) -> None:
    assert_parity(spec, build)


def test_the_layers_take_stateful_in_keras_order() -> None:
    from rnnspec.layers.base import registry

    for name in ("SimpleRNN", "LSTM", "GRU", "RNN", "ConvLSTM1D", "ConvLSTM2D"):
        names = [p.name for p in registry()[name].params]
        assert names[names.index("go_backwards") + 1:names.index("unroll")] == ["stateful"]


@pytest.mark.parametrize("spec", ["Input(5, 3) > LSTM(4, stateful=true)",
                                  "Input(None, 3) > Bidirectional(GRU(4, stateful=true))",
                                  "Input(5, 3) > RNN(GRUCell(4), stateful=true)",
                                  "Input(5, 6, 6, 3) > ConvLSTM2D(2, 3, stateful=true)"])
def test_an_unknown_batch_is_a_located_error(spec: str) -> None:
    (report,) = rnnspec.check(spec)
    (err,) = report.errors
    assert err.code == "E302" and "fixed batch size" in err.message
    assert err.span is not None and spec[err.span.column - 1:].startswith(("LSTM", "Bidirectional", "RNN", "Conv"))
    assert "batch_size=4" in (err.hint or "")
    assert rnnspec.check(re.sub(r"Input\(([^)]*)\)", r"Input(\1, batch_size=2)", spec))[0].ok


@pytest.mark.keras
@pytest.mark.parametrize("layer", ["LSTM(4, stateful=True)", "RNN(GRUCell(4), stateful=True)",
                                   "ConvLSTM1D(4, 3, stateful=True)"])
def test_keras_refuses_an_unknown_batch_too(layer: str) -> None:
    import keras

    made = eval(layer, vars(keras.layers))
    shape = (5, 6, 3) if "Conv" in layer else (5, 3)
    with pytest.raises(ValueError, match="batch size must be static"):
        keras.Sequential([keras.Input(shape), made])


STREAMED = [
    "Input(6, 3, batch_size=4) > LSTM(5)",
    "Input(6, 3, batch_size=4) > LSTM(5, stateful=true)",
    "Input(6, 3, batch_size=64) > LSTM(32, stateful=true)",           # the fast loop's other form
    "Input(6, 3, batch_size=4) > SimpleRNN(5, seq, stateful=true) > GRU(4, stateful=true)",
    "Input(6, 3, batch_size=64) > GRU(64, stateful=true, backwards)",
    "Input(6, 3, batch_size=4) > LSTM(5, seq, stateful=true, activation=relu)",   # the general loop
    "Input(6, 3, batch_size=4) > GRU(4, stateful=true, reset_after=false)",
    "Input(6, 3, batch_size=4) > Bidirectional(LSTM(4, seq, stateful=true)) > SimpleRNN(2, stateful=true)",
    "Input(6, 3, batch_size=4) > Masking() > LSTM(5, stateful=true)",
    "Input(6, 3, batch_size=4) > Masking() > Bidirectional(GRU(3, seq, stateful=true))",
    "Input(6, 3, batch_size=4) > RNN(LSTMCell(5), stateful=true, seq) > RNN(SimpleRNNCell(3), stateful=true)",
    "Input(6, 3, batch_size=4) > Masking() > RNN((GRUCell(4), LSTMCell(3)), stateful=true)",
    "Input(6, 3, batch_size=4) > Masking() > RNN(LSTMCell(5), stateful=true, zero_output_for_mask=true)",
    "Input(6, 3, batch_size=4) > Bidirectional(RNN(GRUCell(3), stateful=true, seq))",
    "Input(6, 5, 3, batch_size=4) > ConvLSTM1D(4, 3, stateful=true, padding=same, seq)",
    "Input(6, 4, 4, 3, batch_size=4) > ConvLSTM2D(2, 3, stateful=true, backwards)",
]


def keras_reset(model: Any) -> None:
    """Zero every state variable of every stateful layer: `layer.reset_states()` fails in Keras 3.15 on an RNN
    over StackedRNNCells (it assigns to the list of a cell's states), so the variables are zeroed directly."""
    import keras

    for layer in model.layers:
        for inner in (layer, getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None)):
            if getattr(inner, "stateful", False):
                for state in keras.tree.flatten(inner.states):
                    state.assign(keras.ops.zeros_like(state))


def pair(spec: str) -> tuple[Any, Any]:
    keras_model = rnnspec.compile(spec, backend="keras")
    rng = np.random.default_rng(3)
    keras_model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                             for w in keras_model.get_weights()])
    ours = rnnspec.compile(spec, backend="numpy")
    ours.set_weights(keras_model.get_weights())
    return keras_model, ours


def stream(shape: tuple[int, ...], chunks: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    parts = [rng.normal(size=shape).astype("float32") for _ in range(chunks)]
    parts[1][0, 4:] = 0  # padding at the end of a row (Masking): the state is that of its last real step
    parts[2][1, :] = 0   # a fully padded row keeps its state
    return parts


@pytest.mark.keras
@pytest.mark.parametrize("spec", STREAMED)
def test_a_stream_in_chunks_equals_keras(spec: str) -> None:
    keras_model, ours = pair(spec)
    chunks = stream(keras_model.input_shape)
    for round_ in range(2):
        for chunk in chunks:
            expected = np.asarray(keras_model(chunk))
            got = ours(chunk)
            assert got.shape == expected.shape
            assert np.abs(got - expected).max() < 1e-5, round_
        keras_reset(keras_model)
        ours.reset_states()


@pytest.mark.keras
@pytest.mark.parametrize("spec", STREAMED[1:5])
def test_predict_carries_the_states_from_slice_to_slice(spec: str) -> None:
    keras_model, ours = pair(spec)
    batch = ours.stateful_batch
    x = np.concatenate(stream(keras_model.input_shape))
    expected = keras_model.predict(x, batch_size=batch, verbose=0)
    got = ours.predict(x, batch_size=batch)
    assert np.abs(got - expected).max() < 1e-5
    # and on from there, in the next call: a fourth chunk, 24 steps in, where float32 rounding has grown past 1e-5
    # for GRU(64) (1.6e-5 measured)
    assert np.abs(ours(x[:batch]) - np.asarray(keras_model(x[:batch]))).max() < 1e-4
    ours.reset_states()
    assert np.allclose(ours.predict(x, batch_size=batch), got)


def test_states_carry_until_reset_and_new_weights_start_from_zeros() -> None:
    model = rnnspec.compile("Input(6, 3, batch_size=2) > GRU(4, stateful=true)", backend="numpy")
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    first = model(x)
    assert not np.allclose(model(x), first)
    model.reset_states()
    assert np.allclose(model(x), first)
    model.set_weights(model.get_weights())
    assert np.allclose(model(x), first)
    model.reset_weights(0)
    assert np.allclose(model(x), first)


def test_stateless_layers_keep_no_state() -> None:
    model = rnnspec.compile("Input(6, 3, batch_size=2) > GRU(4)", backend="numpy")
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    assert model.stateful_batch is None and np.array_equal(model(x), model(x))
    assert "forward" not in vars(model.layers[0])


def test_functional_stateful_with_return_state() -> None:
    spec = "x = Input(6, 3, batch_size=2)\ny, h, c = x > LSTM(4, stateful=true, state)\noutput y, h, c"
    model = rnnspec.compile(spec, backend="numpy")
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    y, h, c = model(x)
    assert np.array_equal(y, h)
    y2, _, _ = model(x)
    model.reset_states()
    again, _, _ = model(x)
    assert np.allclose(again, y) and not np.allclose(y2, y)


@pytest.mark.parametrize(("rows", "batch_size"), [(3, None), (8, None), (6, 2), (10, 4), (8, 8)])
def test_a_batch_other_than_the_fixed_one_is_refused(rows: int, batch_size: int | None) -> None:
    model = rnnspec.compile("Input(6, 3, batch_size=2) > LSTM(4, stateful=true)", backend="numpy")
    x = np.zeros((rows, 6, 3), "float32")
    if rows == 6:  # 6 rows in slices of 2 is fine
        assert model.predict(x, batch_size=2).shape == (6, 4)
        return
    with pytest.raises(RnnspecError) as info:
        model(x) if batch_size is None else model.predict(x, batch_size=batch_size)
    assert info.value.code == "E501" and "fixed batch of 2" in info.value.message


SHARED = """model shared:
    x = Input(6, 3, batch_size=2)
    enc = LSTM(3, stateful=true)
    a = x > enc
    b = x > Dense(3) > enc
    c = (a, b) > Add > RepeatVector(4)
    d = c > enc
    e = x > Dense(3) > Dense(3) > enc
    output a, d, e, b
"""


@pytest.mark.keras
def test_a_shared_stateful_layer_carries_one_state_through_its_calls_in_keras_order() -> None:
    """One layer, four calls a batch: each starts from the states the one before ended with, so the order of the
    calls decides every output. Keras runs them deepest first (here `b` before `a`, unlike the order written)."""
    keras_model, ours = pair(SHARED)
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.normal(size=(2, 6, 3)).astype("float32")
        for got, expected in zip(ours(x), keras_model(x), strict=True):
            assert np.abs(got - np.asarray(expected)).max() < 1e-5
