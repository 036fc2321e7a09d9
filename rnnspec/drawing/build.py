"""A checked report to a Drawing. A chain is drawn from its repeats as written (each repeat once, with its
count, whether it was unrolled or folded by the checker); a functional model, which the checker unrolls, has its
repeats found again (rnnspec.drawing.fold) so that `Dense(4) x 1000` is one box there too."""
from __future__ import annotations

from typing import Sequence

from rnnspec.drawing.fold import Repeated, Segment, Single, fold_path
from rnnspec.drawing.model import Drawing, shown
from rnnspec.functional import Ref
from rnnspec.graph import Item, Repeat
from rnnspec.infer import ModelReport, Row
from rnnspec.layers.base import LayerNode
from rnnspec.shape import Shape, format_shape


def drawing_of(report: ModelReport) -> Drawing:
    if report.errors:
        raise ValueError(f"model '{report.name}' has errors; only a checked model is drawn")
    if report.functional is not None:
        return _Functional(report).drawing
    return _Chain(report).drawing


def layer_title(node: LayerNode, type_name: str, name: str | None, count: int = 1) -> str:
    """`LSTM`, `Bidirectional(LSTM)`, `encoder: LSTM`, `LSTM ×3`: the type, the name the spec gives, the count."""
    inner = dict.get(node.args, "layer")  # dict.get: Args answers only for its layer's own arguments
    title = f"{type_name}({inner.type_name})" if isinstance(inner, LayerNode) else type_name
    if name is not None:
        title = f"{name}: {title}"
    return f"{title} ×{count:,}" if count > 1 else title


def params_line(params: int, layers: int) -> str:
    return f"{params:,} params" + (f" in {layers:,} layers" if layers > 1 else "")


def input_line(shape: Shape, dtype: str) -> str:
    return format_shape(shape) + ("" if dtype == "float32" else f" {dtype}")


class _Chain:
    """Rows are matched to the items that made them by node identity (a repeat reuses one resolved node), so a
    repeat's rows are found however the checker walked it; each row stands for 1 layer, or for the folded copies
    it was inferred for (`Fold`: the copies like the last inferred one)."""

    def __init__(self, report: ModelReport) -> None:
        self.report, self.rows = report, report.rows
        self.drawing = Drawing(shown(report.name))
        self.multiplicity = [1] * len(self.rows)
        for fold in report.folds:
            for index in range(fold.first, fold.end):
                self.multiplicity[index] *= 1 + fold.copies
        x = report.input
        assert x is not None and report.graph is not None
        self.last = self.drawing.node("Input", [input_line(x.shape, x.dtype)], kind="input")
        self.items(report.graph.layers, list(range(len(self.rows))), None)
        output = self.drawing.node("output", kind="output")
        self.drawing.edge(self.last, output, format_shape(report.output))  # type: ignore[arg-type]

    def items(self, items: Sequence[Item], rows: list[int], group: str | None) -> None:
        """Draw `items` once each; `rows` are the rows of all their copies, in order."""
        owner: dict[int, int] = {}
        for position, item in enumerate(items):
            for node in _nodes(item):
                owner[id(node)] = position
        buckets: list[list[int]] = [[] for _ in items]
        for index in rows:
            buckets[owner[id(self.rows[index].node)]].append(index)
        for item, bucket in zip(items, buckets):
            if not bucket:
                continue
            if isinstance(item, Repeat) and len(item.body) == 1 and isinstance(item.body[0], LayerNode):
                self.layer(bucket, item.count, group)
            elif isinstance(item, Repeat):
                self.items(item.body, bucket, self.drawing.group(f"×{item.count:,}", group))
            else:
                self.layer(bucket, 1, group)

    def layer(self, rows: list[int], count: int, group: str | None) -> None:
        first, last = self.rows[rows[0]], self.rows[rows[-1]]
        layers = sum(self.multiplicity[i] for i in rows)
        params = sum(self.rows[i].params * self.multiplicity[i] for i in rows)
        name = dict.get(first.node.args, "name")
        node = self.drawing.node(layer_title(first.node, first.type, name, count),
                                 [format_shape(last.output_shape), params_line(params, layers)],
                                 group=group, layers=layers, params=params)
        self.drawing.edge(self.last, node, format_shape(first.input_shape))
        self.last = node


def _nodes(item: Item) -> list[LayerNode]:
    """The resolved nodes of an item; iterative, a repeat may nest deep."""
    found, stack = [], [item]
    while stack:
        item = stack.pop()
        if isinstance(item, Repeat):
            stack.extend(item.body)
        else:
            found.append(item)
    return found


