"""`rnnspec check` neither reads nor writes the shared temporary directory.

The parser was built with Lark's `cache=True`, which unpickles `$TMPDIR/.lark_cache_<user>_<hash>_<py>.tmp`
without checking who wrote it; the name is the same for every user of the same versions, so another local user
could plant one and run code in every check. Each test runs the real command in a subprocess whose temporary
directory is a fresh one.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SPECS

RNNSPEC = Path(sys.executable).parent / "rnnspec"
USERS = ["root", "unknown", "nobody", os.environ.get("USER", "runner"), os.environ.get("LOGNAME", "ci")]


class Planted:
    """Unpickling this creates the directory `marker`: proof that a planted cache file was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.mkdir, (str(self.marker),)


def run_check(tmp: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([str(RNNSPEC), "check", str(SPECS)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def lark_cache_names(tmp: Path) -> list[Path]:
    """The cache file names Lark's `Lark.__init__` would use with cache=True for rnnspec's grammar and options,
    for several user names (Lark takes getpass.getuser(), or "unknown")."""
    script = (
        "import sys, lark, rnnspec.parser as p\n"
        "from lark.load_grammar import sha256_digest\n"
        "from rnnspec.lexer import SpecLexer\n"
        "options = dict(parser='lalr', lexer=SpecLexer, maybe_placeholders=False, cache=True)\n"
        "grammar = p.grammar_path().read_text(encoding='utf-8')\n"
        "s = grammar + ''.join(k + str(v) for k, v in options.items()) + lark.__version__ + str(sys.version_info[:2])\n"
        "print(sha256_digest(s), *sys.version_info[:2])\n"
    )
    digest, major, minor = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                          check=True, cwd=ROOT).stdout.split()
    return [tmp / f".lark_cache_{user}_{digest}_{major}_{minor}.tmp" for user in sorted(set(USERS))]


def plant(tmp: Path, marker: Path) -> list[Path]:
    planted = lark_cache_names(tmp)
    for path in planted:
        path.write_bytes(b"planted\n" + pickle.dumps(Planted(marker)))
        os.utime(path, (1_000_000, 2_000_000))  # accessed before modified: any read moves the access time
    return planted


def test_a_check_creates_nothing_in_the_temp_dir(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = run_check(temp)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(temp.iterdir()) == []


def test_a_planted_lark_cache_is_neither_loaded_nor_read(tmp_path: Path) -> None:
    temp, marker = tmp_path / "tmp", tmp_path / "marker"
    temp.mkdir()
    planted = plant(temp, marker)
    result = run_check(temp)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not marker.exists()
    assert [os.stat(path).st_atime for path in planted] == [1_000_000] * len(planted)
    assert sorted(temp.iterdir()) == sorted(planted)


def test_the_planted_file_is_the_one_lark_with_a_cache_would_load(tmp_path: Path) -> None:
    """The control: a parser built as rnnspec builds one (without shipped tables) but with cache=True loads the
    planted file, so the tests above would catch the cache coming back."""
    temp, marker = tmp_path / "tmp", tmp_path / "marker"
    temp.mkdir()
    plant(temp, marker)
    script = (
        "import getpass, lark\n"
        "real = lark.Lark.__init__\n"
        "lark.Lark.__init__ = lambda self, grammar, **options: real(self, grammar, **options, cache=True)\n"
        "getpass.getuser = lambda: 'root'\n"
        "from rnnspec.parser import build_parser, grammar_path\n"
        "build_parser(grammar_path().read_text())\n"
    )
    env = dict(os.environ, TMPDIR=str(temp), TEMP=str(temp), TMP=str(temp))
    subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert marker.exists()


def test_a_check_passes_with_a_temp_dir_it_cannot_use(tmp_path: Path) -> None:
    """Mode 0o000: a check that needed the directory would fail (for root, who may enter it anyway, the planted
    file's access time above is what proves nothing is read)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    temp.chmod(0o000)
    try:
        result = run_check(temp)
    finally:
        temp.chmod(0o700)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize("name", ["parser.py", "lexer.py"])
def test_the_parser_asks_lark_for_no_cache(name: str) -> None:
    source = (ROOT / "rnnspec" / name).read_text(encoding="utf-8")
    assert "cache=True" not in source.replace("`cache=True`", "")
