"""`rnnspec check --update`: a spec's assertions rewritten from what rnnspec infers, like a snapshot test.

Only what is stale or missing is written, as edits to the text in place, so the rest of the file (comments, blank
lines, layout, line ends, other models) stays byte for byte:
- a failing `expect` (shape, params, trainable, non_trainable, or a cost such as `expect macs N at T=n`) gets the
  inferred value in place of its value; a failing shape note `: (...)` gets the inferred shape;
- a model without `expect params` gets it after its last line, and one without `expect shape` gets it before its
  first assertion (or after its last line); `expect trainable`/`non_trainable` are refreshed where written, never
  added (`params` already counts both);
- a model with any other error (a wrong argument, a shape error) is left alone and reported, as is a whole file
  that does not parse.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from rnnspec import api
from rnnspec.errors import RnnspecError, Span
from rnnspec.infer import ModelReport, format_output
from rnnspec.parser import MAX_SOURCE_CHARS, parse
from rnnspec.syntax import Assertion, ModelDef

ASSERTION_CODES = frozenset({"E400", "E401", "E402", "E403"})  # failures --update fixes; any other error blocks it
COUNTS = ("params", "trainable", "non_trainable")
_NUMBER = re.compile(r"[ \t]*([+-]?[0-9][0-9_]*)")
_NOTE_FOUND = re.compile(r"(?:outputs|are) (\(.*\)), but the spec says")
_SHAPE = re.compile(r"\([^()]*\)")
_REST_OF_LINE = re.compile(r"[ \t\r]*(?:#[^\n]*)?(?:\n|$)")


class Edit(NamedTuple):
    """Replace text[start:end] with `text`."""

    start: int
    end: int
    text: str


@dataclass
class Skipped:
    """A model left as it was, and why (its errors, or what could not be refreshed)."""

    name: str
    errors: list[RnnspecError]


@dataclass
class Update:
    """The updated text of one source, the models changed and the models left alone."""

    source: str
    text: str
    updated: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.text != self.source


class _Offsets:
    """Character offsets of (line, column) positions, for edits by span."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        self.starts += [m.end() for m in re.finditer("\n", text)]

    def at(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1

    def start(self, span: Span) -> int:
        return self.at(span.line, span.column)

    def end(self, span: Span) -> int:
        return self.at(span.end_line, span.end_column)


def update_spec(source: str, path: str = "<spec>") -> Update:
    """`source` with every model's assertions brought up to date; raises the RnnspecError of a spec that does not
    parse (nothing can be updated in a file whose models cannot be told apart)."""
    bom = "\ufeff" if source.startswith("\ufeff") else ""
    text = source[len(bom):]
    module = parse(text, path=path)
    reports = api.check(module, path=path)
    offsets = _Offsets(text)
    newline = "\r\n" if "\r\n" in text[:text.find("\n") + 1] else "\n"
    result = Update(source, source)
    edits: list[Edit] = []
    for model, report in zip(module.models, reports):
        blocking = [e for e in report.errors if e.code not in ASSERTION_CODES]
        if blocking:
            result.skipped.append(Skipped(model.name, blocking))
            continue
        try:
            own = _model_edits(model, report, text, offsets, newline)
        except RnnspecError as err:
            result.skipped.append(Skipped(model.name, [err]))
            continue
        if own:
            edits += own
            result.updated.append(model.name)
    updated = apply_edits(text, edits)
    if len(updated) > MAX_SOURCE_CHARS:
        raise RnnspecError("E104", f"{path} would grow past {MAX_SOURCE_CHARS:,} characters, the limit for a spec; "
                           "not updated", Span(path, 1, 1, 1, 2), "split the models over several files")
    if edits:
        try:  # a safety net: what is written must parse, to as many models
            same = len(parse(updated, path=path).models) == len(module.models)
        except RnnspecError:
            same = False
        if not same:
            raise RuntimeError(f"rnnspec check --update would break {path}; nothing was written (please report)")
    result.text = bom + updated
    return result


def apply_edits(text: str, edits: list[Edit]) -> str:
    """`text` with non-overlapping edits made, in one pass (linear however many models change)."""
    parts, at = [], 0
    for edit in sorted(edits):
        parts += (text[at:edit.start], edit.text)
        at = edit.end
    parts.append(text[at:])
    return "".join(parts)


def _model_edits(model: ModelDef, report: ModelReport, text: str, offsets: _Offsets, newline: str) -> list[Edit]:
    failing = {error.span: error for error in report.errors if error.span is not None}
    edits: list[Edit] = []
    kinds = set()
    for assertion in model.assertions:
        kinds.add(assertion.kind)
        error = failing.pop(assertion.span, None)
        if error is not None:
            edits.append(_refreshed(assertion, error, report, text, offsets))
    for span, error in failing.items():  # the rest are shape notes (E402), located at their tuple
        if error.code != "E402":
            raise RnnspecError(error.code, f"cannot update this assertion: {error.message}", span)
        edits.append(Edit(offsets.start(span), offsets.end(span), _note_shape(error)))
    added = []
    if "shape" not in kinds and report.output is not None:
        shape = f"expect shape {format_output(report.output)}"
        before = _line_before(model.assertions[0].span, text, offsets) if model.assertions else None
        if before is None:
            added.append(shape)
        else:  # first of the model's assertions, as `expect shape` is usually written
            edits.append(Edit(before[0], before[0], before[1] + shape + newline))
    if "params" not in kinds:
        added.append(f"expect params {report.total:_}")
    if added:
        edits.append(_appended(model, added, text, offsets, newline))
    return edits


def _refreshed(assertion: Assertion, error: RnnspecError, report: ModelReport, text: str,
               offsets: _Offsets) -> Edit:
    """The failing assertion's value replaced by the inferred one."""
    if assertion.kind == "shape":
        if report.output is None:
            raise RnnspecError(error.code, "cannot update 'expect shape': the model has no output", assertion.span)
        value = assertion.value.span
        return Edit(offsets.start(value), offsets.end(value), format_output(report.output))
    if assertion.kind in COUNTS:
        inferred = {"params": report.total, "trainable": report.trainable,
                    "non_trainable": report.non_trainable}[assertion.kind]
    else:  # a cost (`expect macs N at T=n`): the figure the checker inferred, which its error carries
        inferred = getattr(error, "inferred", None)
        if not isinstance(inferred, int):  # a formula in T, or no count at all: nothing to write
            raise RnnspecError(error.code, f"cannot update 'expect {assertion.kind}': {error.message}",
                               assertion.span)
    number = _NUMBER.match(text, offsets.end(assertion.kind_span))  # the figure right after the kind
    if number is None:
        raise RnnspecError(error.code, f"cannot update 'expect {assertion.kind}': no number after it", assertion.span)
    return Edit(number.start(1), number.end(1), f"{inferred:_}")


def _note_shape(error: RnnspecError) -> str:
    """The inferred shape a failing note's error states: one shape, or a tuple of one per tensor."""
    found = _NOTE_FOUND.search(error.message)
    if found is None:
        raise RnnspecError(error.code, f"cannot update this shape note: {error.message}", error.span)
    shapes = _SHAPE.findall(found.group(1))
    return shapes[0] if len(shapes) == 1 else "(" + ", ".join(shapes) + ")"


def _appended(model: ModelDef, lines: list[str], text: str, offsets: _Offsets, newline: str) -> Edit:
    """The new `expect` lines after the model's last line, indented like its assertions or its body."""
    indent = _indent(model, text, offsets)
    end = offsets.end(model.span)
    rest = _REST_OF_LINE.match(text, end)
    if rest is None:  # more of the spec on the same line: the lines go in right after the model, before the rest
        spaces = re.compile(r"[ \t]*").match(text, end).end()  # type: ignore[union-attr]
        return Edit(end, spaces, "".join(newline + indent + line for line in lines) + newline)
    at = rest.end()
    lead = newline if at == len(text) and not text[end:at].endswith("\n") else ""
    return Edit(at, at, lead + "".join(indent + line + newline for line in lines))


def _line_before(span: Span, text: str, offsets: _Offsets) -> tuple[int, str] | None:
    """(the start of the line, its indentation) when `span` is the first thing on its line."""
    line_start = offsets.starts[span.line - 1]
    before = text[line_start:offsets.start(span)]
    return (line_start, before) if not before.strip(" \t") else None


def _indent(model: ModelDef, text: str, offsets: _Offsets) -> str:
    """The indentation of the model's first assertion or first body line (when it starts its line); else four
    spaces in a `model` block, none in a file of one model."""
    for span in ([a.span for a in model.assertions[:1]]
                 + [(model.statements[0] if model.statements else model.chain).span]):
        found = _line_before(span, text, offsets)
        if found is not None:
            return found[1]
    anonymous = model.span[1:3] == model.name_span[1:3]  # a file of one model starts at its chain, not `model`
    return "" if anonymous else "    "


__all__ = ["ASSERTION_CODES", "Edit", "Skipped", "Update", "apply_edits", "update_spec"]
