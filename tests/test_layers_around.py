"""Issue 11, the layers around a recurrent model: activations as layers, the reshaping layers, the other 1-D
convolutions and the training-only noise layers.

Parity cases (every argument set to something other than its default somewhere), the refusals Keras makes, and
the NumPy kernels against Keras on the same random weights, layer by layer and mask by mask (`assert_same`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnspec
from rnnspec.errors import RnnspecError
from tests.test_numpy_layers import RNG, assert_same, check, floats, padded_ids
from tests.test_parity import Build, assert_parity, case

I = "Input(9, 4) > "  # noqa: E741  (most cases: 9 steps of 4 features)


def inp(L: Any, *shape: Any, dtype: str = "float32") -> Any:
    return L.Input(shape, dtype=dtype)


PARITY_CASES = [
    # activations
    case(I + "ReLU", lambda L: [inp(L, 9, 4), L.ReLU()]),
    case(I + "ReLU(6.0, 0.1, 0.5)", lambda L: [inp(L, 9, 4), L.ReLU(6.0, 0.1, 0.5)]),
    case(I + "ReLU(max_value=2, threshold=1)", lambda L: [inp(L, 9, 4), L.ReLU(max_value=2, threshold=1)]),
    case(I + "LeakyReLU(negative_slope=0.1)", lambda L: [inp(L, 9, 4), L.LeakyReLU(negative_slope=0.1)]),
    case(I + "ELU(0.5)", lambda L: [inp(L, 9, 4), L.ELU(0.5)]),
    case(I + "PReLU", lambda L: [inp(L, 9, 4), L.PReLU()]),
    case(I + "PReLU(shared_axes=1)", lambda L: [inp(L, 9, 4), L.PReLU(shared_axes=1)]),
    case("Input(None, 4) > PReLU(shared_axes=(1,), trainable=false)",
         lambda L: [inp(L, None, 4), L.PReLU(shared_axes=[1], trainable=False)]),
    case("Input(3, 5, 4) > PReLU(shared_axes=(1, 2))", lambda L: [inp(L, 3, 5, 4), L.PReLU(shared_axes=[1, 2])]),
    case(I + "PReLU(alpha_initializer=RandomNormal(stddev=0.1), alpha_regularizer=l2, alpha_constraint=non_neg)",
         lambda L: [inp(L, 9, 4), L.PReLU(alpha_initializer="random_normal", alpha_regularizer="l2",
                                          alpha_constraint="non_neg")]),
    case(I + "Softmax", lambda L: [inp(L, 9, 4), L.Softmax()]),
    case(I + "Softmax(1)", lambda L: [inp(L, 9, 4), L.Softmax(1)]),
    case(I + "Softmax(axis=(1, 2))", lambda L: [inp(L, 9, 4), L.Softmax(axis=(1, 2))]),
    # reshaping
    case(I + "Permute((2, 1))", lambda L: [inp(L, 9, 4), L.Permute((2, 1))]),
    case("Input(20, dtype=int32) > Permute((1,)) > Embedding(30, 3)",
         lambda L: [inp(L, 20, dtype="int32"), L.Permute((1,)), L.Embedding(30, 3)]),
    case("Input(2, 3, 4) > Permute((3, 1, 2))", lambda L: [inp(L, 2, 3, 4), L.Permute((3, 1, 2))]),
    case(I + "Cropping1D", lambda L: [inp(L, 9, 4), L.Cropping1D()]),
    case(I + "Cropping1D((0, 3))", lambda L: [inp(L, 9, 4), L.Cropping1D((0, 3))]),
    case("Input(None, 4) > Cropping1D(2)", lambda L: [inp(L, None, 4), L.Cropping1D(2)]),
    case(I + "ZeroPadding1D", lambda L: [inp(L, 9, 4), L.ZeroPadding1D()]),
    case(I + "ZeroPadding1D((2, 0), data_format=channels_first)",
         lambda L: [inp(L, 9, 4), L.ZeroPadding1D((2, 0), data_format="channels_first")]),
    case("Input(None, 4) > ZeroPadding1D(3)", lambda L: [inp(L, None, 4), L.ZeroPadding1D(3)]),
    case(I + "UpSampling1D", lambda L: [inp(L, 9, 4), L.UpSampling1D()]),
    case("Input(None, 4) > UpSampling1D(size=3)", lambda L: [inp(L, None, 4), L.UpSampling1D(size=3)]),
    # convolutions
    case(I + "Conv1DTranspose(3, 2)", lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 2)]),
    case(I + "Conv1DTranspose(3, 2, 3)", lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 2, 3)]),
    case(I + "Conv1DTranspose(3, 4, 2, same)", lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 4, 2, "same")]),
    case(I + "Conv1DTranspose(3, 3, 2, same, output_padding=0)",
         lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 3, 2, "same", output_padding=0)]),
    case(I + "Conv1DTranspose(3, 4, 3, output_padding=2, activation=relu, use_bias=false)",
         lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 4, 3, output_padding=2, activation="relu", use_bias=False)]),
    case(I + "Conv1DTranspose(3, 3, padding=same, dilation_rate=2, trainable=false)",
         lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 3, padding="same", dilation_rate=2, trainable=False)]),
    case("Input(4, 9) > Conv1DTranspose(3, 2, 2, data_format=channels_first)",
         lambda L: [inp(L, 4, 9), L.Conv1DTranspose(3, 2, 2, data_format="channels_first")]),
    case("Input(None, 4) > Conv1DTranspose(3, 2, 2, kernel_initializer=he_normal, bias_regularizer=L2(0.1), "
         "activity_regularizer=l1, kernel_constraint=MaxNorm(3))",
         lambda L: [inp(L, None, 4), L.Conv1DTranspose(3, 2, 2, kernel_initializer="he_normal",
                                                       bias_regularizer="l2", activity_regularizer="l1",
                                                       kernel_constraint="max_norm")]),
    case(I + "DepthwiseConv1D(3)", lambda L: [inp(L, 9, 4), L.DepthwiseConv1D(3)]),
    case(I + "DepthwiseConv1D(3, 2, same, depth_multiplier=3, use_bias=false)",
         lambda L: [inp(L, 9, 4), L.DepthwiseConv1D(3, 2, "same", depth_multiplier=3, use_bias=False)]),
    case(I + "DepthwiseConv1D(2, 2, dilation_rate=2, activation=tanh, trainable=false)",
         lambda L: [inp(L, 9, 4), L.DepthwiseConv1D(2, 2, dilation_rate=2, activation="tanh", trainable=False)]),
    case("Input(4, 9) > DepthwiseConv1D(3, data_format=channels_first, depthwise_initializer=ones)",
         lambda L: [inp(L, 4, 9), L.DepthwiseConv1D(3, data_format="channels_first", depthwise_initializer="ones")]),
    case(I + "SeparableConv1D(5, 3)", lambda L: [inp(L, 9, 4), L.SeparableConv1D(5, 3)]),
    case(I + "SeparableConv1D(5, 3, 2, same, depth_multiplier=2, activation=relu, use_bias=false)",
         lambda L: [inp(L, 9, 4), L.SeparableConv1D(5, 3, 2, "same", depth_multiplier=2, activation="relu",
                                                    use_bias=False)]),
    case(I + "SeparableConv1D(5, 2, dilation_rate=3, trainable=false)",
         lambda L: [inp(L, 9, 4), L.SeparableConv1D(5, 2, dilation_rate=3, trainable=False)]),
    case("Input(4, 9) > SeparableConv1D(2, 3, data_format=channels_first, pointwise_constraint=unit_norm)",
         lambda L: [inp(L, 4, 9), L.SeparableConv1D(2, 3, data_format="channels_first",
                                                    pointwise_constraint="unit_norm")]),
    # training-only noise
    case(I + "GaussianNoise(0.1)", lambda L: [inp(L, 9, 4), L.GaussianNoise(0.1)]),
    case(I + "GaussianNoise(1, seed=3)", lambda L: [inp(L, 9, 4), L.GaussianNoise(1.0, seed=3)]),
    case(I + "GaussianDropout(0.3, 7)", lambda L: [inp(L, 9, 4), L.GaussianDropout(0.3, 7)]),
    case(I + "AlphaDropout(0.2)", lambda L: [inp(L, 9, 4), L.AlphaDropout(0.2)]),
    case(I + "AlphaDropout(0.2, (None, 1, 4), seed=1)",
         lambda L: [inp(L, 9, 4), L.AlphaDropout(0.2, (None, 1, 4), seed=1)]),
    case(I + "ActivityRegularization(0.01, l2=0.1)", lambda L: [inp(L, 9, 4), L.ActivityRegularization(0.01, l2=0.1)]),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), PARITY_CASES)
def test_parity(spec: str, build: Build) -> None:
    assert_parity(spec, build)


# ---------------------------------------------------------------- refusals: Keras refuses too

# Keras refuses these when it builds the model
BUILD_ERRORS = [
    case(I + "ReLU(-1)", lambda L: [inp(L, 9, 4), L.ReLU(-1.0)]),
    case(I + "ReLU(negative_slope=-0.1)", lambda L: [inp(L, 9, 4), L.ReLU(negative_slope=-0.1)]),
    case(I + "ReLU(threshold=-1)", lambda L: [inp(L, 9, 4), L.ReLU(threshold=-1.0)]),
    case(I + "LeakyReLU(-0.1)", lambda L: [inp(L, 9, 4), L.LeakyReLU(-0.1)]),
    case("Input(None, 4) > PReLU", lambda L: [inp(L, None, 4), L.PReLU()]),
    case(I + "PReLU(shared_axes=3)", lambda L: [inp(L, 9, 4), L.PReLU(shared_axes=3)]),
    case(I + "Permute((1, 3))", lambda L: [inp(L, 9, 4), L.Permute((1, 3))]),
    case(I + "Permute((1, 2, 3))", lambda L: [inp(L, 9, 4), L.Permute((1, 2, 3))]),
    case(I + "Cropping1D((4, 5))", lambda L: [inp(L, 9, 4), L.Cropping1D((4, 5))]),
    case(I + "Cropping1D(-1)", lambda L: [inp(L, 9, 4), L.Cropping1D(-1)]),
    case(I + "Cropping1D((1, 2, 3))", lambda L: [inp(L, 9, 4), L.Cropping1D((1, 2, 3))]),
    case("Input(9) > Cropping1D", lambda L: [inp(L, 9), L.Cropping1D()]),
    case(I + "ZeroPadding1D(-1)", lambda L: [inp(L, 9, 4), L.ZeroPadding1D(-1)]),
    case("Input(9, 4, 2) > UpSampling1D", lambda L: [inp(L, 9, 4, 2), L.UpSampling1D()]),
    case(I + "UpSampling1D(0)", lambda L: [inp(L, 9, 4), L.UpSampling1D(0)]),
    case(I + "Conv1DTranspose(3, 2, padding=causal)", lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 2, padding="causal")]),
    case(I + "Conv1DTranspose(3, 2, 2, dilation_rate=2)",
         lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 2, 2, dilation_rate=2)]),
    case(I + "Conv1DTranspose(3, 2, 2, output_padding=2)",
         lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 2, 2, output_padding=2)]),
    case("Input(9, None) > Conv1DTranspose(3, 2)", lambda L: [inp(L, 9, None), L.Conv1DTranspose(3, 2)]),
    case("Input(9, 4, 2) > Conv1DTranspose(3, 2)", lambda L: [inp(L, 9, 4, 2), L.Conv1DTranspose(3, 2)]),
    case(I + "DepthwiseConv1D(3, padding=causal)", lambda L: [inp(L, 9, 4), L.DepthwiseConv1D(3, padding="causal")]),
    case("Input(2, 4) > DepthwiseConv1D(3)", lambda L: [inp(L, 2, 4), L.DepthwiseConv1D(3)]),
    case("Input(9, 4, 2) > DepthwiseConv1D(3)", lambda L: [inp(L, 9, 4, 2), L.DepthwiseConv1D(3)]),
    case("Input(9) > DepthwiseConv1D(3)", lambda L: [inp(L, 9), L.DepthwiseConv1D(3)]),
    case("Input(9, None) > DepthwiseConv1D(3)", lambda L: [inp(L, 9, None), L.DepthwiseConv1D(3)]),
    case(I + "SeparableConv1D(2, 3, padding=causal)",
         lambda L: [inp(L, 9, 4), L.SeparableConv1D(2, 3, padding="causal")]),
    case("Input(3, 4) > SeparableConv1D(2, 2, dilation_rate=3)",
         lambda L: [inp(L, 3, 4), L.SeparableConv1D(2, 2, dilation_rate=3)]),
    case(I + "GaussianNoise(1.5)", lambda L: [inp(L, 9, 4), L.GaussianNoise(1.5)]),
    case(I + "GaussianDropout(-0.1)", lambda L: [inp(L, 9, 4), L.GaussianDropout(-0.1)]),
    case(I + "AlphaDropout(1.5)", lambda L: [inp(L, 9, 4), L.AlphaDropout(1.5)]),
    case(I + "ActivityRegularization(-1)", lambda L: [inp(L, 9, 4), L.ActivityRegularization(-1.0)]),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), BUILD_ERRORS)
def test_refusals_are_errors_in_keras(spec: str, build: Build) -> None:
    import keras

    with pytest.raises(RnnspecError) as caught:
        rnnspec.select(spec)
    assert caught.value.span is not None or caught.value.hint, spec  # located, or explained
    with pytest.raises((ValueError, IndexError, TypeError)):
        keras.Sequential(build(keras.layers))


# Keras builds these, then fails on the first call (TensorFlow's kernels refuse them)
CALL_ERRORS = [
    ("Input(9, 4) > Conv1DTranspose(3, 4, 2, same, output_padding=0)",
     lambda L: [inp(L, 9, 4), L.Conv1DTranspose(3, 4, 2, "same", output_padding=0)], (2, 9, 4)),
    ("Input(None, 4) > Conv1DTranspose(3, 2, padding=same, output_padding=0)",
     lambda L: [inp(L, None, 4), L.Conv1DTranspose(3, 2, padding="same", output_padding=0)], (2, 5, 4)),
    (I + "Softmax(3)", lambda L: [inp(L, 9, 4), L.Softmax(3)], (2, 9, 4)),
    (I + "Softmax((1, 1))", lambda L: [inp(L, 9, 4), L.Softmax((1, 1))], (2, 9, 4)),
    (I + "Softmax((-1, 2))", lambda L: [inp(L, 9, 4), L.Softmax((-1, 2))], (2, 9, 4)),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build", "shape"), CALL_ERRORS, ids=[c[0] for c in CALL_ERRORS])
def test_refusals_keras_makes_on_the_first_call(spec: str, build: Build, shape: tuple[int, ...]) -> None:
    import keras

    with pytest.raises(RnnspecError) as caught:
        rnnspec.select(spec)
    assert caught.value.hint, spec
    model = keras.Sequential(build(keras.layers))
    with pytest.raises(Exception):  # noqa: B017 - TensorFlow's InvalidArgumentError, or Keras's ValueError
        model(floats(*shape))


def test_refusals_are_located_with_a_hint() -> None:
    for spec in ["Input(9, 4) > Conv1DTranspose(3, 4, 2, same, output_padding=0)", "Input(9, 4) > Permute((1, 3))",
                 "Input(9, 4) > Softmax((1, 1))", "Input(9, 4) > Cropping1D((1, 2, 3))",
                 "Input(9, 4) > Softmax(3)", "Input(None, 4) > PReLU", "Input(9, 4) > AlphaDropout(0.2, (2,))"]:
        with pytest.raises(RnnspecError) as caught:
            rnnspec.select(spec)
        assert caught.value.span is not None and caught.value.hint, spec


@pytest.mark.parametrize("spec", ["Input(9, 4) > AlphaDropout(0.2, (None, 3, 4))",
                                  "Input(9, 4) > AlphaDropout(0.2, (1, 1, 1, 4))",
                                  "Input(9, 4) > GaussianDropout(1)", "Input(9, 4) > AlphaDropout(1)"])
def test_noise_settings_keras_builds_but_cannot_train_are_refused(spec: str) -> None:
    with pytest.raises(RnnspecError) as caught:
        rnnspec.select(spec)
    assert caught.value.hint


@pytest.mark.keras
def test_keras_fails_to_train_what_rnnspec_refuses_there() -> None:
    import keras

    L = keras.layers
    for layers in ([L.AlphaDropout(0.2, (None, 3, 4))], [L.GaussianDropout(1.0)], [L.AlphaDropout(1.0)]):
        model = keras.Sequential([inp(L, 9, 4), *layers])
        with pytest.raises(Exception):  # noqa: B017 - ZeroDivisionError, or TensorFlow's broadcast error
            model(floats(2, 9, 4), training=True)
    # and the noise shapes rnnspec accepts train: None is the input's size, 1 shares, fewer axes broadcast
    for noise in [(None, 1, 4), (4,), (1, 9, 1)]:
        keras.Sequential([inp(L, 9, 4), L.AlphaDropout(0.2, noise)])(floats(2, 9, 4), training=True)
        rnnspec.select(f"Input(9, 4) > AlphaDropout(0.2, {noise})")


# ---------------------------------------------------------------- NumPy against Keras

ACTIVATIONS = ["ReLU", "ReLU(1.5)", "ReLU(6)", "ReLU(negative_slope=0.2)", "ReLU(negative_slope=1.5)",
               "ReLU(threshold=0.5)", "ReLU(2, 0.1, 0.5)", "ReLU(max_value=1, negative_slope=0.3)",
               "LeakyReLU", "LeakyReLU(0.05)", "LeakyReLU(2)", "ELU", "ELU(0.3)", "ELU(-0.5)",
               "PReLU", "PReLU(shared_axes=1)", "PReLU(shared_axes=(1, 2))", "Softmax", "Softmax(1)",
               "Softmax((1, 2))", "Softmax(-2)"]


@pytest.mark.keras
@pytest.mark.parametrize("layer", ACTIVATIONS)
def test_activations(layer: str) -> None:
    check(f"Input(6, 4) > {layer}", (3, 6, 4))


RESHAPING = [("Input(6, 4) > Permute((2, 1))", (2, 6, 4)), ("Input(2, 3, 4) > Permute((3, 1, 2))", (2, 2, 3, 4)),
             ("Input(6, 4) > Cropping1D", (2, 6, 4)), ("Input(6, 4) > Cropping1D((0, 5))", (2, 6, 4)),
             ("Input(None, 4) > Cropping1D((2, 0))", (2, 5, 4)), ("Input(6, 4) > ZeroPadding1D", (2, 6, 4)),
             ("Input(6, 4) > ZeroPadding1D((0, 2), data_format=channels_first)", (2, 6, 4)),
             ("Input(None, 4) > ZeroPadding1D(3)", (1, 2, 4)), ("Input(6, 4) > UpSampling1D", (2, 6, 4)),
             ("Input(None, 4) > UpSampling1D(3)", (2, 5, 4)),
             ("Input(6, 4) > GaussianNoise(0.5) > GaussianDropout(0.5) > AlphaDropout(0.5, (None, 1, 4)) > "
              "ActivityRegularization(0.1, 0.1)", (2, 6, 4))]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "shape"), RESHAPING)
def test_reshaping_and_noise(spec: str, shape: tuple[int, ...]) -> None:
    check(spec, shape)


def test_cropping_an_unknown_length_too_short_is_refused_when_run() -> None:
    model = rnnspec.compile("Input(None, 4) > Cropping1D((2, 1))", backend="numpy")
    assert model(floats(1, 4, 4)).shape == (1, 1, 4)
    with pytest.raises(RnnspecError, match="leaving none"):
        model(floats(1, 3, 4))


CONVOLUTIONS = [
    "Conv1DTranspose(3, 2)", "Conv1DTranspose(3, 3, 2)", "Conv1DTranspose(3, 2, 3)", "Conv1DTranspose(3, 1, 2)",
    "Conv1DTranspose(3, 4, 2, same)", "Conv1DTranspose(3, 3, 2, same)", "Conv1DTranspose(3, 5, 3, same)",
    "Conv1DTranspose(3, 3, 2, same, output_padding=0)", "Conv1DTranspose(3, 4, 2, same, output_padding=1)",
    "Conv1DTranspose(3, 4, 3, output_padding=2, activation=relu, use_bias=false)",
    "DepthwiseConv1D(3)", "DepthwiseConv1D(3, 2, same, depth_multiplier=3)", "DepthwiseConv1D(4, padding=same)",
    "DepthwiseConv1D(2, dilation_rate=2, activation=tanh, use_bias=false)", "DepthwiseConv1D(3, 2, dilation_rate=2)",
    "DepthwiseConv1D(3, 3, same, dilation_rate=2, depth_multiplier=2)",
    "SeparableConv1D(5, 3)", "SeparableConv1D(5, 3, 2, same, depth_multiplier=2, activation=relu)",
    "SeparableConv1D(5, 2, dilation_rate=3, use_bias=false)", "SeparableConv1D(2, 3, 2, dilation_rate=2)",
    "SeparableConv1D(2, 4, 3, same, dilation_rate=2)",
]


@pytest.mark.keras
@pytest.mark.parametrize("layer", CONVOLUTIONS)
@pytest.mark.parametrize("known", [True, False])
def test_convolutions(layer: str, known: bool) -> None:
    check(f"Input({9 if known else None}, 4) > {layer}", (2, 9, 4))


@pytest.mark.keras
@pytest.mark.parametrize("layer", ["DepthwiseConv1D(3, 2, depth_multiplier=2)", "SeparableConv1D(5, 3, padding=same)",
                                   "DepthwiseConv1D(3, 2, dilation_rate=2)"])
def test_depthwise_and_separable_channels_first(layer: str) -> None:
    check(f"Input(4, 9) > {layer[:-1]}, data_format=channels_first)", (2, 4, 9))


@pytest.mark.keras
@pytest.mark.parametrize("layer", ["Conv1DTranspose(3, 2, 2)", "Conv1DTranspose(3, 3, 2, same, output_padding=1)"])
def test_conv_transpose_channels_first(layer: str) -> None:
    """TensorFlow has no channels_first transpose on the CPU: compare with the channels_last layer on the
    transposed input, with the same weights (as tests/test_numpy_layers.py does for Conv1D)."""
    x = floats(2, 4, 9)
    km, _ = assert_same(f"Input(9, 4) > {layer}", np.swapaxes(x, 1, 2))
    nm = rnnspec.compile(f"Input(4, 9) > {layer[:-1]}, data_format=channels_first)", backend="numpy")
    nm.set_weights(km.get_weights())
    expected = np.swapaxes(np.asarray(km(np.swapaxes(x, 1, 2))), 1, 2)
    np.testing.assert_allclose(nm(x), expected, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- masks

MASK_KEPT = ["ReLU(1, 0.1)", "LeakyReLU", "ELU", "PReLU(shared_axes=1)", "GaussianNoise(0.3)",
             "GaussianDropout(0.3)", "AlphaDropout(0.3)", "ActivityRegularization(0.1)"]
MASK_DROPPED = ["Permute((1, 2))", "Cropping1D((0, 0))", "ZeroPadding1D((0, 0))", "UpSampling1D(1)",
                "Conv1DTranspose(4, 1)", "DepthwiseConv1D(1)", "SeparableConv1D(4, 1)"]


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")
@pytest.mark.parametrize("layer", MASK_KEPT + MASK_DROPPED)
def test_embedding_mask_through_a_layer_into_average_pooling(layer: str) -> None:
    """The fully padded row averages 0 / 0 while the mask lives, a number once a layer has dropped it."""
    tokens = padded_ids()
    _, nm = assert_same(f"Input(6, dtype=int32) > Embedding(10, 4, mask_zero=true) > {layer} > "
                        "GlobalAveragePooling1D", tokens)
    assert np.isnan(nm(tokens)[3]).all() == (layer in MASK_KEPT)


@pytest.mark.keras
def test_softmax_uses_the_mask_as_keras_does() -> None:
    """Keras lines a (batch, steps) mask up with the input's last two axes: it works where those fit (batch 1 or
    the steps, steps 1 or the features) and fails elsewhere; rnnspec computes the same values and fails alike."""
    tokens = np.array([[1, 2, 0, 0]])
    assert_same("Embedding(10, 4, mask_zero=true) > Softmax", tokens)
    assert_same("Embedding(10, 2, mask_zero=true) > Softmax", np.array([[1, 0], [0, 3]]))
    assert_same("Embedding(10, 4, mask_zero=true) > Softmax(1)", tokens)
    with pytest.raises(RnnspecError, match="does not broadcast"):
        rnnspec.compile("Embedding(10, 3, mask_zero=true) > Softmax", backend="numpy")(padded_ids())


def test_fresh_weights_follow_the_named_initialisers() -> None:
    """DepthwiseConv1D's weight is `kernel` but its initialiser `depthwise_initializer`; PReLU's alpha starts at
    zero, as in Keras."""
    model = rnnspec.compile("Input(6, 4) > DepthwiseConv1D(3, depthwise_initializer=ones, bias_initializer=ones) > "
                            "SeparableConv1D(2, 2, pointwise_initializer=zeros) > PReLU", backend="numpy")
    kernel, bias, _, pointwise, _, alpha = model.get_weights()
    assert (kernel == 1).all() and (bias == 1).all() and (pointwise == 0).all() and (alpha == 0).all()


@pytest.mark.keras
@pytest.mark.parametrize(("layer", "padding"), [("Conv1DTranspose(3, 3, padding=same, dilation_rate=2)", "same"),
                                                 ("Conv1DTranspose(3, 2, dilation_rate=3)", "valid"),
                                                 ("Conv1DTranspose(3, 2, padding=same, dilation_rate=2)", "same")])
def test_dilated_conv_transpose(layer: str, padding: str) -> None:
    """TensorFlow runs no dilated transpose on the CPU; a dilated kernel is the undilated kernel of its whole span
    with zeros in the gaps, which it does run."""
    import keras

    x = floats(2, 9, 4)
    model = rnnspec.compile(f"Input(9, 4) > {layer}", backend="numpy")
    kernel, bias = (RNG.normal(size=w.shape).astype("float32") for w in model.get_weights())
    model.set_weights([kernel, bias])
    dilation = 2 if "dilation_rate=2" in layer else 3
    k = kernel.shape[0]
    spread = np.zeros(((k - 1) * dilation + 1, *kernel.shape[1:]), "float32")
    spread[::dilation] = kernel
    plain = keras.layers.Conv1DTranspose(3, spread.shape[0], padding=padding)
    plain.build((None, 9, 4))
    plain.set_weights([spread, bias])
    np.testing.assert_allclose(model(x), np.asarray(plain(x)), atol=1e-5, rtol=1e-5)


def test_dtypes_follow_keras() -> None:
    """Keras's symbolic outputs are float32, except Permute's, which keeps its input's dtype (ids stay ids)."""
    from rnnspec.layers.base import Tensor

    report = rnnspec.select("Input(5, 2, dtype=int32) > Permute((2, 1)) > Cropping1D((0, 0)) > GaussianNoise(0.1)")
    ints = Tensor((None, 5, 2), "int32")
    assert [row.node.kind.output(row.node.args, ints).dtype for row in report.rows] == ["int32", "float32", "float32"]
