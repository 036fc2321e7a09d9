"""A functional graph to a report: one walk over the calls in order (shapes, states, masks, weights), then the
layers in the order Keras lists them, with the "Connected to" column of its summary.

Masks are followed as Keras follows them, because they show in its summary: a mask computed by a layer (an
Embedding's `not_equal`, a merge's `logical_or`) is an operation of its own, and appears as a row where a layer
that takes a mask (a recurrent layer) receives it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from rnnspec.errors import RnnspecError, Span
from rnnspec.functional import FunctionalGraph, LayerCall, Ref
from rnnspec.infer import ModelReport, Row
from rnnspec.layers.base import LayerNode, ShapeError, Tensor, Weight, refuse_strings
from rnnspec.lint import MASK_PASSES  # layers whose output keeps the mask they receive
from rnnspec.shape import Shape, format_shape, summary_shape

ELEMENTWISE_MERGES = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
ATTENTION = frozenset({"Attention", "AdditiveAttention"})  # compute_mask: convert_to_tensor(the query's mask)


class OpNode(NamedTuple):
    """A mask operation Keras records in the graph (`not_equal`, `any`, `logical_or`, ...)."""

    prefix: str  # Keras's name for it, before numbering
    type: str  # its class, as the summary shows it
    shape: Shape
    inputs: tuple["Source", ...]


class Inbound(NamedTuple):
    """An input tensor of a call: made by call `node` of the layer (or operation) `layer`, its output `tensor`."""

    layer: str
    node: int
    tensor: int


def connected_text(inbound: tuple[tuple[Inbound, ...], ...]) -> str:
    """Keras's "Connected to" cell: `lstm[0][0], mask[0][0]`, or `-` for an input."""
    return ", ".join(f"{t.layer}[{t.node}][{t.tensor}]" for call in inbound for t in call) or "-"


class Source(NamedTuple):
    """A tensor as the graph's nodes see it: output `index` of call `node`, or of mask operation `node` when
    `op`."""

    node: int
    index: int = 0
    op: bool = False


@dataclass
class Network:
    """What the backends need beyond the rows: the live calls in order and where each layer's row is."""

    graph: FunctionalGraph
    live: list[int]  # call indices that reach an output, in the order Keras runs them
    row_of_layer: dict[int, int]  # layer index -> index in report.rows
    names: list[str]  # per layer
    input_rows: list[int]  # the Input calls in the order of the model's inputs
    implicit_mask: dict[int, bool] = field(default_factory=dict)  # call -> whether Keras passes it a mask
    tensors: list[tuple[Tensor, ...]] = field(default_factory=list)  # per call, its output tensors

    @property
    def outputs(self) -> list[Ref]:
        return self.graph.outputs


class TableRow(NamedTuple):
    """A row of the functional summary: a layer's row with its connections, or a mask operation's."""

    name: str
    type: str
    output: str
    params: int
    inbound: tuple[tuple[Inbound, ...], ...]  # per call, its input tensors

    @property
    def connected(self) -> str:
        return connected_text(self.inbound)


def infer_functional(graph: FunctionalGraph, inputs: list[Tensor] | None = None) -> ModelReport:
    """The report of a functional model; `inputs` replaces the Input tensors (the NumPy backend checks a batch of
    known shapes with them)."""
    report = ModelReport(graph.name, graph.span)
    report.functional = graph
    if graph.errors:
        report.errors.extend(graph.errors)
        return report
    _check_names(graph, report.errors)
    if report.errors:
        return report
    walk = _Walk(graph, inputs)
    try:
        walk.run()
    except RnnspecError as err:
        report.errors.append(err)
        return report
    report.errors.extend(walk.errors)
    if report.errors:
        return report
    live = walk.live()
    unused = [call for call in graph.inputs if call not in live]
    for call in unused:
        span = graph.calls[call].span
        report.errors.append(RnnspecError("E304", f"input '{walk.layer_name(graph.calls[call].layer)}' reaches no "
                                          "output", span, "use it in a chain that leads to an output, or remove it"))
    if report.errors:
        return report
    _Order(walk, live).fill(report)
    if inputs is not None:  # a batch of known shapes, checked for the NumPy backend: the assertions are the spec's
        return report
    _check_notes(walk, report)
    from rnnspec.infer import check_assertions

    check_assertions(graph.assertions, report)
    if not report.errors:
        from rnnspec.lint import lint_rows

        report.warnings = graph.warnings + walk.warnings + lint_rows(report)
    return report


