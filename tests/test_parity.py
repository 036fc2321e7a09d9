"""Keras parity: what rnnspec infers, layer by layer, is what real Keras builds.

Every case is a spec and the same model written directly with `keras.layers` (never through rnnspec's Keras
backend, so a wrong rule cannot agree with itself). One declarative helper, in the spirit of Keras's own
`run_layer_test`, builds the Keras model and compares each rnnspec row with its Keras layer: output shape, the
weights (name, shape, trainable) in order, trainable and non-trainable counts, then the model's totals. Every
expected value comes from Keras. A coverage test keeps the table honest: each layer type and each of its
arguments is exercised with a non-default value by at least one case.
"""
from __future__ import annotations

import re
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np
import pytest

import rnnspec
from rnnspec.errors import RnnspecError
from rnnspec.layers.base import LayerNode, registry

Build = Callable[[ModuleType], list[Any]]


def count(weights: list[Any]) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


def keras_weights(layer: Any) -> list[tuple[str, tuple[int, ...], bool]]:
    """(short name, shape, trainable) per weight, in `layer.weights` order (Keras 3 `w.name` is "kernel")."""
    return [(w.name, tuple(w.shape), bool(w.trainable)) for w in layer.weights]


def assert_parity(spec: str, build: Build) -> None:
    """rnnspec's report for `spec` equals, row by row, the Keras model `build(keras.layers)` describes.

    `build` returns `[Input(...), layer, layer, ...]`; the model is `keras.Sequential` of that list.
    """
    import keras

    report = rnnspec.select(spec)
    inputs, *layers = build(keras.layers)
    model = keras.Sequential([inputs, *layers])
    assert report.input is not None
    assert (report.input.shape, report.input.dtype) == (tuple(inputs.shape), inputs.dtype), "model input"
    assert [row.type for row in report.rows] == [type(layer).__name__ for layer in model.layers]
    for row, layer in zip(report.rows, model.layers):
        where = f"{spec}: row '{row.name}' ({row.type})"
        assert re.fullmatch(rf"{re.escape(row.node.kind.keras_name)}(_\d+)?", layer.name), where
        assert row.output_shape == tuple(layer.output.shape), where
        assert [(w.name, w.shape, w.trainable) for w in row.weights] == keras_weights(layer), where
        assert row.trainable == count(layer.trainable_weights), where
        assert row.non_trainable == count(layer.non_trainable_weights), where
    assert report.output == tuple(model.layers[-1].output.shape)
    assert report.total == model.count_params()
    assert report.trainable == count(model.trainable_weights)
    assert report.non_trainable == count(model.non_trainable_weights)


def case(spec: str, build: Build) -> Any:
    return pytest.param(spec, build, id=spec)


def ids(L: ModuleType) -> Any:
    """The input Keras gives a model that starts with Embedding: integer ids of any length."""
    return L.Input((None,), dtype="int32")


# ---------------------------------------------------------------- recurrent layers and their options

# (spec arguments after `units`, Keras keyword arguments) for every recurrent layer ...
RECURRENT_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("seq", {"return_sequences": True}),
    ("backwards", {"go_backwards": True}),
    ("seq, backwards", {"return_sequences": True, "go_backwards": True}),
    ("unroll", {"unroll": True}),
    ("seq, unroll", {"return_sequences": True, "unroll": True}),
    ("relu", {"activation": "relu"}),
    ("activation=None", {"activation": None}),
    ("use_bias=false", {"use_bias": False}),
    ("dropout=0.2, recurrent_dropout=0.1", {"dropout": 0.2, "recurrent_dropout": 0.1}),
    ("trainable=false", {"trainable": False}),
]
# ... and those only some have.
GATED_OPTIONS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "SimpleRNN": [],
    "LSTM": [
        ("recurrent_activation=hard_sigmoid", {"recurrent_activation": "hard_sigmoid"}),
        ("unit_forget_bias=false", {"unit_forget_bias": False}),
        ("use_bias=false, unit_forget_bias=false", {"use_bias": False, "unit_forget_bias": False}),
    ],
    "GRU": [
        ("recurrent_activation=hard_sigmoid", {"recurrent_activation": "hard_sigmoid"}),
        ("reset_after=false", {"reset_after": False}),
        ("reset_after=false, use_bias=false", {"reset_after": False, "use_bias": False}),
        ("reset_after=true, seq", {"reset_after": True, "return_sequences": True}),
    ],
}


def recurrent_cases() -> Iterator[Any]:
    for kind, own in GATED_OPTIONS.items():
        for written, kwargs in RECURRENT_OPTIONS + own:
            args = f"3, {written}" if written else "3"
            yield case(f"Input(5, 4) > {kind}({args})",
                       lambda L, kind=kind, kwargs=kwargs: [L.Input((5, 4)), getattr(L, kind)(3, **kwargs)])
        for written, kwargs in [("2", {}), ("2, seq", {"return_sequences": True}), ("2, unroll", {"unroll": True})]:
            yield case(f"Input(None, 6) > {kind}({written})",
                       lambda L, kind=kind, kwargs=kwargs: [L.Input((None, 6)), getattr(L, kind)(2, **kwargs)])


