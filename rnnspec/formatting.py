"""`rnnspec fmt`: one canonical layout for a spec, computed from its tokens, so that formatting cannot change
what a spec means.

The formatter keeps the line breaks a writer chose (a chain on one line or one stage per line both stay), and
normalises everything else: indentation (a `model NAME:` header at column 0, its body 4 spaces in), spacing
between tokens, where a `>` goes when a chain is split (at the start of the continuation line), `expect` lines
(each on its own line), blank lines (at most one in a row, one between models, none after a header) and end-of-
line comments (two spaces before `#`, aligned in a paragraph, like gofmt). Shape notes ending
lines of a paragraph are aligned too. The text of every token and comment is kept as written.

Line breaks are semantic in three places of the language, and the formatter only moves them where they are not:
a `(` starting a line opens a new statement, `x3` starting a line is refused in a functional model, and an
allow comment applies to its own line. So the only breaks it adds are after a header's colon and before `model`,
`expect` and each statement of a functional model, and a `>` at the end of a line moves to the start of the next;
an end-of-line comment stays on the line of the layers it was written beside.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, NamedTuple

from lark import Token

from rnnspec.errors import Span
from rnnspec.parser import _parser, parse
from rnnspec.syntax import Binding, Call, Literal, Module

INDENT = "    "
_GAP_ITEM = re.compile(r"#[^\n]*|\n")  # what matters in the text between two tokens: comments and line ends
_OPENERS = frozenset({"LPAR", "LINE_LPAR"})
_LEAVES = (Span, Literal)  # nodes with nothing to walk into


class Gap(NamedTuple):
    """The text between two tokens, reduced to what the layout keeps: its comments, each with the number of line
    ends before it and whether it starts its line, indented; and the line ends in all."""

    comments: tuple[tuple[int, bool, str], ...]  # (line ends before it in the gap, indented, text)
    newlines: int


_SAME_LINE = Gap((), 0)


def _gap(text: str, start: int, end: int) -> Gap:
    chunk = text[start:end]
    if "\n" not in chunk and "#" not in chunk:  # most gaps: a space or nothing
        return _SAME_LINE
    comments: list[tuple[int, bool, str]] = []
    newlines = 0
    for match in _GAP_ITEM.finditer(text, start, end):
        if match.group() == "\n":
            newlines += 1
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        indented = newlines > 0 and match.start() > max(line_start, start)
        comments.append((newlines, indented, match.group().rstrip()))
    return Gap(tuple(comments), newlines)


@dataclass
class _Line:
    """One output line: indentation, code, an end-of-line comment; or a full-line comment; or a blank line."""

    indent: str = ""
    code: str = ""
    comment: str | None = None
    full_comment: bool = False
    note_at: int = -1  # where a shape note starts in `code`, when the line ends with one (aligned with neighbours)
    note_end: int = -1
    header: bool = False  # a `model NAME:` line, a paragraph of its own
    parts: list[str] = field(default_factory=list)  # the code while it is built (joined once: linear in a long line)
    width: int = 0

    def text(self) -> str:
        return (self.indent + self.code).rstrip() if not self.full_comment else self.indent + (self.comment or "")


@dataclass
class _Roles:
    """What a token is, where its text alone does not say, by (line, column): a call's name (no space before its
    `(`), the last target of a binding (spaces around the `=` after it), the start of a functional statement."""

    call_names: set[tuple[int, int]] = field(default_factory=set)
    target_ends: set[tuple[int, int]] = field(default_factory=set)
    statement_starts: set[tuple[int, int]] = field(default_factory=set)  # each on its own line


def _roles(module: Module) -> _Roles:
    """Walk every node of the tree (any NamedTuple, so that nodes added later are walked too)."""
    roles = _Roles()
    for model in module.models:
        roles.statement_starts.update((st.span.line, st.span.column) for st in model.statements)
    stack: list[object] = [module.models]
    while stack:
        node = stack.pop()
        if isinstance(node, Call) and node.has_parens:
            roles.call_names.add((node.name_span.line, node.name_span.column))
        elif isinstance(node, Binding):
            last = node.targets[-1].span
            roles.target_ends.add((last.line, last.end_column))
        if isinstance(node, tuple):
            stack.extend(item for item in node if isinstance(item, tuple) and not isinstance(item, _LEAVES))
    return roles


def _tokens(text: str) -> list[Token]:
    """The tokens exactly as the parser saw them (the context-aware lexer: `x3` a repeat or a name, `(` at the
    start of a line or not), from the parser's own lexer instance."""
    return list(_parser().parser.lexer.lexer.lex(text))


