"""Model graph to report: one walk over the layers computing shapes, weights and parameter counts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

from rnnspec.errors import RnnspecError, Span
from rnnspec.graph import COST_KINDS, Item, ModelAssertion, ModelGraph, Repeat, ShapeNote, lower
from rnnspec.layers.base import LayerNode, ShapeError, Tensor, Weight, refuse_strings
from rnnspec.layers.wrappers import returns_state
from rnnspec.parser import cyclic_gc_paused
from rnnspec.shape import Shape, format_shape
from rnnspec.syntax import ModelDef, Module

BYTES_PER_PARAM = 4  # float32
MAX_UNROLLED = 10_000  # layers a model may have to be built; a longer repeat is folded (checked, not built)
FOLD_SEARCH = 10_000  # layers of one repeat inferred in search of a fixed point before it is refused


class Row(NamedTuple):
    """One layer as Keras's summary shows it; counts are the sums of its declared weights."""

    name: str
    type: str
    input_shape: Shape
    output_shape: Shape
    weights: tuple[Weight, ...]
    node: LayerNode
    trainable: int
    non_trainable: int
    outputs: tuple[Shape, ...] = ()  # functional: every output of the layer's last call (several with return_state)
    inbound: tuple = ()  # functional: per call, its input tensors (rnnspec.functional_infer.Inbound)
    calls: tuple[int, ...] = ()  # functional: the layer's calls in the model (a shared layer has several)

    @classmethod
    def of(cls, name: str, node: LayerNode, input_shape: Shape, output_shape: Shape,
           weights: tuple[Weight, ...]) -> "Row":
        trainable = non_trainable = 0
        for weight in weights:
            if weight.trainable:
                trainable += weight.size
            else:
                non_trainable += weight.size
        return cls(name, node.type_name, input_shape, output_shape, weights, node, trainable, non_trainable)

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def span(self) -> Span:
        return self.node.span


class Fold(NamedTuple):
    """`copies` copies of a repeat that are counted, not listed (past MAX_UNROLLED layers), coming before
    rows[first:end], the last copy; `trainable` etc. are the totals of the uncounted copies."""

    first: int
    end: int
    copies: int
    trainable: int
    non_trainable: int
    layers: int
    span: Span


@dataclass
class ModelReport:
    """Everything `check` knows about one model; `ok` when it inferred and every assertion held."""

    name: str
    span: Span
    input: Tensor | None = None
    rows: list[Row] = field(default_factory=list)
    errors: list[RnnspecError] = field(default_factory=list)
    graph: ModelGraph | None = None
    source: str | None = None  # the text of the file or expression the model was written in
    warnings: list[RnnspecError] = field(default_factory=list)  # legal but suspicious (rnnspec.lint)
    folds: list[Fold] = field(default_factory=list)  # copies of a huge repeat, counted but not listed in rows
    # The functional form (rnnspec.functional_infer): the graph, every input and output, the summary's rows
    # (layers and the mask operations Keras lists) and what the backends run.
    functional: Any = None
    inputs: Sequence[tuple[str, Tensor]] = ()  # tuples by default: a chain's check makes no lists it never uses
    outputs: Sequence[Tensor] = ()
    table: Sequence[Any] = ()
    connected: bool = False  # whether Keras's summary has the "Connected to" column
    network: Any = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def output(self) -> Shape | tuple[Shape, ...] | None:
        """The output shape; a functional model with several outputs gives one shape per output."""
        if self.functional is not None:
            if len(self.outputs) == 1:
                return self.outputs[0].shape
            return tuple(t.shape for t in self.outputs) if self.outputs else None
        if self.rows:
            return self.rows[-1].output_shape
        return self.input.shape if self.input else None

    @property
    def trainable(self) -> int:
        return sum(r.trainable for r in self.rows) + sum(f.trainable for f in self.folds)

    @property
    def non_trainable(self) -> int:
        return sum(r.non_trainable for r in self.rows) + sum(f.non_trainable for f in self.folds)

    @property
    def layer_count(self) -> int:
        """Layers as Keras would build them: the rows and the folded copies."""
        return len(self.rows) + sum(f.layers for f in self.folds)

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def bytes(self) -> int:
        return self.total * BYTES_PER_PARAM