class _Walk:
    """The calls in order: every output tensor, each layer's weights (from its first call), each tensor's mask."""

    def __init__(self, graph: FunctionalGraph, inputs: list[Tensor] | None) -> None:
        self.graph = graph
        self.given_inputs = inputs
        self.tensors: list[tuple[Tensor, ...]] = []
        self.weights: dict[int, tuple[Weight, ...]] = {}
        self.first_call: dict[int, int] = {}  # layer -> its first call
        self.node_index: list[int] = []  # call -> its index among its layer's calls
        self.calls_of: dict[int, list[int]] = {}
        self.masks: list[tuple[Source | None, ...]] = []  # per call, the mask of each output
        self.mask_arg: dict[int, Source] = {}  # call -> the mask Keras passes it (explicit or implicit)
        # call -> the masks Keras passes a layer of several tensors whose call takes `mask` (the list of its inputs'
        # masks): the ones that are not None, in order. Keras 3 does not record them among the node's inputs (its
        # "Connected to" lists the tensors only), unlike the one mask it fills in for a call of one tensor
        self.mask_list: dict[int, tuple[Source, ...]] = {}
        self.ops: list[OpNode] = []
        self.errors: list[RnnspecError] = []
        self.warnings: list[RnnspecError] = []
        self.names = _layer_names(graph)
        self.misstated: dict[Ref, Shape] = {}  # an output whose shape Keras states wrongly -> the shape it states

    def layer_name(self, layer: int) -> str:
        return self.names[layer]

    def run(self) -> None:
        graph = self.graph
        given = iter(self.given_inputs or ())
        for index, call in enumerate(graph.calls):
            node = graph.layers[call.layer]
            calls = self.calls_of.setdefault(call.layer, [])
            self.node_index.append(len(calls))
            calls.append(index)
            if not call.inputs:  # an Input
                tensor = next(given, None) if self.given_inputs is not None else None
                self.tensors.append((tensor or node.kind.tensor(node.args),))  # type: ignore[attr-defined]
                self.masks.append((None,))
                self.weights.setdefault(call.layer, ())
                continue
            inputs = tuple(self.tensor(ref) for ref in call.inputs)
            try:
                if not node.kind.takes_strings and any(t.dtype == "string" for t in inputs):
                    raise refuse_strings(node.type_name)
                outputs = node.kind.outputs(node.args, inputs)
                self.check_states(call, node, inputs[0])
                self.check_mask(call, node, inputs[0])
                weights = tuple(node.kind.call_weights(node.args, inputs))
            except ShapeError as err:
                raise err.located(call.span) from None
            warning = node.kind.input_warning(node.args, inputs[0]) if node.kind.warns_on_input else None
            if warning is not None:
                self.warnings.append(RnnspecError(*warning[:2], call.span, warning[2], severity="warning"))
            if call.layer in self.weights:
                self.check_shared(call, node, weights)
            else:
                self.weights[call.layer] = weights
                self.first_call[call.layer] = index
            self.tensors.append(tuple(outputs))
            self.masks.append(self.output_masks(index, call, node, inputs))
            if node.kind.misstates:
                stated = node.kind.stated_outputs(node.args, inputs)
                self.misstated.update((Ref(index, i), shape) for i, shape in enumerate(stated) if shape is not None)
        self.check_cleared_masks()
        if self.misstated:
            self.check_misstated()

    def check_cleared_masks(self) -> None:
        """Keras's MultiHeadAttention clears the masks of its input tensors on the tensors themselves, so any other
        use of a masked tensor it reads would run without the mask in Keras: refused rather than computed
        differently (one pass over the calls)."""
        graph = self.graph
        uses: dict[Ref, int] = {}
        for call in graph.calls:
            for ref in (*call.inputs, *call.states, *((call.mask,) if call.mask is not None else ())):
                uses[ref] = uses.get(ref, 0) + 1
        for ref in graph.outputs:
            uses[ref] = uses.get(ref, 0) + 1
        for call in graph.calls:
            if not graph.layers[call.layer].kind.several_as_arguments:
                continue
            for ref in set(call.inputs):  # self-attention, (x, x), reads its tensor twice in the one call: fine
                if self.masks[ref.call][ref.index] is not None and uses[ref] > call.inputs.count(ref):
                    maker = self.names[graph.calls[ref.call].layer]
                    raise RnnspecError(
                        "E300", f"MultiHeadAttention reads the masked output of '{maker}', which is used elsewhere "
                        "too: Keras clears that tensor's mask when MultiHeadAttention runs, so its other uses would "
                        "run without it", call.span,
                        "give MultiHeadAttention its own copy, e.g. through Activation(linear), or drop the mask")

    def check_misstated(self) -> None:
        """A tensor whose shape Keras states otherwise than it computes (MultiHeadAttention's scores over a value
        of another length): Keras builds the layers it feeds from the stated shape, so the model fails when run,
        and is refused; as a model output it works, and rnnspec gives the computed shape with a warning (W110)."""
        graph = self.graph
        for call in graph.calls:
            for ref in (*call.inputs, *call.states, *((call.mask,) if call.mask is not None else ())):
                if ref in self.misstated:
                    raise RnnspecError(
                        "E300", f"{self.describe_misstated(ref)}: Keras builds {graph.layers[call.layer].type_name} "
                        f"for the shape it states, and the model fails when run", call.span,
                        "use the scores as a model output only, or give the query and the value the same length")
        for ref in graph.outputs:
            if ref in self.misstated:
                self.warnings.append(RnnspecError(
                    "W110", f"{self.describe_misstated(ref)}; rnnspec reports the shape computed",
                    graph.calls[ref.call].span, "Keras's summary and output_shape differ from what its model "
                    "returns; the NumPy model returns the computed shape, as Keras's does", severity="warning"))

    def describe_misstated(self, ref: Ref) -> str:
        node = self.graph.layers[self.graph.calls[ref.call].layer]
        what = node.kind.output_names(node.args)[ref.index]
        return (f"Keras states the {what} of {node.type_name} as {format_shape(self.misstated[ref])} but computes "
                f"{format_shape(self.tensor(ref).shape)}")

    def tensor(self, ref: Ref) -> Tensor:
        return self.tensors[ref.call][ref.index]

    # ------------------------------------------------------------ call checks

    def check_states(self, call: LayerCall, node: LayerNode, x: Tensor) -> None:
        if not call.states:
            return
        expected = node.kind.state_shapes(node.args, x)
        span = call.state_span or call.span
        if expected is None:
            raise RnnspecError("E303", f"{node.type_name} takes no initial_state", span)
        given = [self.tensor(ref).shape for ref in call.states]
        shapes = ", ".join(format_shape(s) for s in expected)
        if len(given) != len(expected):
            names = node.kind.output_names({**node.args, "return_state": True})[1:]  # type: ignore[arg-type]
            raise RnnspecError(
                "E303", f"{node.type_name} takes {len(expected)} initial state(s) ({', '.join(names)}), "
                f"found {len(given)}", span, f"give initial_state=({', '.join(names)}) of shapes {shapes}"
                if len(expected) > 1 else f"give initial_state=h of shape {shapes}")
        for position, (shape, want) in enumerate(zip(given, expected)):
            if not _compatible(shape, want):
                raise RnnspecError(
                    "E303", f"initial state {position + 1} of {node.type_name} has shape {format_shape(shape)}, "
                    f"but the layer's state is {format_shape(want)}", span,
                    f"a state has the layer's units: {shapes}")

    def check_mask(self, call: LayerCall, node: LayerNode, x: Tensor) -> None:
        if call.mask is None:
            return
        shape = self.tensor(call.mask).shape
        want = x.shape[:2]
        if len(shape) != 2 or not _compatible(shape, want):
            raise RnnspecError(
                "E303", f"a mask is (batch, timesteps), {format_shape(want)} here; found {format_shape(shape)}",
                call.mask_span or call.span, "a mask input is Input(timesteps, dtype=bool): true where a step is real")

    def check_shared(self, call: LayerCall, node: LayerNode, weights: tuple[Weight, ...]) -> None:
        first = self.first_call[call.layer]
        built = self.weights[call.layer]
        if [w.shape for w in weights] != [w.shape for w in built]:
            before = self.tensors[self.graph.calls[first].inputs[0].call]
            x = self.tensor(call.inputs[0])
            self.errors.append(RnnspecError(
                "E300", f"shared layer '{self.names[call.layer]}' was built by its first call "
                f"(line {self.graph.calls[first].span.line}) for inputs of shape {format_shape(before[0].shape)}; "
                f"this call gives {format_shape(x.shape)}", call.span,
                "a shared layer has one set of weights: feed it tensors with the same features"))

    # ------------------------------------------------------------ masks, as Keras computes them

    def op(self, prefix: str, type_name: str, shape: Shape, *inputs: Source) -> Source:
        self.ops.append(OpNode(prefix, type_name, shape, inputs))
        return Source(len(self.ops) - 1, 0, True)

    def mask_shape(self, source: Source) -> Shape:
        if source.op:
            return self.ops[source.node].shape
        return self.tensors[source.node][source.index].shape

    def output_masks(self, index: int, call: LayerCall, node: LayerNode, inputs: tuple[Tensor, ...]
                     ) -> tuple[Source | None, ...]:
        kind = node.kind
        count = len(self.tensors[index])
        received = [self.masks[ref.call][ref.index] for ref in call.inputs]
        previous = received[0]
        if call.mask is not None:
            previous = Source(call.mask.call, call.mask.index)
            self.mask_arg[index] = previous
        elif "mask" in kind.call_arguments and kind.takes_several:
            # Keras's step 6: the call's one tensor argument is the list, so `mask` is the list of their masks
            given = tuple(m for m in received if m is not None)
            if given:
                self.mask_list[index] = given
        elif "mask" in kind.call_arguments and previous is not None:
            if call.states:  # Keras fills in `mask` only for a call with one tensor argument
                self.warnings.append(RnnspecError(
                    "W107", f"{node.type_name} is given initial_state, so Keras does not pass it the mask made "
                    "earlier: its padding steps count as real", call.span,
                    "pass the mask explicitly with mask=, or drop the mask", severity="warning"))
            else:
                self.mask_arg[index] = previous
        x_source = Source(call.inputs[0].call, call.inputs[0].index)
        name = node.type_name
        if name == "Embedding":
            mask = self.op("not_equal", "NotEqual", inputs[0].shape, x_source) if node.args.mask_zero else None
            return (mask,)
        if name == "Masking":
            equal = self.op("not_equal", "NotEqual", inputs[0].shape, x_source)
            return (self.op("any", "Any", inputs[0].shape[:-1], equal),)
        if name in ELEMENTWISE_MERGES:
            if any(m is None for m in received):
                return (None,)
            mask = received[0]
            for other in received[1:]:
                mask = self.op("logical_or", "LogicalOr", self.mask_shape(mask), mask, other)  # type: ignore[arg-type]
            return (mask,)
        if name == "Concatenate":
            return (self.concatenated_mask(call, node, inputs, received),)
        if kind.several_as_arguments:  # MultiHeadAttention: compute_mask passes the query's mask on, as it is
            return (received[0],) + (None,) * (count - 1)
        if name in ATTENTION:  # the query's mask on the output (through an op of its own), none on the scores
            query = received[0]
            mask = None if query is None else \
                self.op("convert_to_tensor", "ConvertToTensor", self.mask_shape(query), query)
            return (mask,) + (None,) * (count - 1)
        if kind.family == "recurrent" or name == "Bidirectional":
            sequences = node.args.layer.args.return_sequences if name == "Bidirectional" \
                else node.args.return_sequences
            return (previous if sequences else None,) + (None,) * (count - 1)
        if name in MASK_PASSES:
            return (previous,) + (None,) * (count - 1)
        return (None,) * count

    def concatenated_mask(self, call: LayerCall, node: LayerNode, inputs: tuple[Tensor, ...],
                          received: list[Source | None]) -> Source | None:
        if all(m is None for m in received):
            return None
        masks = []
        for ref, tensor, mask in zip(call.inputs, inputs, received):
            x = Source(ref.call, ref.index)
            if mask is None:
                masks.append(self.op("ones_like", "OnesLike", tensor.shape, x))
            elif len(self.mask_shape(mask)) < len(tensor.shape):
                expanded = self.op("expand_dims", "ExpandDims", (*self.mask_shape(mask), 1), mask)
                zeros = self.op("zeros_like", "ZerosLike", tensor.shape, x)
                masks.append(self.op("logical_or", "LogicalOr", tensor.shape, expanded, zeros))
            else:
                masks.append(mask)
        axis = node.args.axis
        shapes = [self.mask_shape(m) for m in masks]
        rank = len(shapes[0])
        axis %= rank
        joined = tuple(_sum_dims(s[axis] for s in shapes) if i == axis else shapes[0][i] for i in range(rank))
        concatenated = self.op("concatenate", "Concatenate", joined, *masks)
        return self.op("any", "Any", joined[:-1], concatenated)

    # ------------------------------------------------------------ what reaches the outputs

    def live(self) -> set[int]:
        graph = self.graph
        seen: set[int] = set()
        stack = [ref.call for ref in graph.outputs]
        while stack:
            index = stack.pop()
            if index in seen:
                continue
            seen.add(index)
            call = graph.calls[index]
            stack.extend(ref.call for ref in call.inputs)
            stack.extend(ref.call for ref in call.states)
            if call.mask is not None:
                stack.append(call.mask.call)
        return seen

    def node_inputs(self, index: int) -> list[Source]:
        """A call's input tensors in Keras's order: the positional ones, then the keyword ones by name
        (`initial_state`, then `mask`), which is how Keras flattens a call's arguments."""
        call = self.graph.calls[index]
        sources = [Source(r.call, r.index) for r in call.inputs] + [Source(r.call, r.index) for r in call.states]
        mask = self.mask_arg.get(index)
        if mask is not None:
            sources.append(mask)
        return sources


