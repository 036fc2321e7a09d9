"""Recurrent kernels against real Keras layers on the same weights: every option, masks with gaps, leading
padding and fully padded rows, fixed and unknown lengths, batch 1 and larger."""
from __future__ import annotations

import numpy as np
import pytest

import rnnspec
from rnnspec.backends.keras import keras_layer
from rnnspec.backends.numpy.base import kernels, make_kernel

kernels()

LAYERS = [
    "SimpleRNN(4, seq)", "SimpleRNN(4)", "SimpleRNN(4, activation=relu, use_bias=false)", "SimpleRNN(4, seq, backwards)",
    "LSTM(4, seq)", "LSTM(4)", "LSTM(4, backwards)", "LSTM(4, seq, use_bias=false, unit_forget_bias=false)",
    "LSTM(3, activation=relu, recurrent_activation=hard_sigmoid)", "LSTM(3, seq, recurrent_activation=tanh)",
    "GRU(4, seq)", "GRU(4)", "GRU(4, reset_after=false)", "GRU(4, seq, backwards, reset_after=false)",
    "GRU(4, use_bias=false)", "GRU(3, activation=softsign, recurrent_activation=hard_sigmoid)",
    "Bidirectional(LSTM(3, seq))", "Bidirectional(LSTM(3))", "Bidirectional(GRU(3), merge_mode=mul)",
    "Bidirectional(SimpleRNN(3, seq), merge_mode=sum)", "Bidirectional(GRU(3, seq, reset_after=false), merge_mode=ave)",
]


def masks(batch: int, steps: int) -> dict[str, np.ndarray | None]:
    gaps = np.ones((batch, steps), bool)
    gaps[0, steps - 2:] = False              # trailing padding
    if batch > 1:
        gaps[1, :2] = False                  # leading padding
    if batch > 2:
        gaps[2, 2:4] = False                 # a gap in the middle
    if batch > 3:
        gaps[3, :] = False                   # a fully padded row
    return {"no mask": None, "mask": gaps}


def compare(spec: str, steps_known: bool, batch: int, steps: int, mask: np.ndarray | None) -> float:
    rng = np.random.default_rng(7)
    features = 3
    report = rnnspec.select(f"Input({steps if steps_known else None}, {features}) > {spec}")
    row = report.rows[0]
    layer = keras_layer(row.node)
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    layer(x)  # build
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    expected = np.asarray(layer(x, mask=mask))
    kernel = make_kernel(row.node, row.input_shape, np.dtype("float32"))
    kernel.load(layer.get_weights())
    got, out_mask = kernel.forward(x, mask)
    assert got.dtype == np.float32 and got.shape == expected.shape
    if mask is not None and row.node.args.get("return_sequences", getattr(row.node.args.get("layer"), "args", {})
                                              .get("return_sequences")):
        assert out_mask is mask
    return float(np.abs(got - expected).max())


@pytest.mark.keras
@pytest.mark.parametrize("spec", LAYERS)
@pytest.mark.parametrize("mask_kind", ["no mask", "mask"])
def test_recurrent_kernel_equals_keras(spec: str, mask_kind: str) -> None:
    batch, steps = 4, 6
    assert compare(spec, True, batch, steps, masks(batch, steps)[mask_kind]) < 1e-5


@pytest.mark.keras
@pytest.mark.parametrize("spec", ["LSTM(4, seq)", "GRU(4)", "Bidirectional(SimpleRNN(2, seq))"])
@pytest.mark.parametrize(("batch", "steps"), [(1, 1), (1, 9), (3, 2)])
def test_unknown_lengths_and_batch_sizes(spec: str, batch: int, steps: int) -> None:
    assert compare(spec, False, batch, steps, None) < 1e-5
    assert compare(spec, False, batch, steps, masks(batch, steps)["mask"]) < 1e-5


def keras_and_numpy(spec: str, rng: np.random.Generator) -> tuple:
    """The same model in Keras, with random weights, and in NumPy with those weights."""
    report = rnnspec.select(spec)
    keras_model = rnnspec.compile(report)
    keras_model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32") for w in keras_model.get_weights()])
    model = rnnspec.compile(report, backend="numpy")
    model.set_weights(keras_model.get_weights())
    return keras_model, model


@pytest.mark.keras
def test_whole_model_equals_keras_and_keeps_float32() -> None:
    rng = np.random.default_rng(3)
    keras_model, model = keras_and_numpy("Input(None, 5) > LSTM(8, seq) > GRU(6, seq) > SimpleRNN(4)", rng)
    x = rng.normal(size=(7, 11, 5)).astype("float32")
    out = model.predict(x, batch_size=3)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, keras_model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)


FAST_SPECS = "Input(5, 3) > LSTM(6, seq) > GRU(5, seq, backwards) > SimpleRNN(4, seq) > LSTM(3, use_bias=false) > " \
    "RepeatVector(2) > GRU(4, use_bias=false, seq) > SimpleRNN(2, use_bias=false)"


@pytest.mark.keras
@pytest.mark.parametrize("small_step", [0, 10**9], ids=["exp form", "tanh form"])
@pytest.mark.parametrize("wide_input", [0, 10**9], ids=["projection first", "input in the product"])
@pytest.mark.parametrize("batch", [1, 7])
def test_every_fast_loop_equals_keras(small_step: int, wide_input: int, batch: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast loops pick their form by the size of a step and the width of the input; each is forced here."""
    from rnnspec.backends.numpy.kernels import recurrent

    monkeypatch.setattr(recurrent, "LSTM_TANH_FORM_UP_TO", small_step)
    monkeypatch.setattr(recurrent, "TANH_AS_EXP_FROM", small_step)
    monkeypatch.setattr(recurrent, "WIDE_INPUT", wide_input)
    monkeypatch.setattr(recurrent, "GRU_WIDE_UNITS", 10**9)
    rng = np.random.default_rng(5)
    keras_model, model = keras_and_numpy(FAST_SPECS, rng)
    x = rng.normal(size=(batch, 5, 3)).astype("float32")
    np.testing.assert_allclose(model(x), keras_model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)


def test_float64_on_request() -> None:
    report = rnnspec.select("Input(4, 2) > GRU(3)")
    model = rnnspec.compile(report, backend="numpy", dtype="float64")
    assert model(np.ones((2, 4, 2))).dtype == np.float64


def test_fresh_weights_follow_keras_initialisers() -> None:
    model = rnnspec.compile("Input(4, 6) > LSTM(5)", backend="numpy", seed=1)
    kernel, recurrent, bias = model.get_weights()
    limit = np.sqrt(6 / (6 + 20))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > limit / 2
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(5), atol=1e-5)   # orthogonal rows
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])  # forget gate open
    again = rnnspec.compile("Input(4, 6) > LSTM(5)", backend="numpy", seed=1).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again))


def test_weight_mismatch_names_the_layer_and_weight() -> None:
    model = rnnspec.compile("Input(4, 2) > GRU(3, seq) > GRU(2, reset_after=false)", backend="numpy")
    weights = model.get_weights()
    with pytest.raises(rnnspec.RnnspecError, match="gru_1/bias"):
        model.set_weights(weights[:-1] + [np.zeros((2, 6))])
    with pytest.raises(rnnspec.RnnspecError, match="has 6 weights, but 5 were given"):
        model.set_weights(weights[:-1])
