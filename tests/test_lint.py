"""Warnings for legal but suspicious specs, each at the layer that causes it."""
from __future__ import annotations

import pytest

import rnnspec


def warnings(spec: str) -> list[tuple[str, int]]:
    (report,) = rnnspec.check(spec)
    assert report.errors == []
    return [(w.code, w.span.column) for w in report.warnings]


@pytest.mark.parametrize(("spec", "code", "at"), [
    ("Input(5, 3) > LSTM(4, seq) > Dense(2)", "W100", "Dense"),
    ("Input(5, 3) > Bidirectional(GRU(4, seq)) > Dropout(0.1) > Dense(2)", "W100", "Dense"),
    ("Input(3) > Dropout(0) > Dense(2)", "W101", "Dropout"),
    ("Input(5, 3) > LSTM(4, seq) x1 > LSTM(2)", "W102", "x1"),
    ("Embedding(100, 8, mask_zero) > Conv1D(4, 3) > LSTM(3)", "W103", "Conv1D"),
    ("Input(6, dtype=int32) > Embedding(100, 8, mask_zero) > Dense(4) > Flatten", "W103", "Flatten"),
    ("Input(None, 3) > Masking > GRU(2, seq) > GlobalMaxPooling1D", "W103", "GlobalMaxPooling1D"),
    ("Input(None, 3) > LSTM(2, unroll)", "W104", "LSTM"),
    ("Input(None, 3) > Bidirectional(LSTM(2, unroll))", "W104", "Bidirectional"),
    ("Input(5, 3) > GRU(4, seq) > Dense(8) > LSTM(2, seq) > Activation(relu) > Dropout(0.5) > Dense(2)", "W100",
     "Dense(2)"),
])
def test_suspicious_specs_warn_at_the_layer(spec: str, code: str, at: str) -> None:
    assert warnings(spec) == [(code, spec.index(at) + 1)]


@pytest.mark.parametrize("spec", [
    "Input(5, 3) > LSTM(4, seq) > TimeDistributed(Dense(2))",     # per-step output, said explicitly
    "Input(5, 3) > LSTM(4, seq) > Dense(2) > LSTM(3)",             # Dense between recurrent layers
    "Input(5, 3) > LSTM(4) > Dense(2)",
    "Embedding(10, 3, mask_zero) > LSTM(3, seq) > GlobalAveragePooling1D > Dense(1)",   # the mask is used up
    "Embedding(10, 3, mask_zero) > LSTM(3) > RepeatVector(3) > LSTM(2)",
    "Embedding(10, 3) > Conv1D(4, 3) > LSTM(3)",                  # no mask to drop
    "Input(20, 3) > LSTM(2, unroll)",
])
def test_ordinary_specs_do_not_warn(spec: str) -> None:
    assert warnings(spec) == []


def test_bundled_specs_are_warning_free() -> None:
    from rnnspec.cli import read_spec

    from .conftest import SPECS

    for path in SPECS.glob("*.rnn"):
        assert [w for r in read_spec(path).reports for w in r.warnings] == [], path


def test_w100_reads_the_rows_in_one_pass() -> None:
    """Each Dense rescanned every row before and after it (20,000 layers: 7.7 s)."""
    from rnnspec.lint import lint

    from .test_inference import CountingList

    report = rnnspec.select("Input(5, 3) > LSTM(4, seq)" + " > Dense(4)" * 300)
    expected = [str(w) for w in lint(report)]
    report.rows = CountingList(report.rows)
    assert [str(w) for w in lint(report)] == expected and len(expected) == 1 and "W100" in expected[0]
    assert report.rows.reads <= 2 * len(report.rows)  # not len(rows) squared


MINIMAL_ARGS = {"Dense": (2,), "Activation": ("relu",), "Dropout": (0.1,), "SpatialDropout1D": (0.1,),
                "GaussianNoise": (0.1,), "GaussianDropout": (0.1,), "AlphaDropout": (0.1,)}


@pytest.mark.keras
def test_the_layers_said_to_keep_a_mask_keep_it_in_keras() -> None:
    """MASK_PASSES (used by W103 and by the functional form's mask rules) is what Keras does: these layers support
    masking and keep the default compute_mask, which hands the mask on."""
    import keras
    from keras.src.layers.layer import Layer

    from rnnspec.lint import MASK_PASSES

    for name in sorted(MASK_PASSES):
        cls = getattr(keras.layers, name)
        layer = cls(keras.layers.Dense(2)) if name == "TimeDistributed" else cls(*MINIMAL_ARGS.get(name, ()))
        assert layer.supports_masking, name
        assert name == "TimeDistributed" or type(layer).compute_mask is Layer.compute_mask, name
