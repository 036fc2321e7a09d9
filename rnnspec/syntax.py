"""The syntax tree: what the text says, with spans, and no meaning yet (that is the registry's job).

Nodes are NamedTuples: immutable like frozen dataclasses, and about twice as cheap to build, which matters
because parsing builds thirty of them for a one-line spec.
"""
from __future__ import annotations

from typing import NamedTuple, Union

from rnnspec.errors import Span


class Literal(NamedTuple):
    """An int, float or string written in the spec."""

    value: int | float | str
    span: Span


class Ident(NamedTuple):
    """An identifier value made by resolution (a flag such as `seq` becomes `true`).

    The parser itself writes a bare name (`relu`, `true`, `None`, `seq`) as a `Call` without parentheses, since
    only the registry knows whether `Flatten` is a layer or `relu` a word; `ident_of` reads either form.
    """

    name: str
    span: Span


class TupleLit(NamedTuple):
    items: tuple["Value", ...]
    span: Span


class Arg(NamedTuple):
    """A positional (`name is None`) or keyword argument."""

    name: str | None
    value: "Value"
    span: Span
    name_span: Span | None = None


class Call(NamedTuple):
    """`Name(args)`; also a bare `Name` (has_parens False), which as a value may be an identifier."""

    name: str
    args: tuple[Arg, ...]
    span: Span
    name_span: Span
    has_parens: bool


Value = Union[Literal, Ident, TupleLit, Call]


class Group(NamedTuple):
    chain: "Chain"
    span: Span


class FanIn(NamedTuple):
    """`(a, b > encoder) > Add`: several chains whose tensors feed one layer (a merge) together."""

    chains: tuple["Chain", ...]
    span: Span


class Repeat(NamedTuple):
    count: int
    span: Span


class Stage(NamedTuple):
    """One step of a chain: a layer call or a parenthesised group, maybe repeated, maybe annotated."""

    element: Call | Group | FanIn
    repeat: Repeat | None
    shape_note: TupleLit | None
    span: Span


class Chain(NamedTuple):
    stages: tuple[Stage, ...]
    span: Span


class AtLength(NamedTuple):
    """`at T=100` after a cost assertion: the length the unknown dimensions take (`symbol` is the name written)."""

    symbol: str
    length: int
    span: Span


class Assertion(NamedTuple):
    """`expect KIND VALUE [at T=n]`; which kinds exist is decided when the model is checked."""

    kind: str
    kind_span: Span
    value: Value
    span: Span
    at: AtLength | None = None


class Target(NamedTuple):
    """A name a binding gives, or `output` lists (`_` discards an output)."""

    name: str
    span: Span


class Binding(NamedTuple):
    """`name = chain`, or `a, b, c = chain` unpacking a layer's several outputs."""

    targets: tuple[Target, ...]
    chain: Chain
    span: Span


class Outputs(NamedTuple):
    """`output a, b`: the model's outputs, in order."""

    names: tuple[Target, ...]
    span: Span


Statement = Union[Binding, Chain, Outputs]


class ModelDef(NamedTuple):
    """A model: one chain (the sequential form, `statements` empty), or the functional form's statements in order
    (then `chain` is the last chain written, for locating the model)."""

    name: str
    name_span: Span
    chain: Chain
    assertions: tuple[Assertion, ...]
    span: Span
    statements: tuple[Statement, ...] = ()

    @property
    def functional(self) -> bool:
        return bool(self.statements)


class Module(NamedTuple):
    """A parsed file or expression. Later statement kinds (blocks, imports) get their own tuples here."""

    path: str
    source: str
    models: tuple[ModelDef, ...]