def _sum_dims(dims: object) -> int | None:
    total = 0
    for dim in dims:  # type: ignore[attr-defined]
        if dim is None:
            return None
        total += dim
    return total


def _compatible(shape: Shape, want: Shape) -> bool:
    return len(shape) == len(want) and all(a is None or b is None or a == b for a, b in zip(shape, want))


def _layer_names(graph: FunctionalGraph) -> list[str]:
    """Keras's names: an Input takes the name it is bound to; every other layer its type's name, numbered in the
    order the layers are made (`lstm`, `lstm_1`), past the names already taken."""
    taken = set(graph.input_names.values())
    taken.update(node.args["name"] for node in graph.layers if node.args.get("name") is not None)
    counters: dict[str, int] = {}
    names = []
    for index, node in enumerate(graph.layers):
        if index in graph.input_names:
            names.append(graph.input_names[index])
            continue
        if node.args.get("name") is not None:
            names.append(node.args["name"])
            continue
        base = "input_layer" if node.type_name == "Input" else node.kind.keras_name
        names.append(_next_name(base, counters, taken))
    return names


def _check_names(graph: FunctionalGraph, errors: list[RnnspecError]) -> None:
    """E216 for a layer name given twice, or given to a layer while an input is bound to it: Keras refuses a model
    whose layers share a name."""
    from rnnspec.infer import duplicate_name

    inputs = {name: graph.layers[index].span for index, name in graph.input_names.items()}
    seen: dict[str, Span] = {}
    made: set[int] = set()
    for node in graph.layers:
        name = node.args.get("name")
        if name is None or node.type_name == "Input":
            continue
        span = node.arg_spans.get("name", node.span)
        if id(node) in made:  # one node made into several layers (a repeat's copies)
            errors.append(duplicate_name(name, span, None, 2))
            continue
        made.add(id(node))
        first = seen.get(name) or inputs.get(name)
        if first is not None:
            errors.append(duplicate_name(name, span, first))
        seen.setdefault(name, span)


