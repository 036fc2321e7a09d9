"""Text to syntax tree: the Lark grammar, an inline transformer, and Lark errors translated for people."""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from rnnspec.errors import RnnspecError, Span
from rnnspec.lexer import SpecLexer
from rnnspec.syntax import (
    Arg, Assertion, Call, Chain, Group, Ident, Literal, ModelDef, Module, Repeat, Stage, TupleLit,
)

_PACKAGE_DIR = Path(__file__).resolve().parent
ANONYMOUS_MODEL = "model"


def grammar_path() -> Path:
    """The grammar shipped in the wheel (`rnnspec/grammars`), else the checkout's top-level `grammars/`."""
    for candidate in (_PACKAGE_DIR / "grammars", _PACKAGE_DIR.parent / "grammars"):
        path = candidate / "rnnspec.lark"
        if path.is_file():
            return path
    raise RnnspecError("E500", "the rnnspec grammar file is missing from the installation")


_current = threading.local()


def _span(first: Token, last: Token | None = None) -> Span:
    last = last or first
    return Span(_current.path, first.line, first.column, last.end_line, last.end_column)


def _number(token: Token, kind: type) -> Literal:
    try:
        return Literal(kind(token), _span(token))
    except ValueError:
        raise RnnspecError("E102", f"'{token}' is not a valid number", _span(token)) from None


class ToSyntax(Transformer):
    """Builds `rnnspec.syntax` nodes while the LALR parser reduces (no intermediate Lark tree)."""

    def anonymous(self, children: list) -> Module:
        chain, assertions = children[0]
        model = ModelDef(ANONYMOUS_MODEL, chain.span, chain, assertions, chain.span)
        return Module(_current.path, _current.source, (model,))

    def module(self, children: list) -> Module:
        return Module(_current.path, _current.source, tuple(children))

    def model_def(self, children: list) -> ModelDef:
        keyword, name, (chain, assertions) = children
        end = assertions[-1].span if assertions else chain.span
        return ModelDef(str(name), _span(name), chain, assertions, _span(keyword).to(end))

    def body(self, children: list) -> tuple[Chain, tuple[Assertion, ...]]:
        return children[0], tuple(children[1:])

    def chain(self, stages: list) -> Chain:
        return Chain(tuple(stages), stages[0].span.to(stages[-1].span))

    def stage(self, children: list) -> Stage:
        element = children[0]
        repeat = next((c for c in children[1:] if isinstance(c, Repeat)), None)
        note = next((c for c in children[1:] if isinstance(c, TupleLit)), None)
        return Stage(element, repeat, note, element.span.to(children[-1].span))

    def element(self, children: list) -> Call:
        return children[0]

    def group(self, children: list) -> Group:
        lpar, chain, rpar = children
        return Group(chain, _span(lpar, rpar))

    def repeat(self, children: list) -> Repeat:
        token = children[0]
        digits = token[1:].strip().replace("_", "")
        return Repeat(int(digits), _span(token))

    def shape_note(self, children: list) -> TupleLit:
        return children[0]

    def bare_call(self, children: list) -> Call:
        name = children[0]
        return Call(str(name), (), _span(name), _span(name), False)

    def call(self, children: list) -> Call:
        name, _lpar, args, rpar = children
        return Call(str(name), tuple(args or ()), _span(name, rpar), _span(name), True)

    def args(self, children: list) -> list[Arg]:
        return children

    def arg(self, children: list) -> Arg:
        value = children[0]
        return Arg(None, value, value.span)

    def kwarg(self, children: list) -> Arg:
        name, value = children
        return Arg(str(name), value, _span(name).to(value.span), _span(name))

    def value(self, children: list):
        return children[0]

    def int_value(self, children: list) -> Literal:
        return _number(children[0], int)

    def float_value(self, children: list) -> Literal:
        return _number(children[0], float)

    def string_value(self, children: list) -> Literal:
        token = children[0]
        return Literal(str(token)[1:-1], _span(token))

    def tuple(self, children: list) -> TupleLit:
        lpar, *items, rpar = children
        items = [i for i in items if i is not None]
        return TupleLit(tuple(items), _span(lpar, rpar))

    def assertion(self, children: list) -> Assertion:
        keyword, kind, value = children
        return Assertion(str(kind), _span(kind), value, _span(keyword).to(value.span))


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # cache=True keeps the LALR tables in the temp dir, so a cold `rnnspec check` skips building them.
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer=SpecLexer,
        transformer=ToSyntax(),
        maybe_placeholders=True,
        cache=True,
    )


def parse(source: str, path: str = "<spec>") -> Module:
    """Parse spec text (one chain, or a file of `model NAME: ...` blocks) into a syntax tree."""
    if source.startswith("\ufeff"):
        source = source[1:]
    _current.path, _current.source = path, source
    try:
        return _parser().parse(source)
    except VisitError as err:
        if isinstance(err.orig_exc, RnnspecError):
            raise err.orig_exc from None
        raise
    except UnexpectedInput as err:
        raise translate_syntax_error(err, source, path) from None


