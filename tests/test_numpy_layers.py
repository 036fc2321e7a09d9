"""The NumPy kernels of the non-recurrent layers against Keras 3 on the same (random, non-trivial) weights.

One helper, `assert_same`, builds a spec with both backends, copies Keras's weights into the NumPy model and
compares the outputs; it also runs the Keras layers one by one, eagerly, to compare every layer's output and the
mask Keras attaches to it with what the NumPy kernel returns, so mask propagation is checked where it happens and
not only through its effect on the end result. Every option that changes the computation has a case; masks come
with trailing, middle and leading padding and a fully padded row; lengths are fixed and unknown, batches 1 and more.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnspec
from rnnspec.layers.base import ACTIVATIONS

RNG = np.random.default_rng(20240601)

# Keras warns whenever a layer drops a mask, which is part of the behaviour under test; keras is imported by the
# helpers, so that test_bidirectional_backward's Keras-free tests can import them without it
pytestmark = [pytest.mark.keras, pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")]


def floats(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape).astype("float32")


def padded_ids(batch: int = 4, steps: int = 6, vocab: int = 10) -> np.ndarray:
    """Token ids with padding (0) at the end, in the middle, at the start, and a row of padding only."""
    ids = RNG.integers(1, vocab, size=(batch, steps))
    ids[0, steps - 2:] = 0
    if batch > 1:
        ids[1, 2:4] = 0
    if batch > 2:
        ids[2, :3] = 0
    if batch > 3:
        ids[3, :] = 0
    return ids


def with_masked_steps(x: np.ndarray, value: float = 0.0) -> np.ndarray:
    """`x` with whole steps set to `value` (what Masking masks): trailing, middle, leading, a full row."""
    x = x.copy()
    steps = x.shape[1]
    x[0, steps - 2:] = value
    if len(x) > 1:
        x[1, 1:3] = value
    if len(x) > 2:
        x[2, :2] = value
    if len(x) > 3:
        x[3] = value
    return x


def randomize(model: Any, seed: int = 0) -> None:
    """Every weight random normal; BatchNormalization's variances (and stddevs) positive."""
    rng = np.random.default_rng(seed)
    values = []
    for variable in model.weights:
        value = rng.normal(size=tuple(variable.shape))
        if any(word in variable.path for word in ("variance", "stddev")):
            value = np.abs(value) + 0.1
        values.append(value.astype(variable.dtype))
    model.set_weights(values)


def keras_mask(tensor: Any) -> np.ndarray | None:
    from keras.src.backend import get_keras_mask

    mask = get_keras_mask(tensor)
    return None if mask is None else np.asarray(mask)


def assert_same(spec: str, x: np.ndarray, atol: float = 1e-5) -> tuple[Any, Any]:
    """The NumPy model of `spec` computes what Keras computes on `x`, layer by layer, masks included."""
    import keras

    report = rnnspec.select(spec)
    km = rnnspec.compile(report)
    randomize(km)
    nm = rnnspec.compile(report, backend="numpy")
    nm.set_weights(km.get_weights())
    expected = np.asarray(km(x))
    got = nm(x)
    assert got.dtype == np.float32, f"{spec}: output is {got.dtype}"
    assert got.shape == expected.shape, f"{spec}: {got.shape} != {expected.shape}"
    np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-5, err_msg=spec)
    # layer by layer, eagerly: each output and the mask Keras attaches to it
    k_out: Any = keras.ops.convert_to_tensor(x)
    n_out, n_mask = nm._input(x), None
    for name, layer, kernel in zip(nm.layer_names, km.layers, nm.layers):
        k_out = layer(k_out)
        n_out, n_mask = kernel.forward(n_out, n_mask)
        where = f"{spec}: layer {name}"
        np.testing.assert_allclose(n_out, np.asarray(k_out), atol=atol, rtol=1e-5, err_msg=where)
        k_mask = keras_mask(k_out)
        assert (n_mask is None) == (k_mask is None), f"{where}: mask {n_mask} != Keras's {k_mask}"
        if k_mask is not None:
            np.testing.assert_array_equal(np.asarray(n_mask, bool), k_mask.astype(bool), err_msg=where)
    return km, nm