# ---------------------------------------------------------------- the table

CASES = [
    *recurrent_cases(),
    # Input: fixed and unknown lengths, a batch size, integer ids
    case("Input(6, 3) > Dense(2)", lambda L: [L.Input((6, 3)), L.Dense(2)]),
    case("Input(None, 3) > Dense(2, softmax)", lambda L: [L.Input((None, 3)), L.Dense(2, "softmax")]),
    case("Input(6, 3, batch_size=4) > LSTM(2, seq) > Dense(1)",
         lambda L: [L.Input((6, 3), batch_size=4), L.LSTM(2, return_sequences=True), L.Dense(1)]),
    case("Input(7, dtype=int32) > Embedding(12, 4) > GRU(3)",
         lambda L: [L.Input((7,), dtype="int32"), L.Embedding(12, 4), L.GRU(3)]),
    case("Input(None, dtype=int64) > Embedding(12, 4) > SimpleRNN(3)",
         lambda L: [L.Input((None,), dtype="int64"), L.Embedding(12, 4), L.SimpleRNN(3)]),
    # Embedding first: integer ids of any length; the seed models
    case("Embedding(10000, 32) > SimpleRNN(32)", lambda L: [ids(L), L.Embedding(10000, 32), L.SimpleRNN(32)]),
    case("Embedding(10000, 32) > SimpleRNN(32, seq)",
         lambda L: [ids(L), L.Embedding(10000, 32), L.SimpleRNN(32, return_sequences=True)]),
    case("Embedding(10000, 32) > SimpleRNN(32, seq) x3 > SimpleRNN(32)",
         lambda L: [ids(L), L.Embedding(10000, 32), *[L.SimpleRNN(32, return_sequences=True) for _ in range(3)],
                    L.SimpleRNN(32)]),
    case("Embedding(20, 4, mask_zero) > LSTM(3)", lambda L: [ids(L), L.Embedding(20, 4, mask_zero=True), L.LSTM(3)]),
    case("Embedding(20, 4, trainable=false) > LSTM(3)",
         lambda L: [ids(L), L.Embedding(20, 4, trainable=False), L.LSTM(3)]),
    case("Embedding(20, 4, lora_rank=2) > GRU(3)", lambda L: [ids(L), L.Embedding(20, 4, lora_rank=2), L.GRU(3)]),
    # Dense on 2D, 3D and 4D input
    case("Input(3) > Dense(4, relu) > Dense(2, use_bias=false)",
         lambda L: [L.Input((3,)), L.Dense(4, "relu"), L.Dense(2, use_bias=False)]),
    case("Input(5, 4, 3) > Dense(2)", lambda L: [L.Input((5, 4, 3)), L.Dense(2)]),
    case("Input(6, 3) > Dense(4, lora_rank=2)", lambda L: [L.Input((6, 3)), L.Dense(4, lora_rank=2)]),
    case("Input(3) > Dense(4, use_bias=false, lora_rank=1)",
         lambda L: [L.Input((3,)), L.Dense(4, use_bias=False, lora_rank=1)]),
    case("Input(3) > Dense(4, lora_rank=2, trainable=false)",
         lambda L: [L.Input((3,)), L.Dense(4, lora_rank=2, trainable=False)]),
    case("Input(3) > Dense(4, trainable=false) > Dense(2)",
         lambda L: [L.Input((3,)), L.Dense(4, trainable=False), L.Dense(2)]),
    # Bidirectional: every merge mode, every recurrent layer, options passed through
    *[case(f"Input(5, 3) > Bidirectional(LSTM(2, seq), merge_mode={mode})",
           lambda L, mode=mode: [L.Input((5, 3)), L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode=mode)])
      for mode in ("concat", "sum", "ave", "mul")],
    *[case(f"Input(5, 3) > Bidirectional(GRU(2), {mode})",
           lambda L, mode=mode: [L.Input((5, 3)), L.Bidirectional(L.GRU(2), merge_mode=mode)])
      for mode in ("concat", "sum", "ave", "mul")],
    case("Input(5, 3) > Bidirectional(LSTM(2, seq), backward_layer=GRU(2, seq, backwards))",
         lambda L: [L.Input((5, 3)), L.Bidirectional(L.LSTM(2, return_sequences=True),
                    backward_layer=L.GRU(2, return_sequences=True, go_backwards=True))]),
    case("Input(None, 3) > Bidirectional(SimpleRNN(2, seq))",
         lambda L: [L.Input((None, 3)), L.Bidirectional(L.SimpleRNN(2, return_sequences=True))]),
    case("Input(5, 3) > Bidirectional(GRU(2, reset_after=false, use_bias=false))",
         lambda L: [L.Input((5, 3)), L.Bidirectional(L.GRU(2, reset_after=False, use_bias=False))]),
    case("Input(5, 3) > Bidirectional(LSTM(2, trainable=false))",
         lambda L: [L.Input((5, 3)), L.Bidirectional(L.LSTM(2, trainable=False))]),
    case("Input(5, 3) > Bidirectional(LSTM(3, seq)) > Bidirectional(GRU(2), merge_mode=sum)",
         lambda L: [L.Input((5, 3)), L.Bidirectional(L.LSTM(3, return_sequences=True)),
                    L.Bidirectional(L.GRU(2), merge_mode="sum")]),
    # TimeDistributed, and nested wrappers on 4D input
    case("Input(6, 3) > TimeDistributed(Dense(4))", lambda L: [L.Input((6, 3)), L.TimeDistributed(L.Dense(4))]),
    case("Input(None, 3) > TimeDistributed(Dense(4, use_bias=false))",
         lambda L: [L.Input((None, 3)), L.TimeDistributed(L.Dense(4, use_bias=False))]),
    case("Input(6, 3) > TimeDistributed(Dense(4, trainable=false))",
         lambda L: [L.Input((6, 3)), L.TimeDistributed(L.Dense(4, trainable=False))]),
    case("Input(5, 4, 3) > TimeDistributed(TimeDistributed(Dense(2)))",
         lambda L: [L.Input((5, 4, 3)), L.TimeDistributed(L.TimeDistributed(L.Dense(2)))]),
    case("Input(5, 12) > Reshape((5, 4, 3)) > TimeDistributed(TimeDistributed(Dense(2))) > TimeDistributed(Flatten())",
         lambda L: [L.Input((5, 12)), L.Reshape((5, 4, 3)), L.TimeDistributed(L.TimeDistributed(L.Dense(2))),
                    L.TimeDistributed(L.Flatten())]),
    case("Input(5, 4, 3) > TimeDistributed(LSTM(2)) > LSTM(2)",
         lambda L: [L.Input((5, 4, 3)), L.TimeDistributed(L.LSTM(2)), L.LSTM(2)]),
    case("Input(None, 4, 3) > TimeDistributed(Bidirectional(GRU(2, seq)))",
         lambda L: [L.Input((None, 4, 3)), L.TimeDistributed(L.Bidirectional(L.GRU(2, return_sequences=True)))]),
    case("Input(5, 8, 3) > TimeDistributed(Conv1D(4, 3)) > TimeDistributed(GlobalMaxPooling1D())",
         lambda L: [L.Input((5, 8, 3)), L.TimeDistributed(L.Conv1D(4, 3)), L.TimeDistributed(L.GlobalMaxPooling1D())]),
    case("Input(4, 6, dtype=int32) > TimeDistributed(Embedding(10, 3)) > TimeDistributed(SimpleRNN(2))",
         lambda L: [L.Input((4, 6), dtype="int32"), L.TimeDistributed(L.Embedding(10, 3)),
                    L.TimeDistributed(L.SimpleRNN(2))]),
    # one-to-many: a vector repeated into a sequence decoder
    case("Input(4) > Dense(3) > RepeatVector(5) > LSTM(2, seq) > TimeDistributed(Dense(3))",
         lambda L: [L.Input((4,)), L.Dense(3), L.RepeatVector(5), L.LSTM(2, return_sequences=True),
                    L.TimeDistributed(L.Dense(3))]),
    # identity layers
    case("Input(6, 3) > Dropout(0.5) > SpatialDropout1D(0.2) > Activation(softmax) > LSTM(2)",
         lambda L: [L.Input((6, 3)), L.Dropout(0.5), L.SpatialDropout1D(0.2), L.Activation("softmax"), L.LSTM(2)]),
    case("Input(None, 3) > Masking() > GRU(2)", lambda L: [L.Input((None, 3)), L.Masking(), L.GRU(2)]),
    case("Input(6, 3) > Masking(-1.0) > LSTM(2, seq) > Activation(None)",
         lambda L: [L.Input((6, 3)), L.Masking(-1.0), L.LSTM(2, return_sequences=True), L.Activation(None)]),
    # Conv1D: padding arithmetic at its edges
    case("Input(10, 3) > Conv1D(4, 3)", lambda L: [L.Input((10, 3)), L.Conv1D(4, 3)]),
    case("Input(5, 3) > Conv1D(2, 5)", lambda L: [L.Input((5, 3)), L.Conv1D(2, 5)]),
    case("Input(11, 3) > Conv1D(4, 3, strides=2)", lambda L: [L.Input((11, 3)), L.Conv1D(4, 3, strides=2)]),
    case("Input(12, 3) > Conv1D(4, 4, 3)", lambda L: [L.Input((12, 3)), L.Conv1D(4, 4, 3)]),
    case("Input(11, 3) > Conv1D(4, 3, 2, same)", lambda L: [L.Input((11, 3)), L.Conv1D(4, 3, 2, "same")]),
    case("Input(10, 3) > Conv1D(4, (4,), strides=(3,), padding=same)",
         lambda L: [L.Input((10, 3)), L.Conv1D(4, (4,), strides=(3,), padding="same")]),
    case("Input(9, 3) > Conv1D(4, 3, dilation_rate=3)", lambda L: [L.Input((9, 3)), L.Conv1D(4, 3, dilation_rate=3)]),
    case("Input(7, 3) > Conv1D(4, 4, dilation_rate=2)", lambda L: [L.Input((7, 3)), L.Conv1D(4, 4, dilation_rate=2)]),
    case("Input(10, 3) > Conv1D(4, 3, padding=causal, dilation_rate=2)",
         lambda L: [L.Input((10, 3)), L.Conv1D(4, 3, padding="causal", dilation_rate=2)]),
    case("Input(7, 3) > Conv1D(4, 2, strides=2, padding=causal)",
         lambda L: [L.Input((7, 3)), L.Conv1D(4, 2, strides=2, padding="causal")]),
    case("Input(9, 3) > Conv1D(4, 3, padding=same, dilation_rate=4)",
         lambda L: [L.Input((9, 3)), L.Conv1D(4, 3, padding="same", dilation_rate=4)]),
    case("Input(6, 4) > Conv1D(6, 3, groups=2, use_bias=false, activation=relu)",
         lambda L: [L.Input((6, 4)), L.Conv1D(6, 3, groups=2, use_bias=False, activation="relu")]),
    case("Input(None, 3) > Conv1D(4, 3, padding=same) > Conv1D(4, 3) > LSTM(2)",
         lambda L: [L.Input((None, 3)), L.Conv1D(4, 3, padding="same"), L.Conv1D(4, 3), L.LSTM(2)]),
    case("Input(8, 3) > Conv1D(4, 3, lora_rank=2)", lambda L: [L.Input((8, 3)), L.Conv1D(4, 3, lora_rank=2)]),
    case("Input(8, 3) > Conv1D(4, 3, trainable=false)",
         lambda L: [L.Input((8, 3)), L.Conv1D(4, 3, trainable=False)]),
    case("Input(3, 9) > Conv1D(4, 2, strides=2, data_format=channels_first)",
         lambda L: [L.Input((3, 9)), L.Conv1D(4, 2, strides=2, data_format="channels_first")]),
    case("Input(4, 9) > Conv1D(6, 3, groups=2, padding=causal, data_format=channels_first)",
         lambda L: [L.Input((4, 9)), L.Conv1D(6, 3, groups=2, padding="causal", data_format="channels_first")]),
    # pooling: valid and same, strides different from the pool, odd lengths, unknown length
    case("Input(10, 3) > MaxPooling1D()", lambda L: [L.Input((10, 3)), L.MaxPooling1D()]),
    case("Input(11, 3) > MaxPooling1D(3)", lambda L: [L.Input((11, 3)), L.MaxPooling1D(3)]),
    case("Input(11, 3) > MaxPooling1D(3, 2)", lambda L: [L.Input((11, 3)), L.MaxPooling1D(3, 2)]),
    case("Input(11, 3) > MaxPooling1D(2, padding=same)",
         lambda L: [L.Input((11, 3)), L.MaxPooling1D(2, padding="same")]),
    case("Input(None, 3) > MaxPooling1D(2) > GRU(2)", lambda L: [L.Input((None, 3)), L.MaxPooling1D(2), L.GRU(2)]),
    case("Input(10, 3) > AveragePooling1D(4, 3)", lambda L: [L.Input((10, 3)), L.AveragePooling1D(4, 3)]),
    case("Input(10, 3) > AveragePooling1D(3, strides=1, padding=same)",
         lambda L: [L.Input((10, 3)), L.AveragePooling1D(3, strides=1, padding="same")]),
    case("Input(10, 3) > AveragePooling1D(pool_size=2, strides=3, padding=same)",
         lambda L: [L.Input((10, 3)), L.AveragePooling1D(pool_size=2, strides=3, padding="same")]),
    case("Input(3, 11) > MaxPooling1D(3, 2, data_format=channels_first)",
         lambda L: [L.Input((3, 11)), L.MaxPooling1D(3, 2, data_format="channels_first")]),
    case("Input(3, 10) > AveragePooling1D(4, padding=same, data_format=channels_first)",
         lambda L: [L.Input((3, 10)), L.AveragePooling1D(4, padding="same", data_format="channels_first")]),
    case("Input(6, 3) > GlobalMaxPooling1D()", lambda L: [L.Input((6, 3)), L.GlobalMaxPooling1D()]),
    case("Input(None, 3) > GlobalAveragePooling1D()", lambda L: [L.Input((None, 3)), L.GlobalAveragePooling1D()]),
    case("Input(6, 3) > GlobalMaxPooling1D(keepdims=true)",
         lambda L: [L.Input((6, 3)), L.GlobalMaxPooling1D(keepdims=True)]),
    case("Input(None, 3) > GlobalAveragePooling1D(keepdims)",
         lambda L: [L.Input((None, 3)), L.GlobalAveragePooling1D(keepdims=True)]),
    case("Input(3, 6) > GlobalAveragePooling1D(data_format=channels_first)",
         lambda L: [L.Input((3, 6)), L.GlobalAveragePooling1D(data_format="channels_first")]),
    case("Input(3, 6) > GlobalMaxPooling1D(data_format=channels_first, keepdims)",
         lambda L: [L.Input((3, 6)), L.GlobalMaxPooling1D(data_format="channels_first", keepdims=True)]),
    # Flatten, RepeatVector, Reshape (with -1, and on unknown lengths)
    case("Input(6, 3) > Flatten() > Dense(2)", lambda L: [L.Input((6, 3)), L.Flatten(), L.Dense(2)]),
    case("Input(5, 4, 3) > Flatten() > RepeatVector(2)",
         lambda L: [L.Input((5, 4, 3)), L.Flatten(), L.RepeatVector(2)]),
    case("Input(6, 4) > Reshape((4, 6)) > LSTM(2)", lambda L: [L.Input((6, 4)), L.Reshape((4, 6)), L.LSTM(2)]),
    case("Input(6, 4) > Reshape(24)", lambda L: [L.Input((6, 4)), L.Reshape((24,))]),
    case("Input(6, 4) > Reshape((-1,))", lambda L: [L.Input((6, 4)), L.Reshape((-1,))]),
    case("Input(6, 4) > Reshape((3, -1))", lambda L: [L.Input((6, 4)), L.Reshape((3, -1))]),
    case("Input(6, 4) > Reshape((-1, 2, 3))", lambda L: [L.Input((6, 4)), L.Reshape((-1, 2, 3))]),
    case("Input(12) > Reshape((3, 4)) > GRU(2)", lambda L: [L.Input((12,)), L.Reshape((3, 4)), L.GRU(2)]),
    case("Input(None, 4) > Reshape((-1, 2)) > LSTM(2)",
         lambda L: [L.Input((None, 4)), L.Reshape((-1, 2)), L.LSTM(2)]),
    case("Input(None, 4) > Reshape((-1,))", lambda L: [L.Input((None, 4)), L.Reshape((-1,))]),
    case("Input(None, 4) > Reshape((4, 3))", lambda L: [L.Input((None, 4)), L.Reshape((4, 3))]),
    # LayerNormalization: center, scale, axis (one or several)
    case("Input(6, 3) > LayerNormalization()", lambda L: [L.Input((6, 3)), L.LayerNormalization()]),
    case("Input(6, 3) > LayerNormalization(center=false)",
         lambda L: [L.Input((6, 3)), L.LayerNormalization(center=False)]),
    case("Input(6, 3) > LayerNormalization(scale=false, epsilon=0.01)",
         lambda L: [L.Input((6, 3)), L.LayerNormalization(scale=False, epsilon=0.01)]),
    case("Input(6, 3) > LayerNormalization(center=false, scale=false)",
         lambda L: [L.Input((6, 3)), L.LayerNormalization(center=False, scale=False)]),
    case("Input(6, 3) > LayerNormalization(1)", lambda L: [L.Input((6, 3)), L.LayerNormalization(1)]),
    case("Input(6, 3) > LayerNormalization(axis=-2)", lambda L: [L.Input((6, 3)), L.LayerNormalization(axis=-2)]),
    case("Input(6, 3) > LayerNormalization(axis=(1, 2))",
         lambda L: [L.Input((6, 3)), L.LayerNormalization(axis=(1, 2))]),
    case("Input(6, 3) > LayerNormalization(axis=(-1, 1))",
         lambda L: [L.Input((6, 3)), L.LayerNormalization(axis=(-1, 1))]),
    case("Input(6, 3) > LayerNormalization(axis=(2,), trainable=false)",
         lambda L: [L.Input((6, 3)), L.LayerNormalization(axis=(2,), trainable=False)]),
    case("Input(3) > LayerNormalization()", lambda L: [L.Input((3,)), L.LayerNormalization()]),
    # BatchNormalization: moving statistics are non-trainable
    case("Input(6, 3) > BatchNormalization()", lambda L: [L.Input((6, 3)), L.BatchNormalization()]),
    case("Input(3) > BatchNormalization(momentum=0.9, epsilon=0.01)",
         lambda L: [L.Input((3,)), L.BatchNormalization(momentum=0.9, epsilon=0.01)]),
    case("Input(6, 3) > BatchNormalization(center=false)",
         lambda L: [L.Input((6, 3)), L.BatchNormalization(center=False)]),
    case("Input(6, 3) > BatchNormalization(scale=false)",
         lambda L: [L.Input((6, 3)), L.BatchNormalization(scale=False)]),
    case("Input(6, 3) > BatchNormalization(1, center=false, scale=false)",
         lambda L: [L.Input((6, 3)), L.BatchNormalization(1, center=False, scale=False)]),
    case("Input(6, 3) > BatchNormalization(renorm)", lambda L: [L.Input((6, 3)), L.BatchNormalization(renorm=True)]),
    case("Input(6, 3) > BatchNormalization(trainable=false)",
         lambda L: [L.Input((6, 3)), L.BatchNormalization(trainable=False)]),
    # stacked models
    case("Input(6, 3) > (LSTM(4, seq) > Dropout(0.1)) x2 > LSTM(2)",
         lambda L: [L.Input((6, 3)), L.LSTM(4, return_sequences=True), L.Dropout(0.1),
                    L.LSTM(4, return_sequences=True), L.Dropout(0.1), L.LSTM(2)]),
    case("Input(20, 8) > Conv1D(8, 3, padding=causal) > MaxPooling1D() > Bidirectional(LSTM(4, seq)) "
         "> LayerNormalization() > GRU(4) > Dropout(0.2) > Dense(2, softmax)",
         lambda L: [L.Input((20, 8)), L.Conv1D(8, 3, padding="causal"), L.MaxPooling1D(),
                    L.Bidirectional(L.LSTM(4, return_sequences=True)), L.LayerNormalization(), L.GRU(4),
                    L.Dropout(0.2), L.Dense(2, "softmax")]),
    case("Embedding(50, 8, mask_zero) > Bidirectional(GRU(4, seq), merge_mode=ave) > BatchNormalization() "
         "> TimeDistributed(Dense(3)) > GlobalAveragePooling1D() > Dense(1, sigmoid)",
         lambda L: [ids(L), L.Embedding(50, 8, mask_zero=True),
                    L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode="ave"), L.BatchNormalization(),
                    L.TimeDistributed(L.Dense(3)), L.GlobalAveragePooling1D(), L.Dense(1, "sigmoid")]),
    case("Input(None, 5) > SimpleRNN(4, seq) > LSTM(3, seq) > GRU(2, seq) > TimeDistributed(Dense(1))",
         lambda L: [L.Input((None, 5)), L.SimpleRNN(4, return_sequences=True), L.LSTM(3, return_sequences=True),
                    L.GRU(2, return_sequences=True), L.TimeDistributed(L.Dense(1))]),
    case("Input(12, 2) > Conv1D(4, 3, activation=relu) > AveragePooling1D(2) > LSTM(3, seq) > Flatten() > Dense(1)",
         lambda L: [L.Input((12, 2)), L.Conv1D(4, 3, activation="relu"), L.AveragePooling1D(2),
                    L.LSTM(3, return_sequences=True), L.Flatten(), L.Dense(1)]),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), CASES)
