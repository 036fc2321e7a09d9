"""A fast context-aware lexer for the rnnspec grammar, built from the grammar's own terminals.

Lark's generic contextual lexer costs more than the parse itself on one-line specs. This one compiles the
grammar's terminal patterns into two master regexes and adds the one piece of context the language needs:
right after a layer (or any value), `x3` is a repeat unless a binding follows (`x3 = ...`) and `model`/`expect`/`output` are keywords; elsewhere they are names
(`xLSTM(...)`, `activation=x3`). At the start of the input keywords are recognised but `x3` is a name: a file
starts with `model` or a layer, never with a repeat.
"""
from __future__ import annotations

import re
from typing import Iterator, NamedTuple

from lark.exceptions import UnexpectedCharacters
from lark.common import LexerConf
from lark.lexer import Lexer, Token

from rnnspec.errors import RnnspecError, Span

# Tokens after which a repeat or a keyword may follow (they end an element or a value).
_ELEMENT_END = frozenset({"RPAR", "NAME", "INT", "FLOAT", "STRING", "REPEAT"})
# The state before the first token: keywords (a file opens with `model`), but no repeat.
_START = "<start>"
_KEYWORD_CONTEXT = _ELEMENT_END | {_START}
# Regex terminals in match order: a float before an int (both match "1"), names last.
_REGEX_ORDER = ("FLOAT", "INT", "STRING", "NAME")
# `output` is a keyword only where names follow on its line (`output probs, state`): elsewhere it is a name, as
# in `output = x > Dense(3)` or `output, h = ...`, the names Keras code gives its tensors most often.
_NAMES_FOLLOW = re.compile(r"[ \t]+[A-Za-z_]")
# `x1` right after a layer is a repeat, unless it is bound (`x1 = ...`, `x1, h = ...`): then it is a name, the
# kind functional code gives its tensors most often. (On a line of its own and followed by `>`, it stays a repeat;
# a functional model refuses that spelling as ambiguous, see rnnspec.functional.)
_BINDS = re.compile(r"[ \t]*[=,]")
MAX_NESTING = 100  # open brackets at once: deeper input is refused here, before anything recurses over it


class Window(NamedTuple):
    """`text[start:end]` to be parsed on its own, in place: a model block of a file, without copying the file.
    `start` is the start of a line, and that line is number `line`; tokens keep the offsets, lines and columns
    of the whole text, so spans are those of a whole-file parse."""

    text: str
    start: int
    end: int
    line: int


def _token(kind: str, value: str, pos: int, line: int, column: int, end_pos: int) -> Token:
    """A one-line Lark token, filled in directly: `Token(...)` goes through a deprecation shim that costs
    more than the rest of lexing."""
    token = str.__new__(Token, value)
    token.type, token.value, token.start_pos, token.end_pos = kind, value, pos, end_pos
    token.line = token.end_line = line
    token.column, token.end_column = column, column + len(value)
    return token


def _too_deep(line: int, column: int) -> RnnspecError:
    """E103 without a path: the parser, which knows the file, puts it in."""
    return RnnspecError("E103", f"brackets nested more than {MAX_NESTING} deep",
                        Span("", line, column, line, column + 1), "no model needs this depth; flatten the groups")


class SpecLexer(Lexer):
    def __init__(self, conf: LexerConf) -> None:
        patterns = {t.name: t.pattern for t in conf.terminals}
        name_re = re.compile(patterns["NAME"].to_regexp())
        self.keywords = {
            p.value: name for name, p in patterns.items()
            if p.type == "str" and name_re.fullmatch(p.value)
        }
        symbols = sorted(
            (name for name, p in patterns.items() if p.type == "str" and name not in self.keywords.values()),
            key=lambda name: -len(patterns[name].value),
        )
        # Whitespace and comments are skipped by the same match that finds the next token.
        skip = "(?:" + "|".join(patterns[n].to_regexp() for n in conf.ignore) + ")*"
        tail = list(_REGEX_ORDER)

        def master(names: list[str]) -> re.Pattern[str]:
            tokens = "|".join(f"(?P<{n}>{patterns[n].to_regexp()})" for n in names)
            return re.compile(f"{skip}(?:{tokens})?")

        self.after_element = master(symbols + ["REPEAT"] + tail)
        self.elsewhere = master(symbols + tail)

    def lex(self, source: str | Window, *_: object) -> Iterator[Token]:  # type: ignore[override]
        window = source if isinstance(source, Window) else Window(source, 0, len(source), 1)
        text, pos, end, line = window
        line_start = pos
        previous = _START
        keywords = self.keywords
        depth = 0
        while True:
            regex = self.after_element if previous in _ELEMENT_END else self.elsewhere
            match = regex.match(text, pos, end)
            kind = match.lastgroup  # type: ignore[union-attr]
            start = match.start(kind) if kind else match.end()  # type: ignore[union-attr]
            if kind == "REPEAT" and _BINDS.match(text, match.end(), end):
                match = self.elsewhere.match(text, pos, end)  # a name such as `x1` that starts a statement
                kind = match.lastgroup  # type: ignore[union-attr]
            newlines = 0
            if start != pos:  # skipped whitespace or comments: count their lines
                newlines = text.count("\n", pos, start)
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", pos, start) + 1
            if kind is None:
                if start >= end:
                    return
                raise UnexpectedCharacters(text, start, line, start - line_start + 1)
            value = match.group(kind)  # type: ignore[union-attr]
            pos = match.end()  # type: ignore[union-attr]
            if kind == "NAME" and previous in _KEYWORD_CONTEXT and value in keywords:
                if value != "output" or _NAMES_FOLLOW.match(text, pos, end):
                    kind = keywords[value]
            if kind == "LPAR":
                if newlines and previous in _ELEMENT_END:
                    kind = "LINE_LPAR"  # starts a statement: see the grammar's _lpar
                depth += 1
                if depth > MAX_NESTING:
                    raise _too_deep(line, start - line_start + 1)
            elif kind == "RPAR":
                depth -= 1
            yield _token(kind, value, start, line, start - line_start + 1, pos)
            previous = kind
