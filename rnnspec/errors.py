"""One error type for everything a user can cause, located in the source like a compiler's."""
from __future__ import annotations

from typing import NamedTuple


class Span(NamedTuple):
    """A region of a source file; lines and columns count from 1, `end_column` is exclusive.

    A NamedTuple rather than a frozen dataclass: the parser makes one per token, and this is 3x cheaper.
    """

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: "Span") -> "Span":
        """The span from the start of this one to the end of `other`."""
        return Span(self.path, self.line, self.column, other.end_line, other.end_column)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


class RnnspecError(Exception):
    """A user's mistake: a stable code, what was expected and found, where, and how to fix it."""

    def __init__(
        self,
        code: str,
        message: str,
        span: Span | None = None,
        hint: str | None = None,
        severity: str = "error",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span
        self.hint = hint
        self.severity = severity

    def located(self, span: Span) -> "RnnspecError":
        """This error, placed at `span` unless it already has a place."""
        if self.span is None:
            self.span = span
        return self

    def __str__(self) -> str:
        where = f"{self.span.path}:{self.span.line}:{self.span.column}: " if self.span else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{self.severity}[{self.code}]: {self.message}{hint}"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "span": self.span.as_dict() if self.span else None,
        }


class ErrorList(RnnspecError):
    """Several independent errors found in one pass (all are reported, not just the first)."""

    def __init__(self, errors: list[RnnspecError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.span, first.hint)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


# Stable error codes: the code is part of the interface (CI logs, editors grep for it).
CODES: dict[str, str] = {
    "E100": "syntax error",
    "E101": "unterminated or unbalanced brackets",
    "E102": "bad number",
    "E103": "nesting too deep",
    "E104": "spec too large",
    "E200": "unknown layer",
    "E201": "unknown argument",
    "E202": "wrong argument type",
    "E203": "argument out of range",
    "E204": "missing argument",
    "E205": "argument given twice",
    "E206": "too many positional arguments",
    "E207": "bad repeat count",
    "E208": "duplicate model name",
    "E209": "unknown assertion",
    "E210": "unknown model",
    "E211": "unknown code to allow",
    "E212": "unknown name",
    "E213": "name bound twice",
    "E214": "outputs and names do not match",
    "E215": "name used before it is bound",
    "E216": "layer name given twice",
    "E300": "shape error",
    "E301": "input shape required",
    "E302": "unknown dimension where a known one is needed",
    "E303": "initial state or mask does not fit",
    "E304": "input reaches no output",
    "E400": "assertion failed: output shape",
    "E401": "assertion failed: parameter count",
    "E402": "assertion failed: layer output shape",
    "E403": "assertion failed: cost",
    "E500": "I/O error",
    "E501": "backend error",
    "E502": "model too large to build",
    "E503": "too large to allocate",
    "E510": "Keras layer rnnspec cannot express",
    "E511": "Keras argument rnnspec cannot express",
    "E512": "Keras model rnnspec cannot express",
    "E513": "not a readable Keras model file",
    "E514": "Keras weights do not fit the spec",
    "E520": "spec not in canonical form",
    "W100": "warning: Dense after seq acts per time step",
    "W101": "warning: dropout of rate 0",
    "W102": "warning: repeat of 1",
    "W103": "warning: a layer drops the mask",
    "W104": "warning: unroll over an unknown length",
    "W105": "warning: a name bound and never used",
    "W106": "warning: a chain's result never used",
    "W107": "warning: initial_state stops the mask",
    "W108": "warning: float values into Embedding",
    "W109": "warning: a deprecated argument",
    "W110": "warning: Keras states another shape than it computes",
}