def test_rnnspec_infers_what_keras_builds(spec: str, build: Build) -> None:
    assert_parity(spec, build)


# ---------------------------------------------------------------- functional models

FunctionalBuild = Callable[[ModuleType, ModuleType], tuple[list[Any], list[Any]]]


def fcase(spec: str, build: FunctionalBuild) -> Any:
    return pytest.param(spec, build, id=spec.replace("\n", "; "))


def keras_outputs(layer: Any) -> list[tuple[Any, ...]]:
    """The output shapes of a layer's last call, as Keras's summary shows them (a shared layer has several)."""
    tensors = layer._inbound_nodes[-1].output_tensors
    return [tuple(t.shape) for t in tensors]


def assert_functional_parity(spec: str, build: FunctionalBuild) -> None:
    """rnnspec's report for a functional `spec` equals, layer by layer, the `keras.Model(inputs, outputs)` that
    `build(keras, keras.layers)` writes directly."""
    import keras

    report = rnnspec.select(spec)
    inputs, outputs = build(keras, keras.layers)
    model = keras.Model(inputs, outputs)
    assert [(t.shape, t.dtype) for _, t in report.inputs] == [(tuple(x.shape), x.dtype) for x in model.inputs]
    assert [row.type for row in report.rows] == [type(layer).__name__ for layer in model.layers]
    for row, layer in zip(report.rows, model.layers):
        where = f"{spec}: row '{row.name}' ({row.type})"
        assert list(row.outputs) == keras_outputs(layer), where
        assert [(w.name, w.shape, w.trainable) for w in row.weights] == keras_weights(layer), where
        assert row.trainable == count(layer.trainable_weights), where
        assert row.non_trainable == count(layer.non_trainable_weights), where
    assert [t.shape for t in report.outputs] == [tuple(t.shape) for t in model.outputs]
    assert report.total == model.count_params()