def infer_graph(graph: ModelGraph) -> ModelReport:
    report = ModelReport(graph.name, graph.span, graph=graph)
    if graph.errors:
        report.errors.extend(graph.errors)
        return report
    if not graph.layers and graph.input is None:
        report.errors.append(RnnspecError("E301", f"model '{graph.name}' has no layers", graph.span))
        return report
    x = graph.input
    if x is None:
        first = first_layer(graph.layers[0])
        x = first.kind.implied_input(first.args)
        if x is None:
            report.errors.append(RnnspecError(
                "E301", f"{first.type_name} cannot tell the model's input shape", first.span,
                f"start with an explicit input, e.g. Input(None, 32) > {first.type_name}(...) "
                "for sequences of 32 features"))
            return report
    report.input = x
    taken = given_names(graph.layers, report.errors) if graph.named else frozenset()
    if report.errors:
        return report
    walk = _Walk(report, x, unroll=graph.size <= MAX_UNROLLED, taken=taken)
    try:
        walk.items(graph.layers, graph.notes)
    except ShapeError as err:
        report.errors.append(err)
        return report
    if graph.assertions:
        check_assertions(graph.assertions, report)
    if not report.errors:
        from rnnspec.lint import lint

        report.warnings = graph.warnings + walk.warnings + lint(report)
    return report


def given_names(items: Sequence[Item], errors: list[RnnspecError]) -> set[str]:
    """The layer names the spec gives (`name=`), which auto names skip; a name given twice, or to a layer
    repeated, is E216 (Keras refuses a model whose layers share a name)."""
    seen: dict[str, Span] = {}

    def visit(items: Sequence[Item], copies: int) -> None:
        for item in items:
            if isinstance(item, Repeat):
                visit(item.body, copies * item.count)
                continue
            name = item.args.get("name")
            if name is None:
                continue
            span = item.arg_spans.get("name", item.span)
            if name in seen or copies > 1:
                errors.append(duplicate_name(name, span, seen.get(name), copies))
            seen.setdefault(name, span)

    visit(items, 1)
    return set(seen)


def duplicate_name(name: str, span: Span, first: Span | None, copies: int = 1) -> RnnspecError:
    """E216: Keras needs every layer of a model to have its own name."""
    if first is None:
        return RnnspecError("E216", f"the layer name '{name}' is given to a layer repeated {copies} times", span,
                            "each copy is a layer of its own and needs its own name: drop name= from the repeat, "
                            "or write the copies out")
    return RnnspecError("E216", f"the layer name '{name}' is already given at line {first.line}", span,
                        "each layer of a model needs its own name (Keras refuses the model); rename one, or "
                        "drop name= to let rnnspec number it")


def check_model(model: ModelDef) -> ModelReport:
    """One model's report, whichever form it is written in."""
    if model.statements:  # the functional form
        from rnnspec.functional import lower_functional
        from rnnspec.functional_infer import infer_functional

        report = infer_functional(lower_functional(model))
        report.span = model.span
        return report
    return infer_graph(lower(model))


def require_buildable(report: ModelReport) -> None:
    """Backends build every layer; a model past MAX_UNROLLED (a folded repeat) is checked, never built."""
    if report.layer_count > MAX_UNROLLED:
        raise RnnspecError("E502", f"model '{report.name}' has {report.layer_count:,} layers; rnnspec builds "
                           f"models of at most {MAX_UNROLLED:,}", report.span,
                           "`rnnspec check` reports its shapes and counts as it is; to build it, repeat fewer times")


MAX_ALLOCATION = 4 << 30  # bytes in one array a backend allocates (a model's weights, an input or output batch)


def require_allocatable(nbytes: int, what: str, span: Span | None = None, hint: str | None = None) -> None:
    """Refuse, with E503, an allocation past MAX_ALLOCATION: a clear error instead of a MemoryError or a machine
    that swaps. `what` names the array (e.g. "the weights of model 'm'", "the --random input")."""
    if nbytes > MAX_ALLOCATION:
        gib = nbytes / (1 << 30)
        size = f"{gib:,.1f}" if gib < 1e6 else f"{gib:.2e}"  # a shape of huge dims: not 30 digits
        raise RnnspecError("E503", f"{what} would take {size} GiB; rnnspec allocates at most "
                           f"{MAX_ALLOCATION >> 30} GiB in one piece", span,
                           hint or "use smaller sizes, or a smaller batch")


def first_layer(item: Item) -> LayerNode:
    while isinstance(item, Repeat):
        item = item.body[0]
    return item


