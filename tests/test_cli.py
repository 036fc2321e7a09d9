"""The CLI through click's runner, and once as the installed entry point in a real subprocess."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnspec.cli import main
from rnnspec.layers import registry

from .conftest import BUNDLED_MODELS, ROOT, SPECS

STACKED = "Embedding(10000,32) > SimpleRNN(32,seq) x3 > SimpleRNN(32)"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_check_bundled_specs_pass() -> None:
    result = run("check", str(SPECS))
    assert result.exit_code == 0, result.output
    assert "ok stacked  output (None, 32)  328,320 params" in result.output
    assert result.output.count(": ok ") == BUNDLED_MODELS == 25


def test_check_expression_reports_output_and_params() -> None:
    result = run("check", "-e", STACKED)
    assert result.exit_code == 0
    assert "<expr>:1: ok model  output (None, 32)  328,320 params" in result.output


def test_errors_are_compiler_style_with_caret_and_hint(tmp_path: Path) -> None:
    spec = tmp_path / "bad.rnn"
    spec.write_text("model broken:\n    Embedding(100, 8)\n    > SimpleRNN(16)\n    > SimpleRNN(16)\n")
    result = run("check", str(spec))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (f"{spec}:4:7: error[E300]: SimpleRNN expects a 3D input (batch, timesteps, features), "
                        "but received (None, 16)")
    assert lines[1] == "   4 |     > SimpleRNN(16)"
    assert lines[2] == " " * 13 + "^" * len("SimpleRNN(16)")
    assert "add `seq` to it" in lines[3] and "'simple_rnn'" in lines[3]


def test_all_errors_of_all_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a.rnn").write_text("model a: LSTM(0)\nmodel b: Dense(3) > Dense(2)\nmodel c: Embedding(9, 2)\n")
    (tmp_path / "b.rnn").write_text("Dense(3")
    result = run("check", str(tmp_path))
    assert result.exit_code == 1
    assert "a.rnn:1:15: error[E203]" in result.output
    assert "a.rnn:2:10: error[E301]" in result.output
    assert "a.rnn:3: ok c  output (None, None, 2)  18 params" in result.output
    assert "b.rnn:1:8: error[E101]" in result.output


def test_missing_path_is_a_usage_error_but_others_are_checked(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope.rnn"), "-e", STACKED)
    assert result.exit_code == 2
    assert "error[E500]: no such file or directory" in result.output
    assert "ok model" in result.output


def test_non_utf8_file_is_an_io_error(tmp_path: Path) -> None:
    spec = tmp_path / "latin1.rnn"
    spec.write_bytes("# caf\xe9\nDense(1)".encode("latin-1"))
    result = run("check", str(spec))
    assert result.exit_code == 2
    assert f"{spec}:1:6: error[E500]: {spec} is not UTF-8 text: byte 0xe9" in result.output


def test_a_name_defined_twice_is_found_across_blocks_parsed_apart(tmp_path: Path) -> None:
    """After a syntax error each block is parsed on its own; the names are still checked over the whole file."""
    spec = tmp_path / "models.rnn"
    spec.write_text("model a: Input(3) > Dense(1)\nmodel b: Input(3) >> Dense(2)\nmodel a: Input(3) > Dense(4)\n")
    result = run("check", str(spec))
    assert "2:20: error[E100]" in result.output
    assert "3:7: error[E208]: a model named 'a' is already defined (line 1)" in result.output


def test_an_unknown_model_name_gets_the_closest_one(tmp_path: Path) -> None:
    spec = tmp_path / "models.rnn"
    spec.write_text("model stacked: Input(5, 3) > LSTM(4)\nmodel textbook: Input(3) > Dense(2)\n")
    result = run("summary", str(spec), "--model", "stakced")
    assert result.exit_code == 2
    assert "did you mean 'stacked'?" in result.output


def test_no_arguments_is_a_usage_error() -> None:
    assert run("check").exit_code == 2


def test_json_format_has_schema_rows_and_error_spans() -> None:
    result = run("check", "--format", "json", "-e", STACKED, "-e", "Input(5, 3) > LSTM(0)")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["schema_version"] == 3 and data["ok"] is False
    good, bad = data["sources"]
    model = good["models"][0]
    assert model["status"] == "ok" and model["total_params"] == 328_320
    assert [layer["type"] for layer in model["layers"]] == ["Embedding"] + ["SimpleRNN"] * 4
    assert model["layers"][-1]["output_shape"] == [None, 32]
    assert model["location"]["line"] == 1
    error = bad["models"][0]["errors"][0]
    assert error["code"] == "E203"
    assert error["span"] == {"path": "<expr>", "line": 1, "column": 20, "end_line": 1, "end_column": 21}


def test_summary_prints_keras_words() -> None:
    result = run("summary", "-e", "Embedding(10000,32) > SimpleRNN(32)")
    assert result.exit_code == 0
    assert "│ simple_rnn (SimpleRNN)" in result.output
    assert " Total params: 322,080 (1.23 MB)" in result.output
    assert " Trainable params: 322,080 (1.23 MB)" in result.output
    assert " Non-trainable params: 0 (0.00 B)" in result.output


def test_summary_picks_a_model_from_a_file() -> None:
    result = run("summary", str(SPECS / "seed.rnn"), "--model", "textbook")
    assert result.exit_code == 0 and 'Model: "textbook"' in result.output
    assert "(None, 100, 64)" in result.output
    missing = run("summary", str(SPECS / "seed.rnn"), "--model", "nope")
    assert missing.exit_code == 2 and "stacked" in missing.output


def test_summary_of_a_wrong_spec_fails_with_the_error() -> None:
    result = run("summary", "-e", "Dense(3)")
    assert result.exit_code == 1 and "error[E301]" in result.output


def test_layers_lists_every_registered_layer_with_defaults() -> None:
    result = run("layers")
    assert result.exit_code == 0
    for name in registry():
        assert f"\n{name}(" in "\n" + result.output
    assert "GRU(units, activation='tanh'" in result.output
    assert "reset_after=true" in result.output
    unknown = run("layers", "LTSM")
    assert unknown.exit_code == 2 and "did you mean 'LSTM'?" in unknown.output


def _entry_point() -> str:
    script = Path(sys.executable).parent / "rnnspec"
    found = str(script) if script.exists() else shutil.which("rnnspec")
    if found is None:
        pytest.fail("the rnnspec entry point is not installed (pip install -e '.[test]')")
    return found


def test_installed_entry_point_checks_specs() -> None:
    proc = subprocess.run([_entry_point(), "check", "specs"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{BUNDLED_MODELS} ok, 0 error(s)" in proc.stdout


def test_check_path_never_imports_tensorflow_keras_or_numpy() -> None:
    code = (
        "import sys\n"
        "from rnnspec.cli import main\n"
        "sys.argv = ['rnnspec', 'check', 'specs', '-e', 'Input(3, 2) > LSTM(4)']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'numpy'})\n"
        "print('HEAVY', heavy, 'EXIT', code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "HEAVY [] EXIT 0" in proc.stdout, proc.stdout + proc.stderr


def test_github_format_prints_annotations(tmp_path: Path) -> None:
    spec = tmp_path / "bad.rnn"
    spec.write_text("model a: Input(5, 3) > LSTM(4) > GRU(2)\nmodel b: Embedding(10, 4)\n")
    result = run("check", "--format", "github", str(spec), str(tmp_path / "missing.rnn"))
    assert result.exit_code == 2
    lines = result.output.splitlines()  # sources in the order given
    assert lines[0].startswith(f"::error file={spec},line=1,col=34,endLine=1,endColumn=40,title=rnnspec E300::"
                               "GRU expects a 3D input")
    assert "(hint: 'lstm' (LSTM, line 1) returns only its last step" in lines[0]
    assert lines[1] == f"::error file={tmp_path / 'missing.rnn'},title=rnnspec E500::no such file or directory: " \
                       f"{tmp_path / 'missing.rnn'}"
    assert not any(": ok " in line for line in lines)


def test_github_annotations_escape_newlines_and_percent() -> None:
    from rnnspec.errors import RnnspecError, Span
    from rnnspec.render import github_annotation

    error = RnnspecError("E100", "50% of\nit", Span("a,b:c.rnn", 1, 2, 1, 3))
    assert github_annotation(error, "x") == \
        "::error file=a%2Cb%3Ac.rnn,line=1,col=2,endLine=1,endColumn=3,title=rnnspec E100::50%25 of%0Ait"


def test_pre_commit_hook_runs_the_check_command() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: rnnspec-check" in text and "entry: rnnspec check" in text and r"files: \.rnn$" in text


def test_warnings_are_reported_and_fail_only_with_strict() -> None:
    spec = "Input(5, 3) > LSTM(4, seq) > Dense(2)"
    relaxed = run("check", "-e", spec)
    assert relaxed.exit_code == 0
    assert "<expr>:1:30: warning[W100]: 'lstm' returns every step (seq)" in relaxed.output
    assert "1 ok, 0 error(s), 1 warning(s)" in relaxed.output
    assert run("check", "--strict", "-e", spec).exit_code == 1
    data = json.loads(run("check", "--format", "json", "--strict", "-e", spec).output)
    assert data["ok"] is False and data["sources"][0]["models"][0]["warnings"][0]["code"] == "W100"
    github = run("check", "--format", "github", "-e", spec).output
    assert github.startswith("::warning file=<expr>,line=1,col=30")


def test_a_syntax_error_costs_only_its_model_block(tmp_path: Path) -> None:
    spec = tmp_path / "multi.rnn"
    spec.write_text("model a: Input(3) > Dense(2\nmodel b: Input(3) > Dense(2)\n"
                    "model c: Input(3) >> Dense(1)\nmodel d: Embedding(5, 2)\n")
    result = run("check", str(spec))
    assert result.exit_code == 1
    assert f"{spec}:1:28: error[E101]" in result.output and f"{spec}:3:20: error[E100]" in result.output
    assert f"{spec}:2: ok b" in result.output and f"{spec}:4: ok d" in result.output
    assert "2 ok, 2 error(s)" in result.output