def check(spec: str, shape: tuple[int, ...]) -> None:
    assert_same(spec, floats(*shape))


# ---------------------------------------------------------------- per layer, every option

DENSE = [
    ("Input(5) > Dense(3)", (4, 5)),
    ("Input(4, 5) > Dense(3, relu)", (3, 4, 5)),
    ("Input(3, 4, 5) > Dense(2, tanh, use_bias=false)", (2, 3, 4, 5)),
    ("Input(None, 5) > Dense(3, sigmoid, lora_rank=2)", (2, 7, 5)),
    ("Input(5) > Dense(3, softmax, use_bias=false, lora_rank=1)", (1, 5)),
    ("Input(5) > Dense(4, trainable=false)", (3, 5)),
]


@pytest.mark.parametrize(("spec", "shape"), DENSE)
def test_dense(spec: str, shape: tuple[int, ...]) -> None:
    check(spec, shape)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_layer_every_activation(name: str) -> None:
    check(f"Input(None, 5) > Activation({name})", (2, 3, 5))


IDENTITY_AND_RESHAPING = [
    ("Input(None, 4) > Dropout(0.5)", (3, 5, 4)),
    ("Input(6, 4) > SpatialDropout1D(0.5)", (2, 6, 4)),
    ("Input(4, 6) > Flatten", (3, 4, 6)),
    ("Input(3, 2, 2) > Flatten", (2, 3, 2, 2)),
    ("Input(5) > RepeatVector(3)", (2, 5)),
    ("Input(5) > RepeatVector(1)", (1, 5)),
    ("Input(4, 6) > Reshape((8, -1))", (2, 4, 6)),
    ("Input(4, 6) > Reshape((2, 3, 4))", (2, 4, 6)),
    ("Input(24) > Reshape((-1, 2, 3))", (1, 24)),
    ("Input(None, 6) > Reshape((-1, 3))", (2, 5, 6)),
]


@pytest.mark.parametrize(("spec", "shape"), IDENTITY_AND_RESHAPING)
def test_identity_and_reshaping(spec: str, shape: tuple[int, ...]) -> None:
    check(spec, shape)


def test_embedding_lookup_and_lora() -> None:
    ids = RNG.integers(0, 10, size=(3, 7))
    assert_same("Embedding(10, 4)", ids)
    assert_same("Embedding(10, 4, lora_rank=2)", ids)
    assert_same("Input(5, dtype=int32) > Embedding(10, 3, mask_zero=true, lora_rank=3) > Flatten", ids[:, :5])
    assert_same("Input(3, 2, dtype=int32) > Embedding(10, 3) > Dense(2)", RNG.integers(0, 10, size=(2, 3, 2)))


@pytest.mark.parametrize("value", [0.0, 0.5])
def test_masking(value: float) -> None:
    x = with_masked_steps(floats(4, 6, 3), value)
    x[1, 4, 0] = value  # one feature at the mask value does not mask the step
    assert_same(f"Input(6, 3) > Masking({value})", x)
    assert_same(f"Input(None, 3) > Masking({value}) > Dense(2)", x)


CONV = [
    "Conv1D(4, 3)",
    "Conv1D(4, 3, padding=same)",
    "Conv1D(4, 4, padding=same)",
    "Conv1D(4, 3, padding=causal)",
    "Conv1D(4, 3, strides=2)",
    "Conv1D(4, 4, strides=3, padding=same)",
    "Conv1D(4, 3, strides=2, padding=causal)",
    "Conv1D(4, 3, dilation_rate=2)",
    "Conv1D(4, 2, padding=same, dilation_rate=3)",
    "Conv1D(4, 3, padding=causal, dilation_rate=2)",
    "Conv1D(6, 3, groups=2)",
    "Conv1D(4, 2, padding=same, groups=4, activation=relu)",
    "Conv1D(4, 1, use_bias=false, activation=tanh)",
    "Conv1D(4, 3, padding=causal, lora_rank=2)",
    "Conv1D(6, 3, padding=same, groups=2, use_bias=false, lora_rank=1)",
]


@pytest.mark.parametrize("layer", CONV)
def test_conv1d(layer: str) -> None:
    check(f"Input(9, 4) > {layer}", (3, 9, 4))