class _Walk:
    """One pass over the layers, adding a row per layer. In a model small enough to build, repeats are unrolled,
    as Keras lists them; in a bigger one they are folded: copies are inferred until one leaves the input as it
    found it (a fixed point), and every later copy, the same layers on the same input, is counted, not inferred."""

    def __init__(self, report: ModelReport, x: Tensor, unroll: bool, taken: set[str] = frozenset()) -> None:
        self.report, self.x, self.unroll = report, x, unroll
        self.names: dict[str, int] = {}
        self.taken = taken  # names the spec gives, which auto names skip
        self.warnings: list[RnnspecError] = []  # about an input a layer takes (Embedding fed floats), once per layer
        # A repeat reuses one resolved node, so its copies that receive the same input need inferring only once.
        self.known: dict[tuple[int, Tensor], tuple[Tensor, tuple[Weight, ...]]] = {}
        self.reported: set[Span] = set()
        self.totals = [0, 0, 0]  # trainable, non-trainable, layers so far (kept only when folding: a fold needs them)

    def items(self, items: tuple[Item, ...] | list[Item], notes: tuple[ShapeNote, ...] | list[ShapeNote]) -> None:
        """Infer `items` in order; `notes` are in the order of their indices (lowering appends them as it goes),
        so one cursor pairs each item with its notes."""
        next_note = 0
        for index, item in enumerate(items):
            folds = len(self.report.folds)
            if isinstance(item, Repeat):
                self.repeat(item)
            else:
                self.layer(item)
            while next_note < len(notes) and notes[next_note].index == index:
                self.check_note(notes[next_note], folded=len(self.report.folds) > folds)
                next_note += 1

    def layer(self, node: LayerNode) -> None:
        x, report = self.x, self.report
        key = (id(node), x)
        if key in self.known:
            out, weights = self.known[key]
        else:
            kind, args = node.kind, node.args
            try:
                # the layers that can return states: their own return_state, or a wrapped layer's
                if kind.call_arguments and (dict.get(args, "return_state") or kind.layer_params):
                    _refuse_several_outputs(node)
                if x.dtype == "string" and not kind.takes_strings:
                    raise refuse_strings(node.type_name)
                out = kind.output(args, x)
                weights = tuple(kind.weights(args, x.shape))
            except ShapeError as err:
                raise _diagnose(err, node, report, x) from None
            self.known[key] = out, weights
            if kind.warns_on_input:
                self.input_warning(node, x)
        name = dict.get(node.args, "name")  # dict.get: see Args
        if name is None:
            base = node.kind.keras_name
            seen = self.names.get(base, 0)
            self.names[base] = seen + 1
            name = base if seen == 0 else f"{base}_{seen}"
            if self.taken and name in self.taken:
                name = self.free_name(base)
        row = Row.of(name, node, x.shape, out.shape, weights)
        report.rows.append(row)
        self.x = out
        if not self.unroll:  # only a fold needs the running totals
            totals = self.totals
            totals[0] += row.trainable
            totals[1] += row.non_trainable
            totals[2] += 1

    def input_warning(self, node: LayerNode, x: Tensor) -> None:
        """A layer's warning about its input (Embedding fed floats), once per layer however often it is copied."""
        warning = node.kind.input_warning(node.args, x)
        if warning is not None and node.span not in self.reported:
            self.reported.add(node.span)
            self.warnings.append(RnnspecError(*warning[:2], node.span, warning[2], severity="warning"))

    def free_name(self, base: str) -> str:
        """The next automatic name past those the spec gives (`dense_1` when a layer is named `dense`)."""
        while True:
            seen = self.names[base]
            self.names[base] = seen + 1
            name = f"{base}_{seen}"
            if name not in self.taken:
                return name

    def repeat(self, repeat: Repeat) -> None:
        if self.unroll:
            for _ in range(repeat.count):
                self.items(repeat.body, repeat.notes)
            return
        copy_input: Tensor | None = None  # the input of the copy inferred last, and the state before it
        before: tuple = ()
        searched = 0  # rows inferred looking for a fixed point
        for copy in range(repeat.count):
            if self.x == copy_input:
                self.fold(repeat, repeat.count - copy, before)
                return
            if searched > FOLD_SEARCH:
                raise ShapeError(f"the copies of this repeat keep changing the shape, so its {repeat.count:,} "
                                 f"copies cannot be folded, and rnnspec infers at most {FOLD_SEARCH:,} of its layers",
                                 "repeat fewer times, or repeat layers that keep their input's shape",
                                 code="E207").located(repeat.span)
            copy_input = self.x
            before = (len(self.report.rows), *self.totals, dict(self.names))
            self.items(repeat.body, repeat.notes)
            searched += len(self.report.rows) - before[0]

    def fold(self, repeat: Repeat, copies: int, before: tuple) -> None:
        """Count `copies` more copies like the one inferred last (rows[first:] and any fold inside it), which
        moves to the end: its rows take the names of the repeat's last copy."""
        first, trainable, non_trainable, layers, names = before
        totals = self.totals
        fold = Fold(first, len(self.report.rows), copies, copies * (totals[0] - trainable),
                    copies * (totals[1] - non_trainable), copies * (totals[2] - layers), repeat.span)
        self.report.folds.append(fold)
        totals[0] += fold.trainable
        totals[1] += fold.non_trainable
        totals[2] += fold.layers
        shift = {base: copies * (count - names.get(base, 0)) for base, count in self.names.items()}
        for base, extra in shift.items():
            self.names[base] += extra
        rows = self.report.rows
        for index in range(first, len(rows)):  # the inferred copy becomes the last one, named as Keras would
            row = rows[index]
            if row.node.args.get("name") is not None:  # never in a fold: a named layer repeated is E216
                continue
            base = row.node.kind.keras_name
            number = int(row.name[len(base) + 1:] or 0) + shift[base]
            rows[index] = row._replace(name=f"{base}_{number}")

    def check_note(self, note: ShapeNote, folded: bool) -> None:
        row = self.report.rows[-1]
        if self.x.shape == note.shape or note.span in self.reported:
            return
        self.reported.add(note.span)  # a note inside a repeat is checked on every copy but reported once
        what = "the repeat" if folded else f"'{row.name}' ({row.type})"
        self.report.errors.append(RnnspecError(
            "E402", f"{what} outputs {format_shape(self.x.shape)}, but the spec says {format_shape(note.shape)}",
            note.span, "shapes are written batch first, e.g. (None, 32)" if len(note.shape) != len(self.x.shape)
            else None))


