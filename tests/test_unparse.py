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
]


def structure(report: rnnspec.ModelReport) -> tuple:
    return report.input, [(r.name, r.type, r.output_shape, r.weights) for r in report.rows]


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
