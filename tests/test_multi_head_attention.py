"""MultiHeadAttention (issue 11): shapes, weights and refusals, Keras's summary row for row (Keras calls it with
the tensors as separate arguments and fills query_mask, value_mask, key_mask from their masks), and the NumPy
backend equal to Keras on the same weights."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

import rnnspec
from tests.test_functional import assert_matches_keras, spec_of
from tests.test_parity import assert_functional_parity, fcase

QV = "q = Input(4, 8)\nv = Input(6, 3)\n"


def _qv(K: ModuleType, layer: Any, q_steps: int = 4, **call: Any) -> tuple[list[Any], list[Any]]:
    q, v = K.Input((q_steps, 8)), K.Input((6, 3))
    out = layer(q, v, **call)
    return [q, v], list(out) if isinstance(out, tuple) else [out]


def _qvk(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    q, v, k = K.Input((4, 8)), K.Input((6, 3)), K.Input((6, 5))
    out = L.MultiHeadAttention(2, 4, value_dim=3, output_shape=7, use_bias=False)(q, v, k)
    return [q, v, k], [L.GlobalAveragePooling1D()(out)]


def _masked(K: ModuleType, L: ModuleType) -> tuple[list[Any], list[Any]]:
    a, b = K.Input((5,), dtype="int32"), K.Input((7,), dtype="int32")
    q, v = L.Embedding(9, 4, mask_zero=True)(a), L.Embedding(9, 4, mask_zero=True)(b)
    out = L.MultiHeadAttention(2, 3, use_gate=True)(q, v, use_causal_mask=True)
    return [a, b], [L.LSTM(3)(out)]


FUNCTIONAL_PARITY_CASES = [
    fcase(QV + "(q, v) > MultiHeadAttention(2, 4) > GlobalAveragePooling1D() > Dense(2)",
          lambda K, L: (lambda io: (io[0], [L.Dense(2)(L.GlobalAveragePooling1D()(io[1][0]))]))(
              _qv(K, L.MultiHeadAttention(2, 4)))),
    fcase(QV + "(q, v) > MultiHeadAttention(num_heads=3, key_dim=2, dropout=0.1, seed=3, attention_axes=1, "
          "flash_attention=false)",
          lambda K, L: _qv(K, L.MultiHeadAttention(num_heads=3, key_dim=2, dropout=0.1, seed=3, attention_axes=1,
                                                   flash_attention=False))),
    fcase("q = Input(6, 8)\nv = Input(6, 3)\no, s = (q, v) > MultiHeadAttention(2, 4, use_gate, sliding_window=2, "
          "return_attention_scores=true, use_causal_mask=true)\noutput s, o",
          lambda K, L: (lambda io: (io[0], io[1][::-1]))(
              _qv(K, L.MultiHeadAttention(2, 4, use_gate=True, sliding_window=2), q_steps=6,
                  return_attention_scores=True, use_causal_mask=True))),
    fcase("q = Input(4, 8)\nv = Input(6, 3)\nk = Input(6, 5)\n(q, v, k) > MultiHeadAttention(2, 4, value_dim=3, "
          "output_shape=7, use_bias=false) > GlobalAveragePooling1D()", _qvk),
    fcase("a = Input(5, dtype=int32)\nb = Input(7, dtype=int32)\nq = a > Embedding(9, 4, mask_zero)\n"
          "v = b > Embedding(9, 4, mask_zero)\n(q, v) > MultiHeadAttention(2, 3, use_gate, use_causal_mask) > LSTM(3)",
          _masked),
]


@pytest.mark.keras
@pytest.mark.parametrize(("spec", "build"), FUNCTIONAL_PARITY_CASES)
def test_rnnspec_infers_what_keras_builds_for_multi_head_attention(spec: str, build: Any) -> None:
    assert_functional_parity(spec, build)


# ---------------------------------------------------------------- shapes, weights, refusals


def test_shapes_and_weights() -> None:
    report = rnnspec.select("q = Input(4, 8)\nv = Input(6, 3)\nk = Input(6, 5)\no, s = (q, v, k) > "
                            "MultiHeadAttention(2, 4, value_dim=3, output_shape=7, return_attention_scores=true)\n"
                            "output o, s")
    assert [t.shape for t in report.outputs] == [(None, 4, 7), (None, 2, 4, 6)]  # the scores' real shape
    assert [w.shape for w in report.rows[-1].weights] == [(8, 2, 4), (2, 4), (5, 2, 4), (2, 4), (3, 2, 3), (2, 3),
                                                          (2, 3, 7), (7,)]
    report = rnnspec.select("x = Input(5, 6)\n(x, x) > MultiHeadAttention(2, 3, use_bias=false, use_gate)")
    assert [w.shape for w in report.rows[-1].weights] == [(6, 2, 3)] * 4 + [(2, 3, 6)]
    assert report.outputs[0].shape == (None, 5, 6)


@pytest.mark.parametrize(("spec", "words"), [
    (QV + "(q, q, q, q) > MultiHeadAttention(2, 4)", "takes (query, value) or (query, value, key)"),
    ("q = Input(8)\n(q, q) > MultiHeadAttention(2, 4)", "(batch, steps, features)"),
    ("q = Input(2, 3, 8)\n(q, q) > MultiHeadAttention(2, 4)", "(batch, steps, features)"),
    ("q = Input(4, None)\n(q, q) > MultiHeadAttention(2, 4)", "known last dimension"),
    (QV + "k = Input(5, 3)\n(q, v, k) > MultiHeadAttention(2, 4)", "6 steps and the key"),
    ("Input(4, 8) > MultiHeadAttention(2, 4)", "write (query, value) > MultiHeadAttention"),
    (QV + "m = Input(4, dtype=bool)\n(q, v) > MultiHeadAttention(2, 4, mask=m)", "takes no mask="),
    (QV + "(q, v) > MultiHeadAttention(2, 4, attention_axes=2)", "attention_axes"),
    (QV + "(q, v) > MultiHeadAttention(2, 4, flash_attention=true, dropout=0.1)", "flash_attention"),
    (QV + "(q, v) > MultiHeadAttention(2, 4, flash_attention=true, return_attention_scores=true)", "scores"),
    (QV + "(q, v) > MultiHeadAttention(2)", "key_dim"),
    (QV + "(q, v) > MultiHeadAttention(2, 4, trainable=false)", "trainable"),
])
def test_refusals_are_located_with_hints(spec: str, words: str) -> None:
    (report,) = rnnspec.check(spec)
    assert len(report.errors) == 1, [str(e) for e in report.errors]
    err = report.errors[0]
    assert words in err.message and err.span is not None, err.message


CROSS_SCORES = "q = Input(5, 8)\nv = Input(7, 8)\no, s = (q, v) > MultiHeadAttention(2, 4, return_attention_scores=true)\n"


def test_scores_over_another_length_are_reported_as_computed_with_a_warning() -> None:
    (report,) = rnnspec.check(CROSS_SCORES + "output o, s")
    assert report.ok and report.outputs[1].shape == (None, 2, 5, 7)
    (warning,) = report.warnings
    assert warning.code == "W110" and "(None, 2, 5, 5)" in warning.message and "(None, 2, 5, 7)" in warning.message


@pytest.mark.parametrize("use", ["d = s > Dense(3)\noutput o, d", "d = s > Flatten()\noutput o, d"])
def test_a_layer_fed_scores_keras_misstates_is_refused(use: str) -> None:
    (report,) = rnnspec.check(CROSS_SCORES + use)
    (err,) = report.errors
    assert err.code == "E300" and "states the scores of MultiHeadAttention as (None, 2, 5, 5)" in err.message
    assert err.span is not None and err.span.line == 4 and "same length" in (err.hint or "")


@pytest.mark.keras
def test_keras_misstates_the_scores_and_fails_on_a_layer_fed_them() -> None:
    """Pinned (Keras 3.15): the stated shape, the computed one, and a Dense built for the stated one."""
    import keras

    q, v = keras.Input((5, 8)), keras.Input((7, 8))
    o, s = keras.layers.MultiHeadAttention(2, 4)(q, v, return_attention_scores=True)
    assert tuple(s.shape) == (None, 2, 5, 5)
    x = [np.ones((2, 5, 8), "float32"), np.ones((2, 7, 8), "float32")]
    assert keras.Model([q, v], [o, s]).predict(x, verbose=0)[1].shape == (2, 2, 5, 7)
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 5"):
        keras.Model([q, v], [o, keras.layers.Dense(3)(s)]).predict(x, verbose=0)


# ---------------------------------------------------------------- Keras's summary and outputs, NumPy alike

MODELS = {
    "plain": QV + "(q, v) > MultiHeadAttention(2, 4) > GlobalAveragePooling1D() > Dense(2)",
    "masked_scores": """a = Input(5, dtype=int32)
        b = Input(5, dtype=int32)
        q = a > Embedding(9, 4, mask_zero)
        v = b > Embedding(9, 4, mask_zero)
        o, s = (q, v) > MultiHeadAttention(2, 3, value_dim=2, return_attention_scores=true)
        h = o > LSTM(3)
        output h, s""",
    "self_causal": """a = Input(5, dtype=int32)
        x = a > Embedding(9, 4, mask_zero)
        (x, x) > MultiHeadAttention(2, 3, use_causal_mask) > GlobalAveragePooling1D()""",
    # the output rows of masked query steps are seen: uniform attention in Keras's fused path, none with dropout
    # (each model has one MultiHeadAttention: Keras's call clears its inputs' masks on the very tensors, so a
    # masked tensor feeding two of them loses its mask for the one that runs second, which rnnspec does not follow)
    "masked_rows_fused": """a = Input(5, dtype=int32)
        x = a > Embedding(9, 4, mask_zero)
        (x, x) > MultiHeadAttention(2, 3)""",
    "masked_rows_softmax": """a = Input(5, dtype=int32)
        x = a > Embedding(9, 4, mask_zero)
        (x, x) > MultiHeadAttention(2, 3, dropout=0.2)""",
    "causal_unmasked": """x = Input(5, 4)
        (x, x) > MultiHeadAttention(3, 2, output_shape=6, use_causal_mask) > LSTM(3)""",
    "key_masked": """a = Input(5, 3)
        b = Input(7, dtype=int32)
        c = Input(7, dtype=int32)
        v = b > Embedding(9, 2, mask_zero)
        k = c > Embedding(9, 3, mask_zero)
        (a, v, k) > MultiHeadAttention(2, 4, use_gate, sliding_window=3, use_causal_mask) > GlobalAveragePooling1D()""",
}


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(MODELS))
def test_numpy_and_summary_match_keras(name: str) -> None:
    assert_matches_keras(spec_of(MODELS[name]), seed=3, steps=5)


def test_masks_reach_the_kernel_as_keras_passes_them() -> None:
    """The masked value steps get no weight; the output keeps the query's mask (an LSTM after it skips them)."""
    text = spec_of(MODELS["masked_scores"])
    model = rnnspec.compile(rnnspec.select(text), backend="numpy")
    a = np.array([[1, 2, 3, 0, 0]], "int32")
    b = np.array([[3, 4, 0, 0, 0]], "int32")
    _, scores = model([a, b])
    assert scores.shape == (1, 2, 5, 5)
    assert np.all(scores[0, :, :3, 2:] == 0) and np.allclose(scores[0, :, :3].sum(-1), 1)
    assert np.all(scores[0, :, 3:] == 0)  # a masked query step: Keras's Softmax layer zeroes every masked place


def test_a_masked_tensor_it_shares_with_other_layers_is_refused() -> None:
    """Keras clears the mask of the tensors MultiHeadAttention reads; another use of one would run unmasked in
    Keras, so rnnspec refuses the model instead of computing it with the mask. Self-attention is fine."""
    import rnnspec

    head = "s = Input(6, dtype=int32)\ne = s > Embedding(9, 4, mask_zero)\n"
    (shared,) = rnnspec.check(head + "a = (e, e) > MultiHeadAttention(2, 4)\n(a, e) > Add > LSTM(2)")
    assert [x.code for x in shared.errors] == ["E300"] and "clears that tensor's mask" in shared.errors[0].message
    (alone,) = rnnspec.check(head + "(e, e) > MultiHeadAttention(2, 4) > LSTM(2)")
    assert alone.ok, [str(x) for x in alone.errors]
    (copied,) = rnnspec.check(head + "c = e > Activation(linear)\na = (c, c) > MultiHeadAttention(2, 4)\n"
                                     "(a, e) > Add > LSTM(2)")
    assert copied.ok, [str(x) for x in copied.errors]
