"""Golden files: what `rnnspec check` prints for one bad input per error code, in text, JSON and GitHub form.

Messages, spans, hints and exit codes are the interface CI logs and editors read; a golden file turns any change
to them into a reviewable diff. The bad inputs are the "bad" column of docs/errors.md plus `SPECIAL` below.
After a deliberate change, or a new code with its bad example in docs/errors.md, regenerate with

    RNNSPEC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py
"""
from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from rnnspec.cli import main
from rnnspec.errors import CODES

from .test_docs import BAD_EXAMPLES

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("RNNSPEC_UPDATE_GOLDEN") == "1"
HOW_TO_UPDATE = "RNNSPEC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py"
FORMATS = ("text", "json", "github")
SUFFIX = {"text": ".txt", "json": ".json", "github": ".github"}


@dataclass(frozen=True)
class Case:
    """One bad input: files written into an empty directory, and the command run there."""

    code: str
    files: dict[str, bytes]
    command: tuple[str, ...]

    @property
    def formats(self) -> tuple[str, ...]:
        """Only `check` has --format; other commands print text."""
        return FORMATS if self.command[0] == "check" else ("text",)

    def argv(self, fmt: str) -> list[str]:
        return [*self.command, "--format", fmt] if self.command[0] == "check" else list(self.command)


def spec_case(code: str, spec: str) -> Case:
    """The usual case: the spec saved as `<CODE>.rnn` and checked."""
    return Case(code, {f"{code}.rnn": f"{spec}\n".encode()}, ("check", f"{code}.rnn"))


def _npy(shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(shape, dtype=np.float32))
    return buffer.getvalue()


_INPUT = {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "dtype": "float32", "name": "x"}}


def _dense(**config: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2, **config}}


def _keras_config(*layers: dict[str, Any]) -> bytes:
    """A Sequential model's config.json, as `model.to_json()` writes it (only what the reader needs)."""
    return json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": list(layers)}}).encode()


def _keras_zip(config: bytes, shapes: list[tuple[int, ...]]) -> bytes:
    """A .keras archive: config.json and a model.weights.h5 holding the Dense's variables in these shapes."""
    import zipfile

    import h5py

    weights = io.BytesIO()
    with h5py.File(weights, "w") as handle:
        group = handle.create_group("layers/dense/vars")
        for index, shape in enumerate(shapes):
            group.create_dataset(str(index), data=np.zeros(shape, "float32"))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("config.json", config)
        zipped.writestr("model.weights.h5", weights.getvalue())
    return archive.getvalue()


# Codes whose "bad" cell in docs/errors.md is not a spec to check (or too long to be one).
SPECIAL: dict[str, Case] = {
    "E103": spec_case("E103", "Input(3) >\n" + "(" * 101 + "Dense(1)" + ")" * 101),
    "E104": spec_case("E104", "Input(3) > Dense(1)\n" + "#" * (1 << 20)),
    "E208": spec_case("E208", "model a:\n    Input(3) > Dense(1)\n\nmodel a:\n    Input(3) > Dense(2)"),
    "E210": Case("E210", {"E210.rnn": b"model stacked: Input(5, 3) > LSTM(4)\nmodel textbook: Input(3) > Dense(2)\n"},
                 ("summary", "E210.rnn", "--model", "stakced")),
    # Both ways a path fails: it does not exist, and it is not UTF-8 (the other file is still read).
    "E500": Case("E500", {"E500.rnn": "# café\nInput(3) > Dense(1)\n".encode("latin-1")},
                 ("check", "missing.rnn", "E500.rnn")),
    # `check` never builds a model and `compile --backend` is a click choice, so the honest CLI trigger without
    # uninstalling Keras is `run` with an input that does not fit the model.
    "E501": Case("E501", {"E501.rnn": b"Input(3) > Dense(2)\n", "x.npy": _npy((2, 4))},
                 ("run", "E501.rnn", "--input", "x.npy")),
    "E502": Case("E502", {"E502.rnn": b"Input(5, 3) > LSTM(8, seq) x 100000\n"},
                 ("run", "E502.rnn", "--random", "2,5")),
    # 40 GB of weights: refused before any is drawn
    "E503": Case("E503", {"E503.rnn": b"Input(100000) > Dense(100000)\n"}, ("run", "E503.rnn", "--random", "1")),
    # from-keras: a small saved model per code, written here (no Keras needed to read or write them)
    "E510": Case("E510", {"model.json": _keras_config(_INPUT, {"class_name": "Lambda", "config": {
        "name": "double", "function": {"class_name": "__lambda__", "config": {"code": "..."}}}})},
        ("from-keras", "model.json")),
    "E511": Case("E511", {"model.json": _keras_config(_INPUT, _dense(sparkle=True))}, ("from-keras", "model.json")),
    "E512": Case("E512", {"model.json": json.dumps({"module": "my_models", "class_name": "Translator",
                                                     "config": {"name": "translator"}}).encode()},
                 ("from-keras", "model.json")),
    "E513": Case("E513", {"model.keras": b"PK\x03\x04 not a whole zip"}, ("from-keras", "model.keras")),
    "E514": Case("E514", {"model.keras": _keras_zip(_keras_config(_INPUT, _dense()), [(4, 2), (2,)])},
                 ("from-keras", "model.keras")),
    "E520": Case("E520", {"E520.rnn": b"Input(5, 3)  >LSTM(4, seq) > Dense(2)\n"}, ("fmt", "--check", "E520.rnn")),
}
CASES: dict[str, Case] = {**{code: spec_case(code, spec) for code, spec in BAD_EXAMPLES}, **SPECIAL}


