"""The parser tables shipped with the package (rnnspec/_parser_tables.py) are data made from today's grammar, and
the parser loaded from them parses as the one built from the grammar."""
from __future__ import annotations

import ast
from pathlib import Path

import lark
import pytest

from rnnspec import _parser_tables as shipped
from rnnspec import parser
from rnnspec.parser_tables import TABLES_PATH, tables_module

from .conftest import SPECS

GRAMMAR = parser.grammar_path().read_text(encoding="utf-8")
REGENERATE = "the grammar changed: run python -m rnnspec.parser_tables and commit rnnspec/_parser_tables.py"


def test_the_tables_were_made_from_this_grammar() -> None:
    assert shipped.GRAMMAR_SHA256 == parser.grammar_digest(GRAMMAR), REGENERATE


def test_the_tables_module_is_data_only() -> None:
    """Importing it runs no code but constant assignments: no call, name lookup or import anywhere in it."""
    tree = ast.parse(TABLES_PATH.read_text(encoding="utf-8"))
    docstring, *assignments = tree.body
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    assert [a.targets[0].id for a in assignments] == ["LARK_VERSION", "GRAMMAR_SHA256", "TABLES"]  # type: ignore
    for assignment in assignments:
        ast.literal_eval(assignment.value)  # type: ignore[attr-defined]  # raises on anything but a literal


def test_the_tables_load_when_this_lark_made_them_and_are_set_aside_otherwise() -> None:
    """(Lark numbers the tokens differently in each process, so tables are compared by what they parse, below,
    and by every test of the suite, which parses with them.)"""
    tables = parser.shipped_tables(GRAMMAR)
    assert (tables is not None) == (shipped.LARK_VERSION == lark.__version__)
    if tables is not None:
        assert tables["data"]["options"]["lexer"] is parser.SpecLexer
        assert tables_module(GRAMMAR).startswith(TABLES_PATH.read_text(encoding="utf-8").split("TABLES =")[0])


def test_tables_of_another_lark_or_grammar_are_set_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parser.shipped_tables(GRAMMAR + "\n// changed") is None
    monkeypatch.setattr(shipped, "LARK_VERSION", "0.0.1")
    assert parser.shipped_tables(GRAMMAR) is None


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.rnn")), ids=lambda p: p.name)
def test_loaded_and_built_parsers_give_the_same_trees(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = path.read_text(encoding="utf-8")
    parser._parser.cache_clear()
    try:
        loaded = parser.parse(source, path=str(path))
        parser._parser.cache_clear()
        monkeypatch.setattr(parser, "shipped_tables", lambda grammar: None)
        built = parser.parse(source, path=str(path))
    finally:
        parser._parser.cache_clear()
    assert loaded == built
