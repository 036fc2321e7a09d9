"""The CLI against odd inputs: it refuses what the API refuses, reads only regular files, walks any tree, prints
safely to any output, validates every option, and runs as `python -m rnnspec` without importing from the working
directory. Each test fails on the code before issue 9."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.lib import format as npy

from rnnspec import cli
from rnnspec.cli import main

from .conftest import BUNDLED_MODELS, ROOT, SPECS

GOOD = "Input(3) > Dense(1)\n"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def entry_point() -> str:
    return str(Path(sys.executable).parent / "rnnspec")


def shell(*argv: str, cwd: Path = ROOT, **options) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, timeout=60, env=options.pop("env", ENV),
                          **options)


# ------------------------------------------------------------------ the CLI refuses what the API refuses


def test_compile_for_keras_refuses_a_model_too_large_to_build(tmp_path: Path) -> None:
    target = tmp_path / "big.keras"
    result = run("compile", "-e", "Input(5, 3) > LSTM(8, seq) x 20000", "-o", str(target))
    assert result.exit_code == 1 and "error[E502]" in result.output and "20,000 layers" in result.output
    assert not target.exists()


def test_compile_for_keras_refuses_weights_too_large_to_allocate(tmp_path: Path) -> None:
    target = tmp_path / "wide.keras"
    result = run("compile", "-e", "Input(100000) > Dense(100000)", "-o", str(target))
    assert result.exit_code == 1 and "error[E503]" in result.output and "Traceback" not in result.output
    assert not target.exists()


def test_run_shows_a_model_too_large_to_allocate_compiler_style() -> None:
    result = run("run", "-e", "Input(100000) > Dense(100000)", "--random", "1")
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith("<expr>:1:1: error[E503]") and "^^^" in result.output


def test_a_syntax_error_counts_as_a_failing_model_in_text_and_json() -> None:
    text = run("check", "-e", "Input(3) >> Dense(1)")
    assert "checked 1 model(s) in 1 source(s): 0 ok, 1 error(s)" in text.output
    data = json.loads(run("check", "--format", "json", "-e", "Input(3) >> Dense(1)").output)
    (source,) = data["sources"]
    assert source["errors"] == [] and source["models"][0]["status"] == "error"
    assert source["models"][0]["errors"][0]["code"] == "E100"


# ------------------------------------------------------------------ files and directories


def test_an_empty_path_is_refused() -> None:
    result = run("check", "")
    assert result.exit_code == 2 and "a path is empty" in result.output
    assert run("summary", "").exit_code == 2


def test_a_directory_that_cannot_be_read_is_reported_at_any_depth(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "locked").mkdir(parents=True)
    (tmp_path / "a" / "good.rnn").write_text(GOOD)
    (tmp_path / "a" / "locked" / "hidden.rnn").write_text(GOOD)
    real_scandir = os.scandir

    def scandir(path):  # root reads any directory, so the refusal is simulated
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run("check", str(tmp_path))
    assert result.exit_code == 2
    assert f"error[E500]: cannot read directory {tmp_path / 'a' / 'locked'}: Permission denied" in result.output
    assert "good.rnn:1: ok model" in result.output and "hidden" not in result.output


def test_a_fifo_named_or_found_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "named.rnn")
    (tmp_path / "tree").mkdir()
    os.mkfifo(tmp_path / "tree" / "found.rnn")
    os.mkfifo(tmp_path / "tree" / "ignored.txt")
    (tmp_path / "tree" / "ok.rnn").write_text(GOOD)
    proc = shell(entry_point(), "check", "named.rnn", "tree", "/dev/zero", cwd=tmp_path, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "error[E500]: named.rnn is not a regular file" in proc.stdout
    assert "error[E500]: tree/found.rnn is not a regular file" in proc.stdout
    assert "error[E500]: /dev/zero is not a regular file" in proc.stdout
    assert "tree/ok.rnn:1: ok model" in proc.stdout and "ignored" not in proc.stdout
    x = shell(entry_point(), "run", "-e", GOOD, "--input", "named.rnn", cwd=tmp_path, text=True)
    assert x.returncode == 2 and "not a regular file" in x.stdout


def test_a_deep_tree_is_walked_without_recursion(tmp_path: Path) -> None:
    deep = tmp_path
    for _ in range(1200):
        deep = deep / "d"
        deep.mkdir()  # not mkdir(parents=True), which recurses itself
    (deep / "bottom.rnn").write_text(GOOD)
    try:
        result = run("check", str(tmp_path))
    finally:  # from the bottom up: shutil.rmtree, which pytest cleans up with, recurses too
        (deep / "bottom.rnn").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent
    assert result.exit_code == 0, result.output
    assert "bottom.rnn:1: ok model" in result.output


def test_symlinked_directories_are_not_entered_and_symlinked_files_are_checked(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.rnn").write_text(GOOD)
    (tmp_path / "real" / "loop").symlink_to(tmp_path)  # a cycle, if it were followed
    (tmp_path / "link.rnn").symlink_to(tmp_path / "real" / "a.rnn")
    (tmp_path / "dangling.rnn").symlink_to(tmp_path / "nowhere.rnn")
    result = run("check", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.count(": ok model") == 2  # real/a.rnn and link.rnn, once each
    assert "dangling.rnn" in result.output and "error[E500]" in result.output
    named = run("check", str(tmp_path / "real" / "loop" / "real"))  # a link named on the command line is followed
    assert named.exit_code == 0 and named.output.count(": ok model") == 1


def test_files_are_checked_in_sorted_path_order(tmp_path: Path) -> None:
    for name in ("b.rnn", "a/z.rnn", "a.rnn", "a/b/c.rnn"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(GOOD)
    lines = [line.split(":")[0] for line in run("check", str(tmp_path)).output.splitlines()[:-1]]
    assert lines == [str(p) for p in sorted(tmp_path.rglob("*.rnn"))]


# ------------------------------------------------------------------ output


def test_a_full_disk_is_reported_on_stderr_with_exit_2() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([entry_point(), "check", "specs"], cwd=ROOT, stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == "error[E500]: cannot write the output: No space left on device\n"


def test_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen([entry_point(), "check", "--max-errors", "0", "-e", "".join(f"model m{i}: Input(3) > Dense(0)\n" for i in range(3000))],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    assert proc.wait(timeout=60) == 2
    assert proc.stderr.read() == b""


def test_closed_standard_output_is_a_write_error() -> None:
    proc = subprocess.run([entry_point(), "check", "-e", GOOD], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=60, preexec_fn=lambda: os.close(1))
    assert proc.returncode == 2 and "standard output is closed" in proc.stderr


def test_a_console_that_cannot_encode_a_character_gets_an_escape(tmp_path: Path) -> None:
    spec = tmp_path / "u.rnn"
    spec.write_text("Input(3) > Dense(0)  # \u2211 caf\u00e9\n", encoding="utf-8")
    proc = shell(entry_point(), "check", str(spec), env={**ENV, "PYTHONIOENCODING": "cp1252"})
    assert proc.returncode == 1, proc.stderr
    assert "\\u2211 caf\u00e9".encode("cp1252") in proc.stdout and b"Traceback" not in proc.stderr


def test_control_characters_are_escaped_in_text_and_github_output(tmp_path: Path) -> None:
    spec = tmp_path / "esc\x1b[2J.rnn"
    spec.write_text('Input(3) > Dense(2, activation="\x1b[31mred")  # \x1b]0;owned\x07 \u202e\n')
    for fmt in ("text", "github"):
        result = run("check", "--format", fmt, str(spec))
        assert result.exit_code == 1
        assert "\x1b" not in result.output and "\x07" not in result.output and "\u202e" not in result.output
        assert "\\x1b[31mred" in result.output and "esc\\x1b[2J.rnn" in result.output
    lines = run("check", str(spec)).output.splitlines()
    assert lines[1] == '   1 | Input(3) > Dense(2, activation="\\x1b[31mred")  # \\x1b]0;owned\\x07 \\u202e'
    assert lines[2].index("^") == lines[1].index('"\\x1b') and lines[2].count("^") == len('"\\x1b[31mred"')


def test_the_source_line_is_found_by_newlines_only() -> None:
    """A form feed or a line separator inside a comment is not a line break for the parser, nor for the output."""
    result = run("check", "-e", "# a\x0cb\u2028c\nInput(3) > Dense(0)")
    assert "<expr>:2:18: error[E203]" in result.output
    assert "   2 | Input(3) > Dense(0)" in result.output


def test_errors_per_file_are_capped_but_all_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "many.rnn"
    spec.write_text("".join(f"model m{i}: Input(3) > Dense(0)\n" for i in range(150)) +
                    "model w: Input(5, 3) > LSTM(4, seq) > Dense(2)\n")
    splits = []
    monkeypatch.setattr(cli, "source_lines", lambda source: splits.append(1) or source.split("\n"))
    capped = run("check", str(spec))
    assert capped.exit_code == 1 and capped.output.count("error[E203]") == 100
    assert f"{spec}: 50 more error(s) and 1 more warning(s) not shown (--max-errors 0 shows all)" in capped.output
    assert "checked 151 model(s) in 1 source(s): 1 ok, 150 error(s), 1 warning(s)" in capped.output
    assert len(splits) == 1  # the source is split into lines once, not once per error
    everything = run("check", "--max-errors", "0", str(spec))
    assert everything.output.count("error[E203]") == 150 and "not shown" not in everything.output
    github = run("check", "--format", "github", "--max-errors", "3", str(spec))
    assert github.output.count("::error") == 3 and "147 more error(s)" in github.output
    assert run("check", "--max-errors", "-1", str(spec)).exit_code == 2


def test_json_is_written_source_by_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a.rnn", "b.rnn", "c.rnn"):
        (tmp_path / name).write_text(GOOD)
    written_before = []
    read_spec = cli.read_spec

    def recording(path, allow=frozenset()):
        sys.stdout.flush()
        written_before.append(sys.stdout.buffer.getvalue().decode().count('"models"'))
        return read_spec(path, allow)

    monkeypatch.setattr(cli, "read_spec", recording)
    result = run("check", "--format", "json", str(tmp_path), "-e", "Input(3) >> Dense(1)")
    assert written_before == [0, 1, 2]  # each source printed before the next is read
    data = json.loads(result.output)
    assert list(data) == ["schema_version", "sources", "ok"] and data["ok"] is False
    assert [s["path"] for s in data["sources"]] == [str(tmp_path / n) for n in ("a.rnn", "b.rnn", "c.rnn")] + ["<expr>"]
    empty = json.loads(run("check", "--format", "json", str(tmp_path / "none")).output)
    assert empty["ok"] is False and empty["sources"][0]["errors"][0]["code"] == "E500"


# ------------------------------------------------------------------ allowed warnings


def test_allow_comments_and_the_allow_option() -> None:
    spec = "Embedding(96, 32) > GRU(128, seq) > Dense(96, activation=softmax)"
    assert run("check", "--strict", "-e", spec).exit_code == 1
    assert run("check", "--strict", "-e", spec + "  # rnnspec: allow W100").exit_code == 0
    allowed = run("check", "--strict", "--allow", "W101", "--allow", "W100", "-e", spec)
    assert allowed.exit_code == 0 and "0 warning(s)" in allowed.output
    unknown = run("check", "--allow", "W10", "-e", spec)
    assert unknown.exit_code == 2 and "cannot allow 'W10'" in unknown.output and "did you mean" in unknown.output
    located = run("check", "-e", spec + "  # rnnspec: allow W999")
    assert located.exit_code == 1 and "<expr>:1:" in located.output and "error[E211]: cannot allow 'W999'" in \
        located.output


# ------------------------------------------------------------------ options


@pytest.mark.parametrize("argv, message", [
    (["run", "-e", "Input(5, 3) > LSTM(4)", "--random", "2", "--batch-size", "0"], "'--batch-size': 0 is not in"),
    (["run", "-e", "Input(5, 3) > LSTM(4)", "--random", "2", "--seed", "-1"], "'--seed': -1 is not in"),
    (["compile", "-e", "Input(5, 3) > LSTM(4)", "--backend", "numpy", "-o", "m.npz", "--seed", "-1"], "'--seed'"),
    (["run", "-e", "Input(5, 3) > LSTM(4)", "--random", "100000000000"], "error[E503]: the --random input"),
    (["run", "-e", "Input(None, 3) > LSTM(4)", "--random", "100000,100000"], "error[E503]"),
    (["run", "-e", "Input(5, 3) > LSTM(4)", "--random", "2", "-o", "y.txt"], "ending in .npy"),
])
def test_bad_options_are_usage_errors(argv: list[str], message: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*argv)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not list(tmp_path.iterdir())


def _npy_header(path: Path, shape: tuple[int, ...], descr: str = "<f4", data: bytes = b"") -> Path:
    with path.open("wb") as file:
        npy.write_array_header_1_0(file, {"descr": descr, "fortran_order": False, "shape": shape})
        file.write(data)
    return path


def test_an_input_file_is_checked_from_its_header_before_it_is_read(tmp_path: Path) -> None:
    spec = "Input(5, 3) > LSTM(4)"
    huge = _npy_header(tmp_path / "huge.npy", (10**6, 10**6, 3))
    short = _npy_header(tmp_path / "short.npy", (2, 5, 3), data=b"123")
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    words = tmp_path / "words.npy"
    np.save(words, np.array([["a"] * 3] * 5))
    for path, message in ((huge, "error[E503]: the array in"), (short, "is cut short"),
                          (objects, "holds object values"), (words, "holds <U1 values")):
        result = run("run", "-e", spec, "--input", str(path))
        assert result.exit_code == 2 and message in result.output, result.output


def test_an_input_file_gives_what_numpy_load_gives(tmp_path: Path) -> None:
    x = np.asfortranarray(np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32))
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", x=x)
    outputs = []
    for name in ("x.npy", "x.npz"):
        result = run("run", "-e", "Input(5, 3) > LSTM(4)", "--input", str(tmp_path / name), "-o",
                     str(tmp_path / f"y-{name}.npy"))
        assert result.exit_code == 0, result.output
        outputs.append(np.load(tmp_path / f"y-{name}.npy"))
    import rnnspec

    expected = rnnspec.compile("Input(5, 3) > LSTM(4)", backend="numpy").predict(np.load(tmp_path / "x.npy"))
    np.testing.assert_array_equal(outputs[0], expected)
    np.testing.assert_array_equal(outputs[1], expected)


def test_random_ids_fit_a_narrow_integer_input() -> None:
    result = run("run", "-e", "Input(5, dtype=int8) > Embedding(1000, 4) > LSTM(2)", "--random", "3")
    assert result.exit_code == 0 and "input (3, 5) int8" in result.output, result.output


# ------------------------------------------------------------------ python -m, and the working directory


def _plant(directory: Path) -> None:
    for module in ("click", "lark", "numpy"):
        (directory / f"{module}.py").write_text(f"open({str(directory / 'PLANTED')!r}, 'a').write('{module}\\n')\n"
                                                "raise SystemExit(99)\n")


@pytest.mark.parametrize("argv", [[sys.executable, "-m", "rnnspec"], [sys.executable, "-m", "rnnspec.cli"],
                                  [entry_point()]])
def test_every_way_to_start_the_cli_runs_it_and_imports_nothing_from_the_working_directory(
        argv: list[str], tmp_path: Path) -> None:
    _plant(tmp_path)
    (tmp_path / "bad.rnn").write_text("Input(3) > Dense(0)\n")
    bad = shell(*argv, "check", "bad.rnn", cwd=tmp_path, text=True)
    assert bad.returncode == 1 and "bad.rnn:1:18: error[E203]" in bad.stdout, bad.stdout + bad.stderr
    good = shell(*argv, "check", str(SPECS), cwd=tmp_path, text=True)
    assert good.returncode == 0 and f"{BUNDLED_MODELS} ok" in good.stdout
    ran = shell(*argv, "run", "-e", "Input(5, 3) > LSTM(2)", "--random", "1", cwd=tmp_path, text=True)
    assert ran.returncode == 0 and "output (1, 2) float32" in ran.stdout, ran.stdout + ran.stderr
    assert not (tmp_path / "PLANTED").exists(), (tmp_path / "PLANTED").read_text()