_TOKEN_WORDS = {
    "RPAR": "')'", "LPAR": "'('", "MORETHAN": "'>'", "COMMA": "','", "COLON": "':'",
    "EQUAL": "'='", "NAME": "a name", "INT": "a number", "FLOAT": "a number", "STRING": "a string",
    "REPEAT": "a repeat such as 'x3'", "EXPECT": "'expect'", "MODEL": "'model'", "$END": "the end of the spec",
}
_ORDER = ["NAME", "LPAR", "INT", "FLOAT", "STRING", "COMMA", "RPAR", "MORETHAN", "EQUAL", "COLON", "REPEAT",
          "EXPECT", "MODEL", "$END"]


def describe_expected(expected: set[str]) -> str:
    """A short 'expected ...' phrase from Lark's terminal names (never the raw names)."""
    if {"NAME", "LPAR", "INT", "STRING"} <= expected and "RPAR" not in expected:
        return "a value"
    if expected >= {"COMMA", "RPAR"} and len(expected - {"COMMA", "RPAR", "LPAR", "EQUAL"}) == 0:
        return "',' or ')'"
    if "MORETHAN" in expected and "EXPECT" in expected:
        return "'>' and another layer, or 'expect'"
    if "MORETHAN" in expected:
        return "'>' and another layer"
    words: list[str] = []
    for name in _ORDER:
        word = _TOKEN_WORDS[name]
        if name in expected and word not in words:
            words.append(word)
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _unclosed_paren(source: str, upto: int) -> tuple[int, int] | None:
    """Line and column of the innermost '(' still open at offset `upto` (comments and strings aside)."""
    stack: list[int] = []
    i = 0
    while i < min(upto, len(source)):
        ch = source[i]
        if ch == "#":
            nl = source.find("\n", i)
            i = len(source) if nl < 0 else nl
            continue
        if ch in "\"'":
            close = source.find(ch, i + 1)
            i = len(source) if close < 0 else close + 1
            continue
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            stack.pop()
        i += 1
    if not stack:
        return None
    at = stack[-1]
    line = source.count("\n", 0, at) + 1
    return line, at - (source.rfind("\n", 0, at) + 1) + 1


def translate_syntax_error(err: UnexpectedInput, source: str, path: str) -> RnnspecError:
    line, column = max(err.line, 1), max(err.column, 1)
    if isinstance(err, UnexpectedCharacters):
        char = source[err.pos_in_stream] if err.pos_in_stream < len(source) else ""
        span = Span(path, line, column, line, column + 1)
        if char == ";":
            return RnnspecError("E100", "unexpected ';'", span, "separate arguments with ',' and layers with '>'")
        if char == "x" or source[err.pos_in_stream:err.pos_in_stream + 1] == "x":
            return RnnspecError("E100", "expected a repeat count after 'x'", span, "write the count right after it, as in 'x3'")
        shown = repr(char) if char.isprintable() else f"character U+{ord(char):04X}" if char else "input"
        return RnnspecError("E100", f"unexpected {shown}", span)
    assert isinstance(err, UnexpectedToken)
    token = err.token
    expected_terms = set(err.expected)
    if _unclosed_paren(source, err.pos_in_stream if token.type != "$END" else len(source)) is None:
        expected_terms -= {"COMMA", "RPAR"}  # LALR lookaheads from merged states; no '(' is open here
    expected = describe_expected(expected_terms)
    at_end = token.type == "$END"
    if at_end:
        line, column = _end_position(source)
        span = Span(path, line, column, line, column)
        found = "the end of the spec"
    else:
        span = Span(path, token.line, token.column, token.end_line or token.line,
                    token.end_column or token.column + len(token))
        found = f"'{token}'"
    hint = None
    if token.type == "NAME" and str(token) == "x":
        return RnnspecError("E100", "expected a repeat count after 'x'", span, "write the count after it, as in 'x3'")
    if token.type == "MORETHAN" and "NAME" in err.expected:
        return RnnspecError("E100", "expected a layer after '>', found another '>'", span,
                            "layers are joined by a single '>'")
    if at_end and "NAME" in err.expected and "LPAR" in err.expected and "RPAR" not in err.expected:
        return RnnspecError("E100", "expected a layer after '>', found the end of the spec", span,
                            "remove the trailing '>' or add the missing layer")
    if "RPAR" in err.expected:
        opened = _unclosed_paren(source, err.pos_in_stream if not at_end else len(source))
        if opened:
            hint = f"the '(' at line {opened[0]}, column {opened[1]} is not closed"
            if at_end or token.type in ("MORETHAN", "MODEL", "EXPECT"):
                return RnnspecError("E101", f"expected {expected}, found {found}", span, hint)
    if token.type == "RPAR" and _unclosed_paren(source, len(source)) is None and "RPAR" not in err.expected:
        hint = "this ')' has no matching '('"
    return RnnspecError("E100", f"expected {expected}, found {found}", span, hint)


def _end_position(source: str) -> tuple[int, int]:
    stripped = source.rstrip()
    line = stripped.count("\n") + 1
    return line, len(stripped) - (stripped.rfind("\n") + 1) + 1
