"""Every bundled spec compiled to Keras has the summary rnnspec infers, row for row; compile saves."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from click.testing import CliRunner

import rnnspec
from rnnspec.cli import main, read_spec
from rnnspec.errors import RnnspecError
from rnnspec.render import summary_table
from rnnspec.shape import format_shape

from .conftest import SPECS

if TYPE_CHECKING:
    import keras

pytestmark = pytest.mark.keras

SPEC_MODELS = [(path, report.name) for path in sorted(SPECS.glob("*.rnn")) for report in read_spec(path).reports]


def keras_summary(model: keras.Model) -> str:
    """Keras's summary wide enough that no cell is cut short (it cuts a long name with an ellipsis)."""
    import os

    captured: list[str] = []
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "250"  # the console rich draws on, which is the terminal's width otherwise
    try:
        model.summary(line_length=240, print_fn=lambda text, **_: captured.append(text))
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return "\n".join(captured)


def summary_rows(text: str) -> list[tuple[str, str, str]]:
    """(layer (type), output shape, param #) per row of a Keras-style table; wrapped cells are joined."""
    rows: list[list[list[str]]] = []
    fresh = True
    for line in text.splitlines():
        if line.startswith(("├", "┡")):
            fresh = True
        elif line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            if fresh:
                rows.append([[c] for c in cells])
                fresh = False
            else:
                for column, cell in zip(rows[-1], cells):
                    column.append(cell)
    return [tuple(" ".join(p for p in column if p) for column in row) for row in rows]  # type: ignore[misc]


def totals(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if re.match(r"\s*(Total|Trainable|Non-trainable) params", line)]


@pytest.mark.parametrize(("path", "name"), SPEC_MODELS, ids=[f"{p.stem}:{n}" for p, n in SPEC_MODELS])
def test_spec_compiles_to_keras_with_the_same_summary(path: Path, name: str) -> None:
    import keras

    report = rnnspec.select(path.read_text(), model=name, path=str(path))
    keras.backend.clear_session()  # Keras numbers the mask operations a functional summary lists per session
    model = rnnspec.compile(report)
    ours, theirs = summary_table(report), keras_summary(model)
    assert summary_rows(ours) == summary_rows(theirs)
    assert totals(ours) == totals(theirs)
    assert len(model.layers) == len(report.rows)
    for row, layer in zip(report.rows, model.layers):
        assert (row.name, row.type) == (layer.name, type(layer).__name__)
        last_call = layer._inbound_nodes[-1].output_tensors  # a shared layer has several calls; a state, outputs
        assert format_shape(row.output_shape) == format_shape(tuple(last_call[0].shape))
        assert [(w.name, w.shape) for w in row.weights] == [(w.name, tuple(w.shape)) for w in layer.weights]
    assert report.input is not None
    assert tuple(model.inputs[0].shape) == report.input.shape
    assert model.inputs[0].dtype == report.input.dtype


def test_compile_picks_a_model_by_name_from_file_text() -> None:
    text = (SPECS / "seed.rnn").read_text()
    model = rnnspec.compile(text, backend="keras", model="stacked")
    assert model.count_params() == rnnspec.select(text, model="stacked").total
    with pytest.raises(RnnspecError, match="pick one with model=NAME"):
        rnnspec.compile(text)
    with pytest.raises(RnnspecError, match="no model named 'stacke'") as err:
        rnnspec.compile(text, model="stacke")
    assert err.value.hint == "did you mean 'stacked'?"


def test_compiled_model_trains_and_runs() -> None:
    model = rnnspec.compile("Input(6, 3) > LSTM(4, seq) > GRU(2) > Dense(1)")
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((2, 6, 3), "float32")
    model.fit(x, np.zeros((2, 1), "float32"), epochs=1, verbose=0)
    assert model.predict(x, verbose=0).shape == (2, 1)


def test_compile_refuses_a_spec_with_errors() -> None:
    with pytest.raises(RnnspecError) as err:
        rnnspec.compile("Input(4, 2) > LSTM(3) > LSTM(3)")
    assert err.value.code == "E300"


def test_cli_compile_saves_a_loadable_keras_file(tmp_path: Path) -> None:
    import keras

    out = tmp_path / "stacked.keras"
    result = CliRunner().invoke(main, ["compile", str(SPECS / "seed.rnn"), "--model", "stacked", "-o", str(out)])
    assert result.exit_code == 0, result.output
    loaded = keras.saving.load_model(out)
    assert loaded.count_params() == 328_320 == rnnspec.select((SPECS / "seed.rnn").read_text(), model="stacked").total
    several = CliRunner().invoke(main, ["compile", str(SPECS / "seed.rnn"), "-o", str(out)])
    assert several.exit_code == 2 and "--model" in several.output


# Up to petabytes; past 1024 PB Keras divides once more and still prints "PB", which rnnspec does not copy.
@pytest.mark.parametrize("size", [0, 4, 1023, 1024, 1_288_320, 1_313_280, 5 * 1024**3, 3 * 1024**5, 1000 * 1024**5])
def test_byte_sizes_are_printed_as_keras_prints_them(size: int) -> None:
    from keras.src.utils.summary_utils import readable_memory_size

    from rnnspec.render import readable_bytes

    assert readable_bytes(size) == readable_memory_size(size)
