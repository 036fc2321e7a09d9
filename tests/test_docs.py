"""Documentation that is generated or listed from code stays in sync with it, and its examples are true."""
from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

import rnnspec
from rnnspec.errors import CODES
from rnnspec.layers.docs import markdown

from .conftest import ROOT


def test_layers_page_is_generated_from_the_registry() -> None:
    assert (ROOT / "docs" / "layers.md").read_text() == markdown(), "run: python -m rnnspec.layers.docs > docs/layers.md"


def test_error_page_lists_exactly_the_codes() -> None:
    page = (ROOT / "docs" / "errors.md").read_text()
    listed = re.findall(r"^\| ([EW]\d{3}) \| ([^|]+) \|", page, re.M)
    assert [(code, meaning.strip()) for code, meaning in listed] == list(CODES.items())


def test_every_code_raised_in_the_package_is_documented() -> None:
    used = {m for path in (ROOT / "rnnspec").rglob("*.py") for m in re.findall(r'"([EW]\d{3})"', path.read_text())}
    assert used <= set(CODES)


EXAMPLES = [
    (code, bad.strip("`"), fix.strip("`"))
    for code, bad, fix in re.findall(r"^\| ([EW]\d{3}) \| [^|]+ \| (`[^`]+`) \| (`[^`]+`) \|",
                                     (ROOT / "docs" / "errors.md").read_text(), re.M)
    if not bad.startswith("`rnnspec")
]
BAD_EXAMPLES = [(code, bad) for code, bad, _ in EXAMPLES]


@pytest.mark.parametrize(("code", "spec"), BAD_EXAMPLES)
def test_each_bad_example_gives_its_code(code: str, spec: str) -> None:
    try:
        reports = rnnspec.check(spec)
    except rnnspec.RnnspecError as err:
        assert err.code == code
        return
    assert code in [e.code for r in reports for e in r.errors + r.warnings]


@pytest.mark.parametrize(("code", "fix"), [(code, fix) for code, _, fix in EXAMPLES])
def test_each_fix_checks_clean(code: str, fix: str) -> None:
    assert [e.code for r in rnnspec.check(fix) for e in r.errors + r.warnings] == []


def test_the_allow_example_checks_clean_and_warns_without_its_comment() -> None:
    page = (ROOT / "docs" / "language.md").read_text()
    section = page[page.index("## Allowing a warning"):]
    example = re.search(r"```\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    assert [e.code for r in rnnspec.check(example) for e in r.errors + r.warnings] == []
    bare = re.sub(r"#.*", "", example)
    assert [w.code for r in rnnspec.check(bare) for w in r.warnings] == ["W100"]


def readme_python_blocks() -> list[object]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [pytest.param(block, id=f"block {i + 1}", marks=() if 'backend="numpy"' in block else pytest.mark.keras)
            for i, block in enumerate(blocks)]


def claimed_values(block: str) -> list[tuple[str, object]]:
    """`expression  # value` lines: what the README says an expression gives."""
    claims = []
    for line in block.splitlines():
        code, _, comment = line.partition("  # ")
        if code and "=" not in code.replace("==", ""):
            try:
                claims.append((code.strip(), ast.literal_eval(comment.strip())))
            except (ValueError, SyntaxError):
                pass
    return claims


@pytest.mark.parametrize("block", readme_python_blocks())
def test_readme_python_runs_as_written(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A newcomer pastes these from the repository root: the same here, in a copy that takes their files; and
    each `expression  # value` gives that value."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    claims = claimed_values(block)
    assert claims, "each README block shows at least one result"
    for expression, value in claims:
        assert eval(expression, namespace) == value, expression  # noqa: S307


def readme_command_lines() -> list[str]:
    """The `rnnspec ...` lines of the README's command-line block, in order (later ones use earlier outputs)."""
    section = (ROOT / "README.md").read_text().split("## The command line", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.keras  # `rnnspec compile` builds a Keras model
def test_every_readme_command_line_runs_as_written(tmp_path: Path) -> None:
    """A newcomer pastes these lines in the repository root: each must succeed, in order. They run in a copy of
    the bundled specs (`check --update` and `fmt` rewrite files), through the installed entry point."""
    import shlex
    import subprocess
    import sys

    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    bin_dir = Path(sys.executable).parent
    lines = readme_command_lines()
    assert len(lines) >= 10
    for line in lines:
        argv = shlex.split(line)
        argv[0] = str(bin_dir / argv[0]) if argv[0] == "rnnspec" else sys.executable
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "translator.svg").is_file() and (tmp_path / "stacked.rnn").is_file()
    for spec in (ROOT / "specs").glob("*.rnn"):  # the bundled specs are already formatted and current
        assert (tmp_path / "specs" / spec.name).read_bytes() == spec.read_bytes()