def run_case(case: Case, fmt: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    """Run in a directory holding only the case's files, so paths in the output are short and stable."""
    for name, data in case.files.items():
        (root / name).write_bytes(data)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, case.argv(fmt))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash must not become a golden file
    return result


def normalise(output: str, root: Path) -> str:
    """Drop what differs between runs: the temporary directory (should a path ever be printed absolute)."""
    for form in {str(root.resolve()), str(root)}:
        output = output.replace(form, "<tmp>")
    return output


def golden_text(case: Case, fmt: str, result: Result, root: Path) -> str:
    """The golden file's content; text output carries the command and exit code in a two-line header."""
    output = normalise(result.output, root)
    if fmt == "json":
        return json.dumps(json.loads(output), indent=2, sort_keys=True) + "\n"
    if fmt == "text":
        return f"# $ rnnspec {' '.join(case.argv(fmt))}\n# exit {result.exit_code}\n{output}"
    return output


def codes_in(data: Any) -> set[str]:
    """Every `"code"` anywhere in a JSON report (source errors, model errors and warnings)."""
    if isinstance(data, dict):
        own = {data["code"]} if isinstance(data.get("code"), str) else set()
        return own.union(*(codes_in(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(codes_in(v) for v in data))
    return set()


def assert_has_own_code(code: str, fmt: str, text: str) -> None:
    """A regenerated golden file must still show the error it exists for."""
    if fmt == "json":
        assert code in codes_in(json.loads(text)), f"no {code} in the JSON output"
    else:
        marker = f"[{code}]" if fmt == "text" else f"title=rnnspec {code}"
        assert marker in text, f"no {marker} in the {fmt} output"


def recorded_exit(code: str) -> int:
    """The exit code in the header of the case's .txt golden file."""
    match = re.search(r"^# exit (\d+)$", (GOLDEN / f"{code}.txt").read_text(), re.M)
    assert match, f"{code}.txt has no '# exit N' line"
    return int(match.group(1))


def expected_files() -> set[str]:
    return {f"{case.code}{SUFFIX[fmt]}" for case in CASES.values() for fmt in case.formats}


@pytest.mark.parametrize(("code", "fmt"), [(c.code, fmt) for c in CASES.values() for fmt in c.formats])
def test_output_matches_golden(code: str, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[code]
    result = run_case(case, fmt, tmp_path, monkeypatch)
    actual = golden_text(case, fmt, result, tmp_path)
    assert_has_own_code(code, fmt, actual)
    path = GOLDEN / f"{code}{SUFFIX[fmt]}"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual)
        return
    if not path.exists():
        pytest.fail(f"missing golden file {path.relative_to(GOLDEN.parent.parent)}; create it with: {HOW_TO_UPDATE}")
    expected = path.read_text()
    if fmt == "json":
        assert json.loads(actual) == json.loads(expected), f"{path.name} differs; if intended: {HOW_TO_UPDATE}"
    else:
        assert actual == expected, f"{path.name} differs; if intended: {HOW_TO_UPDATE}"
    if fmt != "text":
        assert result.exit_code == recorded_exit(code), f"--format {fmt} exits differently from --format text"


def test_strict_fails_on_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The W goldens record the default exit 0; --strict must turn the same warning into exit 1."""
    case = CASES["W100"]
    strict = Case(case.code, case.files, (*case.command, "--strict"))
    assert run_case(strict, "text", tmp_path, monkeypatch).exit_code == 1


def test_every_code_has_a_case() -> None:
    missing = sorted(set(CODES) - set(CASES))
    assert not missing, (f"no golden case for {missing}: in docs/errors.md put a bad spec and its fix in backticks "
                         "(the row tests/test_docs.py reads), or add the case to SPECIAL in tests/test_golden.py")
    assert set(CASES) <= set(CODES), f"cases for codes that do not exist: {sorted(set(CASES) - set(CODES))}"


def test_every_case_has_its_golden_files() -> None:
    present = {p.name for p in GOLDEN.glob("*")} if GOLDEN.is_dir() else set()
    missing = sorted(expected_files() - present)
    assert not missing, f"missing golden files {missing}; create them with: {HOW_TO_UPDATE}"


def test_no_golden_file_is_orphaned() -> None:
    """A golden file for a removed code (or a format its case lacks) would be stale forever; update deletes it."""
    orphans = sorted(p for p in GOLDEN.glob("*") if p.name not in expected_files())
    if UPDATE:
        for path in orphans:
            path.unlink()
        return
    assert not orphans, f"golden files without a case: {[p.name for p in orphans]}; remove them with: {HOW_TO_UPDATE}"
