"""The public API: what `check` promises (errors in the reports, a file read as the CLI reads it), keyword-only
arguments, allowed warnings, and an `import rnnspec` that imports nothing until a name is used."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rnnspec
from rnnspec.allow import allow_comments
from rnnspec.errors import RnnspecError

from .conftest import ROOT, SPECS

CHAR_RNN = "Embedding(96, 32) > GRU(128, seq) > Dense(96, activation=softmax)"


def codes(reports: list[rnnspec.ModelReport]) -> list[tuple[str, list[str], list[str]]]:
    return [(r.name, [e.code for e in r.errors], [w.code for w in r.warnings]) for r in reports]


def test_a_syntax_error_is_in_its_models_report_not_raised() -> None:
    (report,) = rnnspec.check("Input(3) > Dense(10) >> Dense(2)", path="bad.rnn")
    assert report.name == "model" and not report.ok
    assert [(e.code, e.span[:3]) for e in report.errors] == [("E100", ("bad.rnn", 1, 23))]


def test_broken_blocks_are_reports_of_their_names_in_source_order() -> None:
    text = "model a: Input(3) > Dense(2\nmodel b: Input(3) > Dense(2)\nmodel c: Input(3) >> Dense(1)\n"
    assert codes(rnnspec.check(text)) == [("a", ["E101"], []), ("b", [], []), ("c", ["E100"], [])]


def test_limits_are_reported_too() -> None:
    deep = "Input(3) >\n" + "(" * 5000 + "Dense(1)" + ")" * 5000
    assert codes(rnnspec.check(deep)) == [("model", ["E103"], [])]


def test_a_path_is_read_as_the_cli_reads_it(tmp_path: Path) -> None:
    assert codes(rnnspec.check(SPECS / "seed.rnn")) == codes(rnnspec.check((SPECS / "seed.rnn").read_text()))
    assert rnnspec.check(SPECS / "seed.rnn")[0].span.path == str(SPECS / "seed.rnn")
    latin = tmp_path / "latin.rnn"
    latin.write_bytes("# caf\xe9\nInput(3) > Dense(1)".encode("latin-1"))
    with pytest.raises(RnnspecError) as err:
        rnnspec.check(latin)
    assert err.value.code == "E500" and "not UTF-8" in err.value.message and err.value.span.line == 1
    big = tmp_path / "big.rnn"
    big.write_bytes(b"#" * (1 << 20) + b"\n")
    with pytest.raises(RnnspecError) as err:
        rnnspec.check(big)
    assert err.value.code == "E104"
    with pytest.raises(RnnspecError) as err:
        rnnspec.check(tmp_path / "missing.rnn")
    assert err.value.code == "E500"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.rnn"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(RnnspecError) as err:
        rnnspec.check(fifo)
    assert err.value.code == "E500" and "not a regular file" in err.value.message
    assert time.perf_counter() - start < 5


def test_arguments_after_the_source_are_keyword_only() -> None:
    text = "model a: Input(3) > Dense(1)\nmodel b: Input(3) > Dense(2)"
    with pytest.raises(TypeError):
        rnnspec.check(text, "a.rnn")  # type: ignore[misc]
    with pytest.raises(TypeError):
        rnnspec.select(text, "a")  # type: ignore[misc]
    with pytest.raises(TypeError):
        rnnspec.compile(text, "numpy")  # type: ignore[misc]
    assert rnnspec.select(text, model="b", path="a.rnn").span.path == "a.rnn"
    with pytest.raises(TypeError):
        rnnspec.check(b"Input(3) > Dense(1)")  # type: ignore[arg-type]


def test_allow_drops_a_warning_for_the_run() -> None:
    assert codes(rnnspec.check(CHAR_RNN)) == [("model", [], ["W100"])]
    assert codes(rnnspec.check(CHAR_RNN, allow=("W100",))) == [("model", [], [])]
    assert codes(rnnspec.check(CHAR_RNN, allow="W100")) == [("model", [], [])]
    with pytest.raises(RnnspecError) as err:
        rnnspec.check(CHAR_RNN, allow=("W10",))
    assert err.value.code == "E211" and "W10" in err.value.message and "W100" in (err.value.hint or "")
    with pytest.raises(RnnspecError) as err:
        rnnspec.check(CHAR_RNN, allow=("E300",))
    assert "only warnings" in err.value.message


def test_an_allow_comment_applies_to_its_line_only() -> None:
    text = ("model a:\n    Input(5, 3) > LSTM(4, seq)\n    > Dense(2)  # rnnspec: allow W100 (per step on purpose)\n"
            "model b: Input(5, 3) > LSTM(4, seq) > Dense(2)\n"
            "model c: Input(5, 3) > LSTM(4, seq) > Dense(2) #rnnspec:allow W103,W100\n")
    assert codes(rnnspec.check(text)) == [("a", [], []), ("b", [], ["W100"]), ("c", [], [])]


def test_an_unknown_code_in_an_allow_comment_is_a_located_error() -> None:
    text = ("model a: Input(5, 3) > LSTM(4, seq) > Dense(2)  # rnnspec: allow W10O\n"
            "# rnnspec: allow\n"
            "model b: Input(3) > Dense(2)  # rnnspec: allow E300, W101\n")
    a, b = rnnspec.check(text, path="m.rnn")
    lines = text.splitlines()
    assert [(e.code, e.span[1:3]) for e in a.errors] == [("E211", (1, lines[0].index("W10O") + 1))]
    hint = a.errors[0].hint or ""
    assert hint.startswith("did you mean 'W1") and "W100" in hint and [w.code for w in a.warnings] == ["W100"]
    assert [(e.code, e.span[1:3]) for e in b.errors] == [("E211", (2, 1)), ("E211", (3, lines[2].index("E300") + 1))]
    assert "names no warning" in b.errors[0].message and "only warnings" in b.errors[1].message


def test_scanning_allow_comments_is_linear() -> None:
    def seconds(lines: int) -> float:
        text = "Input(3) > Dense(1)  # rnnspec: allow W100, W101 because\n" * lines
        start = time.perf_counter()
        by_line, errors = allow_comments(text, "f.rnn")
        assert len(by_line) == lines and not errors
        return time.perf_counter() - start

    seconds(2_000)  # warm up
    small, large = min(seconds(10_000) for _ in range(3)), min(seconds(40_000) for _ in range(3))
    assert large < 4 * small * 2.5, (small, large)  # 4x the input: linear is 4x, quadratic 16x


def test_import_rnnspec_imports_nothing_until_a_name_is_used() -> None:
    code = ("import sys, rnnspec\n"
            "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('lark', 'click', 'numpy')))\n"
            "print(sorted(n for n in rnnspec.__all__ if not hasattr(rnnspec, n)))\n"
            "print(rnnspec.check('Input(3) > Dense(2)')[0].total, 'check' in dir(rnnspec))\n"
            "from rnnspec import *\nprint(RnnspecError.__name__, Row.__name__)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.stdout.splitlines() == ["[]", "[]", "8 True", "RnnspecError Row"], proc.stderr
    with pytest.raises(AttributeError):
        rnnspec.nothing_here  # noqa: B018