class _Functional:
    """One node per call of a live layer; a shared layer's calls are marked and joined by a `weights` edge, its
    parameters counted on its first call; each model output is an `output` node."""

    def __init__(self, report: ModelReport) -> None:
        self.report, self.graph, self.network = report, report.functional, report.network
        self.drawing = Drawing(shown(report.name))
        self.node_of: dict[int, str] = {}  # call -> the node drawing it (several calls when folded)
        self.position: dict[str, int] = {}
        self.call_number: dict[int, int] = {}  # a shared layer's call -> which of its calls (from 1); linear
        calls = sorted(self.network.live)  # a call refers only to earlier ones: this is a topological order
        consumers: dict[int, list[int]] = {}
        for call in calls:
            for ref in self.refs(call):
                consumers.setdefault(ref.call, []).append(call)
        outputs = {ref.call for ref in self.graph.outputs}
        foldable = {call for call in calls if self.foldable(call)}
        next_of: dict[int, int] = {}
        for call in foldable:
            after = consumers.get(call, [])
            if len(after) == 1 and after[0] in foldable and call not in outputs:
                next_of[call] = after[0]
        followed = set(next_of.values())
        for call in calls:
            if call in self.node_of or call in followed:
                continue
            path = [call]
            while path[-1] in next_of:
                path.append(next_of[path[-1]])
            spans = [self.graph.calls[c].span for c in path]
            self.segments(fold_path(spans), [[c] for c in path], None)
        self.edges(calls)
        for number, ref in enumerate(self.graph.outputs, 1):
            name = self.graph.tensor_names.get(ref)
            title = "output" if len(self.graph.outputs) == 1 else f"output {number}"
            output = self.drawing.node(title if name is None else f"{title}: {name}", kind="output")
            self.drawing.edge(self.node_of[ref.call], output, self.tensor_label(ref))

    def refs(self, call: int) -> list[Ref]:
        layer_call = self.graph.calls[call]
        return [*layer_call.inputs, *layer_call.states, *([layer_call.mask] if layer_call.mask else [])]

    def row(self, call: int) -> Row:
        layer = self.graph.calls[call].layer
        return self.report.rows[self.network.row_of_layer[layer]]

    def foldable(self, call: int) -> bool:
        """A plain link of a chain: one input, no state or mask, a layer called once (a repeat's copy is)."""
        layer_call = self.graph.calls[call]
        return (len(layer_call.inputs) == 1 and not layer_call.states and layer_call.mask is None
                and len(self.row(call).calls) == 1)

    def segments(self, segments: list[Segment], columns: list[list[int]], group: str | None) -> None:
        """Draw folded segments; `columns[i]` are the calls (every copy) at position i of the path."""
        position = 0
        for segment in segments:
            if isinstance(segment, Single):
                calls = [c for column in columns[position:position + segment.copies] for c in column]
                self.call_node(calls, segment.copies, group)
                position += segment.copies
                continue
            assert isinstance(segment, Repeated)
            width = segment.period
            merged = [[c for k in range(segment.copies) for c in columns[position + k * width + t]]
                      for t in range(width)]
            self.segments(segment.body, merged, self.drawing.group(f"×{segment.copies:,}", group))
            position += width * segment.copies

    def call_node(self, calls: list[int], count: int, group: str | None) -> None:
        graph, first, last = self.graph, calls[0], calls[-1]
        layer = graph.calls[first].layer
        node, row = graph.layers[layer], self.row(first)
        shapes = [t.shape for t in self.network.tensors[last]]
        if row.type == "InputLayer":
            tensor = self.network.tensors[first][0]
            title = layer_title(node, "Input", graph.input_names.get(layer))
            drawn = self.drawing.node(title, [input_line(tensor.shape, tensor.dtype)], kind="input")
        else:
            name = graph.layer_bindings.get(layer) or dict.get(node.args, "name")
            lines = [format_shape(shapes[0])] if len(shapes) == 1 else \
                [f"{out} {format_shape(s)}" for out, s in zip(node.kind.output_names(node.args), shapes)]
            shared = len(row.calls) > 1
            title = layer_title(node, row.type, name, count)
            if shared:  # never folded: its parameters counted once, on its first call
                params = row.params if first == row.calls[0] else 0
                if first not in self.call_number:
                    self.call_number.update((c, k) for k, c in enumerate(row.calls, 1))
                title += f" (call {self.call_number[first]} of {len(row.calls)})"
                lines.append(f"shared: {row.params:,} params" if params else "shared: same weights as call 1")
            else:
                params = sum(self.row(c).params for c in calls)
                lines.append(params_line(params, len(calls)))
            drawn = self.drawing.node(title, lines, group=group, shared=shared, layers=len(calls), params=params)
        self.position[drawn] = len(self.position)
        for call in calls:
            self.node_of[call] = drawn

    def tensor_label(self, ref: Ref) -> str:
        name = self.graph.tensor_names.get(ref)
        tensors = self.network.tensors[ref.call]
        shape = format_shape(tensors[ref.index].shape)
        if name is None and len(tensors) > 1:
            layer = self.graph.layers[self.graph.calls[ref.call].layer]
            name = layer.kind.output_names(layer.args)[ref.index]
        return shape if name is None else f"{name} {shape}"

    def edges(self, calls: list[int]) -> None:
        """Each input, state and mask tensor of each call; between the copies of a folded repeat only the last
        copy's edges are kept (their shapes are those that flow on), and none that would loop back."""
        kept: dict[tuple[str, str, str, int], str] = {}
        for call in calls:
            layer_call = self.graph.calls[call]
            target = self.node_of[call]
            slots = [("data", ref, "") for ref in layer_call.inputs]
            slots += [("state", ref, "initial_state=") for ref in layer_call.states]
            slots += [("mask", layer_call.mask, "mask=")] if layer_call.mask is not None else []
            for slot, (kind, ref, prefix) in enumerate(slots):
                source = self.node_of[ref.call]
                if self.position[source] >= self.position[target]:
                    continue
                kept[(source, target, kind, slot)] = prefix + self.tensor_label(ref)
        for (source, target, kind, _), label in kept.items():
            self.drawing.edge(source, target, label, kind)
        for row in self.report.rows:
            for before, after in zip(row.calls, row.calls[1:]):
                self.drawing.edge(self.node_of[before], self.node_of[after], "same weights", "weights")
