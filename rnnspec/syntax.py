"""The syntax tree: what the text says, with spans, and no meaning yet (that is the registry's job)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from rnnspec.errors import Span


@dataclass(frozen=True)
class Literal:
    """An int, float or string written in the spec."""

    value: int | float | str
    span: Span


@dataclass(frozen=True)
class Ident:
    """An identifier value made by resolution (a flag such as `seq` becomes `true`).

    The parser itself writes a bare name (`relu`, `true`, `None`, `seq`) as a `Call` without parentheses, since
    only the registry knows whether `Flatten` is a layer or `relu` a word; `ident_of` reads either form.
    """

    name: str
    span: Span


@dataclass(frozen=True)
class TupleLit:
    items: tuple["Value", ...]
    span: Span


@dataclass(frozen=True)
class Arg:
    """A positional (`name is None`) or keyword argument."""

    name: str | None
    value: "Value"
    span: Span
    name_span: Span | None = None


@dataclass(frozen=True)
class Call:
    """`Name(args)`; also a bare `Name` (has_parens False), which as a value may be an identifier."""

    name: str
    args: tuple[Arg, ...]
    span: Span
    name_span: Span
    has_parens: bool


Value = Union[Literal, Ident, TupleLit, Call]


@dataclass(frozen=True)
class Group:
    chain: "Chain"
    span: Span


@dataclass(frozen=True)
class Repeat:
    count: int
    span: Span


@dataclass(frozen=True)
class Stage:
    """One step of a chain: a layer call or a parenthesised group, maybe repeated, maybe annotated."""

    element: Call | Group
    repeat: Repeat | None
    shape_note: TupleLit | None
    span: Span


@dataclass(frozen=True)
class Chain:
    stages: tuple[Stage, ...]
    span: Span


@dataclass(frozen=True)
class Assertion:
    """`expect KIND VALUE`; which kinds exist is decided when the model is checked."""

    kind: str
    kind_span: Span
    value: Value
    span: Span


@dataclass(frozen=True)
class ModelDef:
    name: str
    name_span: Span
    chain: Chain
    assertions: tuple[Assertion, ...]
    span: Span


@dataclass(frozen=True)
class Module:
    """A parsed file or expression. Later statement kinds (blocks, imports) get their own tuples here."""

    path: str
    source: str
    models: tuple[ModelDef, ...]
