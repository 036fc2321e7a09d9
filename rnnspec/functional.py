"""The functional form lowered: statements to a graph of layer calls, in Keras's vocabulary.

A *layer* owns weights; a *call* applies a layer to inbound tensors and makes one or more output tensors (Keras's
node); a tensor is named by the call that made it and its position among that call's outputs. Names are bound
in order, so a call only reads tensors made before it: the call list is already in topological order and a cycle
cannot be written (a name used before its binding is reported as such). Repeats are unrolled here: every copy is
a layer of its own, as Keras builds it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Union

from rnnspec.errors import RnnspecError, Span
from rnnspec.graph import ModelAssertion, _assertion, resolve_call, shape_literal
from rnnspec.layers.base import LayerNode, suggest
from rnnspec.shape import Shape
from rnnspec.syntax import (
    Arg, Binding, Call, Chain, FanIn, Group, ModelDef, Outputs, Stage, Target, TupleLit, Value,
)

MAX_CALLS = 100_000  # layer calls of a functional model, every copy of every repeat counted (it is unrolled)
TENSOR_ARGUMENTS = ("initial_state", "mask")  # call arguments that take tensors by name, not constructor ones
DISCARD = "_"


class Ref(NamedTuple):
    """Output `index` of call number `call`."""

    call: int
    index: int = 0


@dataclass(eq=False)
class LayerCall:
    """One call of `layer` (an index into the graph's layers): `inputs` are the positional tensors, several for a
    merge written `(a, b) > Add` (`several`), `states` the `initial_state=` tensors, `mask` the `mask=` tensor."""

    layer: int
    inputs: tuple[Ref, ...]
    span: Span
    several: bool = False
    states: tuple[Ref, ...] = ()
    mask: Ref | None = None
    state_span: Span | None = None
    mask_span: Span | None = None


@dataclass(frozen=True)
class TensorNote:
    """`... > LSTM(8) : (None, 8)` in a functional model: the shape expected of each tensor the stage gives (a
    layer's several outputs, a tuple of tensors)."""

    refs: tuple[Ref, ...]
    shapes: tuple[Shape, ...]
    span: Span


@dataclass
class Bound:
    """What a name stands for: a tensor, or a layer (a bare layer call bound to a name, shared by every use)."""

    span: Span
    tensor: Ref | None = None
    layer: int | None = None
    used: bool = False


@dataclass
class FunctionalGraph:
    name: str
    span: Span
    name_span: Span
    layers: list[LayerNode] = field(default_factory=list)
    input_names: dict[int, str] = field(default_factory=dict)  # layer index of an Input -> the name bound to it
    tensor_names: dict[Ref, str] = field(default_factory=dict)  # the names the spec binds, for writing it back
    layer_bindings: dict[int, str] = field(default_factory=dict)  # layers bound to a name (shared)
    calls: list[LayerCall] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)  # the Input calls, in the order written
    outputs: list[Ref] = field(default_factory=list)
    output_span: Span | None = None
    notes: list[TensorNote] = field(default_factory=list)
    assertions: list[ModelAssertion] = field(default_factory=list)
    errors: list[RnnspecError] = field(default_factory=list)
    warnings: list[RnnspecError] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.layers)


class _Broken(Exception):
    """A statement that cannot be lowered because a name it uses came from one that failed: already reported."""


class Flow(NamedTuple):
    """What a chain carries from stage to stage: the tensors, and whether they came from a fan-in `(a, b)`."""

    refs: tuple[Ref, ...]
    several: bool
    span: Span


def lower_functional(model: ModelDef) -> FunctionalGraph:
    """The graph of a functional model; each statement's error is collected and the next statement goes on."""
    graph = FunctionalGraph(model.name, model.span, model.name_span)
    lowering = _Lowering(graph)
    lowering.later = bound_later(model)
    last_chain: Union[Binding, Chain, None] = None
    outputs: Outputs | None = None
    for statement in model.statements:
        if isinstance(statement, Outputs):
            if outputs is not None:
                graph.errors.append(RnnspecError(
                    "E213", "the outputs are already given", statement.span,
                    f"list every output in one line: output a, b (the first is at line {outputs.span.line})"))
                continue
            outputs = statement
            continue
        last_chain = statement
        try:
            lowering.statement(statement)
        except _Broken:
            continue
        except RnnspecError as err:
            graph.errors.append(err)
            lowering.poison(statement)
    for assertion in model.assertions:
        try:
            graph.assertions.append(_assertion(assertion.kind, assertion.kind_span, assertion.value, assertion.span,
                                               assertion.at))
        except RnnspecError as err:
            graph.errors.append(err)
    if not graph.errors:
        lowering.finish(outputs, last_chain)
    return graph


