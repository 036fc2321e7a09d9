"""Round trip: a checked model written back as text (short or with every default) checks to the same model."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import rnnspec
from rnnspec.cli import main, read_spec
from rnnspec.unparse import spec_text

from .conftest import SPECS

MODELS = [(path, report) for path in sorted(SPECS.glob("*.rnn")) for report in read_spec(path).reports]
EXTRA = [
    "Input(None, 6, dtype=float64, batch_size=2) > Conv1D(4, 3, padding=causal, dilation_rate=2) > GRU(3)",
    "Embedding(50, 4, mask_zero) > (LSTM(3, seq) > Dropout(0.25)) x2 > Bidirectional(GRU(2), merge_mode=ave)",
    "Input(5, 3) > LayerNormalization((1, 2)) > Reshape((-1,)) > Dense(2, relu, lora_rank=1)",
    # functional: a layer bound between two others of its type, a shared layer called with a state, an output
    # used again, an unbound Input, several outputs
    "x = Input(5, 3)\nh = Input(4)\ny = x > LSTM(4, seq)\nshared = LSTM(4, seq)\nz = x > LSTM(4, seq)\n"
    "a = y > shared(initial_state=(h, h))\nb = z > shared\n(a, b, a) > Concatenate > GRU(2)",
    "i = Input(3)\nd = i > Dense(2)\ne = d > Dense(2)\n(d, e) > Add > Dense(1)\noutput e",
    "x = Input(4, 2)\nx > GRU(3, state)",
]


def structure(report: rnnspec.ModelReport) -> tuple:
    """Layers and weights and, for a functional model, its inputs, outputs and how every call is wired."""
    return (report.input, report.inputs, report.outputs,
            [(r.name, r.type, r.output_shape, r.weights, r.outputs, r.inbound) for r in report.rows])


@pytest.mark.parametrize("report", [r for _, r in MODELS] + [rnnspec.select(s) for s in EXTRA],
                         ids=[f"{p.stem}:{r.name}" for p, r in MODELS] + EXTRA)
@pytest.mark.parametrize("fill", [False, True])
def test_written_spec_checks_to_the_same_model(report: rnnspec.ModelReport, fill: bool) -> None:
    text = spec_text(report, fill=fill)
    assert structure(rnnspec.select(text, model=report.name)) == structure(report)


def test_check_fill_prints_every_default() -> None:
    result = CliRunner().invoke(main, ["check", "--fill", "-e", "Embedding(100, 8) > GRU(4)"])
    assert result.exit_code == 0
    assert "    > GRU(4, activation=tanh, recurrent_activation=sigmoid, use_bias=true" in result.output
    assert "reset_after=true" in result.output


# Repeats of every kind: one layer, a group, nested, folded past MAX_UNROLLED layers, and a repeat of one group.
REPEATS = [
    "Input(20, 3) > LSTM(32, seq) x9999",
    "Input(7, 3) > (GRU(6, seq) > Dropout(0.1) > LSTM(5, seq)) x12 > SimpleRNN(3)",
    "Input(9, 2) > (Dense(4) > (SimpleRNN(4, seq) x5 > Dense(3)) x4) x3 > LSTM(2)",
    "Input(5, 3) > ((LSTM(3, seq) x2) x3) x4 > Dense(1)",
    "Input(5, 3) > (LSTM(32, seq) x1000 > GRU(8, seq)) x100000 > LSTM(2)",
]


@pytest.mark.parametrize("spec", REPEATS)
def test_fill_keeps_a_repeat_as_a_repeat_and_checks_to_the_same_counts(spec: str) -> None:
    """`--fill` wrote every copy: `LSTM(32, seq) x9999` became 2 MB, past the size limit of a spec."""
    report = rnnspec.select(spec)
    text = spec_text(report, fill=True)
    assert len(text) < 2000 and text.count("return_sequences=true") == spec.count("seq")
    again = rnnspec.select(text)
    assert (again.total, again.trainable, again.layer_count, again.output) == \
        (report.total, report.trainable, report.layer_count, report.output)
    assert [(r.name, r.weights) for r in again.rows] == [(r.name, r.weights) for r in report.rows]


@pytest.mark.keras
def test_a_filled_repeat_builds_the_same_keras_model() -> None:
    spec = REPEATS[2]
    text = spec_text(rnnspec.select(spec), fill=True)
    built, again = rnnspec.compile(spec), rnnspec.compile(text)
    assert again.count_params() == built.count_params()
    assert [layer.name for layer in again.layers] == [layer.name for layer in built.layers]


def test_check_fill_of_a_long_repeat_stays_short_and_checks() -> None:
    result = CliRunner().invoke(main, ["check", "--fill", "-e", REPEATS[0]])
    assert result.exit_code == 0
    text = result.output[result.output.index("model model:"):]
    assert "return_sequences=true, return_state=false, go_backwards=false" in text and ") x9999" in text \
        and len(text) < 1000
    assert rnnspec.select(text.split("\n\n")[0]).layer_count == 9999
