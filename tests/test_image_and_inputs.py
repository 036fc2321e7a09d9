"""Image front-ends (Conv2D, 2-D pooling, also under TimeDistributed over video) and input layers (CategoryEncoding,
TextVectorization): shapes and weights as Keras builds them, Keras's refusals as located errors, NumPy = Keras."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnspec
from rnnspec.errors import RnnspecError
from tests.test_parity import assert_functional_parity, assert_parity, case, fcase

RNG = np.random.default_rng(11)


def text(L: Any) -> Any:
    """The input Keras gives a model that starts with TextVectorization: one string per sample."""
    return L.Input(shape=(), dtype="string")


VOCAB = ("the", "cat", "sat")
WORDS = '("the", "cat", "sat")'

PARITY_CASES = [
    # Conv2D: padding arithmetic per axis, every argument
    case("Input(8, 8, 3) > Conv2D(4, 3)", lambda L: [L.Input((8, 8, 3)), L.Conv2D(4, 3)]),
    case("Input(9, 7, 3) > Conv2D(4, (3, 2), (2, 3), same)",
         lambda L: [L.Input((9, 7, 3)), L.Conv2D(4, (3, 2), (2, 3), "same")]),
    case("Input(9, 8, 2) > Conv2D(4, 3, strides=2)", lambda L: [L.Input((9, 8, 2)), L.Conv2D(4, 3, strides=2)]),
    case("Input(9, 8, 2) > Conv2D(4, 3, dilation_rate=(2, 3))",
         lambda L: [L.Input((9, 8, 2)), L.Conv2D(4, 3, dilation_rate=(2, 3))]),
    case("Input(7, 7, 2) > Conv2D(4, 3, padding=same, dilation_rate=2)",
         lambda L: [L.Input((7, 7, 2)), L.Conv2D(4, 3, padding="same", dilation_rate=2)]),
    case("Input(6, 6, 4) > Conv2D(6, 3, groups=2, use_bias=false, activation=relu)",
         lambda L: [L.Input((6, 6, 4)), L.Conv2D(6, 3, groups=2, use_bias=False, activation="relu")]),
    case("Input(3, 9, 8) > Conv2D(4, 2, strides=2, data_format=channels_first)",
         lambda L: [L.Input((3, 9, 8)), L.Conv2D(4, 2, strides=2, data_format="channels_first")]),
    case("Input(6, 6, 3) > Conv2D(4, 3, lora_rank=2)", lambda L: [L.Input((6, 6, 3)), L.Conv2D(4, 3, lora_rank=2)]),
    case("Input(6, 6, 3) > Conv2D(4, 3, trainable=false)",
         lambda L: [L.Input((6, 6, 3)), L.Conv2D(4, 3, trainable=False)]),
    case("Input(None, None, 3) > Conv2D(4, 3) > Conv2D(2, 2, padding=same)",
         lambda L: [L.Input((None, None, 3)), L.Conv2D(4, 3), L.Conv2D(2, 2, padding="same")]),
    # pooling: the pool size and strides per axis, same padding, channels_first, AveragePooling2D's required size
    case("Input(8, 8, 3) > MaxPooling2D()", lambda L: [L.Input((8, 8, 3)), L.MaxPooling2D()]),
    case("Input(9, 7, 3) > MaxPooling2D((3, 2), 2, same)",
         lambda L: [L.Input((9, 7, 3)), L.MaxPooling2D((3, 2), 2, "same")]),
    case("Input(3, 9, 7) > MaxPooling2D(3, strides=(1, 2), data_format=channels_first)",
         lambda L: [L.Input((3, 9, 7)), L.MaxPooling2D(3, strides=(1, 2), data_format="channels_first")]),
    case("Input(9, 7, 3) > AveragePooling2D(2)", lambda L: [L.Input((9, 7, 3)), L.AveragePooling2D(2)]),
    case("Input(9, 7, 3) > AveragePooling2D((3, 2), strides=1, padding=same)",
         lambda L: [L.Input((9, 7, 3)), L.AveragePooling2D((3, 2), strides=1, padding="same")]),
    case("Input(3, 8, 8) > AveragePooling2D(2, data_format=channels_first)",
         lambda L: [L.Input((3, 8, 8)), L.AveragePooling2D(2, data_format="channels_first")]),
    case("Input(8, 6, 3) > GlobalAveragePooling2D()", lambda L: [L.Input((8, 6, 3)), L.GlobalAveragePooling2D()]),
    case("Input(8, 6, 3) > GlobalMaxPooling2D(keepdims=true)",
         lambda L: [L.Input((8, 6, 3)), L.GlobalMaxPooling2D(keepdims=True)]),
    case("Input(3, 8, 6) > GlobalAveragePooling2D(data_format=channels_first, keepdims=true)",
         lambda L: [L.Input((3, 8, 6)), L.GlobalAveragePooling2D("channels_first", keepdims=True)]),
    case("Input(3, 8, 6) > GlobalMaxPooling2D(data_format=channels_first)",
         lambda L: [L.Input((3, 8, 6)), L.GlobalMaxPooling2D(data_format="channels_first")]),
    # video: the image layers on every frame, BatchNormalization on images, the CRNN text recogniser
    case("Input(10, 32, 32, 3) > TimeDistributed(Conv2D(8, 3)) > TimeDistributed(GlobalAveragePooling2D()) > LSTM(16)",
         lambda L: [L.Input((10, 32, 32, 3)), L.TimeDistributed(L.Conv2D(8, 3)),
                    L.TimeDistributed(L.GlobalAveragePooling2D()), L.LSTM(16)]),
    case("Input(None, 8, 8, 1) > TimeDistributed(MaxPooling2D()) > TimeDistributed(Flatten()) > GRU(4)",
         lambda L: [L.Input((None, 8, 8, 1)), L.TimeDistributed(L.MaxPooling2D()), L.TimeDistributed(L.Flatten()),
                    L.GRU(4)]),
    case("Input(32, 32, 3) > Conv2D(8, 3) > BatchNormalization() > GlobalMaxPooling2D()",
         lambda L: [L.Input((32, 32, 3)), L.Conv2D(8, 3), L.BatchNormalization(), L.GlobalMaxPooling2D()]),
    case("Input(32, 128, 1) > Conv2D(32, 3, padding=same, activation=relu) > MaxPooling2D((2, 2)) "
         "> Reshape((16, 2048)) > Bidirectional(LSTM(64, seq)) > Dense(37, softmax)",
         lambda L: [L.Input((32, 128, 1)), L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D((2, 2)),
                    L.Reshape((16, 2048)), L.Bidirectional(L.LSTM(64, return_sequences=True)),
                    L.Dense(37, "softmax")]),
    # CategoryEncoding: Keras's rank rules
    case("Input(3, dtype=int32) > CategoryEncoding(5)", lambda L: [L.Input((3,), dtype="int32"), L.CategoryEncoding(5)]),
    case("Input(3, dtype=int32) > CategoryEncoding(5, count)",
         lambda L: [L.Input((3,), dtype="int32"), L.CategoryEncoding(5, "count")]),
    case("Input(3, dtype=int32) > CategoryEncoding(5, output_mode=one_hot)",
         lambda L: [L.Input((3,), dtype="int32"), L.CategoryEncoding(5, output_mode="one_hot")]),
    case("Input(1, dtype=int32) > CategoryEncoding(5, one_hot)",
         lambda L: [L.Input((1,), dtype="int32"), L.CategoryEncoding(5, "one_hot")]),
    case("Input(3, 2, dtype=int64) > CategoryEncoding(4, one_hot)",
         lambda L: [L.Input((3, 2), dtype="int64"), L.CategoryEncoding(4, "one_hot")]),
    case("Input(3, 1, dtype=int32) > CategoryEncoding(4, one_hot) > LSTM(2)",
         lambda L: [L.Input((3, 1), dtype="int32"), L.CategoryEncoding(4, "one_hot"), L.LSTM(2)]),
    case("Input(3, dtype=int32) > CategoryEncoding(5, sparse=true)",
         lambda L: [L.Input((3,), dtype="int32"), L.CategoryEncoding(5, sparse=True)]),
    # TextVectorization: first in a model, a string per sample; the output width from the mode and vocabulary
    case("TextVectorization()", lambda L: [text(L), L.TextVectorization()]),
    case("TextVectorization(output_sequence_length=12) > Embedding(50, 4) > LSTM(3)",
         lambda L: [text(L), L.TextVectorization(output_sequence_length=12), L.Embedding(50, 4), L.LSTM(3)]),
    case(f"TextVectorization(20, standardize=lower, split=character, ngrams=2, vocabulary={WORDS})",
         lambda L: [text(L), L.TextVectorization(20, standardize="lower", split="character", ngrams=2,
                                                 vocabulary=list(VOCAB))]),
    case(f"TextVectorization(standardize=None, ngrams=(1, 3), ragged=true, encoding=\"utf-16-be\")",
         lambda L: [text(L), L.TextVectorization(standardize=None, ngrams=(1, 3), ragged=True,
                                                 encoding="utf-16-be")]),
    case(f"TextVectorization(output_mode=multi_hot, vocabulary={WORDS}) > Dense(2)",
         lambda L: [text(L), L.TextVectorization(output_mode="multi_hot", vocabulary=list(VOCAB)), L.Dense(2)]),
    case(f"TextVectorization(output_mode=count, vocabulary={WORDS}, sparse=true)",
         lambda L: [text(L), L.TextVectorization(output_mode="count", vocabulary=list(VOCAB), sparse=True)]),
    case(f"TextVectorization(output_mode=one_hot, vocabulary={WORDS})",
         lambda L: [text(L), L.TextVectorization(output_mode="one_hot", vocabulary=list(VOCAB))]),
    case(f"TextVectorization(output_mode=one_hot, split=None, vocabulary={WORDS})",
         lambda L: [text(L), L.TextVectorization(output_mode="one_hot", split=None, vocabulary=list(VOCAB))]),
    case(f"TextVectorization(output_mode=tf_idf, vocabulary={WORDS}, idf_weights=(1.5, 2, 0.5))",
         lambda L: [text(L), L.TextVectorization(output_mode="tf_idf", vocabulary=list(VOCAB),
                                                 idf_weights=[1.5, 2.0, 0.5])]),
    case("TextVectorization(10, output_mode=multi_hot, pad_to_max_tokens=true) > Dense(2)",
         lambda L: [text(L), L.TextVectorization(10, output_mode="multi_hot", pad_to_max_tokens=True), L.Dense(2)]),
    case("TextVectorization(output_mode=count)", lambda L: [text(L), L.TextVectorization(output_mode="count")]),
    # the string input written out, Keras's (batch,) or (batch, 1); Keras's positional shape tuple
    case("Input(shape=(), dtype=string) > TextVectorization(output_sequence_length=12) > Embedding(50, 4) > LSTM(3)",
         lambda L: [text(L), L.TextVectorization(output_sequence_length=12), L.Embedding(50, 4), L.LSTM(3)]),
    case(f"Input(1, dtype=string) > TextVectorization(output_mode=one_hot, split=None, vocabulary={WORDS})",
         lambda L: [L.Input((1,), dtype="string"), L.TextVectorization(output_mode="one_hot", split=None,
                                                                        vocabulary=list(VOCAB))]),
    case("Input(1, dtype=string) > TextVectorization(output_sequence_length=3)",
         lambda L: [L.Input((1,), dtype="string"), L.TextVectorization(output_sequence_length=3)]),
    case("Input((20, 8), batch_size=2) > LSTM(3)", lambda L: [L.Input((20, 8), batch_size=2), L.LSTM(3)]),
    # sparse and ragged inputs: what Keras may be fed, not what it builds
    case("Input(None, dtype=int32, ragged=true) > Embedding(10, 4, mask_zero) > LSTM(3)",
         lambda L: [L.Input((None,), dtype="int32", ragged=True), L.Embedding(10, 4, mask_zero=True), L.LSTM(3)]),
    case("Input(6, sparse=true) > Dense(3)", lambda L: [L.Input((6,), sparse=True), L.Dense(3)]),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), PARITY_CASES)
def test_rnnspec_infers_what_keras_builds(spec: str, build: Any) -> None:
    assert_parity(spec, build)


# A review classifier: the text through TextVectorization, beside numeric features.
REVIEWS = """model reviews:
    text = Input(shape=(), dtype=string)
    stars = Input(3)
    ids = text > TextVectorization(1000, output_sequence_length=40)
    h = ids > Embedding(1000, 16, mask_zero) > LSTM(8)
    (h, stars) > Concatenate > Dense(1, activation=sigmoid)