FUNCTIONAL_CASES = [
    *(fcase(f"a = Input(5, 4)\nb = Input(5, 4)\n(a, b) > {merge}",
            lambda K, L, merge=merge: _two(K, lambda x, y: getattr(L, merge)()([x, y])))
      for merge in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot(axes=2)")
      if "(" not in merge),
    fcase("a = Input(5, 4)\nb = Input(5, 4)\n(a, b) > Concatenate(axis=1)",
          lambda K, L: _two(K, lambda x, y: L.Concatenate(axis=1)([x, y]))),
    fcase("a = Input(5, 4)\nb = Input(5, 4)\n(a, b) > Dot(axes=2)",
          lambda K, L: _two(K, lambda x, y: L.Dot(axes=2)([x, y]))),
    fcase("a = Input(5, 4)\nb = Input(5, 4)\n(a, b) > Dot(axes=(1, 1), normalize=true)",
          lambda K, L: _two(K, lambda x, y: L.Dot(axes=(1, 1), normalize=True)([x, y]))),
    fcase("a = Input(5)\nb = Input(1)\nc = Input(5)\n(a, b, c) > Add > Dense(2)",
          lambda K, L: _three(K, L)),
    *(fcase(f"x = Input(5, 3)\ny, *s = x > {kind}(4, seq, state)".replace(", *s", ", " + ", ".join(
        f"s{i}" for i in range(2 if kind == "LSTM" else 1))) + "\noutput y, " + ", ".join(
        f"s{i}" for i in range(2 if kind == "LSTM" else 1)),
        lambda K, L, kind=kind: _states(K, getattr(L, kind)(4, return_sequences=True, return_state=True)))
      for kind in ("SimpleRNN", "LSTM", "GRU")),
    fcase("x = Input(5, 3)\no, fh, fc, bh, bc = x > Bidirectional(LSTM(4, state))\noutput o, fh, bc",
          lambda K, L: _bidirectional_states(K, L)),
    fcase("x = Input(5, 3)\nh = Input(4)\nc = Input(4)\nx > LSTM(4, initial_state=(h, c)) > Dense(1)",
          lambda K, L: _initial_state(K, L)),
    fcase("x = Input(5, 3)\nm = Input(5, dtype=bool)\nx > GRU(4, seq, mask=m) > GRU(2)",
          lambda K, L: _mask_input(K, L)),
    fcase("a = Input(None, 3)\nb = Input(None, 3)\nshared = GRU(4)\n(a > shared, b > shared) > Subtract > Dense(1)",
          lambda K, L: _shared(K, L)),
]


