"""Property test: random valid specs drawn from the layer set run the same in NumPy and in Keras."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnspec

pytestmark = pytest.mark.keras

RNN = st.sampled_from(["SimpleRNN", "LSTM", "GRU"])
ACT = st.sampled_from(["tanh", "relu", "sigmoid", "linear", "softsign"])


@st.composite
def sequence_layer(draw: st.DrawFn, time: str) -> str:
    """A layer taking (batch, T, F) that keeps the time axis ("keep"), drops it ("drop"), or either ("any")."""
    units = draw(st.integers(1, 5))
    rnn = draw(RNN)
    keeping = [
        f"{rnn}({units}, seq{draw(st.sampled_from(['', ', backwards', ', use_bias=false']))})",
        f"Bidirectional({rnn}({units}, seq), merge_mode={draw(st.sampled_from(['concat', 'sum', 'ave', 'mul']))})",
        f"Dense({units}, activation={draw(ACT)})",
        f"TimeDistributed(Dense({units}))",
        f"Conv1D({units}, {draw(st.integers(1, 3))}, padding={draw(st.sampled_from(['same', 'causal']))})",
        "LayerNormalization",
        "Dropout(0.3)",
    ]
    dropping = [f"{rnn}({units}{draw(st.sampled_from(['', ', backwards']))})", f"Bidirectional({rnn}({units}))",
                "GlobalAveragePooling1D", "GlobalMaxPooling1D"]
    return draw(st.sampled_from({"keep": keeping, "drop": dropping, "any": keeping + dropping}[time]))


@st.composite
def specs(draw: st.DrawFn) -> tuple[str, bool]:
    masked = draw(st.booleans())
    head = "Embedding(20, 3, mask_zero=true)" if masked else f"Input(None, {draw(st.integers(1, 4))})"
    middle = [draw(sequence_layer("keep")) for _ in range(draw(st.integers(0, 2)))]
    after = draw(st.sampled_from(["", f" > Dense({draw(st.integers(1, 3))}, activation={draw(ACT)})",
                                  f" > RepeatVector(3) > {draw(RNN)}(2, seq)"]))
    tail = draw(sequence_layer("drop" if "RepeatVector" in after else "any"))
    spec = " > ".join([head, *middle, tail]) + after
    return spec, masked


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(specs(), st.integers(1, 4), st.integers(1, 7))
def test_random_specs_match_keras(drawn: tuple[str, bool], batch: int, steps: int) -> None:
    spec, masked = drawn
    report = rnnspec.select(spec)
    keras_model = rnnspec.compile(report)
    rng = np.random.default_rng(abs(hash(spec)) % 2**32)
    keras_model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in keras_model.get_weights()])
    model = rnnspec.compile(report, backend="numpy")
    model.set_weights(keras_model.get_weights())
    if masked:
        x = rng.integers(1, 20, size=(batch, steps)).astype("int32")
        x[0, rng.integers(0, steps):] = 0  # trailing padding, possibly the whole row
    else:
        x = rng.normal(size=(batch, steps, report.input.shape[-1])).astype("float32")  # type: ignore[union-attr]
    expected = keras_model.predict(x, verbose=0)
    got = model(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-4, err_msg=spec)