def format_spec(source: str, path: str = "<spec>") -> str:
    """The canonical form of `source`; raises the located RnnspecError of a spec that does not parse.

    A UTF-8 BOM and the line-end style (CRLF when the first line ends so) are kept."""
    bom = "\ufeff" if source.startswith("\ufeff") else ""
    text = source[len(bom):]
    first_end = text.find("\n")
    newline = "\r\n" if first_end > 0 and text[first_end - 1] == "\r" else "\n"
    module = parse(text, path=path)  # refuses a broken spec before anything is written
    tokens = _tokens(text)
    lines = _Layout(text, tokens, _roles(module)).lines()
    for line in lines:
        line.code = "".join(line.parts)
    _align(lines)
    out = newline.join(line.text() for line in lines)
    out = out + newline if out else out
    if _spelled(_tokens(out)) != _spelled(tokens):  # a safety net: the parser must see the very same tokens
        raise RuntimeError(f"rnnspec fmt would change the tokens of {path}; nothing was written (please report)")
    return bom + out


def _spelled(tokens: list[Token]) -> list[tuple[str, str]]:
    """Tokens as the grammar sees them: equal lists parse to the same tree. `x 3` and `x3` are one repeat, and a
    `(` at the start of a line differs from one inside a line only after a name (a call's arguments or not)."""
    spelled, before = [], ""
    for token in tokens:
        kind = "LPAR" if token.type == "LINE_LPAR" and before != "NAME" else token.type
        spelled.append((kind, "x" + token[1:].strip() if kind == "REPEAT" else str(token)))
        before = token.type
    return spelled


class _Layout:
    """One pass over the tokens and the gaps between them, building the output lines."""

    def __init__(self, text: str, tokens: list[Token], roles: _Roles) -> None:
        self.text, self.tokens, self.roles = text, tokens, roles
        self.out: list[_Line] = []
        self.line: _Line | None = None
        self.blank = False  # a blank line is due before the next line
        self.depth = 0
        self.in_model = False  # base indentation 4 after a `model` header
        self.after_header = False
        self.note_depth = -1  # bracket depth at which the open shape note's tuple started
        self.source_line_first = 0  # output line where the current source line's first token went
        self.chain_line = -1  # last output line holding a token that is not a header's or an assertion's
        self.in_assertion = False
        self.binding_equals: set[int] = set()
        self.source_line_starts = True  # the next token is the first of its source line

    def lines(self) -> list[_Line]:
        tokens, text = self.tokens, self.text
        gaps = [_gap(text, 0, tokens[0].start_pos if tokens else len(text))]
        gaps += [_gap(text, a.end_pos, b.start_pos) for a, b in zip(tokens, tokens[1:])]
        if tokens:
            gaps.append(_gap(text, tokens[-1].end_pos, len(text)))
        # `A >` at the end of a line: the `>` moves to the start of the next (gaps merged around it)
        for i, token in enumerate(tokens):
            if token.type == "MORETHAN" and gaps[i + 1].newlines:
                before, after = gaps[i], gaps[i + 1]
                gaps[i] = Gap(before.comments + tuple((n + before.newlines, ind, c) for n, ind, c in after.comments),
                              before.newlines + after.newlines)
                gaps[i + 1] = _SAME_LINE
        for i, token in enumerate(tokens):
            self.gap(gaps[i], token, tokens[i - 1] if i else None)
            self.token(i, token)
        self.gap(gaps[-1], None, tokens[-1] if tokens else None)
        return self.out

    # -- gaps: comments, line ends, blank lines

    def gap(self, gap: Gap, following: Token | None, previous: Token | None) -> None:
        comments = list(gap.comments)
        if comments and comments[0][0] == 0 and self.line is not None:  # an end-of-line comment
            self.attach_comment(comments.pop(0)[2])
        next_model = following is not None and following.type == "MODEL"
        separate = next_model and self.in_model  # one blank line between models, before the next one's comments
        if not gap.newlines:
            self.blank = self.blank or separate
            return
        self.source_line_starts = True
        between_models = following is None or next_model
        with_previous = self.in_model and between_models  # indented comments just after a model stay with it
        seen = 1  # line ends seen; a second one in a row (with no comment between) is a blank line
        for newlines, indented, comment in comments:
            if newlines - seen >= 1:
                self.blank, with_previous, separate = True, False, False
            seen = newlines + 1
            if with_previous and not indented:
                with_previous = False
            if separate and not with_previous:
                self.blank, separate = True, False
            self.line = None
            indent = self.comment_indent(between_models, with_previous)
            self.emit(_Line(indent, comment=comment, full_comment=True))
        if gap.newlines - seen >= 1 and following is not None or separate:
            self.blank = True
        self.line = None

    def comment_indent(self, between_models: bool, with_previous: bool) -> str:
        base = INDENT if self.in_model else ""
        if self.depth > 0:
            return base + INDENT
        if between_models and not with_previous:
            return ""
        return base

    def attach_comment(self, comment: str) -> None:
        """On the line of the layers written beside it: when an `expect` written on the same source line moved to
        a line of its own, the comment stays with the layers (an allow comment applies to its own line)."""
        own = self.source_line_first <= self.chain_line < len(self.out)
        line = self.out[self.chain_line] if own else self.line
        assert line is not None
        line.comment = comment

    def emit(self, line: _Line) -> None:
        if self.blank and self.out and not self.after_header:
            self.out.append(_Line())
        self.blank = False
        self.after_header = False
        self.out.append(line)

    # -- tokens

    def token(self, index: int, token: Token) -> None:
        kind = token.type
        previous = self.tokens[index - 1] if index else None
        header = kind == "MODEL" or (previous is not None and previous.type == "MODEL") or (
            kind == "COLON" and index >= 2 and self.tokens[index - 2].type == "MODEL")
        if kind == "MODEL":
            self.in_model, self.in_assertion = True, False
        if kind == "EXPECT":
            self.in_assertion = True
        starts_line = (self.line is None or kind in ("MODEL", "EXPECT")
                       or (token.line, token.column) in self.roles.statement_starts
                       or (previous is not None and previous.type == "COLON" and self.header_colon(index - 1)))
        if starts_line:
            self.new_line(kind)
        if self.source_line_starts:
            self.source_line_first, self.source_line_starts = len(self.out) - 1, False
        line = self.line
        assert line is not None
        space = "" if starts_line else self.space(index, token, previous)
        value = "x" + token[1:].strip() if kind == "REPEAT" else str(token)
        if kind == "COLON" and not header and self.depth == 0:
            line.note_at, line.note_end = line.width, -1
            self.note_depth = 0
        if line.note_at >= 0 and line.note_end >= 0:  # something after a finished note: not a trailing one
            line.note_at = line.note_end = -1
        line.parts += (space, value)
        line.width += len(space) + len(value)
        if kind in _OPENERS:
            self.depth += 1
        elif kind == "RPAR":
            self.depth -= 1
            if self.depth == 0 and line.note_at >= 0 and self.note_depth == 0:
                line.note_end = line.width
                self.note_depth = -1
        if not header and not self.in_assertion:
            self.chain_line = len(self.out) - 1
        if kind == "COLON" and header:
            self.after_header = True

    def header_colon(self, index: int) -> bool:
        return index >= 2 and self.tokens[index - 2].type == "MODEL"

    def new_line(self, kind: str) -> None:
        if self.line is not None and self.line.note_at >= 0 and self.line.note_end < 0:
            self.line.note_at = -1  # a note whose tuple goes on past the line is not aligned
        base = "" if kind == "MODEL" or not self.in_model else INDENT
        if self.depth > 0:
            base += INDENT
        self.line = _Line(base, header=kind == "MODEL")
        self.emit(self.line)

    def space(self, index: int, token: Token, previous: Token | None) -> str:
        kind = token.type
        if previous is None:
            return ""
        before = previous.type
        if kind in ("RPAR", "COMMA") or before in _OPENERS:
            return ""
        if kind == "COLON":
            return "" if self.header_colon(index) else " "
        if kind == "LPAR" and before == "NAME" and (previous.line, previous.column) in self.roles.call_names:
            return ""
        if kind == "EQUAL":
            if before == "NAME" and (previous.line, previous.end_column) in self.roles.target_ends:
                self.binding_equals.add(index)
                return " "
            return ""
        if before == "EQUAL":
            return " " if index - 1 in self.binding_equals else ""
        return " "