@pytest.mark.parametrize("layer", ["Conv1D(3, 2, strides=2)", "Conv1D(4, 3, dilation_rate=2, padding=same, use_bias=false)",
                                   "Conv1D(4, 3, padding=causal, groups=2, lora_rank=1)"])
def test_conv1d_channels_first(layer: str) -> None:
    """TensorFlow cannot run a channels_first convolution on the CPU, so Keras computes the channels_last layer
    on the transposed input, with the same weights."""
    x = floats(2, 4, 9)
    km, _ = assert_same(f"Input(9, 4) > {layer}", np.swapaxes(x, 1, 2))
    nm = rnnspec.compile(f"Input(4, 9) > {layer[:-1]}, data_format=channels_first)", backend="numpy")
    nm.set_weights(km.get_weights())
    expected = np.swapaxes(np.asarray(km(np.swapaxes(x, 1, 2))), 1, 2)
    got = nm(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


POOLING = [
    "{}",
    "{}(3)",
    "{}(3, 1)",
    "{}(2, 3)",
    "{}(3, 2, padding=same)",
    "{}(4, 3, padding=same)",
    "{}(2, padding=same)",
    "{}(4, 1, padding=same)",
]


# Keras 3 gives AveragePooling1D no default pool_size (rnnspec requires one, as Keras does); MaxPooling1D has 2
@pytest.mark.parametrize(("kind", "layer"), [(kind, layer) for kind in ("MaxPooling1D", "AveragePooling1D")
                                             for layer in POOLING if (kind, layer) != ("AveragePooling1D", "{}")])
def test_pooling(kind: str, layer: str) -> None:
    check(f"Input(9, 3) > {layer.format(kind)}", (2, 9, 3))


@pytest.mark.parametrize("kind", ["MaxPooling1D", "AveragePooling1D"])
def test_pooling_channels_first(kind: str) -> None:
    check(f"Input(3, 10) > {kind}(3, data_format=channels_first)", (2, 3, 10))
    check(f"Input(3, 10) > {kind}(4, 3, padding=same, data_format=channels_first)", (2, 3, 10))


@pytest.mark.parametrize("kind", ["GlobalMaxPooling1D", "GlobalAveragePooling1D"])
@pytest.mark.parametrize("options", ["", "(keepdims=true)", "(data_format=channels_first)",
                                     "(data_format=channels_first, keepdims=true)"])
def test_global_pooling(kind: str, options: str) -> None:
    check(f"Input(5, 3) > {kind}{options}", (3, 5, 3))


NORMALIZATION = [
    ("Input(6, 4) > LayerNormalization", (3, 6, 4)),
    ("Input(4) > LayerNormalization", (3, 4)),
    ("Input(6, 4) > LayerNormalization(1)", (3, 6, 4)),
    ("Input(6, 4) > LayerNormalization(-2, epsilon=0.5)", (3, 6, 4)),
    ("Input(6, 4) > LayerNormalization((1, 2))", (3, 6, 4)),
    ("Input(6, 4) > LayerNormalization((-1, 1))", (3, 6, 4)),
    ("Input(3, 5, 4) > LayerNormalization((-1, 2), center=false)", (2, 3, 5, 4)),
    ("Input(None, 4) > LayerNormalization(scale=false)", (2, 7, 4)),
    ("Input(None, 4) > LayerNormalization(center=false, scale=false, epsilon=1e-6)", (1, 3, 4)),
    ("Input(6, 4) > BatchNormalization", (3, 6, 4)),
    ("Input(4) > BatchNormalization", (3, 4)),
    ("Input(6, 4) > BatchNormalization(1)", (3, 6, 4)),
    ("Input(6, 4) > BatchNormalization(-2, epsilon=0.3)", (3, 6, 4)),
    ("Input(3, 5, 4) > BatchNormalization(2, center=false)", (2, 3, 5, 4)),
    ("Input(None, 4) > BatchNormalization(scale=false)", (2, 7, 4)),
    ("Input(None, 4) > BatchNormalization(center=false, scale=false, momentum=0.5)", (1, 3, 4)),
    ("Input(6, 4) > BatchNormalization(renorm=true)", (3, 6, 4)),
    ("Input(6, 4) > BatchNormalization(trainable=false)", (3, 6, 4)),
]


@pytest.mark.parametrize(("spec", "shape"), NORMALIZATION)
def test_normalization(spec: str, shape: tuple[int, ...]) -> None:
    check(spec, shape)


TIME_DISTRIBUTED = [
    ("Input(6, 3) > TimeDistributed(Dense(4, relu))", (2, 6, 3)),
    ("Input(None, 3) > TimeDistributed(Dense(4, use_bias=false, lora_rank=2))", (3, 5, 3)),
    ("Input(5, 4, 3) > TimeDistributed(TimeDistributed(Dense(2)))", (2, 5, 4, 3)),
    ("Input(5, 4, 3) > TimeDistributed(Flatten) > Dense(2)", (2, 5, 4, 3)),
    ("Input(5, 6, 3) > TimeDistributed(Conv1D(2, 3, padding=causal))", (2, 5, 6, 3)),
    ("Input(5, 6, 3) > TimeDistributed(MaxPooling1D(2)) > TimeDistributed(GlobalAveragePooling1D)", (2, 5, 6, 3)),
    ("Input(5, 4, 3) > TimeDistributed(LSTM(2)) > LSTM(2)", (2, 5, 4, 3)),
    ("Input(None, 4, 3) > TimeDistributed(Bidirectional(GRU(2, seq)))", (2, 3, 4, 3)),
    ("Input(5, 4) > TimeDistributed(LayerNormalization)", (2, 5, 4)),
    ("Input(5, 4) > TimeDistributed(BatchNormalization(center=false))", (2, 5, 4)),
    ("Input(5, 4) > TimeDistributed(RepeatVector(2))", (2, 5, 4)),
]


@pytest.mark.parametrize(("spec", "shape"), TIME_DISTRIBUTED)
def test_time_distributed(spec: str, shape: tuple[int, ...]) -> None:
    check(spec, shape)


# ---------------------------------------------------------------- unknown lengths and batch sizes

UNKNOWN_LENGTH = [
    "Conv1D(3, 3, padding=same) > Conv1D(2, 2, padding=causal, dilation_rate=2) > GlobalMaxPooling1D",
    "Conv1D(3, 1, strides=2) > AveragePooling1D(2, padding=same) > GlobalAveragePooling1D(keepdims=true)",
    "MaxPooling1D(3, 2, padding=same) > LayerNormalization > TimeDistributed(Dense(2))",
    "Dense(3) > BatchNormalization > Activation(gelu) > Dropout(0.2) > SpatialDropout1D(0.2)",
]


@pytest.mark.parametrize("layers", UNKNOWN_LENGTH)
@pytest.mark.parametrize(("batch", "steps"), [(1, 1), (1, 8), (3, 2), (3, 11)])
def test_unknown_length(layers: str, batch: int, steps: int) -> None:
    check(f"Input(None, 3) > {layers}", (batch, steps, 3))


# ---------------------------------------------------------------- masks

MASK_KEPT = ["Dense(3)", "Activation(tanh)", "Dropout(0.5)", "SpatialDropout1D(0.5)", "LayerNormalization",
             "BatchNormalization", "TimeDistributed(Dense(3))", "LSTM(3, seq)"]
MASK_DROPPED = ["Conv1D(3, 2, padding=same)", "MaxPooling1D(1)", "AveragePooling1D(1)", "Reshape((-1, 4))"]


@pytest.mark.parametrize("layer", MASK_KEPT + MASK_DROPPED)
@pytest.mark.parametrize("known", [True, False])
def test_embedding_mask_through_a_layer_into_average_pooling(layer: str, known: bool) -> None:
    ids = padded_ids()
    head = "Input(6, dtype=int32) > " if known else ""
    _, nm = assert_same(f"{head}Embedding(10, 4, mask_zero=true) > {layer} > GlobalAveragePooling1D", ids)
    out = nm(ids)
    assert np.isnan(out[3]).all() == (layer in MASK_KEPT)  # the fully padded row: 0 / 0 while the mask lives
    assert np.isfinite(out[:3]).all()


def test_mask_is_ignored_by_global_max_pooling_and_reset_by_masking() -> None:
    ids = padded_ids()
    assert_same("Embedding(10, 4, mask_zero=true) > GlobalMaxPooling1D", ids)
    # Masking replaces the mask with its own: padding ids embed to non-zero vectors, so every step is real
    _, nm = assert_same("Embedding(10, 4, mask_zero=true) > Masking(0.0) > GlobalAveragePooling1D", ids)
    assert np.isfinite(nm(ids)).all()
    assert_same("Input(3, dtype=int32) > Embedding(10, 4, mask_zero=true) > Flatten > RepeatVector(2) > "
                "GlobalAveragePooling1D", padded_ids(steps=3))


@pytest.mark.parametrize("batch", [1, 4])
def test_masking_into_time_distributed_and_pooling(batch: int) -> None:
    x = with_masked_steps(floats(batch, 6, 3), 0.5)
    assert_same("Input(None, 3) > Masking(0.5) > TimeDistributed(Dense(2)) > GlobalAveragePooling1D", x)
    assert_same("Input(None, 3) > Masking(0.5) > TimeDistributed(Dense(2)) > LSTM(2)", x)
    assert_same("Input(6, 3) > Masking(0.5) > LayerNormalization > BatchNormalization > "
                "GlobalAveragePooling1D(keepdims=true)", x)
    assert_same("Input(6, 3) > Masking(0.5) > Conv1D(2, 2) > GlobalAveragePooling1D", x)


def test_masks_on_four_dimensional_input() -> None:
    """A mask per (step, inner step): TimeDistributed hands each step's slice to the inner layer and keeps it."""
    ids = RNG.integers(0, 3, size=(3, 5, 4))
    ids[0, 1] = 0  # a fully padded inner sequence
    assert_same("Input(5, 4, dtype=int32) > Embedding(10, 3, mask_zero=true) > TimeDistributed(GlobalAveragePooling1D)"
                " > Flatten", ids)
    assert_same("Input(5, 4, dtype=int32) > Embedding(10, 3, mask_zero=true) > TimeDistributed(LSTM(2)) > Flatten", ids)
    # an Embedding inside TimeDistributed makes no mask: Keras's TimeDistributed returns the (absent) incoming one
    assert_same("Input(5, 4, dtype=int32) > TimeDistributed(Embedding(10, 3, mask_zero=true)) > "
                "TimeDistributed(GlobalAveragePooling1D) > GlobalAveragePooling1D", ids)


# ---------------------------------------------------------------- dtypes

@pytest.mark.parametrize("layer", ["Dense(2)", "Activation(tanh)", "LayerNormalization", "BatchNormalization",
                                   "GlobalAveragePooling1D", "TimeDistributed(Dense(2))"])
def test_integer_features_compute_in_float32(layer: str) -> None:
    assert_same(f"Input(4, 3, dtype=int32) > {layer}", RNG.integers(-3, 4, size=(2, 4, 3)).astype("int32"))


DTYPE_SPECS = [
    ("Embedding(10, 4, mask_zero=true, lora_rank=2) > Dense(3, gelu) > LayerNormalization > BatchNormalization > "
     "TimeDistributed(Dense(2)) > GlobalAveragePooling1D", None),
    ("Input(8, 3) > Masking(0.5) > Conv1D(4, 3, padding=same, lora_rank=1) > MaxPooling1D(3, 2, padding=same) > "
     "AveragePooling1D(2, padding=same) > Flatten > RepeatVector(2) > Reshape((-1, 2)) > GlobalMaxPooling1D", (3, 8, 3)),
]


@pytest.mark.parametrize(("spec", "shape"), DTYPE_SPECS)
def test_outputs_keep_the_model_dtype(spec: str, shape: tuple[int, ...] | None) -> None:
    x = padded_ids()[:3] if shape is None else with_masked_steps(floats(*shape), 0.5)
    km, _ = assert_same(spec, x)  # float32, checked inside
    nm64 = rnnspec.compile(spec, backend="numpy", dtype="float64")
    nm64.set_weights(km.get_weights())
    out = nm64(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.asarray(km(x)), atol=1e-4, rtol=1e-4)
