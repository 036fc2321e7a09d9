"""Text to syntax tree: the Lark grammar, an inline transformer, and Lark errors translated for people."""
from __future__ import annotations

import gc
import re
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator, NamedTuple

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from rnnspec.errors import RnnspecError, Span
from rnnspec.lexer import SpecLexer, Window
from rnnspec.syntax import (
    Arg, Assertion, AtLength, Binding, Call, Chain, FanIn, Group, Ident, Literal, ModelDef, Module, Outputs, Repeat, Stage,
    Target, TupleLit,
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
_gc_lock = threading.Lock()
_gc_pausers = 0  # calls inside `cyclic_gc_paused` now, in any thread
_gc_was_enabled = False


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a spec is parsed or checked. The trees and rows built are acyclic (freed
    by reference counting), but the collector still walks every live object each time enough of them pile up:
    that doubled the time of a 1 MiB spec. Nested and concurrent calls share the pause; the last one out restores
    the collector as the first one in found it."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def _span(first: Token, last: Token | None = None) -> Span:
    last = last or first
    return Span(_current.path, first.line, first.column, last.end_line, last.end_column)


def _number(token: Token, kind: type) -> Literal:
    try:
        return Literal(kind(token), _span(token))
    except ValueError:
        raise RnnspecError("E102", f"'{token}' is not a valid number", _span(token),
                           "an underscore may only sit between two digits, as in 1_000") from None


class ToSyntax(Transformer):
    """Builds `rnnspec.syntax` nodes while the LALR parser reduces (no intermediate Lark tree)."""

    def anonymous(self, children: list) -> Module:
        statements, assertions, first, last = children[0]
        chain, functional = _chain_and_statements(statements, first)
        model = ModelDef(ANONYMOUS_MODEL, first, chain, assertions, first if last is first else first.to(last),
                         functional)
        return Module(_current.path, _current.source, (model,))

    def module(self, children: list) -> Module:
        return Module(_current.path, _current.source, tuple(children))

    def model_def(self, children: list) -> ModelDef:
        keyword, name, (statements, assertions, first, last) = children
        chain, functional = _chain_and_statements(statements, first)
        return ModelDef(str(name), _span(name), chain, assertions, _span(keyword).to(last), functional)

    def chain_body(self, items: list) -> tuple[tuple, tuple[Assertion, ...], Span, Span]:
        chain = items[0]
        return (chain,), tuple(items[1:]), chain.span, items[-1].span

    def functional_body(self, items: list) -> tuple[tuple, tuple[Assertion, ...], Span, Span]:
        statements = tuple(item for item in items if not isinstance(item, Assertion))
        assertions = tuple(item for item in items if isinstance(item, Assertion))
        return statements, assertions, items[0].span, items[-1].span

    def chain_item(self, children: list) -> Chain:
        return children[0]

    def target(self, children: list) -> Target:
        return Target(str(children[0]), _span(children[0]))

    def step(self, children: list) -> Binding:
        return children[0]

    def binding(self, children: list) -> Binding:
        *targets, chain = children
        return Binding(tuple(targets), chain, targets[0].span.to(chain.span))

    def outputs(self, children: list) -> Outputs:
        keyword, *names = children
        return Outputs(tuple(names), _span(keyword).to(names[-1].span))

    def fan_in_stage(self, children: list) -> Stage:
        lpar, *chains = children
        note = chains.pop() if isinstance(chains[-1], TupleLit) else None
        rpar = chains.pop()
        return self.stage([FanIn(tuple(chains), _span(lpar, rpar)), *([note] if note else [])])

    def chain(self, stages: list) -> Chain:
        return Chain(tuple(stages), stages[0].span.to(stages[-1].span))

    def stage(self, children: list) -> Stage:
        element = children[0]
        repeat = next((c for c in children[1:] if isinstance(c, Repeat)), None)
        note = next((c for c in children[1:] if isinstance(c, TupleLit)), None)
        return Stage(element, repeat, note, element.span.to(children[-1].span))

    def group_stage(self, children: list) -> Stage:
        lpar, chain, rpar, *rest = children
        return self.stage([Group(chain, _span(lpar, rpar)), *rest])

    def repeat(self, children: list) -> Repeat:
        token = children[0]
        try:  # the count follows the rules of any integer: `x1_000` is fine, `x3_` is not
            return Repeat(int(token[1:].strip()), _span(token))
        except ValueError:
            raise RnnspecError("E102", f"'{token}' is not a valid repeat count", _span(token),
                               "write the count as digits, as in 'x3'") from None

    def shape_note(self, children: list) -> TupleLit:
        return children[0]

    def bare_call(self, children: list) -> Call:
        name = children[0]
        return Call(str(name), (), _span(name), _span(name), False)

    def call(self, children: list) -> Call:
        name, rpar = children[0], children[-1]
        args = children[2] if len(children) == 4 else ()
        return Call(str(name), tuple(args), _span(name, rpar), _span(name), True)

    def args(self, children: list) -> list[Arg]:
        return children

    def value_arg(self, children: list) -> Arg:
        value = children[0]
        return Arg(None, value, value.span)

    def int_arg(self, children: list) -> Arg:
        return self.value_arg([self.int_value(children)])

    def float_arg(self, children: list) -> Arg:
        return self.value_arg([self.float_value(children)])

    def string_arg(self, children: list) -> Arg:
        return self.value_arg([self.string_value(children)])

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
        return TupleLit(tuple(items), _span(lpar, rpar))

    def assertion(self, children: list) -> Assertion:
        keyword, kind, value, *at = children
        end = at[0].span if at and at[0] is not None else value.span
        return Assertion(str(kind), _span(kind), value, _span(keyword).to(end), at[0] if at else None)

    def at_length(self, children: list) -> AtLength:
        """`at T=100`: `at` is checked here rather than reserved, so a layer or argument may be named `at`."""
        word, symbol, number = children
        if str(word) != "at":
            raise RnnspecError("E100", f"unexpected '{word}' after the assertion's value", _span(word),
                               "a cost assertion may end with a length: expect macs 1_234_560 at T=100")
        length = _number(number, int)
        if length.value < 1:  # type: ignore[operator]
            raise RnnspecError("E203", f"a length must be at least 1, found {number}", length.span)
        return AtLength(str(symbol), length.value, _span(word, number))  # type: ignore[arg-type]


def _chain_and_statements(statements: tuple, where: Span) -> tuple[Chain, tuple]:
    """(the model's last chain, the statements of a functional body): one chain alone is the sequential form, with
    no statements; a functional model is located by its last chain, bound or not."""
    if len(statements) == 1 and type(statements[0]) is Chain:
        return statements[0], ()
    for statement in reversed(statements):
        if isinstance(statement, Chain):
            return statement, statements
        if isinstance(statement, Binding):
            return statement.chain, statements
    return Chain((), where), statements  # only `output` lines: the checker reports what is missing


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """The parser, from the tables shipped with the package where they were made from this grammar by this Lark
    version (13 ms), else built from the grammar (35 ms).

    No `cache=True`: Lark would unpickle a file from the shared temp directory whose name every user of the same
    versions can predict, so another local user could plant one and run code in every check. The shipped tables
    are a Python literal in our own module (rnnspec/_parser_tables.py, `python -m rnnspec.parser_tables`)."""
    grammar = grammar_path().read_text(encoding="utf-8")
    tables = shipped_tables(grammar)
    if tables is None:
        return build_parser(grammar)
    return Lark._load_from_dict(tables["data"], tables["memo"], transformer=ToSyntax())


def build_parser(grammar: str) -> Lark:
    return Lark(
        grammar,
        parser="lalr",
        lexer=SpecLexer,
        transformer=ToSyntax(),
        maybe_placeholders=False,  # optional parts are simply absent: cheaper reductions
    )


LEXER_MARK = "rnnspec.lexer.SpecLexer"  # stands for the lexer class in the shipped tables, which are data only


def grammar_digest(grammar: str) -> str:
    import hashlib

    return hashlib.sha256(grammar.encode("utf-8")).hexdigest()


def shipped_tables(grammar: str) -> dict | None:
    """The shipped tables with our lexer class in place of its mark; None if they are missing, or were made from
    another grammar or by another Lark version (whose serialized form may differ)."""
    import lark

    try:
        from rnnspec import _parser_tables as shipped
    except ImportError:
        return None
    if (shipped.LARK_VERSION, shipped.GRAMMAR_SHA256) != (lark.__version__, grammar_digest(grammar)):
        return None
    data = shipped.TABLES["data"]
    parser = data["parser"]
    return {"memo": shipped.TABLES["memo"],
            "data": {**data, "options": {**data["options"], "lexer": SpecLexer},
                     "parser": {**parser, "lexer_conf": {**parser["lexer_conf"], "lexer_type": SpecLexer}}}}


MAX_SOURCE_CHARS = 1 << 20  # a spec file is a few kilobytes; a megabyte is refused before parsing


def too_large(path: str, unit: str) -> RnnspecError:
    return RnnspecError("E104", f"{path} is longer than {MAX_SOURCE_CHARS:,} {unit}, the limit for a spec",
                        Span(path, 1, 1, 1, 2), "split the models over several files")


def parse(source: str, *, path: str = "<spec>") -> Module:
    """Parse spec text (one chain, or a file of `model NAME: ...` blocks) into a syntax tree."""
    if source.startswith("\ufeff"):
        source = source[1:]
    if len(source) > MAX_SOURCE_CHARS:
        raise too_large(path, "characters")
    return _parse_window(Window(source, 0, len(source), 1), path)


def _parse_window(window: Window, path: str) -> Module:
    """Parse `window` in place; an error is raised detached from Lark (see `_detached`)."""
    _current.path, _current.source = path, window.text
    try:
        with cyclic_gc_paused():
            return _parser().parse(window)
    except RnnspecError as err:  # the lexer's limits, raised before the file's path is known
        if err.span is not None and not err.span.path:
            err.span = err.span._replace(path=path)
        error = err
    except VisitError as err:
        if not isinstance(err.orig_exc, RnnspecError):
            raise
        error = err.orig_exc
    except UnexpectedInput as err:
        error = translate_syntax_error(err, window, path)
    finally:
        _current.source = None  # the thread keeps no text after the call
    raise _detached(error)


def _detached(error: RnnspecError) -> RnnspecError:
    """`error` holding nothing of the parse: Lark's exceptions (kept as context) hold the parser's state and
    the whole text, and a traceback holds the frames that held them; a file's errors are kept until it is
    reported, so each would otherwise keep its own copy of all that alive."""
    error.__context__ = error.__cause__ = None
    error.__suppress_context__ = True
    return error.with_traceback(None)


_TOKEN_WORDS = {
    "RPAR": "')'", "LPAR": "'('", "LINE_LPAR": "'('", "MORETHAN": "'>'", "COMMA": "','", "COLON": "':'",
    "EQUAL": "'='", "NAME": "a name", "INT": "a number", "FLOAT": "a number", "STRING": "a string",
    "REPEAT": "a repeat such as 'x3'", "EXPECT": "'expect'", "MODEL": "'model'", "OUTPUT": "'output'",
    "$END": "the end of the spec",
}
_ORDER = ["NAME", "LPAR", "INT", "FLOAT", "STRING", "MORETHAN", "COMMA", "RPAR", "EQUAL", "COLON", "REPEAT",
          "EXPECT", "OUTPUT", "MODEL", "$END"]
_VALUE = frozenset({"NAME", "LPAR", "INT", "FLOAT", "STRING"})
# Where the token before says more than the terminal names can ("a name" after `expect` is a kind of check).
_AFTER_KEYWORD = {"EXPECT": "what to check, such as 'shape' or 'params'", "MODEL": "the model's name",
                  "OUTPUT": "the names of the outputs"}
# Characters people paste from prose or other notations, and what the language writes instead.
_LOOKALIKES = {
    "\u2192": "join layers with '>'", "\u27f6": "join layers with '>'", "\u00bb": "join layers with '>'",
    "\u00d7": "write repeats with the letter x, as in 'x3'",
    "\u201c": 'write strings with plain quotes, "..." or \'...\'',
    "\u201d": 'write strings with plain quotes, "..." or \'...\'',
    "\u2018": "write strings with plain quotes, \"...\" or '...'",
    "\u2019": "write strings with plain quotes, \"...\" or '...'",
    "\uff0c": "separate arguments with ','",
}


def describe_expected(expected: set[str]) -> str:
    """A short 'expected ...' phrase from the terminals the parser can accept (never the raw names).

    Optional decorations of a layer (a repeat, a shape note) are not listed when '>' is: the phrase names
    the way forward, not every legal token.
    """
    words: list[str] = []
    rest = {"LPAR" if name == "LINE_LPAR" else name for name in expected}
    if _VALUE <= rest:
        words.append("a value")
        rest -= _VALUE
    elif {"NAME", "LPAR"} <= rest and not rest & {"COMMA", "RPAR"}:
        words.append("a layer")
        rest -= {"NAME", "LPAR"}
    if "MORETHAN" in rest:
        rest -= {"REPEAT", "COLON"}
    if {"COMMA", "RPAR"} <= rest:
        rest -= {"NAME", "LPAR", "EQUAL"}  # after a bare name in an argument list: `relu(` or `units=` too
    for name in _ORDER:
        word = "'>' and another layer" if name == "MORETHAN" else _TOKEN_WORDS[name]
        if name in rest and word not in words:
            words.append(word)
    if not words:
        return "something else"
    if len(words) == 2 and words[0].startswith("'>'"):
        return f"{words[0]}, or {words[1]}"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _open_parens(window: Window, upto: int) -> list[int]:
    """Offsets of the '(' still open at offset `upto` of the window, outermost first (comments and strings
    aside)."""
    source = window.text
    stack: list[int] = []
    i, end = window.start, min(upto, window.end)
    while i < end:
        ch = source[i]
        if ch == "#":
            nl = source.find("\n", i, end)
            i = end if nl < 0 else nl
            continue
        if ch in "\"'":
            close = source.find(ch, i + 1, end)
            i = end if close < 0 else close + 1
            continue
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            stack.pop()
        i += 1
    return stack


def _line_column(window: Window, offset: int) -> tuple[int, int]:
    """Line and column of an offset in the window, counting only the window's own text."""
    text, start = window.text, window.start
    line_start = max(text.rfind("\n", start, offset) + 1, start)
    return window.line + text.count("\n", start, offset), offset - line_start + 1


def _state_before(window: Window, offset: int) -> tuple[set[str], Token | None]:
    """What the parser could accept at `offset`, and the token before it.

    Lark's own `expected` comes from LALR lookaheads, which are merged across contexts (a ')' or 'model'
    looks acceptable where it is not) and taken after reductions the bad token already caused. Replaying
    the tokens before the error and asking the automaton which terminals it would really shift is exact,
    and it only runs when there is an error to report.
    """
    interactive = _parser().parse_interactive(window)
    previous = None
    try:
        for token in interactive.iter_parse():
            if token.start_pos >= offset:
                break
            previous = token
    except UnexpectedCharacters:
        pass  # the offending character itself: everything before it has been fed
    return interactive.accepts(), previous


def translate_syntax_error(err: UnexpectedInput, window: Window, path: str) -> RnnspecError:
    """A Lark error as an RnnspecError: where, what was expected in words, what was found, and a hint. Every
    scan runs over the window that was parsed (one block of a file), never the whole text."""
    if isinstance(err, UnexpectedCharacters):
        return _bad_character(err, window, path)
    assert isinstance(err, UnexpectedToken)
    token = err.token
    at_end = token.type == "$END"
    offset = window.end if at_end else token.start_pos
    expected, previous = _state_before(window, offset)
    if at_end:  # Lark places the end on the last token; the error sits just after it
        line, column = (token.end_line, token.end_column) if previous else (1, 1)
        span, found = Span(path, line, column, line, column), "the end of the spec"
    else:
        span = Span(path, token.line, token.column, token.end_line or token.line,
                    token.end_column or token.column + len(token))
        found = f"'{token}'"
    after = previous.type if previous is not None else None
    if token.type == "NAME" and "MORETHAN" in expected and _BINDING.match(window.text, token.end_pos, window.end):
        return RnnspecError("E100", f"'{token}' is bound after a chain that binds nothing", span,
                            "a functional model starts with a binding, usually its input: x = Input(...), then "
                            "x > ... (a model of one chain binds no names)")
    if token.type == "LINE_LPAR" and "LPAR" in expected and previous is not None:
        return RnnspecError("E100", f"a '(' at the start of a line opens a new statement, not the arguments of "
                            f"'{previous}'", span, f"write the arguments on the same line: {previous}(...)")
    if token.type == "NAME" and str(token) == "x" and "REPEAT" in expected:
        return RnnspecError("E100", "expected a repeat count after 'x'", span, "write the count after it, as in 'x3'")
    if after == "MORETHAN" and (at_end or token.type == "MORETHAN"):
        what = "another '>'" if token.type == "MORETHAN" else found
        hint = "layers are joined by a single '>'" if token.type == "MORETHAN" else \
            "remove the trailing '>' or add the missing layer"
        return RnnspecError("E100", f"expected a layer after '>', found {what}", span, hint)
    if after in _AFTER_KEYWORD and expected == {"NAME"}:
        wanted = _AFTER_KEYWORD[after]
    elif after == "COLON" and expected <= {"LPAR", "LINE_LPAR"}:
        wanted = "a shape such as (None, 32)"
    else:
        if {"EXPECT", "NAME"} <= expected and not expected & {"MORETHAN", "COMMA", "LPAR", "LINE_LPAR"}:
            expected = expected - {"NAME"}  # after an assertion the only name is `at T=n`: not the way forward
        wanted = describe_expected(expected)
    message = f"expected {wanted}, found {found}"
    open_here = _open_parens(window, offset)
    if "RPAR" in expected and open_here and set(open_here) & set(_open_parens(window, window.end)):
        line, column = _line_column(window, open_here[-1])
        return RnnspecError("E101", message, span, f"the '(' at line {line}, column {column} is not closed")
    if token.type == "RPAR" and not open_here:
        return RnnspecError("E101", f"unbalanced ')': {message}", span, "this ')' has no matching '('")
    return RnnspecError("E100", message, span, _hint(token.type, expected))


_BINDING = re.compile(r"[ \t]*(=|,[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*[=,])")  # `y = `, `y, h =`: a binding


def _hint(found: str, expected: set[str]) -> str | None:
    """Advice for the common ways of putting a valid token in the wrong place."""
    if found in ("NAME", "LPAR", "LINE_LPAR") and "MORETHAN" in expected:
        return "join layers with '>'"
    if found == "MODEL" and "MODEL" not in expected:
        return "a file of several models starts each one with 'model <name>:', the first one too"
    if found == "MORETHAN" and "EXPECT" in expected:
        return "'expect ...' lines come after the whole chain"
    if found == "REPEAT":
        return "a repeat follows a layer or a group directly, before any shape note: LSTM(32, seq) x3 : (...)"
    if found == "EQUAL":
        return "a keyword argument is written name=value"
    return None


def _bad_character(err: UnexpectedCharacters, window: Window, path: str) -> RnnspecError:
    """A character no token starts with: say which, and what could have come there instead."""
    line, column = max(err.line, 1), max(err.column, 1)
    char = window.text[err.pos_in_stream] if err.pos_in_stream < window.end else ""
    span = Span(path, line, column, line, column + 1)
    if char and char in "\"'":
        return RnnspecError("E100", "unterminated string", span, f"close it with {char} on the same line")
    code_point = f"U+{ord(char):04X}" if char else ""
    shown = f"'{char}'" if char.isprintable() and char.isascii() else \
        f"'{char}' ({code_point})" if char.isprintable() else f"character {code_point}"  # invisible ones too
    expected, _ = _state_before(window, err.pos_in_stream)
    hint = "separate arguments with ',' and layers with '>'" if char == ";" else _LOOKALIKES.get(char)
    return RnnspecError("E100", f"unexpected {shown}; expected {describe_expected(expected)}", span, hint)


_BLANK = re.compile(r"(?:[ \t\f\r\n]+|#[^\n]*)*")  # the grammar's WS and COMMENT
_MODEL_START = re.compile(r"^[ \t]*model[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*:", re.M)


class BrokenBlock(NamedTuple):
    """A model block that did not parse: its name (`model NAME:`, or ANONYMOUS_MODEL for a file without
    blocks), where the block starts, and the syntax error; a checker reports it as that model's error."""

    name: str
    span: Span
    error: RnnspecError


def parse_blocks(source: str, path: str = "<spec>") -> tuple[list[Module], list[BrokenBlock]]:
    """Parse a file; after a syntax error, parse each `model NAME:` block on its own so that one broken model
    does not hide the others (every error of the file is reported). Positions stay those of the whole file.

    Each block is parsed in place (a `Window` of the file) and its errors are detached from the parse, so the
    cost is linear in the file, however many blocks are broken."""
    if source.startswith("\ufeff"):
        source = source[1:]
    try:
        return [parse(source, path=path)], []
    except RnnspecError as err:
        first = _detached(err)
    starts = list(_MODEL_START.finditer(source)) if first.code != "E104" else []
    if len(starts) < 2:
        name = starts[0].group(1) if starts else ANONYMOUS_MODEL
        return [], [BrokenBlock(name, first.span or Span(path, 1, 1, 1, 2), first)]
    modules, broken = [], []
    before = _BLANK.match(source, 0, starts[0].start()).end()  # type: ignore[union-attr]
    if before != starts[0].start():  # text before the first block, which is in no block: a chain, or garbage
        line, column = _line_column(Window(source, 0, before, 1), before)
        broken.append(BrokenBlock(ANONYMOUS_MODEL, Span(path, line, column, line, column + 1), first))
    line, counted = 1, 0
    for match, end in zip(starts, [m.start() for m in starts[1:]] + [len(source)]):
        begin = match.start()
        line += source.count("\n", counted, begin)
        counted = begin
        try:
            modules.append(_parse_window(Window(source, begin, end, line), path))
        except RnnspecError as err:
            column = match.start(1) - begin + 1
            span = Span(path, line, column, line, column + len(match.group(1)))
            broken.append(BrokenBlock(match.group(1), span, _detached(err)))
    return modules, broken