"""


def _reviews(keras: Any, L: Any) -> tuple[Any, Any]:
    text, stars = L.Input(shape=(), dtype="string", name="text"), L.Input((3,), name="stars")
    ids = L.TextVectorization(1000, output_sequence_length=40)(text)
    h = L.LSTM(8)(L.Embedding(1000, 16, mask_zero=True)(ids))
    return [text, stars], L.Dense(1, activation="sigmoid")(L.Concatenate()([h, stars]))


FUNCTIONAL_PARITY_CASES = [fcase(REVIEWS, _reviews)]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), FUNCTIONAL_PARITY_CASES)
def test_functional_string_inputs_as_keras_builds_them(spec: str, build: Any) -> None:
    assert_functional_parity(spec, build)


@pytest.mark.keras
def test_the_keras_model_of_a_string_input_has_keras_summary_and_reads_text() -> None:
    import keras

    from tests.test_functional import _fresh_keras_model, _summary_rows, keras_summary
    from rnnspec.render import summary_table

    report = rnnspec.select(REVIEWS)
    model = _fresh_keras_model(report)
    assert _summary_rows(summary_table(report)) == _summary_rows(keras_summary(model))
    model.get_layer("text_vectorization").adapt(["a good film", "a bad one", "good"])
    texts = keras.ops.convert_to_tensor(np.array(["a good film", "bad"], dtype=object))
    assert tuple(model([texts, keras.ops.zeros((2, 3))]).shape) == (2, 1)


@pytest.mark.parametrize("spec", ["Input(3, dtype=string) > Dense(3)", "Input(shape=(), dtype=string) > Embedding(9, 2)",
                                  "x = Input(shape=(), dtype=string)\ny = Input(1)\n(x, y) > Concatenate"])
def test_strings_go_nowhere_but_text_vectorization(spec: str) -> None:
    (report,) = rnnspec.check(spec)
    (err,) = report.errors
    assert err.code == "E300" and "cannot take strings" in err.message and "TextVectorization" in (err.hint or "")
    assert err.span is not None and err.span.column > 1


def test_text_vectorization_takes_one_string_per_sample() -> None:
    (err,) = rnnspec.check("Input(3, dtype=string) > TextVectorization()")[0].errors
    assert err.code == "E300" and "one string per sample" in err.message and "(None, 3)" in err.message
    (err,) = rnnspec.check("Input(shape=(), dtype=int32) > TextVectorization()")[0].errors
    assert err.code == "E300" and "int32" in err.message


@pytest.mark.parametrize("mode", ["multi_hot", "count", "one_hot"])
def test_text_vectorization_on_strings_of_shape_1_refuses_what_keras_misstates(mode: str) -> None:
    (err,) = rnnspec.check(f"Input(1, dtype=string) > TextVectorization(output_mode={mode}, vocabulary={WORDS})"
                           )[0].errors
    assert err.code == "E300" and "Keras states the output (None, 1, " in err.message
    assert "Input(shape=(), dtype=string)" in (err.hint or "")


@pytest.mark.keras
def test_keras_misstates_text_vectorization_on_strings_of_shape_1() -> None:
    """Pinned: the symbolic output keeps the 1, the computed one drops it (Keras 3.15)."""
    import keras

    layer = keras.layers.TextVectorization(output_mode="multi_hot", vocabulary=list(VOCAB))
    model = keras.Sequential([keras.Input((1,), dtype="string"), layer])
    texts = keras.ops.convert_to_tensor(np.array([["the cat"], ["sat"]], dtype=object))
    assert tuple(model.output_shape) == (None, 1, 4) and tuple(model(texts).shape) == (2, 4)


SPARSE_AND_RAGGED = [
    "Input(None, dtype=int32, ragged=true) > Embedding(10, 4, mask_zero) > LSTM(3)",
    "Input(6, sparse=true) > Dense(3)",
    "x = Input(None, 3, ragged=true)\ny = Input(4, sparse=true)\n(x > GRU(4), y) > Add",
]


@pytest.mark.keras
@pytest.mark.parametrize("spec", SPARSE_AND_RAGGED)
def test_sparse_and_ragged_inputs_reach_keras_and_both_run_padded_arrays(spec: str) -> None:
    """Keras 3 builds the same model whatever the flags say, and runs it on dense (padded) arrays, as NumPy does;
    fed a ragged tensor, its LSTM and Dense fail (Keras 3.15), which the docs say."""
    from tests.test_functional import _compare, inputs_of

    report = rnnspec.select(spec)
    model = rnnspec.compile(report)
    written = [(line.count("sparse=true"), line.count("ragged=true")) for line in spec.split("\n") if "Input" in line]
    assert [(int(x.sparse), int(x.ragged)) for x in model.inputs] == written
    _compare(report, model, inputs_of(report))


def test_sparse_and_ragged_inputs_are_written_back_and_refused_together() -> None:
    from rnnspec.unparse import spec_text

    for spec in SPARSE_AND_RAGGED:
        text = spec_text(rnnspec.select(spec))
        assert text.count("sparse=true") == spec.count("sparse=true")
        assert text.count("ragged=true") == spec.count("ragged=true")
    (err,) = rnnspec.check("Input(4, sparse=true, ragged=true) > Dense(3)")[0].errors
    assert err.code == "E203" and "both sparse and ragged" in err.message and err.span.column == 23


@pytest.mark.keras
def test_keras_refuses_an_input_both_sparse_and_ragged() -> None:
    import keras

    with pytest.raises(ValueError, match="sparse=True` and `ragged=True"):
        keras.Input((4,), sparse=True, ragged=True)


def test_only_an_input_holds_strings() -> None:
    (err,) = rnnspec.check("Input(4) > Dense(3, dtype=string)")[0].errors
    assert err.code == "E203" and err.span is not None and err.span.column == 27  # at `string`


def test_a_string_input_is_written_back_as_it_parses() -> None:
    from rnnspec.unparse import spec_text

    for text in (REVIEWS, "Input(shape=(), dtype=string) > TextVectorization(output_sequence_length=3)"):
        report = rnnspec.select(text)
        again = rnnspec.select(spec_text(report, fill=True))
        assert "Input(shape=(), dtype=string)" in spec_text(report)
        assert again.inputs == report.inputs and [r.outputs for r in again.rows] == [r.outputs for r in report.rows]


def test_numpy_backend_refuses_a_string_input_with_the_way_round_it() -> None:
    with pytest.raises(RnnspecError) as refused:
        rnnspec.compile(REVIEWS, backend="numpy")
    assert refused.value.code == "E501" and "Input(40, dtype=int64)" in (refused.value.hint or "")


# ---------------------------------------------------------------- refusals: rnnspec's located errors, Keras's too

REFUSED = [
    case("Input(9, 9, 3) > Conv2D(4, 3, strides=(1, 2), dilation_rate=(2, 1))",
         lambda L: [L.Input((9, 9, 3)), L.Conv2D(4, 3, strides=(1, 2), dilation_rate=(2, 1))]),
    case("Input(8, 8, 4) > Conv2D(5, 3, groups=2)", lambda L: [L.Input((8, 8, 4)), L.Conv2D(5, 3, groups=2)]),
    case("Input(8, 8, 3) > Conv2D(4, 3, groups=2)", lambda L: [L.Input((8, 8, 3)), L.Conv2D(4, 3, groups=2)]),
    case("Input(8, 4, 3) > Conv2D(4, (3, 5))", lambda L: [L.Input((8, 4, 3)), L.Conv2D(4, (3, 5))]),
    case("Input(8, 3) > Conv2D(4, 3)", lambda L: [L.Input((8, 3)), L.Conv2D(4, 3)]),
    case("Input(2, 8, 8, 3) > Conv2D(4, 3)", lambda L: [L.Input((2, 8, 8, 3)), L.Conv2D(4, 3)]),
    case("Input(8, 8, 3) > Conv2D(4, 3, lora_rank=2, kernel_constraint=max_norm)",
         lambda L: [L.Input((8, 8, 3)), L.Conv2D(4, 3, lora_rank=2, kernel_constraint="max_norm")]),
    case("Input(3, 3, 2) > MaxPooling2D(4)", lambda L: [L.Input((3, 3, 2)), L.MaxPooling2D(4)]),
    case("Input(8, 2, 2) > AveragePooling2D((2, 3))", lambda L: [L.Input((8, 2, 2)), L.AveragePooling2D((2, 3))]),
    case("Input(8, 3) > GlobalAveragePooling2D()", lambda L: [L.Input((8, 3)), L.GlobalAveragePooling2D()]),
    case("Input(2, 8, 8, 3) > GlobalMaxPooling2D()", lambda L: [L.Input((2, 8, 8, 3)), L.GlobalMaxPooling2D()]),
    case("TextVectorization(output_mode=multi_hot, output_sequence_length=4)",
         lambda L: [text(L), L.TextVectorization(output_mode="multi_hot", output_sequence_length=4)]),
    case("TextVectorization(output_mode=count, ragged=true)",
         lambda L: [text(L), L.TextVectorization(output_mode="count", ragged=True)]),
    case("TextVectorization(sparse=true)", lambda L: [text(L), L.TextVectorization(sparse=True)]),
    case("TextVectorization(output_mode=count, pad_to_max_tokens=true)",
         lambda L: [text(L), L.TextVectorization(output_mode="count", pad_to_max_tokens=True)]),
    case(f"TextVectorization(output_mode=multi_hot, vocabulary={WORDS}, idf_weights=(1, 2, 3))",
         lambda L: [text(L), L.TextVectorization(output_mode="multi_hot", vocabulary=list(VOCAB),
                                                 idf_weights=[1.0, 2.0, 3.0])]),
    case(f"TextVectorization(output_mode=tf_idf, vocabulary={WORDS})",
         lambda L: [text(L), L.TextVectorization(output_mode="tf_idf", vocabulary=list(VOCAB))]),
    case(f"TextVectorization(output_mode=tf_idf, vocabulary={WORDS}, idf_weights=(1, 2))",
         lambda L: [text(L), L.TextVectorization(output_mode="tf_idf", vocabulary=list(VOCAB), idf_weights=[1.0, 2.0])]),
    case('TextVectorization(vocabulary=("a", "b", "a"))',
         lambda L: [text(L), L.TextVectorization(vocabulary=["a", "b", "a"])]),
    case(f"TextVectorization(4, vocabulary={WORDS})",
         lambda L: [text(L), L.TextVectorization(4, vocabulary=list(VOCAB))]),
    case(f"TextVectorization(3, output_mode=multi_hot, vocabulary={WORDS})",
         lambda L: [text(L), L.TextVectorization(3, output_mode="multi_hot", vocabulary=list(VOCAB))]),
    case("TextVectorization(1)", lambda L: [text(L), L.TextVectorization(1)]),
    case("Input(3, dtype=int32) > CategoryEncoding(0)", lambda L: [L.Input((3,), dtype="int32"), L.CategoryEncoding(0)]),
    case("Input(8, 8, 3) > AveragePooling2D()", lambda L: [L.Input((8, 8, 3)), L.AveragePooling2D()]),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), REFUSED)
def test_what_rnnspec_refuses_keras_refuses(spec: str, build: Any) -> None:
    import keras

    with pytest.raises(RnnspecError) as refused:
        rnnspec.select(spec)
    assert refused.value.span is not None, "the error is located"
    with pytest.raises((ValueError, TypeError)):
        keras.Sequential(build(keras.layers))


@pytest.mark.parametrize(("spec", "words"), [
    ("Input(8, 8, 3) > Conv2D(4, 3) > LSTM(2)", "3D input"),
    ("Input(10, 8, 8, 3) > Conv2D(4, 3)", "TimeDistributed"),
    ("Input(8, 8, None) > Conv2D(4, 3)", "known number of channels"),
    ("Input(3, 2, 2, dtype=int32) > CategoryEncoding(4)", "reduces over axis 1"),
    ("Input(3) > CategoryEncoding(4)", "integer ids"),
    ("Input(3) > TextVectorization()", "one string per sample"),
    ('TextVectorization(vocabulary=("a", "[UNK]"))', "reserved token"),
    ('TextVectorization(vocabulary=(1, 2))', "strings"),
])
def test_rnnspec_refusals_with_a_reason(spec: str, words: str) -> None:
    """Refusals Keras does not make when it builds: a rank it states but computes differently (CategoryEncoding's
    multi_hot on 3D), float ids it would truncate, strings from nowhere, or a placement that needs its hint."""
    reports = rnnspec.check(spec)
    errors = [e for r in reports for e in r.errors]
    assert errors and errors[0].span is not None, spec
    assert words in errors[0].message + (errors[0].hint or ""), errors[0]


@pytest.mark.keras
def test_category_encoding_multi_hot_on_3d_is_what_keras_states_but_not_what_it_computes() -> None:
    import keras

    layer = keras.layers.CategoryEncoding(5)
    stated = keras.Sequential([keras.Input((3, 2), dtype="int32"), layer]).layers[-1].output.shape
    computed = layer(np.zeros((4, 3, 2), "int32")).shape
    assert (tuple(stated), tuple(computed)) == ((None, 3, 5), (4, 2, 5))


# ---------------------------------------------------------------- NumPy equals Keras


NUMPY_IMAGES = [
    ("Input(8, 8, 3) > Conv2D(4, 3)", (2, 8, 8, 3)),
    ("Input(9, 7, 2) > Conv2D(4, (3, 2), strides=(2, 1), padding=same, activation=relu)", (2, 9, 7, 2)),
    ("Input(8, 8, 2) > Conv2D(3, 3, dilation_rate=(2, 1), padding=same, activation=tanh)", (2, 8, 8, 2)),
    ("Input(7, 7, 2) > Conv2D(3, 2, dilation_rate=2)", (1, 7, 7, 2)),
    ("Input(6, 6, 6) > Conv2D(6, 3, groups=3, use_bias=false)", (2, 6, 6, 6)),
    ("Input(6, 6, 3) > Conv2D(4, 2, lora_rank=2)", (2, 6, 6, 3)),
    ("Input(None, None, 2) > Conv2D(3, 3, padding=same)", (2, 5, 7, 2)),
    ("Input(8, 8, 3) > MaxPooling2D()", (2, 8, 8, 3)),
    ("Input(9, 7, 3) > MaxPooling2D((3, 2), 2, same)", (2, 9, 7, 3)),
    ("Input(9, 7, 3) > AveragePooling2D(2)", (2, 9, 7, 3)),
    ("Input(9, 7, 3) > AveragePooling2D((3, 2), strides=(2, 1), padding=same)", (2, 9, 7, 3)),
    ("Input(3, 9, 7) > AveragePooling2D(3, strides=2, padding=same, data_format=channels_first)", (2, 3, 9, 7)),
    ("Input(3, 9, 7) > MaxPooling2D(2, padding=same, data_format=channels_first)", (2, 3, 9, 7)),
    ("Input(8, 6, 3) > GlobalAveragePooling2D()", (2, 8, 6, 3)),
    ("Input(8, 6, 3) > GlobalMaxPooling2D(keepdims=true)", (2, 8, 6, 3)),
    ("Input(3, 8, 6) > GlobalAveragePooling2D(data_format=channels_first, keepdims=true)", (2, 3, 8, 6)),
    ("Input(3, 8, 6) > GlobalMaxPooling2D(data_format=channels_first)", (2, 3, 8, 6)),
    ("Input(3, 8, 8, 2) > TimeDistributed(Conv2D(4, 3)) > TimeDistributed(GlobalAveragePooling2D()) > LSTM(3)",
     (2, 3, 8, 8, 2)),
    ("Input(None, 8, 8, 1) > TimeDistributed(MaxPooling2D()) > TimeDistributed(Flatten()) > GRU(4)", (2, 4, 8, 8, 1)),
    ("Input(8, 8, 3) > Conv2D(4, 3) > BatchNormalization() > GlobalMaxPooling2D()", (2, 8, 8, 3)),
    ("Input(8, 16, 1) > Conv2D(4, 3, padding=same, activation=relu) > MaxPooling2D((2, 2)) > Reshape((4, 32)) "
     "> Bidirectional(LSTM(4, seq)) > Dense(5, softmax)", (2, 8, 16, 1)),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "shape"), NUMPY_IMAGES)
def test_numpy_image_layers_equal_keras(spec: str, shape: tuple[int, ...]) -> None:
    from tests.test_numpy_layers import assert_same

    assert_same(spec, RNG.normal(size=shape).astype("float32"))


@pytest.mark.keras
@pytest.mark.parametrize("options", ["", ", strides=2", ", padding=same, dilation_rate=2", ", groups=3"])
def test_numpy_conv2d_channels_first_equals_keras_channels_last_transposed(options: str) -> None:
    """TensorFlow's CPU Conv2D runs only channels_last, so Keras cannot run a channels_first Conv2D here: the
    NumPy result is compared with Keras's channels_last layer, same weights, on the transposed image."""
    import keras

    spec = f"Input(6, 7, 6) > Conv2D(6, 3{options}, data_format=channels_first)"
    numpy_model = rnnspec.compile(spec, backend="numpy")
    kwargs = eval(f"dict({options.lstrip(', ')})", {"same": "same"})  # the same options, as Keras keywords
    layer = keras.layers.Conv2D(6, 3, **kwargs)
    layer.build((None, 7, 6, 6))
    layer.set_weights(numpy_model.get_weights())
    x = RNG.normal(size=(2, 6, 7, 6)).astype("float32")
    expected = np.moveaxis(np.asarray(layer(np.moveaxis(x, 1, 3))), 3, 1)
    np.testing.assert_allclose(numpy_model(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "ids"), [
    ("Input(4, dtype=int32) > CategoryEncoding(6)", [[0, 5, 5, 2], [1, 1, 1, 1]]),
    ("Input(4, dtype=int32) > CategoryEncoding(6, count)", [[0, 5, 5, 2], [1, 1, 1, 1]]),
    ("Input(4, dtype=int32) > CategoryEncoding(6, one_hot)", [[0, 5, 5, 2], [1, 1, 1, 1]]),
    ("Input(1, dtype=int32) > CategoryEncoding(3, one_hot) > Dense(2)", [[0], [2]]),
    ("Input(2, 3, dtype=int64) > CategoryEncoding(4, one_hot)", [[[0, 1, 3], [2, 2, 9]], [[3, 3, 0], [1, -1, 2]]]),
])
def test_numpy_category_encoding_equals_keras(spec: str, ids: list[Any]) -> None:
    from tests.test_numpy_layers import assert_same

    assert_same(spec, np.array(ids))


