"""Attention and AdditiveAttention (issue 11): shapes, weights and refusals, Keras's summary row for row (with the
masks Keras passes the call as a list), and the NumPy backend equal to Keras on the same weights."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

import rnnspec
from rnnspec.errors import RnnspecError
from tests.test_functional import assert_matches_keras, spec_of
from tests.test_parity import assert_functional_parity, fcase

QV = "q = Input(4, 8)\nv = Input(6, 8)\n"


def _qv(K: ModuleType, layer: Any, **call: Any) -> tuple[list[Any], list[Any]]:
    q, v = K.Input((4, 8)), K.Input((6, 8))
    out = layer([q, v], **call)
    return [q, v], list(out) if isinstance(out, tuple) else [out]


def _pooled(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    inputs, (out,) = _qv(K, L.Attention(use_scale=True))
    return inputs, [L.Dense(2)(L.GlobalAveragePooling1D()(out))]


def _qvk(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    q, v, k = K.Input((4, 8)), K.Input((6, 3)), K.Input((6, 8))
    return [q, v, k], [L.GlobalAveragePooling1D()(L.AdditiveAttention(use_scale=False)([q, v, k], use_causal_mask=True))]


def _masked(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    a, b = K.Input((5,), dtype="int32"), K.Input((7,), dtype="int32")
    q, v = L.Embedding(9, 4, mask_zero=True)(a), L.Embedding(9, 4, mask_zero=True)(b)
    out = L.Attention(use_scale=True, score_mode="concat")([q, v], use_causal_mask=True)
    return [a, b], [L.Dense(2)(L.GlobalAveragePooling1D()(out))]


FUNCTIONAL_PARITY_CASES = [
    fcase(QV + "(q, v) > Attention(use_scale) > GlobalAveragePooling1D() > Dense(2)", _pooled),
    fcase(QV + "(q, v) > Attention(score_mode=concat, dropout=0.1, seed=3, trainable=false)",
          lambda K, L: _qv(K, L.Attention(score_mode="concat", dropout=0.1, seed=3, trainable=False))),
    fcase(QV + "o, s = (q, v) > Attention(return_attention_scores=true, use_causal_mask=true)\noutput o, s",
          lambda K, L: _qv(K, L.Attention(), return_attention_scores=True, use_causal_mask=True)),
    fcase(QV + "(q, v) > AdditiveAttention(dropout=0.2, trainable=false)",
          lambda K, L: _qv(K, L.AdditiveAttention(dropout=0.2, trainable=False))),
    fcase(QV + "o, s = (q, v) > AdditiveAttention(return_attention_scores=true)\noutput s, o",
          lambda K, L: (lambda io: (io[0], io[1][::-1]))(_qv(K, L.AdditiveAttention(), return_attention_scores=True))),
    fcase("q = Input(4, 8)\nv = Input(6, 3)\nk = Input(6, 8)\n(q, v, k) > AdditiveAttention(use_scale=false, "
          "use_causal_mask) > GlobalAveragePooling1D()", _qvk),
    fcase("a = Input(5, dtype=int32)\nb = Input(7, dtype=int32)\nq = a > Embedding(9, 4, mask_zero)\n"
          "v = b > Embedding(9, 4, mask_zero)\n(q, v) > Attention(use_scale, score_mode=concat, use_causal_mask) "
          "> GlobalAveragePooling1D() > Dense(2)", _masked),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), FUNCTIONAL_PARITY_CASES)
def test_rnnspec_infers_what_keras_builds_for_attention(spec: str, build: Any) -> None:
    assert_functional_parity(spec, build)


# ---------------------------------------------------------------- shapes, weights, refusals


def test_shapes_and_weights() -> None:
    report = rnnspec.select(QV + "o, s = (q, v) > Attention(use_scale, score_mode=concat, return_attention_scores)\n"
                            "output o, s")
    assert [t.shape for t in report.outputs] == [(None, 4, 8), (None, 4, 6)]
    row = report.rows[-1]
    assert [(w.name, w.shape) for w in row.weights] == [("scale", ()), ("concat_score_weight", ())]
    assert report.total == 2
    report = rnnspec.select(QV + "(q, v) > AdditiveAttention")
    assert [(w.name, w.shape) for w in report.rows[-1].weights] == [("scale", (8,))]
    report = rnnspec.select("q = Input(4, 8)\nv = Input(6, 3)\nk = Input(6, 8)\n(q, v, k) > Attention")
    assert report.outputs[0].shape == (None, 4, 3)  # the value's features


@pytest.mark.parametrize(("spec", "words"), [
    ("q = Input(4, 8)\nv = Input(6, 7)\n(q, v) > Attention", "the query's features with the key's"),
    ("q = Input(4, 8)\nv = Input(6, 7)\nk = Input(5, 8)\n(q, v, k) > AdditiveAttention", "6 steps and the key"),
    ("q = Input(4, 8)\n(q, q, q, q) > Attention", "takes (query, value) or (query, value, key)"),
    ("q = Input(8)\n(q, q) > Attention", "(batch, steps, features)"),
    ("q = Input(4, None)\n(q, q) > AdditiveAttention", "known last dimension"),
    ("q = Input(4, 8)\nq > Attention", "receives one"),
    ("Input(4, 8) > Attention()", "write (query, value) > Attention"),
    (QV + "m = Input(4, dtype=bool)\n(q, v) > Attention(mask=m)", "takes its inputs' masks"),
    (QV + "(q, v) > Attention(score_mode=cat)", "score_mode"),
])
def test_refusals_are_located_with_hints(spec: str, words: str) -> None:
    (report,) = rnnspec.check(spec)
    assert len(report.errors) == 1, [str(e) for e in report.errors]
    err = report.errors[0]
    assert words in err.message and err.span is not None and err.hint


@pytest.mark.keras
def test_keras_fails_when_it_runs_where_rnnspec_refuses() -> None:
    """Keras builds the model of mismatched features (its output shape rule checks nothing) and fails on data."""
    import keras

    q, v = keras.Input((4, 8)), keras.Input((6, 7))
    model = keras.Model([q, v], keras.layers.Attention()([q, v]))
    with pytest.raises(Exception):
        model.predict([np.zeros((1, 4, 8)), np.zeros((1, 6, 7))], verbose=0)
    with pytest.raises(RnnspecError):
        rnnspec.select("q = Input(4, 8)\nv = Input(6, 7)\n(q, v) > Attention")


# ---------------------------------------------------------------- Keras's summary and outputs, NumPy alike

MODELS = {
    "plain": QV + "(q, v) > Attention(use_scale) > GlobalAveragePooling1D() > Dense(2)",
    "masked": """a = Input(5, dtype=int32)
        b = Input(7, dtype=int32)
        q = a > Embedding(9, 4, mask_zero)
        v = b > Embedding(9, 4, mask_zero)
        (q, v) > Attention(use_scale, score_mode=concat) > GlobalAveragePooling1D() > Dense(2)""",
    "scores": """a = Input(5, dtype=int32)
        b = Input(7, dtype=int32)
        q = a > Embedding(9, 4, mask_zero)
        v = b > Embedding(9, 4, mask_zero)
        o, s = (q, v) > AdditiveAttention(return_attention_scores=true)
        h = o > LSTM(3)
        output h, s""",
    "self_causal": """a = Input(5, dtype=int32)
        x = a > Embedding(9, 4, mask_zero)
        (x, x) > Attention(use_causal_mask) > LSTM(3)""",
    "value_masked_key": """a = Input(5, 3)
        b = Input(7, dtype=int32)
        v = b > Embedding(9, 2, mask_zero)
        k = v > Dense(3)
        (a, v, k) > AdditiveAttention(use_scale=false, use_causal_mask) > GlobalAveragePooling1D()""",
}


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(MODELS))
def test_numpy_and_summary_match_keras(name: str) -> None:
    assert_matches_keras(spec_of(MODELS[name]), seed=3, steps=5)


def test_masks_reach_the_kernel_as_keras_passes_them() -> None:
    """Keras gives the masked value steps no weight and zeroes the output rows of masked query steps."""
    text = spec_of(MODELS["scores"])
    model = rnnspec.compile(rnnspec.select(text), backend="numpy")
    a = np.array([[1, 2, 0, 0, 0]], "int32")
    b = np.array([[3, 4, 5, 0, 0, 0, 0]], "int32")
    _, scores = model([a, b])
    assert np.all(scores[0, :, 3:] == 0) and np.allclose(scores.sum(-1), 1)
