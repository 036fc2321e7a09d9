"""`rnnspec check --update/--diff`: assertions rewritten from what is inferred, everything else byte for byte."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

import rnnspec
from rnnspec.cli import main
from rnnspec.errors import RnnspecError
from rnnspec.update import update_spec

from .conftest import ROOT, SPECS


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def assert_current(text: str) -> None:
    """Every model checks and a second update changes nothing."""
    assert all(r.ok for r in rnnspec.check(text)), [e.message for r in rnnspec.check(text) for e in r.errors]
    assert update_spec(text).text == text


def test_a_one_line_spec_gets_shape_and_params_on_lines_of_their_own() -> None:
    update = update_spec("Input(5, 3) > LSTM(4, seq) > Dense(2)")
    assert update.text == "Input(5, 3) > LSTM(4, seq) > Dense(2)\nexpect shape (None, 5, 2)\nexpect params 138\n"
    assert update.updated == ["model"] and not update.skipped
    assert_current(update.text)


def test_stale_values_are_refreshed_and_nothing_else_moves() -> None:
    text = ("# head\n"
            "model a:   # stays\n"
            "    Input(5, 3) > LSTM(4) :  (None, 5, 4)   # note\n"
            "\n"
            "    expect shape (None, 5, 4)\n"
            "    expect params 1  # stale\n"
            "    expect trainable 128\n"
            "\n\n"
            "model b:\n"
            "  Input(3)>Dense(2)\n"
            "  expect shape (None, 2)\n"
            "  expect params 8\n")
    update = update_spec(text)
    assert update.text == text.replace("(None, 5, 4)   #", "(None, 4)   #").replace(
        "shape (None, 5, 4)", "shape (None, 4)").replace("params 1  #", "params 128  #")
    assert update.updated == ["a"]
    assert_current(update.text)


def test_missing_lines_follow_the_models_indentation_and_line_ends() -> None:
    text = "model a:\r\n  Input(3) > Dense(2)  # head\r\n  expect trainable 1\r\nmodel b: Input(4) > Dense(1)\r\n"
    update = update_spec(text)
    assert update.text == ("model a:\r\n  Input(3) > Dense(2)  # head\r\n  expect shape (None, 2)\r\n"
                           "  expect trainable 8\r\n  expect params 8\r\n"
                           "model b: Input(4) > Dense(1)\r\n    expect shape (None, 1)\r\n    expect params 5\r\n")
    assert_current(update.text)


def test_non_trainable_is_refreshed_where_written_but_not_added() -> None:
    text = "Input(8) > BatchNormalization > Dense(2)\n"
    assert "non_trainable" not in update_spec(text).text
    written = update_spec(text + "expect non_trainable 0\n").text
    assert "expect non_trainable 16\n" in written
    assert_current(written)


def test_functional_notes_and_several_outputs() -> None:
    text = ("x = Input(5, 3)\n"
            "y, h = x > GRU(4, seq, state) : ((None, 5, 3), (None, 3))\n"
            "output y, h\n"
            "expect shape (None, 4)\n")
    update = update_spec(text)
    assert ": ((None, 5, 4), (None, 4))\n" in update.text
    assert "expect shape ((None, 5, 4), (None, 4))\n" in update.text and "expect params " in update.text
    assert_current(update.text)


def test_a_note_inside_a_repeat() -> None:
    update = update_spec("Input(5, 3) > (LSTM(4, seq) : (None, 5, 3)) x2 > Dense(1)\n")
    assert update.text.startswith("Input(5, 3) > (LSTM(4, seq) : (None, 5, 4)) x2 > Dense(1)\n")
    assert_current(update.text)


def test_models_with_other_errors_are_left_and_reported() -> None:
    text = "model a:\n    Input(3) > Dense(2, foo=1)\n    expect params 1\n\nmodel b:\n    Input(3) > Dense(2)\n"
    update = update_spec(text)
    assert [(s.name, [e.code for e in s.errors]) for s in update.skipped] == [("a", ["E201"])]
    assert update.text == text + "    expect shape (None, 2)\n    expect params 8\n"


def test_a_file_that_does_not_parse_is_refused() -> None:
    try:
        update_spec("Input(3) > > Dense(2)\n")
    except RnnspecError as err:
        assert err.code == "E100"
    else:
        raise AssertionError("no error")


def test_a_cost_assertion_gets_the_inferred_figure_and_keeps_its_length(tmp_path: Path) -> None:
    """Only the number after the kind changes (`at T=n` stays); the figure is the checker's own at that length."""
    from rnnspec.cost import cost_at

    spec = "Input(None, 3) > LSTM(4)"
    path = tmp_path / "a.rnn"
    path.write_text(f"{spec}\nexpect shape (None, 4)\nexpect params 128\nexpect macs 1_000 at T=50\n")
    assert run("check", "--update", str(path)).exit_code == 0
    macs = cost_at(rnnspec.select(spec), 50)[1].macs  # type: ignore[union-attr]
    assert path.read_text().endswith(f"\nexpect macs {macs:_} at T=50\n") and macs != 1_000
    assert run("check", str(path)).exit_code == 0


def test_a_cost_formula_is_not_written_in_place_of_a_number(tmp_path: Path) -> None:
    path = tmp_path / "a.rnn"
    text = "Input(None, 3) > LSTM(4)\nexpect macs 1_000\n"  # no length: the count is a formula in T
    path.write_text(text)
    result = run("check", "--update", str(path))
    assert result.exit_code == 1 and path.read_text() == text


