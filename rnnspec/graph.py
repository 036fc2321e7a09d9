"""Syntax tree to model graph: layer calls resolved against the registry, flags expanded, repeats kept as
`Repeat` items (the checker unrolls the small ones and folds the huge ones; see rnnspec.infer)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    Args, LayerArg, LayerNode, LayerType, Name, Param, Tensor, ident_of, lookup, registry, suggest,
)
from rnnspec.shape import Shape
from rnnspec.syntax import Arg, AtLength, Call, Chain, FanIn, Ident, Literal, ModelDef, Stage, TupleLit, Value

MAX_LAYERS = 1_000_000_000  # layers per model, every copy of every repeat counted; past it a spec is refused


@dataclass(frozen=True)
class ShapeNote:
    """`Layer(...) : (None, 32)`: the output shape expected after layer number `index`."""

    index: int
    shape: Shape
    span: Span


@dataclass(frozen=True)
class ModelAssertion:
    """`expect KIND VALUE` resolved: `shape` holds a Shape, the count kinds an int."""

    kind: str
    expected: Shape | tuple[Shape, ...] | int  # several shapes for a model of several outputs
    span: Span
    at: int | None = None  # a cost assertion's `at T=n`: the length the unknown dimensions take


COST_KINDS = ("macs", "flops")  # assertions on rnnspec.cost's figures, which are computed only for them


ASSERTION_KINDS = {
    "shape": "the model's output shape, batch first: expect shape (None, 32)",
    "params": "the total parameter count: expect params 322080",
    "trainable": "the trainable parameter count",
    "non_trainable": "the non-trainable parameter count",
    "macs": "multiply-accumulates of one forward pass per sample: expect macs 1_234_560 at T=100",
    "flops": "FLOPs of one forward pass per sample (2 per MAC plus the other arithmetic; docs/cost.md)",
}


@dataclass(frozen=True)
class Repeat:
    """`body x count`, not expanded: `LSTM(32, seq) x 1000000` costs one resolved node, not a million."""

    body: tuple["Item", ...]
    count: int
    notes: tuple[ShapeNote, ...]  # shape notes inside the body, at indices of `body`
    span: Span
    size: int  # layers in all the copies


Item = Union[LayerNode, Repeat]


@dataclass
class ModelGraph:
    name: str
    span: Span
    name_span: Span
    input: Tensor | None = None
    input_span: Span | None = None
    input_node: LayerNode | None = None  # the written Input (its sparse= and ragged= go to Keras)
    layers: list[Item] = field(default_factory=list)
    size: int = 0  # layers, every copy of every repeat counted
    notes: list[ShapeNote] = field(default_factory=list)
    assertions: list[ModelAssertion] = field(default_factory=list)
    errors: list[RnnspecError] = field(default_factory=list)
    warnings: list[RnnspecError] = field(default_factory=list)
    named: bool = False  # some layer is given `name=` (the checker then looks for names given twice)


def resolve_call(call: Call) -> LayerNode:
    """One layer call: arguments matched to the signature, converted, checked, defaults filled in."""
    kind = lookup(call.name, call.name_span)
    values: dict[str, Value] = {}
    spans: dict[str, Span] = {}
    flags = kind.flag_table
    positional = iter(kind.positional)
    extra: list[Value] = []

    for arg in call.args:
        written = arg.name
        if written is None:
            flag = ident_of(arg.value)
            if flag in flags:
                name, setting = flags[flag]
                value, written = _flag_value(setting, arg), flag
            elif kind.varargs:
                extra.append(arg.value)
                continue
            else:
                param = next(positional, None)
                if param is None:
                    raise _too_many(kind, arg)
                name, value = param.name, arg.value
        else:
            name = flags[written][0] if written in flags and written not in kind.param_table else written
            if name not in kind.param_table:
                raise _unknown_argument(kind, written, arg.name_span)
            value = arg.value
        if name in values:
            raise _twice(kind, name, written, spans[name], arg.span)
        values[name], spans[name] = value, arg.span
    if kind.varargs and extra:
        whole = extra[0].span.to(extra[-1].span)
        # Keras's `Input((20, 8))` and `Input(())` are rnnspec's `Input(20, 8)` and the scalar `Input(shape=())`
        one_tuple = len(extra) == 1 and isinstance(extra[0], TupleLit)
        values[kind.varargs], spans[kind.varargs] = extra[0] if one_tuple else TupleLit(tuple(extra), whole), whole

    missing = next((name for name in kind.required if name not in values), None)
    if missing is not None:
        raise RnnspecError("E204", f"{kind.name} is missing its argument '{missing}'", call.span, _example(kind))
    args = Args(kind.defaults)  # in signature order, as `rnnspec layers` and the Keras call list them
    for name, value in values.items():
        args[name] = _convert(kind, kind.param_table[name], value, flags)
    kind.validate(args, spans)
    return LayerNode(kind, args, call.span, spans)


def _unknown_argument(kind: LayerType, written: str, span: Span | None) -> RnnspecError:
    """E201, with why: a Keras argument rnnspec does not support yet says so; a word that is an argument of other
    layers says which; otherwise the closest name."""
    if written in kind.unsupported:
        return RnnspecError("E201", f"{kind.name}'s argument '{written}' is not supported", span,
                            kind.unsupported[written])
    names = [p.name for p in kind.params] + list(kind.flags)
    close = suggest(written, names)
    owners = [other.name for other in registry().values() if written in other.param_table]
    if owners:
        shown = ", ".join(owners[:4]) + (f" and {len(owners) - 4} more" if len(owners) > 4 else "")
        where = f"'{written}' is a Keras argument of {shown}, not of {kind.name}"
        return RnnspecError("E201", f"{kind.name} has no argument '{written}'", span,
                            f"{where}; {close}" if close else where)
    return RnnspecError("E201", f"{kind.name} has no argument '{written}'", span,
                        close or f"{kind.name} takes: {', '.join(names) or 'nothing'}")


def _convert(kind: LayerType, param: Param, value: Value, flags: dict[str, object]) -> object:
    """Convert an argument; a bare word that fails but looks like a misspelt flag says so."""
    try:
        return param.type.convert(param.name, value, resolve_call)
    except RnnspecError as err:
        word = ident_of(value)
        close = suggest(word, flags) if word else None
        if close:
            err.message = f"'{word}' is neither a flag of {kind.name} nor a valid '{param.name}'"
            err.hint = close
        elif word is not None and param.positional:
            owners = [other.name for other in registry().values() if word in other.flag_table]
            if owners:
                err.message = f"{kind.name} has no flag '{word}', and '{word}' is not a valid '{param.name}'"
                err.hint = f"'{word}' is a flag of {', '.join(owners)}"
        if err.hint is None and word is not None and word not in ("true", "false", "True", "False", "None"):
            fits = next((other.name for other in kind.params if other is not param and _accepts(other, value)), None)
            if fits:
                err.hint = f"'{word}' is a value for '{fits}': write {fits}={word}"
        raise


def _accepts(param: Param, value: Value) -> bool:
    """Whether `value` is valid for `param` (a word given to the wrong argument usually fits another one)."""
    if isinstance(param.type, (LayerArg, Name)):  # any word is a valid name: it says nothing about the slip
        return False
    try:
        param.type.convert(param.name, value, resolve_call)
    except RnnspecError:
        return False
    return True


def _flag_value(setting: object, arg: Arg) -> Value:
    """A flag written as a bare name stands for `name=true` (or the alias's value)."""
    if isinstance(setting, bool):
        return Ident("true" if setting else "false", arg.span)
    return Literal(setting, arg.span)  # type: ignore[arg-type]


def _twice(kind: LayerType, name: str, written: str | None, first: Span, again: Span) -> RnnspecError:
    """E205 in the words the user wrote: `seq` twice is about `seq`, and a flag names the parameter it sets."""
    what = f"'{written}' (which sets '{name}')" if written and written != name else f"'{name}'"
    return RnnspecError("E205", f"{what} is given twice", again,
                        f"{kind.name} takes '{name}' once; it was first given at line {first.line}, "
                        f"column {first.column}")


def _too_many(kind: LayerType, arg: Arg) -> RnnspecError:
    names = [p.name for p in kind.params if p.positional]
    takes = f"takes {len(names)} positional argument(s) ({', '.join(names)})" if names else "takes no positional arguments"
    word = ident_of(arg.value)
    flags = sorted(kind.all_flags())
    if word and flags:
        hint = suggest(word, flags) or f"{kind.name} accepts the flags: {', '.join(flags)}"
    else:
        hint = "name the extra argument, as in name=value" if kind.positional else None
    return RnnspecError("E206", f"{kind.name} {takes}; this one is extra", arg.span, hint)


def _example(kind: LayerType) -> str:
    required = [p.name for p in kind.params if p.required]
    return f"write {kind.name}({', '.join(required)}=...)" if required else ""


def shape_literal(value: Value, what: str) -> Shape:
    """A written shape such as `(None, 100, 32)`: integers and None, batch first."""
    if not isinstance(value, TupleLit):
        raise RnnspecError("E202", f"{what} expects a shape such as (None, 32)", value.span)
    dims: list[int | None] = []
    for item in value.items:
        if ident_of(item) == "None":
            dims.append(None)
        elif isinstance(item, Literal) and type(item.value) is int and item.value >= 0:
            dims.append(item.value)
        else:
            raise RnnspecError("E202", "a shape holds non-negative integers and None", item.span)
    return tuple(dims)


def lower(model: ModelDef) -> ModelGraph:
    """The graph of one model; errors are collected per stage so that all of them are reported."""
    graph = ModelGraph(model.name, model.span, model.name_span)
    _lower_chain(model.chain, graph, top=True)
    for assertion in model.assertions:
        try:
            graph.assertions.append(_assertion(assertion.kind, assertion.kind_span, assertion.value, assertion.span,
                                               assertion.at))
        except RnnspecError as err:
            graph.errors.append(err)
    return graph


def _assertion(kind: str, kind_span: Span, value: Value, span: Span, at: AtLength | None = None) -> ModelAssertion:
    if kind not in ASSERTION_KINDS:
        raise RnnspecError("E209", f"unknown assertion 'expect {kind}'", kind_span,
                           suggest(kind, ASSERTION_KINDS) or "use: expect " + ", expect ".join(ASSERTION_KINDS))
    if at is not None and kind not in COST_KINDS:
        raise RnnspecError("E202", f"'at {at.symbol}=...' belongs to a cost assertion, not to 'expect {kind}'",
                           at.span, "expect macs N at T=100 or expect flops N at T=100")
    if at is not None and at.symbol != "T":
        raise RnnspecError("E202", f"a cost is written in T, the length of every unknown dimension; found "
                           f"'{at.symbol}'", at.span, f"write at T={at.length}")
    if kind == "shape":
        if isinstance(value, TupleLit) and value.items and all(isinstance(i, TupleLit) for i in value.items):
            return ModelAssertion(kind, tuple(shape_literal(i, "expect shape") for i in value.items), span)
        return ModelAssertion(kind, shape_literal(value, "expect shape"), span)
    if not (isinstance(value, Literal) and type(value.value) is int and value.value >= 0):
        raise RnnspecError("E202", f"'expect {kind}' expects a count such as 322080", value.span)
    return ModelAssertion(kind, value.value, span, None if at is None else at.length)


def _lower_chain(chain: Chain, graph: ModelGraph, top: bool) -> None:
    for position, stage in enumerate(chain.stages):
        try:
            element = stage.element
            count = 1
            if stage.repeat is not None:
                count = stage.repeat.count
                if count < 1:
                    raise RnnspecError("E207", f"a repeat count must be at least 1, found x{count}", stage.repeat.span,
                                       "x3 means three copies in a row; to leave the layer out, delete it")
                if count == 1:
                    graph.warnings.append(RnnspecError("W102", "a repeat of 1 changes nothing", stage.repeat.span,
                                                       "remove 'x1'", severity="warning"))
            if type(element) is Call:
                if element.name == "Input":
                    _lower_input(element, stage, graph, first=top and position == 0)
                    continue
                body, notes, size = [resolve_call(element)], [], count
                if dict.get(body[0].args, "name") is not None:  # dict.get: see Args
                    graph.named = True
            elif isinstance(element, FanIn):
                raise RnnspecError("E300", "a tuple of tensors feeds a merge in a functional model; a chain has no "
                                   "names to put in it", element.span,
                                   "bind the tensors first (a = ..., b = ...), then (a, b) > Add; for a group of "
                                   "layers write (A > B) with '>' between them")
            else:  # a group
                sub = ModelGraph(graph.name, graph.span, graph.name_span)
                _lower_chain(element.chain, sub, top=False)
                graph.errors.extend(sub.errors)
                graph.named = graph.named or sub.named
                graph.warnings.extend(sub.warnings)
                body, notes, size = sub.layers, sub.notes, sub.size * count
            if graph.size + size > MAX_LAYERS:
                raise RnnspecError("E207", f"this makes the model more than {MAX_LAYERS:,} layers deep",
                                   stage.repeat.span if stage.repeat else stage.span,
                                   "every copy of a repeat counts as layers; no model needs this many")
            if count > 1:
                graph.layers.append(Repeat(tuple(body), count, tuple(notes), stage.span, size))
            else:
                offset = len(graph.layers)
                graph.notes.extend(ShapeNote(n.index + offset, n.shape, n.span) for n in notes)
                graph.layers.extend(body)
            graph.size += size
            if stage.shape_note is not None:
                shape = shape_literal(stage.shape_note, "a layer's shape note")
                graph.notes.append(ShapeNote(len(graph.layers) - 1, shape, stage.shape_note.span))
        except RnnspecError as err:
            graph.errors.append(err)


def _lower_input(call: Call, stage: Stage, graph: ModelGraph, first: bool) -> None:
    if not first:
        raise RnnspecError("E300", "Input can only be the first element of a model", call.span,
                           "move Input(...) to the start of the chain")
    if stage.repeat is not None:
        raise RnnspecError("E207", "Input cannot be repeated: a model has one input", stage.repeat.span,
                           "remove the repeat after Input(...)")
    node = resolve_call(call)
    graph.input = node.kind.tensor(node.args)  # type: ignore[attr-defined]
    graph.input_span, graph.input_node = call.span, node
    if stage.shape_note is not None:
        raise RnnspecError("E202", "Input's shape is already written; a shape note after it adds nothing",
                           stage.shape_note.span)