def _refuse_several_outputs(node: LayerNode) -> None:
    """E214: a layer with `state` (or wrapping one) has several outputs, and a chain passes one tensor on."""
    several = node.kind.output_names(node.args) if returns_state(node) else ()
    if len(several) > 1:
        raise ShapeError(
            f"{node.type_name} with `state` has {len(several)} outputs ({', '.join(several)}), and a chain passes "
            "one tensor on", code="E214", hint=f"write the model in the functional form: {', '.join(several)} = x > "
            f"{node.type_name}(...), then go on from {several[0]} (docs/language.md)")


def _diagnose(err: ShapeError, node: LayerNode, report: ModelReport, received: Tensor) -> RnnspecError:
    """Locate a shape error at the layer and, where the cause is an earlier layer, name it in the hint."""
    err.span = node.span
    if err.reason == "no_time_axis" and err.hint is None:
        dropper = next((r for r in reversed(report.rows) if len(r.input_shape) == 3 and len(r.output_shape) == 2),
                       None)
        if dropper is not None and dropper.node.kind.family == "recurrent":
            err.hint = _last_step_only(dropper)
        elif dropper is not None:
            err.hint = f"'{dropper.name}' ({dropper.type}, line {dropper.span.line}) drops the time axis"
        elif len(received.shape) == 2 and not report.rows:
            err.hint = ("a sequence input is (timesteps, features): "
                        f"write Input(None, {received.shape[1] or 32}) for sequences of any length")
        else:
            err.hint = "recurrent layers take (batch, timesteps, features)"
    return err


def _last_step_only(row: Row) -> str:
    return (f"'{row.name}' ({row.type}, line {row.span.line}) returns only its last step; "
            "add `seq` to it to return every time step")


def _recurrent(row: Row) -> bool:
    """A recurrent layer, or a wrapper of one (Bidirectional): `seq` decides whether it keeps the time axis."""
    inner = row.node.args.get("layer")
    return row.node.kind.family == "recurrent" or isinstance(inner, LayerNode) and inner.kind.family == "recurrent"


def _output_rank_hint(report: ModelReport, expected: Shape) -> str | None:
    """Why the output has a time axis too many or too few, when a recurrent layer's `seq` decides it: the last
    recurrent layer returns every step where one output per sequence was expected, or the reverse."""
    output = report.output or ()
    if (len(expected), len(output)) not in ((2, 3), (3, 2)):
        return None
    last = next((row for row in reversed(report.rows) if _recurrent(row)), None)
    if last is None:
        return None
    if len(output) == 3 and len(last.output_shape) == 3:
        return (f"'{last.name}' ({last.type}, line {last.span.line}) returns every step (seq); "
                "drop `seq` from it to return only the last step")
    dropper = next((r for r in reversed(report.rows) if len(r.input_shape) == 3 and len(r.output_shape) == 2), None)
    return _last_step_only(last) if len(output) == 2 and dropper is last else None


def format_output(shape: Shape | tuple[Shape, ...] | None) -> str:
    """`(None, 32)`, or `((None, 67), (None, 1024))` for several outputs."""
    if shape is None:
        return "?"
    if shape and isinstance(shape[0], tuple):
        return "(" + ", ".join(format_shape(s) for s in shape) + ")"  # type: ignore[arg-type]
    return format_shape(shape)  # type: ignore[arg-type]