def test_check_update_writes_and_check_diff_shows(tmp_path: Path) -> None:
    spec = tmp_path / "a.rnn"
    spec.write_bytes(b"model a:\r\n    Input(3) > Dense(2)\r\n    expect params 3\r\n")
    spec.chmod(0o600)
    diff = run("check", "--diff", str(spec))
    assert diff.exit_code == 1
    assert "-    expect params 3\n+    expect shape (None, 2)\n+    expect params 8\n" in diff.output
    assert spec.read_bytes() == b"model a:\r\n    Input(3) > Dense(2)\r\n    expect params 3\r\n"
    updated = run("check", "--update", str(tmp_path))
    assert updated.exit_code == 0, updated.output
    assert f"updated {spec}" in updated.output and "1 ok, 0 error(s)" in updated.output
    assert spec.read_bytes() == b"model a:\r\n    Input(3) > Dense(2)\r\n    expect shape (None, 2)\r\n" \
                                b"    expect params 8\r\n"
    assert spec.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.rnn"]
    clean = run("check", "--diff", str(spec))
    assert clean.exit_code == 0 and "---" not in clean.output


def test_check_update_reports_what_it_leaves(tmp_path: Path) -> None:
    spec = tmp_path / "a.rnn"
    text = "Input(3) > Dense(2, foo=1)\n"
    spec.write_text(text)
    result = run("check", "--update", str(spec))
    assert result.exit_code == 1
    assert "model 'model' not updated: it has errors --update does not fix (E201)" in result.output
    assert spec.read_text() == text
    broken = tmp_path / "b.rnn"
    broken.write_text("Input(3) > > Dense(2)\n")
    result = run("check", "--diff", str(broken))
    assert result.exit_code == 1 and "not updated: the file does not parse" in result.output
    assert run("check", "--update", str(tmp_path / "missing.rnn")).exit_code == 2


def test_expressions_and_json_cannot_be_updated() -> None:
    assert run("check", "--update", "-e", "Input(3) > Dense(2)").exit_code == 2
    assert run("check", "--diff", str(SPECS), "--format", "json").exit_code == 2


def test_bundled_specs_assertions_are_current() -> None:
    result = run("check", "--diff", str(SPECS))
    assert result.exit_code == 0, result.output


def test_check_update_never_imports_numpy(tmp_path: Path) -> None:
    spec = tmp_path / "a.rnn"
    spec.write_text("Input(3) > Dense(2)\n")
    code = ("import sys\nfrom rnnspec.cli import main\n"
            f"try:\n    main(['check', '--update', {str(spec)!r}])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'numpy'})\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
    assert "expect params 8" in spec.read_text()


def test_check_update_does_not_write_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_text("Input(3) > Dense(2)\n")
    link = tmp_path / "a.rnn"
    link.symlink_to(target)
    result = run("check", "--update", str(link))
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert target.read_text() == "Input(3) > Dense(2)\n" and link.is_symlink()


def test_cost_assertions_are_refreshed_with_their_length_kept() -> None:
    text = "model g:\n    Input(None, 8) > GRU(4)\n    expect macs 1_000 at T=10  # cost\n    expect flops 5 at T=10\n"
    update = update_spec(text)
    assert "    expect macs 1_440 at T=10  # cost\n    expect flops 3_440 at T=10\n" in update.text
    assert_current(update.text)


def test_a_cost_without_a_length_is_left_and_reported() -> None:
    """Its figure is a formula in T, which no `expect` line can state: the writer must choose a length."""
    update = update_spec("Input(None, 8) > GRU(4)\nexpect macs 1_000\n")
    assert not update.changed and [s.name for s in update.skipped] == ["model"]


def test_thousands_of_models_update_in_seconds() -> None:
    model = "model m{}:\n    Input(100, 32) > SimpleRNN(64, seq) : (None, 100, 32)\n    expect params 1\n\n"
    parts, size = [], 0
    while size + len(model) + 10 < 700_000:  # updated (a third longer), it stays under the 1 MiB limit
        parts.append(model.format(len(parts)))
        size += len(parts[-1])
    text, i = "".join(parts), len(parts)
    start = time.perf_counter()
    update = update_spec(text)
    elapsed = time.perf_counter() - start
    assert len(update.updated) == i and update.text.count("expect params 6_208\n") == i
    assert elapsed < 30, f"{elapsed:.1f} s"


def test_an_updated_canonical_file_stays_canonical() -> None:
    from rnnspec.formatting import format_spec

    text = format_spec("# two models\nmodel a:\n    Input(5, 3) > LSTM(4)  # encoder\n\n# b\nmodel b:\n"
                       "    x = Input(3)\n    y = x > Dense(2)\n    expect params 1\n")
    update = update_spec(text)
    assert update.updated == ["a", "b"]
    assert format_spec(update.text) == update.text
    assert format_spec(update_spec("Input(3) > Dense(2)").text) == update_spec("Input(3) > Dense(2)").text


def test_an_update_past_the_size_limit_is_refused() -> None:
    text = "Input(3) > Dense(2)\n" + "#" * ((1 << 20) - 30) + "\n"
    try:
        update_spec(text)
    except RnnspecError as err:
        assert err.code == "E104"
    else:
        raise AssertionError("no error")
