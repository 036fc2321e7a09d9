"""`rnnspec fmt`: the canonical layout, that formatting never changes what a spec means (bundled specs, the
docs' examples, fuzzed specs), idempotence, refusal of broken specs, and the command's exits and writes."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import rnnspec
from rnnspec.cli import main
from rnnspec.errors import RnnspecError
from rnnspec.formatting import format_spec
from rnnspec.unparse import spec_text

from .conftest import ROOT, SPECS
from .test_docs import EXAMPLES
from .test_fuzz import SEEDS, mangled

_LINE = re.compile(r"\bline \d+")


def meaning(text: str) -> list[tuple]:
    """What a spec says, without where it says it: per model its name, counts, output, filled-in text, and the
    codes and messages of its errors and warnings (line numbers in messages aside, since layout moves them)."""
    result = []
    for report in rnnspec.check(text, path="f.rnn"):
        problems = [(e.code, _LINE.sub("line N", e.message)) for e in report.errors + report.warnings]
        filled = spec_text(report, fill=True) if report.ok else None
        result.append((report.name, report.ok, report.output if report.ok else None,
                       report.total if report.ok else None, problems, filled))
    return result


def assert_formats_safely(text: str) -> str:
    formatted = format_spec(text)
    assert meaning(formatted) == meaning(text), formatted
    assert format_spec(formatted) == formatted, "formatting is not idempotent"
    return formatted


def fenced_blocks(text: str) -> list[str]:
    """The fenced blocks of a Markdown page that name no language (where the docs write specs)."""
    blocks, current, language = [], [], None
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if language is None:
                language, current = line[3:].strip(), []
            else:
                if not language:
                    blocks.append("".join(current))
                language = None
        elif language is not None:
            current.append(line)
    return blocks


def _doc_blocks() -> list[str]:
    """Spec text in the README and docs: fenced blocks without a language, and the Python strings given as specs."""
    blocks = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        blocks += fenced_blocks(text)
        blocks += re.findall(r'spec = """\n(.*?)"""', text, re.S)
    parsed = []
    for block in blocks:
        try:
            rnnspec.parse(block)
        except RnnspecError:
            continue  # shell sessions, error output
        parsed.append(block)
    return parsed


DOC_BLOCKS = _doc_blocks()


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.rnn")), ids=lambda p: p.name)
def test_bundled_specs_keep_their_meaning(path: Path) -> None:
    assert_formats_safely(path.read_text())


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.rnn")), ids=lambda p: p.name)
def test_bundled_specs_are_canonical(path: Path) -> None:
    text = path.read_text()
    assert format_spec(text) == text, f"run `rnnspec fmt {path.relative_to(ROOT)}`"


def test_docs_have_examples_to_format() -> None:
    assert len(DOC_BLOCKS) >= 4


def test_the_fmt_page_shows_canonical_specs() -> None:
    blocks = fenced_blocks((ROOT / "docs" / "fmt.md").read_text())
    assert len(blocks) == 2
    for block in blocks:
        assert format_spec(block) == block


@pytest.mark.parametrize("block", DOC_BLOCKS)
def test_docs_examples_keep_their_meaning(block: str) -> None:
    assert_formats_safely(block)


@pytest.mark.parametrize("spec", sorted({s for _, bad, fix in EXAMPLES for s in (bad, fix)} | set(SEEDS)))
def test_error_page_examples_keep_their_meaning(spec: str) -> None:
    try:
        rnnspec.parse(spec)
    except RnnspecError:
        return
    assert_formats_safely(spec)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
          derandomize=True)
@given(mangled())
def test_fuzzed_specs_keep_their_meaning(text: str) -> None:
    assert_valid_spec_formats_safely(text)


def assert_valid_spec_formats_safely(text: str) -> None:
    """As assert_formats_safely, for a generated text that parses (hypothesis draws another when it does not)."""
    try:
        rnnspec.parse(text)
    except RnnspecError:
        assume(False)
    assert_formats_safely(text)


def test_the_canonical_layout() -> None:
    messy = ("# a file\n\n\n\nmodel a:   Input(5,3)>LSTM(4 , seq)x 3:(None,5,4)  >\n  Dense( 2,activation = relu ,)"
             " expect shape(None,5,2) expect params 1\n# about b\nmodel b:\n\n\tx=Input(3)\n\ty , z = x>Dense(2)\n"
             "  output y\n\n\n")
    assert format_spec(messy) == (
        "# a file\n"
        "\n"
        "model a:\n"
        "    Input(5, 3) > LSTM(4, seq) x3 : (None, 5, 4)\n"
        "    > Dense(2, activation=relu,)\n"
        "    expect shape (None, 5, 2)\n"
        "    expect params 1\n"
        "\n"
        "# about b\n"
        "model b:\n"
        "    x = Input(3)\n"
        "    y, z = x > Dense(2)\n"
        "    output y\n")


def test_one_line_spec_stays_on_one_line() -> None:
    assert format_spec("Input(5, 3)  >LSTM(4, seq) > Dense(2)") == "Input(5, 3) > LSTM(4, seq) > Dense(2)\n"
    assert format_spec("Input(5,3)>Dense(2) expect params 8") == "Input(5, 3) > Dense(2)\nexpect params 8\n"


def test_functional_statements_get_a_line_each() -> None:
    assert format_spec("x = Input(5, 3)  y, _, _ = x > LSTM(4, state)  y > Dense(1)") == \
        "x = Input(5, 3)\ny, _, _ = x > LSTM(4, state)\ny > Dense(1)\n"


def test_comments_are_kept_and_aligned_per_paragraph() -> None:
    text = ("model m:  # header\n"
            "    Input(30, 16)\n"
            "    > LSTM(64) # encoder\n"
            "    > RepeatVector(10)\n"
            "    > LSTM(64, seq)      # decoder\n"
            "    # a full-line comment\n"
            "    > Dense(8)  # head\n")
    assert format_spec(text) == ("model m:  # header\n"
                                 "    Input(30, 16)\n"
                                 "    > LSTM(64)       # encoder\n"
                                 "    > RepeatVector(10)\n"
                                 "    > LSTM(64, seq)  # decoder\n"
                                 "    # a full-line comment\n"
                                 "    > Dense(8)  # head\n")


def test_shape_notes_ending_lines_are_aligned() -> None:
    text = "model m:\n    Input(400, 6)\n    > Conv1D(32, 5, padding=causal) : (None, 400, 32)\n" \
           "    > MaxPooling1D(4)    :     (None, 100, 32)\n    > LSTM(4) : (None, 4) > Dense(2) : (None, 2)\n"
    assert format_spec(text) == (
        "model m:\n    Input(400, 6)\n    > Conv1D(32, 5, padding=causal)  : (None, 400, 32)\n"
        "    > MaxPooling1D(4)                : (None, 100, 32)\n"
        "    > LSTM(4) : (None, 4) > Dense(2) : (None, 2)\n")


def test_a_trailing_arrow_moves_to_the_next_line_with_its_comment_left_behind() -> None:
    assert format_spec("Input(3) >  # why\n  Dense(2)\n") == "Input(3)  # why\n> Dense(2)\n"


def test_an_allow_comment_stays_on_its_layers_line() -> None:
    text = "model a: Input(5, 3) > LSTM(4, seq) > Dense(2) expect params 138  # rnnspec: allow W100\n"
    formatted = assert_formats_safely(text)
    assert formatted == ("model a:\n    Input(5, 3) > LSTM(4, seq) > Dense(2)  # rnnspec: allow W100\n"
                         "    expect params 138\n")
    assert not rnnspec.check(formatted)[0].warnings


def test_line_breaks_that_mean_something_are_kept() -> None:
    """A `(` starting a line starts a new statement; on the line before, it would be the arguments of a call."""
    text = "a = Input(3)\nb = Input(3)\nenc = Dense(2)\nz = a > enc\n(z, b > enc) > Add\n"
    assert assert_formats_safely(text) == text


def test_crlf_bom_and_tabs() -> None:
    assert format_spec("\ufeffmodel a:\r\n\tInput(3)>Dense(2)\r\n") == "\ufeffmodel a:\r\n    Input(3) > Dense(2)\r\n"


def test_empty_and_comment_only_files() -> None:
    assert format_spec("") == ""
    assert format_spec("\n\n") == ""
    assert format_spec("  # only\n\n\n# comments  \n") == "# only\n\n# comments\n"


def test_a_syntax_error_is_refused_with_its_location() -> None:
    with pytest.raises(RnnspecError) as caught:
        format_spec("model a:\n    Input(3) > > Dense(2)\n", path="bad.rnn")
    assert caught.value.code == "E100" and caught.value.span.line == 2


def _megabyte(first: str, unit: str) -> str:
    return first + unit * (((1 << 20) - 100 - len(first)) // len(unit))


@pytest.mark.parametrize("text", [
    _megabyte("", "model m:\n    Input(100, 32)>SimpleRNN(64,seq) : (None,100,64)  # note\n    expect params 6_208\n\n"),
    _megabyte("Input(3)", " > Dense(3)"),  # one line: the line is built in linear time too
], ids=["many-models", "one-line"])
def test_a_megabyte_spec_formats_in_seconds(text: str) -> None:
    start = time.perf_counter()
    formatted = format_spec(text)
    elapsed = time.perf_counter() - start
    assert formatted.count("Dense(3)") == text.count("Dense(3)") and formatted.count("(None, 100, 64)") == \
        text.count("(None,100,64)")
    assert elapsed < 30, f"{elapsed:.1f} s"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_fmt_check_lists_files_and_writes_nothing(tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.rnn", tmp_path / "good.rnn"
    bad.write_text("Input(5, 3)  >LSTM(4, seq) > Dense(2)\n")
    good.write_text("Input(3) > Dense(2)\n")
    result = run("fmt", "--check", str(tmp_path))
    assert result.exit_code == 1
    assert f"{bad}:1:13: error[E520]" in result.output and str(good) not in result.output
    assert "would reformat 1 file(s), 1 already canonical" in result.output
    assert bad.read_text() == "Input(5, 3)  >LSTM(4, seq) > Dense(2)\n"


def test_fmt_diff_shows_the_change(tmp_path: Path) -> None:
    spec = tmp_path / "a.rnn"
    spec.write_text("Input(3)>Dense(2)\n")
    result = run("fmt", "--diff", str(spec))
    assert result.exit_code == 1
    assert "-Input(3)>Dense(2)\n+Input(3) > Dense(2)\n" in result.output
    assert spec.read_text() == "Input(3)>Dense(2)\n"


def test_fmt_rewrites_in_place_keeping_the_mode(tmp_path: Path) -> None:
    spec = tmp_path / "a.rnn"
    spec.write_bytes(b"model a:\r\n  Input(3)>Dense(2)\r\n")
    os.chmod(spec, 0o640)
    result = run("fmt", str(spec))
    assert result.exit_code == 0, result.output
    assert spec.read_bytes() == b"model a:\r\n    Input(3) > Dense(2)\r\n"
    assert spec.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.rnn"]  # no temporary file left
    assert run("fmt", "--check", str(spec)).exit_code == 0


def test_fmt_refuses_a_broken_spec_and_leaves_it(tmp_path: Path) -> None:
    spec = tmp_path / "a.rnn"
    spec.write_text("Input(3) > > Dense(2)\n")
    result = run("fmt", str(spec))
    assert result.exit_code == 1
    assert f"{spec}:1:12: error[E100]" in result.output
    assert spec.read_text() == "Input(3) > > Dense(2)\n"


def test_fmt_does_not_write_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("Input(3)>Dense(2)\n")
    (tmp_path / "specs").mkdir()
    link = tmp_path / "specs" / "a.rnn"
    link.symlink_to(target)
    result = run("fmt", str(link))
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert target.read_text() == "Input(3)>Dense(2)\n" and link.is_symlink()


def test_fmt_needs_a_path() -> None:
    assert run("fmt").exit_code == 2
    assert run("fmt", "missing.rnn").exit_code == 2


_LAYOUT = st.sampled_from([" ", "  ", "\t", "\n", "\n\n\n", "  # note\n", "\r\n", "\n    ", "\n# full line\n"])


@st.composite
def relaid(draw: st.DrawFn) -> str:
    """A valid spec with its layout scrambled: whitespace, line breaks and comments put between random tokens
    (a break before a '(' may change what the text means, so each text is compared with itself formatted)."""
    pool = SEEDS + [block for block in DOC_BLOCKS if block.strip() and len(block) < 2000]
    text = draw(st.sampled_from(pool))
    tokens = list(re.finditer(r"[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9_.]*|\S", text))
    for _ in range(draw(st.integers(1, 8))):
        match = tokens[draw(st.integers(0, len(tokens) - 1))]
        if match.start() < len(text) and text[match.start()] == "#":
            continue
        text = text[:match.start()] + draw(_LAYOUT) + text[match.start():]
        tokens = list(re.finditer(r"[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9_.]*|\S", text))
    return text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
          derandomize=True)
@given(relaid())
def test_relaid_specs_keep_their_meaning(text: str) -> None:
    assert_valid_spec_formats_safely(text)


def test_pre_commit_hooks_format_and_check_rnn_files() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    hooks = re.findall(r"^- id: (\S+)\n((?:  .*\n)+)", text, re.M)
    assert [name for name, _ in hooks] == ["rnnspec-fmt", "rnnspec-check"]
    fmt_hook = dict(re.findall(r"^  (\w+): (.*)$", hooks[0][1], re.M))
    assert fmt_hook["entry"] == "rnnspec fmt" and fmt_hook["files"] == r"\.rnn$"


def test_a_layout_bug_cannot_reach_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The formatter compares the tokens of its output with the input's: a broken layout raises, writes nothing."""
    from rnnspec import formatting

    monkeypatch.setattr(formatting._Layout, "space", lambda self, index, token, previous: "")
    spec = tmp_path / "a.rnn"
    spec.write_text("Input(3) > Dense(2)\nexpect params 8\n")
    with pytest.raises(RuntimeError, match="would change the tokens"):
        format_spec(spec.read_text())
    assert run("fmt", str(spec)).exit_code != 0
    assert spec.read_text() == "Input(3) > Dense(2)\nexpect params 8\n"