def check_assertions(assertions: list[ModelAssertion], report: ModelReport) -> None:
    if not assertions:
        return
    costs = [a for a in assertions if a.kind in COST_KINDS]
    if costs:
        _check_costs(costs, report)
        assertions = [a for a in assertions if a.kind not in COST_KINDS]
    actual = {"params": report.total, "trainable": report.trainable, "non_trainable": report.non_trainable}
    hints: dict[int, str | None] = {}  # by expected rank: each hint scans the rows once, however many assertions
    for assertion in assertions:
        if assertion.kind == "shape":
            if report.output != assertion.expected:
                rank = len(assertion.expected)  # type: ignore[arg-type]
                if rank not in hints:
                    hints[rank] = _output_rank_hint(report, assertion.expected)  # type: ignore[arg-type]
                report.errors.append(RnnspecError(
                    "E400", f"expected output shape {format_output(assertion.expected)}, "  # type: ignore[arg-type]
                    f"inferred {format_output(report.output)}", assertion.span, hints[rank]))
        elif actual[assertion.kind] != assertion.expected:
            what = {"params": "parameters", "trainable": "trainable parameters",
                    "non_trainable": "non-trainable parameters"}[assertion.kind]
            report.errors.append(RnnspecError(
                "E401", f"expected {assertion.expected:,} {what}, inferred {actual[assertion.kind]:,}",
                assertion.span))


def _check_costs(assertions: list[ModelAssertion], report: ModelReport) -> None:
    """`expect macs N [at T=n]` and `expect flops N [at T=n]` (E403), costs computed once per length asked: only a
    model with such an assertion pays for rnnspec.cost."""
    from rnnspec.cost import cost_at, has_unknown_length, model_cost

    totals: dict[int | None, object] = {}
    symbolic = has_unknown_length(report)
    for assertion in assertions:
        what = "MACs" if assertion.kind == "macs" else "FLOPs"
        if assertion.at is None and symbolic:
            figure = getattr(model_cost(report).total, assertion.kind)
            formula = f"{what} = {figure.text()}" if figure.known else f"the {what} are no formula in T here"
            report.errors.append(RnnspecError(
                "E403", f"model '{report.name}' has an unknown length, so its {what} depend on it ({formula})",
                assertion.span, f"state the length: expect {assertion.kind} {assertion.expected} at T=100"))
            continue
        if assertion.at is not None and not symbolic:
            report.errors.append(RnnspecError(
                "E403", f"model '{report.name}' has no unknown length, so 'at T={assertion.at:,}' says nothing",
                assertion.span, f"its {what} are the same at any T: expect {assertion.kind} N"))
            continue
        at = assertion.at
        if at not in totals:
            totals[at] = cost_at(report, at)[1]
        total = totals[at]
        where = f" at T={at:,}" if at is not None else ""
        if total is None:
            report.errors.append(RnnspecError(
                "E403", f"the {what} of model '{report.name}' cannot be counted{where}", assertion.span,
                "a length the data decides (TextVectorization without output_sequence_length), or a length too "
                "short for a window, leaves a shape unknown"))
            continue
        actual = getattr(total, assertion.kind)
        if actual != assertion.expected:
            error = RnnspecError(
                "E403", f"expected {assertion.expected:,} {what}{where}, inferred {actual:,}", assertion.span,
                "rnnspec summary --cost lists each layer's share (docs/cost.md says what is counted)")
            error.inferred = actual  # type: ignore[attr-defined]  # what `check --update` writes in its place
            report.errors.append(error)


def check_module(module: Module, seen: dict[str, Span] | None = None) -> list[ModelReport]:
    """Every model of a parsed file, each checked independently; `seen` holds the names of models already
    checked from the same file (when it was parsed block by block after a syntax error)."""
    reports = []
    seen = {} if seen is None else seen
    with cyclic_gc_paused():  # for the whole file: re-enabled after each model, the collector ran once a model
        for model in module.models:  # and walked every report kept so far (quadratic in models)
            reports.append(_checked(model, module, seen))
    return reports


def _checked(model: ModelDef, module: Module, seen: dict[str, Span]) -> ModelReport:
    report = check_model(model) if model.statements else infer_graph(lower(model))
    report.source = module.source
    if model.name in seen:
        first = seen[model.name]
        report.errors.insert(0, RnnspecError("E208", f"a model named '{model.name}' is already defined "
                                             f"(line {first.line})", model.name_span, "give each model its own name"))
    seen.setdefault(model.name, model.name_span)
    return report