def _paragraphs(lines: list[_Line], member: Callable[[_Line], bool]) -> Iterator[list[_Line]]:
    """The member lines of each paragraph: code lines between blank lines, full-line comments and headers."""
    run: list[_Line] = []
    for line in lines:
        if line.full_comment or not line.code or line.header:
            if run:
                yield run
            run = []
            if line.header and member(line):
                yield [line]
        elif member(line):
            run.append(line)
    if run:
        yield run


def _align(lines: list[_Line]) -> None:
    """In each paragraph, the shape notes that end lines, then the end-of-line comments, start in one column (a
    note one space after the longest code before one, a comment two), as gofmt aligns comments."""
    for line in lines:
        if line.note_at >= 0 and (line.note_end != len(line.code)):
            line.note_at = -1
    for run in _paragraphs(lines, lambda line: not line.full_comment and line.code and line.note_at >= 0):
        width = max(len(line.indent) + len(line.code[:line.note_at].rstrip()) for line in run)
        for line in run:
            head = line.code[:line.note_at].rstrip()
            line.code = head.ljust(width - len(line.indent)) + " " + line.code[line.note_at:].lstrip()
    for run in _paragraphs(lines, lambda line: not line.full_comment and line.comment is not None):
        width = max(len(line.indent) + len(line.code) for line in run)
        for line in run:
            line.code = line.code.ljust(width - len(line.indent)) + "  " + (line.comment or "")
            line.comment = None


def is_canonical(source: str, path: str = "<spec>") -> bool:
    return format_spec(source, path) == source


__all__ = ["format_spec", "is_canonical"]