def _next_name(base: str, counters: dict[str, int], taken: set[str]) -> str:
    while True:
        count = counters.get(base, 0)
        counters[base] = count + 1
        name = base if count == 0 else f"{base}_{count}"
        if name not in taken:
            taken.add(name)
            return name


class _Order:
    """Keras's `map_graph`: a depth-first walk from the outputs gives each operation its first-seen index and the
    nodes in order; depths go back from the outputs; operations are listed deepest first, ties by that index."""

    def __init__(self, walk: _Walk, live: set[int]) -> None:
        self.walk, self.live = walk, live

    def inputs_of(self, key: tuple[bool, int]) -> list[Source]:
        op, index = key
        return list(self.walk.ops[index].inputs) if op else self.walk.node_inputs(index)

    def fill(self, report: ModelReport) -> None:
        walk, graph = self.walk, self.walk.graph
        order, first_seen = self.topological()
        depth_of_node: dict[tuple[bool, int], int] = {}
        depth_of_op: dict[tuple[bool, int], int] = {}
        for key in reversed(order):
            depth = depth_of_node.setdefault(key, 0)
            operation = self.operation(key)
            depth = max(depth, depth_of_op.get(operation, 0))
            depth_of_op[operation] = depth
            depth_of_node[key] = depth
            for source in self.inputs_of(key):
                parent = (source.op, source.node)
                depth_of_node[parent] = max(depth + 1, depth_of_node.get(parent, 0))
        operations = sorted(depth_of_op, key=lambda op: (-depth_of_op[op], first_seen[op]))
        nodes_of: dict[tuple[bool, int], list[tuple[bool, int]]] = {}
        for key in order:
            nodes_of.setdefault(self.operation(key), []).append(key)
        op_names = self.op_names()
        report.input = walk.tensors[graph.inputs[0]][0] if graph.inputs else None
        report.inputs = [(walk.names[graph.calls[c].layer], walk.tensors[c][0]) for c in graph.inputs]
        report.outputs = [walk.tensor(ref) for ref in graph.outputs]
        table: list[TableRow] = []
        row_of_layer: dict[int, int] = {}
        for operation in operations:
            op, index = operation
            nodes = sorted(nodes_of[operation], key=lambda k: k[1])
            connected = self.connected(nodes, op_names)
            if op:
                node = walk.ops[index]
                table.append(TableRow(op_names[index], node.type, summary_shape(node.shape), 0, connected))
                continue
            layer = graph.layers[index]
            first = walk.first_call.get(index, nodes[0][1])
            last = nodes[-1][1]
            call = graph.calls[first]
            input_shape = walk.tensors[first][0].shape if not call.inputs else walk.tensor(call.inputs[0]).shape
            outputs = walk.tensors[last]
            row = Row.of(walk.names[index], layer, input_shape, outputs[0].shape, walk.weights[index])
            row = row._replace(outputs=tuple(t.shape for t in outputs), inbound=connected,
                               calls=tuple(k[1] for k in nodes))
            if layer.type_name == "Input":
                row = row._replace(type="InputLayer")
            row_of_layer[index] = len(report.rows)
            report.rows.append(row)
            shown = summary_shape(outputs[0].shape) if len(outputs) == 1 else \
                "[" + ", ".join(summary_shape(t.shape) for t in outputs) + "]"
            table.append(TableRow(row.name, row.type, shown, row.params, connected))
        report.table = table
        report.connected = not self.sequential_like(order, depth_of_node, nodes_of)
        report.network = Network(graph, self.run_order(depth_of_node), row_of_layer, walk.names, list(graph.inputs),
                                 {c: c in walk.mask_arg or c in walk.mask_list for c in self.live}, walk.tensors)

    def run_order(self, depth_of_node: dict[tuple[bool, int], int]) -> list[int]:
        """The calls in the order Keras runs them (`_run_through_graph`): deepest first, each depth in the order
        its nodes got their depth. Only stateful layers can tell orders apart, where one layer is called twice."""
        by_depth: dict[int, list[int]] = {}
        for (op, index), depth in depth_of_node.items():
            if not op:
                by_depth.setdefault(depth, []).append(index)
        return [index for depth in sorted(by_depth, reverse=True) for index in by_depth[depth] if index in self.live]

    def operation(self, key: tuple[bool, int]) -> tuple[bool, int]:
        op, index = key
        return key if op else (False, self.walk.graph.calls[index].layer)

    def topological(self) -> tuple[list[tuple[bool, int]], dict[tuple[bool, int], int]]:
        """`_build_map`: nodes in post-order of a depth-first walk from each output, and each operation's index in
        the order first seen (pre-order), iteratively (a model may be thousands of layers deep)."""
        walk = self.walk
        finished: set[tuple[bool, int]] = set()
        order: list[tuple[bool, int]] = []
        first_seen: dict[tuple[bool, int], int] = {}
        for ref in walk.graph.outputs:
            root = (False, ref.call)
            if root in finished:
                continue
            stack: list[tuple[tuple[bool, int], int]] = [(root, 0)]
            first_seen.setdefault(self.operation(root), len(first_seen))
            while stack:
                key, position = stack[-1]
                inputs = self.inputs_of(key)
                if position < len(inputs):
                    stack[-1] = (key, position + 1)
                    child = (inputs[position].op, inputs[position].node)
                    if child not in finished:
                        first_seen.setdefault(self.operation(child), len(first_seen))
                        stack.append((child, 0))
                    continue
                stack.pop()
                if key not in finished:
                    finished.add(key)
                    order.append(key)
        return order, first_seen

    def op_names(self) -> list[str]:
        """Mask operations are numbered as Keras numbers them in a fresh session: by their name, in the order
        made, past the layers' names."""
        taken = set(self.walk.names)
        counters: dict[str, int] = {}
        return [_next_name(op.prefix, counters, taken) for op in self.walk.ops]

    def connected(self, nodes: list[tuple[bool, int]], op_names: list[str]) -> tuple[Inbound, ...]:
        """For each of the operation's nodes in the model, each input tensor as its maker's name, the maker's node
        index and the tensor's index: what Keras prints as `lstm[0][0], mask[0][0]`."""
        walk = self.walk
        calls = []
        for key in nodes:
            tensors = []
            for source in self.inputs_of(key):
                if source.op:
                    tensors.append(Inbound(op_names[source.node], 0, source.index))
                else:
                    maker = walk.graph.calls[source.node]
                    tensors.append(Inbound(walk.names[maker.layer], walk.node_index[source.node], source.index))
            calls.append(tuple(tensors))
        return tuple(calls)  # type: ignore[arg-type]

    def sequential_like(self, order: list[tuple[bool, int]], depth_of_node: dict[tuple[bool, int], int],
                        nodes_of: dict[tuple[bool, int], list[tuple[bool, int]]]) -> bool:
        """Keras prints a functional model without "Connected to" when each depth has one node with at most one
        input tensor, and no layer is called twice."""
        per_depth: dict[int, int] = {}
        for key in order:
            depth = depth_of_node[key]
            per_depth[depth] = per_depth.get(depth, 0) + 1
            if per_depth[depth] > 1 or len(self.inputs_of(key)) > 1:
                return False
        return all(len(nodes) == 1 for nodes in nodes_of.values())


def _check_notes(walk: _Walk, report: ModelReport) -> None:
    for note in walk.graph.notes:
        shapes = tuple(walk.tensor(ref).shape for ref in note.refs)
        if shapes != note.shapes:
            makers = dict.fromkeys(walk.names[walk.graph.calls[ref.call].layer] for ref in note.refs)
            what = f"'{next(iter(makers))}' outputs" if len(makers) == 1 else "the tensors here are"
            said = ", ".join(format_shape(s) for s in note.shapes)
            found = ", ".join(format_shape(s) for s in shapes)
            report.errors.append(RnnspecError("E402", f"{what} {found}, but the spec says {said}", note.span))

__all__ = ["Network", "TableRow", "infer_functional"]
