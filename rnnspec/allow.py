"""Intended warnings: `# rnnspec: allow W100` on the warning's line, or `allow=("W100",)` for a whole run.

A char-RNN's Dense after a `seq` GRU acts on every step on purpose (W100); saying so where it happens keeps
`--strict` usable. Only warning codes can be allowed, and an unknown code is an error: a typo must not silence
nothing while reading as if it silenced something.
"""
from __future__ import annotations

import bisect
import re
from typing import Iterable

from rnnspec.errors import CODES, RnnspecError, Span
from rnnspec.infer import ModelReport
from rnnspec.layers.base import suggest

WARNING_CODES = tuple(code for code in CODES if code.startswith("W"))
UNKNOWN_CODE = "E211"  # an allow comment or --allow naming no warning code (E209 is `expect <unknown>`)
# `# rnnspec: allow W100, W103` and any words after the codes (a reason); one search over the whole text.
_ALLOW = re.compile(r"#[ \t]*rnnspec[ \t]*:[ \t]*allow\b[ \t]*((?:[^\s,#]+[ \t]*,[ \t]*)*[^\s,#]*)")
_CODE = re.compile(r"[^\s,]+")


def disallowed(code: str, span: Span | None = None) -> RnnspecError | None:
    """The error for allowing `code`, or None when it is a warning code (which can be allowed)."""
    if code in WARNING_CODES:
        return None
    codes = ", ".join(WARNING_CODES)
    if code in CODES:
        return RnnspecError(UNKNOWN_CODE, f"cannot allow {code}: it is an error, and only warnings can be allowed",
                            span, f"warnings: {codes}")
    close = suggest(code, WARNING_CODES)
    return RnnspecError(UNKNOWN_CODE, f"cannot allow '{code}': it is not a warning code", span,
                        f"{close} (warnings: {codes})" if close else f"warnings: {codes}")


def allowed_codes(codes: Iterable[str]) -> frozenset[str]:
    """The codes of `check(allow=...)`, each a warning code; raises on the first that is not."""
    codes = (codes,) if isinstance(codes, str) else tuple(codes)
    for code in codes:
        error = disallowed(code)
        if error is not None:
            raise error
    return frozenset(codes)


def allow_comments(source: str, path: str) -> tuple[dict[int, frozenset[str]], list[RnnspecError]]:
    """The codes allowed on each line, and an error per unknown code or empty list; linear in the text."""
    by_line: dict[int, frozenset[str]] = {}
    errors: list[RnnspecError] = []
    if "rnnspec" not in source:
        return by_line, errors
    line, position, line_start = 1, 0, 0
    for match in _ALLOW.finditer(source):
        newlines = source.count("\n", position, match.start())
        if newlines:
            line += newlines
            line_start = source.rfind("\n", position, match.start()) + 1
        position = match.start()
        codes = []
        words = list(_CODE.finditer(match.group(1)))
        for code in words:
            column = match.start(1) + code.start() - line_start + 1
            error = disallowed(code.group(), Span(path, line, column, line, column + len(code.group())))
            if error is None:
                codes.append(code.group())
            else:
                errors.append(error)
        if not words:
            column = match.start() - line_start + 1
            errors.append(RnnspecError(UNKNOWN_CODE, "an allow comment names no warning",
                                       Span(path, line, column, line, column + len(match.group())),
                                       "name the warnings it allows, e.g. `# rnnspec: allow W100`"))
        by_line[line] = by_line.get(line, frozenset()) | frozenset(codes)
    return by_line, errors


def apply_allows(reports: list[ModelReport], source: str | None, path: str, run: frozenset[str]) -> None:
    """Drop the warnings allowed for the run or on their line; an allow comment's error goes to the model it
    sits in (or the next one, or the last): `reports` in source order."""
    by_line, errors = allow_comments(source, path) if source else ({}, [])
    if not (run or by_line or errors):
        return
    for report in reports:
        report.warnings = [w for w in report.warnings if not _allowed(w, run, by_line)]
    if errors and reports:
        starts = [r.span.line for r in reports]
        for error in errors:
            line = error.span.line if error.span else 1
            index = bisect.bisect_right(starts, line) - 1  # the last model starting at or before the line
            if index < 0 or reports[index].span.end_line < line:
                index = min(index + 1, len(reports) - 1)  # between models: the next one
            reports[index].errors.append(error)


def _allowed(warning: RnnspecError, run: frozenset[str], by_line: dict[int, frozenset[str]]) -> bool:
    return warning.code in run or warning.span is not None and warning.code in by_line.get(warning.span.line, ())