class _Lowering:
    def __init__(self, graph: FunctionalGraph) -> None:
        self.graph = graph
        self.names: dict[str, Bound] = {}
        self.broken: set[str] = set()  # names a failed statement would have bound
        self.later: dict[str, Span] = {}  # names bound somewhere in the model, for "used before it is bound"
        self.chain_results: list[tuple[Chain, tuple[Ref, ...]]] = []  # unbound chains, for W106

    # ------------------------------------------------------------ statements

    def statement(self, statement: Union[Binding, Chain]) -> None:
        if isinstance(statement, Chain):
            flow = self.chain(statement)
            if flow is not None:
                self.chain_results.append((statement, flow.refs))
            return
        targets = statement.targets
        seen: dict[str, Target] = {}
        for target in targets:
            self.require_free(target)
            first = seen.setdefault(target.name, target)
            if first is not target and target.name != DISCARD:
                raise RnnspecError("E213", f"'{target.name}' is bound twice in one line", target.span,
                                   "give each output its own name, or _ for one you do not need")
        if len(targets) == 1 and _is_layer_binding(statement.chain):
            call = statement.chain.stages[0].element
            assert isinstance(call, Call)
            self.bind_layer(targets[0], call)
            return
        flow = self.chain(statement.chain, bound_to=targets)
        assert flow is not None
        refs = flow.refs
        if len(targets) != len(refs):
            raise self.unpack_error(targets, flow, statement)
        for target, ref in zip(targets, refs):
            if target.name != DISCARD:
                self.names[target.name] = Bound(target.span, tensor=ref)
                self.graph.tensor_names.setdefault(ref, target.name)

    def poison(self, statement: Union[Binding, Chain]) -> None:
        if isinstance(statement, Binding):
            self.broken.update(t.name for t in statement.targets)

    def require_free(self, target: Target) -> None:
        if target.name == DISCARD:
            return
        bound = self.names.get(target.name)
        if bound is not None:
            raise RnnspecError("E213", f"'{target.name}' is already bound (line {bound.span.line})", target.span,
                               "give each tensor and layer its own name")
        if lookup_quiet(target.name) is not None:
            raise RnnspecError("E213", f"'{target.name}' is the name of a layer type", target.span,
                               f"name it otherwise, e.g. {target.name.lower()}_out")

    def bind_layer(self, target: Target, call: Call) -> None:
        """`encoder = LSTM(64)`: a layer, created here, whose every use calls the same weights (never an Input:
        `_is_layer_binding` sends that to `start` as a tensor)."""
        node, tensor_args = self.resolve(call)
        if any(tensor_args):
            raise RnnspecError("E201", "a bound layer takes its tensors where it is used, not where it is made",
                               call.span, f"write x > {target.name}(initial_state=...) where it is called")
        layer = self.add_layer(node)
        self.names[target.name] = Bound(target.span, layer=layer)
        self.graph.layer_bindings[layer] = target.name

    # ------------------------------------------------------------ chains

    def chain(self, chain: Chain, bound_to: tuple[Target, ...] = ()) -> Flow | None:
        stages = chain.stages
        if not stages:
            return None
        flow = self.start(stages[0], bound_to)
        for stage in stages[1:]:
            flow = self.stage(stage, flow)
        return flow

    def start(self, stage: Stage, bound_to: tuple[Target, ...]) -> Flow:
        """The tensors a chain starts from: an Input, a bound name, or a fan-in of chains; the first stage's
        repeat and shape note apply to what it makes."""
        element = stage.element
        if isinstance(element, FanIn):
            refs = []
            for sub in element.chains:
                flow = self.chain(sub)
                assert flow is not None
                if len(flow.refs) != 1:
                    raise self.several_outputs(flow, "a tuple of tensors")
                refs.append(flow.refs[0])
            flow = Flow(tuple(refs), True, element.span)
            self.note(stage, flow)
            return flow
        if isinstance(element, Call) and element.name == "Input":
            if stage.repeat is not None:
                raise RnnspecError("E207", "Input cannot be repeated", stage.repeat.span,
                                   "write one Input per tensor the model takes")
            node = self.resolve(element)[0]
            layer = self.add_layer(node)
            if len(bound_to) == 1 and bound_to[0].name != DISCARD:
                self.graph.input_names[layer] = bound_to[0].name
            index = self.add_call(LayerCall(layer, (), element.span))
            self.graph.inputs.append(index)
            if stage.shape_note is not None:
                raise RnnspecError("E202", "Input's shape is already written; a shape note after it adds nothing",
                                   stage.shape_note.span)
            return Flow((Ref(index),), False, element.span)
        if isinstance(element, Call) and not element.has_parens and (
                element.name in self.names or element.name in self.broken):
            bound = self.use(element.name, element.span)
            if bound.tensor is None:
                raise RnnspecError("E212", f"'{element.name}' is a layer; a chain starts from a tensor",
                                   element.span, f"feed it a tensor: x > {element.name}")
            if stage.repeat is not None:
                raise RnnspecError("E207", f"'{element.name}' is a tensor and cannot be repeated", stage.repeat.span)
            flow = Flow((bound.tensor,), False, element.span)
            self.note(stage, flow)
            return flow
        if isinstance(element, Call) and not element.has_parens and lookup_quiet(element.name) is None:
            raise self.unknown(element)
        raise RnnspecError(
            "E301", "a chain of a functional model starts from a tensor: an Input, a bound name or a tuple of them",
            element.span, "bind the input first, e.g. x = Input(None, 32), then write x > ...; to share a layer, "
            "bind it alone: encoder = LSTM(64)")

    def stage(self, stage: Stage, flow: Flow) -> Flow:
        element = stage.element
        if isinstance(element, FanIn):
            raise RnnspecError("E300", "a tuple of tensors can only start a chain", element.span,
                               "bind the tensor before it to a name and list it in the tuple: (x, y) > Add")
        count = 1
        if stage.repeat is not None:
            if stage.repeat.span.line > element.span.end_line:
                raise RnnspecError(
                    "E207", f"'{self.source_word(stage)}' at the start of a line repeats the layer above it",
                    stage.repeat.span, "in a functional model, write a repeat on its layer's line (Dense(4) x3); "
                    "a name that starts a chain must not look like a repeat: rename it")
            count = stage.repeat.count
            if count < 1:
                raise RnnspecError("E207", f"a repeat count must be at least 1, found x{count}", stage.repeat.span,
                                   "x3 means three copies in a row; to leave the layer out, delete it")
            if count == 1:
                self.graph.warnings.append(RnnspecError("W102", "a repeat of 1 changes nothing", stage.repeat.span,
                                                        "remove 'x1'", severity="warning"))
            if len(self.graph.calls) + count > MAX_CALLS:
                raise RnnspecError("E207", f"this makes the functional model more than {MAX_CALLS:,} layer calls",
                                   stage.repeat.span, "a functional model is unrolled to be checked; repeat fewer "
                                   "times, or write the repeated part as a sequential model")
        for _ in range(count):
            if isinstance(element, Group):
                for inner in element.chain.stages:
                    flow = self.stage(inner, flow)
            else:
                flow = self.apply(element, flow)
        self.note(stage, flow)
        return flow

    @staticmethod
    def source_word(stage: Stage) -> str:
        return f"x{stage.repeat.count}" if stage.repeat is not None else ""

    def apply(self, call: Call, flow: Flow) -> Flow:
        """`flow > call`: a layer of the registry (new), or a bound layer (shared), called on the flow."""
        if call.name == "Input":
            raise RnnspecError("E300", "Input can only start a chain", call.span,
                               "bind it to a name (x = Input(...)) and start a chain from that name")
        bound_name = call.name in self.names or call.name in self.broken
        if bound_name:
            bound = self.use(call.name, call.name_span)
            if bound.layer is None:
                raise RnnspecError("E212", f"'{call.name}' is a tensor, not a layer: nothing can feed into it",
                                   call.name_span, f"start a chain from it: {call.name} > ...; to join two "
                                   f"tensors, merge them: (x, {call.name}) > Concatenate")
            layer = bound.layer
            tensor_args = self.tensor_arguments(call, call.args, shared=True)
        elif not call.has_parens and lookup_quiet(call.name) is None:
            raise self.unknown(call)
        else:
            node, tensor_args = self.resolve(call)
            layer = self.add_layer(node)
        node = self.graph.layers[layer]
        kind = node.kind
        if kind.takes_several and not flow.several:
            raise RnnspecError("E300", f"{kind.name} merges several tensors but receives one", call.span,
                               f"give it a tuple: (x, y) > {kind.name}")
        if not kind.takes_several and len(flow.refs) > 1:
            if flow.several:
                raise RnnspecError("E300", f"{kind.name} takes one tensor, but a tuple of {len(flow.refs)} feeds it",
                                   call.span, "merge them first, e.g. (x, y) > Concatenate, or feed each on its own")
            raise self.several_outputs(flow, kind.name)
        states, state_span, mask, mask_span = tensor_args
        index = self.add_call(LayerCall(layer, flow.refs, call.span, flow.several, states, mask, state_span,
                                        mask_span))
        count = len(kind.output_names(node.args))
        return Flow(tuple(Ref(index, i) for i in range(count)), False, call.span)

    # ------------------------------------------------------------ layers, calls and names

    def resolve(self, call: Call) -> tuple[LayerNode, tuple]:
        """A layer call resolved, its tensor arguments (`initial_state=`, `mask=`) taken out first."""
        plain = tuple(arg for arg in call.args if arg.name not in TENSOR_ARGUMENTS)
        node = resolve_call(call._replace(args=plain) if len(plain) != len(call.args) else call)
        return node, self.tensor_arguments(call, call.args, shared=False, node=node)

    def tensor_arguments(self, call: Call, args: tuple[Arg, ...], shared: bool, node: LayerNode | None = None
                         ) -> tuple[tuple[Ref, ...], Span | None, Ref | None, Span | None]:
        states: tuple[Ref, ...] = ()
        mask: Ref | None = None
        state_span = mask_span = None
        for arg in args:
            if arg.name not in TENSOR_ARGUMENTS:
                if shared:
                    raise RnnspecError("E201", f"'{call.name}' is a layer already made; a use of it takes only "
                                       "initial_state= and mask=", arg.span,
                                       "give its arguments where it is bound")
                continue
            kind = node.kind if node is not None else self.graph.layers[self.names[call.name].layer].kind  # type: ignore[index]
            if arg.name not in kind.call_arguments:
                takes = ", ".join(f"{a}=" for a in kind.call_arguments)
                raise RnnspecError("E201", f"{kind.name} takes no {arg.name}= when it is called", arg.name_span or
                                   arg.span, f"{kind.name} takes {takes}" if takes else
                                   f"{arg.name}= goes to a recurrent layer (SimpleRNN, LSTM, GRU, Bidirectional)")
            if arg.name == "mask" and kind.takes_several:
                raise RnnspecError("E201", f"{kind.name} takes its inputs' masks, not mask=", arg.name_span or
                                   arg.span, "Keras passes it the mask of each input: mask the query and value "
                                   "where they are made, e.g. Embedding(..., mask_zero) or Masking()")
            if arg.name == "initial_state":
                if states:
                    raise RnnspecError("E205", "'initial_state' is given twice", arg.span)
                items = arg.value.items if isinstance(arg.value, TupleLit) else (arg.value,)
                states = tuple(self.tensor(item, "initial_state") for item in items)
                state_span = arg.span
            else:
                if mask is not None:
                    raise RnnspecError("E205", "'mask' is given twice", arg.span)
                mask, mask_span = self.tensor(arg.value, "mask"), arg.span
        return states, state_span, mask, mask_span

    def tensor(self, value: Value, what: str) -> Ref:
        if not (isinstance(value, Call) and not value.has_parens):
            raise RnnspecError("E202", f"'{what}' takes tensors by name, as in {what}=h", value.span,
                               "bind the tensor to a name first: h = ...")
        bound = self.use(value.name, value.span)
        if bound.tensor is None:
            raise RnnspecError("E202", f"'{value.name}' is a layer; '{what}' takes tensors", value.span)
        return bound.tensor

    def use(self, name: str, span: Span) -> Bound:
        if name in self.broken and name not in self.names:
            raise _Broken()
        bound = self.names.get(name)
        if bound is None:
            raise self.unknown(Call(name, (), span, span, False))
        bound.used = True
        return bound

    def unknown(self, call: Call) -> RnnspecError:
        """An unknown name: a tensor or layer named later (used before it is bound), a misspelt name, or a layer
        type that does not exist."""
        later = self.later.get(call.name)
        if later is not None and call.name not in self.names:
            return RnnspecError("E215", f"'{call.name}' is used before it is bound (line {later.line})", call.span,
                                "bind a name before using it; a model's tensors cannot feed back into themselves")
        names = [n for n in self.names if n != DISCARD]
        close = suggest(call.name, names)
        if close:
            return RnnspecError("E212", f"unknown name '{call.name}'", call.span, close)
        return RnnspecError("E212", f"'{call.name}' is neither a bound name nor a layer type", call.span,
                            suggest(call.name, lookup_names()) or
                            (f"names bound so far: {', '.join(names)}" if names else "bind it first: x = Input(...)"))

    def add_layer(self, node: LayerNode) -> int:
        self.graph.layers.append(node)
        return len(self.graph.layers) - 1

    def add_call(self, call: LayerCall) -> int:
        calls = self.graph.calls
        if len(calls) >= MAX_CALLS:
            raise RnnspecError("E207", f"the functional model has more than {MAX_CALLS:,} layer calls", call.span,
                               "no model needs this many")
        calls.append(call)
        return len(calls) - 1

    def note(self, stage: Stage, flow: Flow) -> None:
        note = stage.shape_note
        if note is None:
            return
        if len(flow.refs) > 1 and all(isinstance(item, TupleLit) for item in note.items) and note.items:
            shapes = tuple(shape_literal(item, "a shape note") for item in note.items)
        else:
            shapes = (shape_literal(note, "a shape note"),)
        refs = flow.refs
        if len(shapes) != len(refs):
            raise RnnspecError("E202", f"a shape note here gives {len(shapes)} shape(s) for {len(refs)} tensor(s)",
                               note.span, "give one shape per tensor: ((None, 8), (None, 8))" if len(refs) > 1
                               else None)
        self.graph.notes.append(TensorNote(refs, shapes, note.span))

    # ------------------------------------------------------------ errors about outputs

    def several_outputs(self, flow: Flow, where: str) -> RnnspecError:
        call = self.graph.calls[flow.refs[0].call]
        node = self.graph.layers[call.layer]
        names = node.kind.output_names(node.args)
        return RnnspecError(
            "E214", f"{node.type_name} has {len(names)} outputs ({', '.join(names)}), and {where} takes one tensor",
            call.span, f"unpack them first: {', '.join(names)} = ... > {node.type_name}(...), then go on from "
            f"{names[0]}")

    def unpack_error(self, targets: tuple[Target, ...], flow: Flow, statement: Binding) -> RnnspecError:
        call = self.graph.calls[flow.refs[-1].call]
        node = self.graph.layers[call.layer]
        names = node.kind.output_names(node.args)
        if len(flow.refs) == 1 and len(targets) > 1:
            state = " (add `state` to a recurrent layer to get its states too)" if node.kind.family == "recurrent" \
                else ""
            return RnnspecError("E214", f"{len(targets)} names for the one output of {node.type_name}",
                                targets[0].span.to(targets[-1].span), f"bind one name{state}")
        return RnnspecError(
            "E214", f"{node.type_name} has {len(names)} outputs ({', '.join(names)}), but {len(targets)} name(s) "
            "receive them", targets[0].span.to(targets[-1].span),
            f"unpack all of them, with _ for those you do not need: {', '.join(names)} = ...")

    # ------------------------------------------------------------ the model's outputs

    def finish(self, outputs: Outputs | None, last: Union[Binding, Chain, None]) -> None:
        graph = self.graph
        if outputs is not None:
            refs = []
            for target in outputs.names:
                try:
                    bound = self.use(target.name, target.span)
                except RnnspecError as err:
                    graph.errors.append(err)
                    return
                if bound.tensor is None:
                    graph.errors.append(RnnspecError("E212", f"'{target.name}' is a layer; an output is a tensor",
                                                     target.span))
                    return
                refs.append(bound.tensor)
            graph.outputs, graph.output_span = refs, outputs.span
        elif last is None:
            graph.errors.append(RnnspecError("E301", f"model '{graph.name}' has no chain", graph.span,
                                             "write x = Input(...) then x > ..."))
            return
        elif isinstance(last, Chain):
            graph.outputs = list(self.chain_results[-1][1]) if self.chain_results else []
            graph.output_span = last.span
        else:
            kept = [t for t in last.targets if t.name != DISCARD]
            bound = [self.names[t.name] for t in kept]
            if not kept or any(b.tensor is None for b in bound):
                graph.errors.append(RnnspecError(
                    "E301", "the last statement binds no tensor, so the model has no output", last.span,
                    "end with a chain (its result is the output), or name the outputs: output a, b"))
                return
            for b in bound:
                b.used = True
            graph.outputs, graph.output_span = [b.tensor for b in bound], last.span  # type: ignore[misc]
        self.unused(outputs is not None)

    def unused(self, explicit_outputs: bool) -> None:
        """W105 for a tensor bound and never used; W106 for a chain whose result goes nowhere."""
        graph = self.graph
        outputs = set(graph.outputs)
        for name, bound in self.names.items():
            if not bound.used and bound.tensor is not None and bound.tensor not in outputs:
                what = "input" if graph.calls[bound.tensor.call].inputs == () and bound.tensor.call in graph.inputs \
                    else "tensor"
                if what == "input":
                    continue  # an input that reaches no output is an error of the checker (E304)
                graph.warnings.append(RnnspecError("W105", f"'{name}' is bound but never used", bound.span,
                                                   "use it, or drop the binding", severity="warning"))
            elif not bound.used and bound.layer is not None:
                graph.warnings.append(RnnspecError("W105", f"layer '{name}' is bound but never called", bound.span,
                                                   "feed it a tensor (x > " + name + "), or drop it",
                                                   severity="warning"))
        results = self.chain_results if explicit_outputs else self.chain_results[:-1]
        for chain, refs in results:
            if not set(refs) & outputs:
                graph.warnings.append(RnnspecError(
                    "W106", "this chain's result is never used: it is not an output and has no name", chain.span,
                    "bind it (y = ...) and use it, or list it in `output`", severity="warning"))


def _is_layer_binding(chain: Chain) -> bool:
    """`name = Layer(...)`: one stage, a layer type's call (not Input, not a bound name), no repeat."""
    if len(chain.stages) != 1:
        return False
    stage = chain.stages[0]
    element = stage.element
    return (isinstance(element, Call) and element.name != "Input" and stage.repeat is None
            and lookup_quiet(element.name) is not None)


def lookup_quiet(name: str) -> object | None:
    from rnnspec.layers.base import registry

    return registry().get(name)


def lookup_names() -> list[str]:
    from rnnspec.layers.base import registry

    return list(registry())


def bound_later(model: ModelDef) -> dict[str, Span]:
    """Every name the model binds, where: a use before the binding is then named as such, not as unknown."""
    found: dict[str, Span] = {}
    for statement in model.statements:
        if isinstance(statement, Binding):
            for target in statement.targets:
                found.setdefault(target.name, target.span)
    return found


__all__ = ["FunctionalGraph", "LayerCall", "Ref", "TensorNote", "lower_functional"]