def test_numpy_category_encoding_refuses_ids_keras_refuses() -> None:
    model = rnnspec.compile("Input(3, dtype=int32) > CategoryEncoding(4, count)", backend="numpy")
    with pytest.raises(RnnspecError, match=r"ids in 0\.\.3") as refused:
        model(np.array([[1, 4, 0]]))
    assert refused.value.code == "E501" and refused.value.span is not None


def test_numpy_backend_refuses_text_vectorization_with_the_way_round_it() -> None:
    with pytest.raises(RnnspecError) as refused:
        rnnspec.compile("TextVectorization(output_sequence_length=8) > Embedding(20, 4) > LSTM(2)", backend="numpy")
    err = refused.value
    assert err.code == "E501" and err.span is not None and err.span.column == 1
    assert "Input(8, dtype=int64)" in (err.hint or "")
    with pytest.raises(RnnspecError, match="TextVectorization"):
        rnnspec.compile('TextVectorization(output_mode=count, vocabulary=("a",)) > Dense(1)', backend="numpy")


@pytest.mark.keras
def test_keras_backend_builds_text_vectorization_with_the_spec_vocabulary() -> None:
    """The Keras model runs on strings with the vocabulary written in the spec, as Keras's own layer does; the
    layer holds no weight Keras counts."""
    import keras

    spec = f"TextVectorization(output_sequence_length=5, vocabulary={WORDS}) > Embedding(6, 2) > GRU(2)"
    model = rnnspec.compile(spec)
    texts = np.array(["The cat sat, on the mat", "dog"])
    direct = keras.layers.TextVectorization(output_sequence_length=5, vocabulary=list(VOCAB))
    np.testing.assert_array_equal(np.asarray(model.layers[0](texts)), np.asarray(direct(texts)))
    assert model.layers[0].count_params() == 0 and not rnnspec.select(spec).rows[0].weights
    assert model(texts).shape == (2, 2)
