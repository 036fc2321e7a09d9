"""Robustness: any text, valid or mangled, ends in a report or an RnnspecError with a span inside the text,
never another exception, and quickly. bench/fuzz.py runs the same property with a large budget."""
from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnspec
from rnnspec.cli import check_source

SEEDS = [
    "Embedding(10000, 32) > SimpleRNN(32, seq) x3 > SimpleRNN(32)",
    "model a:\n  Input(None, 8) > Bidirectional(LSTM(4, seq), merge_mode=sum) : (None, None, 4)\n  expect params 1\n",
    "Input(20, dtype=int32) > Embedding(100, 8, mask_zero) > (GRU(4, seq) > Dropout(0.2)) x2 > Dense(1)",
    "Input(7, 3) > Conv1D(4, 3, padding=causal, dilation_rate=2) > MaxPooling1D(2) > Flatten > Dense(2, relu)",
    "model t:\n  a = Input(None, 7)\n  b = Input(None, 9)\n  _, h, c = a > LSTM(8, state)\n"
    "  y, _, _ = b > LSTM(8, seq, state, initial_state=(h, c))\n  y > Dense(9)\n  expect params 1\n",
    "s = Input(5, dtype=int32)\nm = Input(5, dtype=bool)\nenc = GRU(4)\n"
    "(s > Embedding(9, 3, mask_zero) > enc, s > Embedding(9, 3) > GRU(4, mask=m)) > Concatenate\noutput x1, y",
]
TOKENS = ["(", ")", ",", ">", ">>", "x3", "x", " x 1000000", ":", "=", "model", "expect", "shape", "params", "seq",
          "None", "true", "-1", "0", "1e309", "9" * 40, "LSTM", "Dense(", "\n", "\r\n", "\t", "#", "\"", "'", ";",
          "\ufeff", "\x00", "é", "→", "(" * 30, ")" * 30, "output", "_", "a, b = ", "state", "initial_state=",
          "mask=", "(a, b) > Add", "x1 = ", "enc"]


@st.composite
def mangled(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "double", "swap"]))
        if action == "insert":
            text = text[:position] + draw(st.sampled_from(TOKENS)) + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 6)):]
        elif action == "double":
            text = text[:position] + text[position:position + 8] * 2 + text[position + 8:]
        else:
            other = draw(st.integers(0, len(text)))
            a, b = sorted((position, other))
            text = text[:a] + text[b:b + 3] + text[a + 3:b] + text[a:a + 3] + text[b + 3:]
    return text


def assert_robust(text: str) -> None:
    start = time.perf_counter()
    result = check_source("f.rnn", text)
    lines = text.splitlines() or [""]
    for error in result.all_errors + result.all_warnings:
        assert isinstance(error, rnnspec.RnnspecError) and error.code and error.message
        if error.span is not None:
            assert 1 <= error.span.line <= len(lines) + 1, (error, text)
            assert error.span.column >= 1
        assert "Token(" not in error.message and "$END" not in error.message
    assert time.perf_counter() - start < 2.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(mangled())
def test_mangled_specs_give_located_errors(text: str) -> None:
    assert_robust(text)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_located_errors(text: str) -> None:
    assert_robust(text)