def _two(K: ModuleType, merge: Callable[[Any, Any], Any]) -> tuple[list[Any], list[Any]]:
    a, b = K.Input((5, 4)), K.Input((5, 4))
    return [a, b], [merge(a, b)]


def _three(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    a, b, c = K.Input((5,)), K.Input((1,)), K.Input((5,))
    return [a, b, c], [L.Dense(2)(L.Add()([a, b, c]))]


def _states(K: ModuleType, layer: Any) -> tuple[list[Any], list[Any]]:
    x = K.Input((5, 3))
    return [x], list(layer(x))


def _bidirectional_states(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    x = K.Input((5, 3))
    o, fh, fc, bh, bc = L.Bidirectional(L.LSTM(4, return_state=True))(x)
    return [x], [o, fh, bc]


def _initial_state(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    x, h, c = K.Input((5, 3)), K.Input((4,)), K.Input((4,))
    return [x, h, c], [L.Dense(1)(L.LSTM(4)(x, initial_state=[h, c]))]


def _mask_input(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    x, m = K.Input((5, 3)), K.Input((5,), dtype="bool")
    return [x, m], [L.GRU(2)(L.GRU(4, return_sequences=True)(x, mask=m))]


def _shared(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    a, b = K.Input((None, 3)), K.Input((None, 3))
    shared = L.GRU(4)
    return [a, b], [L.Dense(1)(L.Subtract()([shared(a), shared(b)]))]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), FUNCTIONAL_CASES)
def test_rnnspec_infers_what_keras_builds_for_functional_models(spec: str, build: FunctionalBuild) -> None:
    assert_functional_parity(spec, build)


# ---------------------------------------------------------------- the table covers every layer and argument


def _nodes(node: LayerNode) -> Iterator[LayerNode]:
    yield node
    for value in node.args.values():
        for inner in value if isinstance(value, tuple) else (value,):  # a tuple of cells (StackedRNNCells)
            if isinstance(inner, LayerNode):
                yield from _nodes(inner)


def all_parity_cases() -> list[Any]:
    """These cases and those of every family's own test module (its `PARITY_CASES`, run with `assert_parity`, and
    `FUNCTIONAL_PARITY_CASES`, run with `assert_functional_parity`)."""
    import importlib
    from pathlib import Path

    cases = [*CASES, *FUNCTIONAL_CASES]
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        if path.stem == "test_parity":
            continue
        module = importlib.import_module(f"tests.{path.stem}")
        cases += [*getattr(module, "PARITY_CASES", ()), *getattr(module, "FUNCTIONAL_PARITY_CASES", ())]
    return cases


GENERIC_COVERED_ELSEWHERE = ("name", "dtype", "autocast")  # Keras's Layer arguments, one rule for every layer


def covered_by_its_own_test(param: Any) -> bool:
    """Arguments that shape nothing and count nothing: initialisers, regularisers and constraints, which
    tests/test_keras_arguments.py passes to Keras for every layer that takes them, and the arguments of Keras's
    own `Layer` that base.LayerType gives every layer alike (names, dtypes), tested there once for all."""
    from rnnspec.layers.objects import ObjectArg

    return isinstance(param.type, ObjectArg) or param.name in GENERIC_COVERED_ELSEWHERE


def test_the_cases_cover_every_layer_and_every_argument() -> None:
    """Each (layer, argument) is set to something other than its default by at least one case."""
    covered: set[tuple[str, str]] = set()
    inputs = []
    weighted: set[str] = set()  # types with weights in some case: for the others `trainable` changes nothing
    for param in all_parity_cases():
        spec = param.values[0]
        report = rnnspec.select(spec)
        inputs.append(report.input)
        for row in report.rows:
            if row.weights:
                weighted.update(node.type_name for node in _nodes(row.node))
            for node in _nodes(row.node):
                covered |= {(node.type_name, p.name) for p in node.kind.params
                            if p.required or node.args[p.name] != p.default}
    wanted = {(name, p.name) for name, kind in registry().items() if name != "Input" for p in kind.params
              if not covered_by_its_own_test(p) and (p.name != "trainable" or name in weighted)}
    assert sorted(wanted - covered) == []
    # Input is the model's input, not a row: its shape, dtype and batch size are covered through report.input
    assert any(x.shape[0] is not None for x in inputs)
    assert any(x.dtype != "float32" for x in inputs)
    assert any(None in x.shape[1:] for x in inputs) and any(None not in x.shape[1:] for x in inputs)


# ---------------------------------------------------------------- what rnnspec refuses, Keras refuses too

# Not here, on purpose: `Input(None, 3) > Flatten()` (Keras gives (None, None); rnnspec wants a known size) and
# `Input(10) > Embedding(5, 2)` (Keras casts float ids; rnnspec refuses float features into Embedding).
ERRORS = [
    case("Input(10) > LSTM(4)", lambda L: [L.Input((10,)), L.LSTM(4)]),
    case("Input(5, 3) > LSTM(4) > LSTM(2)", lambda L: [L.Input((5, 3)), L.LSTM(4), L.LSTM(2)]),
    case("Input(5, 3) > Bidirectional(GRU(2)) > SimpleRNN(2)",
         lambda L: [L.Input((5, 3)), L.Bidirectional(L.GRU(2)), L.SimpleRNN(2)]),
    case("Input(10, 3) > RepeatVector(2)", lambda L: [L.Input((10, 3)), L.RepeatVector(2)]),
    case("Input(10) > GlobalMaxPooling1D()", lambda L: [L.Input((10,)), L.GlobalMaxPooling1D()]),
    case("Input(10) > SpatialDropout1D(0.1)", lambda L: [L.Input((10,)), L.SpatialDropout1D(0.1)]),
    case("Input(10) > TimeDistributed(Dense(2))", lambda L: [L.Input((10,)), L.TimeDistributed(L.Dense(2))]),
    case("Input(10) > Reshape((3, 3))", lambda L: [L.Input((10,)), L.Reshape((3, 3))]),
    case("Input(10) > Reshape((3, -1))", lambda L: [L.Input((10,)), L.Reshape((3, -1))]),
    case("Input(10, None) > Dense(2)", lambda L: [L.Input((10, None)), L.Dense(2)]),
    case("Input(10, 3) > Conv1D(4, 2, groups=2)", lambda L: [L.Input((10, 3)), L.Conv1D(4, 2, groups=2)]),
    case("Input(10, 4) > Conv1D(5, 2, groups=2)", lambda L: [L.Input((10, 4)), L.Conv1D(5, 2, groups=2)]),
    case("Input(10, 3) > Conv1D(4, 3, strides=2, dilation_rate=2)",
         lambda L: [L.Input((10, 3)), L.Conv1D(4, 3, strides=2, dilation_rate=2)]),
    case("Input(5, 3) > Bidirectional(LSTM(2, backwards, seq))",
         lambda L: [L.Input((5, 3)), L.Bidirectional(L.LSTM(2, go_backwards=True, return_sequences=True))]),
    case("Input(5, 3) > Conv1D(4, 6)", lambda L: [L.Input((5, 3)), L.Conv1D(4, 6)]),
    case("Input(5, 3) > Conv1D(4, 3, dilation_rate=3)", lambda L: [L.Input((5, 3)), L.Conv1D(4, 3, dilation_rate=3)]),
    case("Input(5, 3) > MaxPooling1D(6)", lambda L: [L.Input((5, 3)), L.MaxPooling1D(6)]),
    case("Input(10, 3) > LayerNormalization(axis=3)", lambda L: [L.Input((10, 3)), L.LayerNormalization(axis=3)]),
    case("Input(10, 3) > BatchNormalization(axis=3)", lambda L: [L.Input((10, 3)), L.BatchNormalization(axis=3)]),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), ERRORS)
def test_shape_errors_rnnspec_reports_are_errors_in_keras(spec: str, build: Build) -> None:
    import keras

    with pytest.raises(RnnspecError):
        rnnspec.select(spec)
    with pytest.raises((ValueError, IndexError)):
        keras.Sequential(build(keras.layers))
