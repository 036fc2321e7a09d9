"""Model graph to report: one walk over the layers computing shapes, weights and parameter counts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from rnnspec.errors import RnnspecError, Span
from rnnspec.graph import ModelGraph, lower
from rnnspec.layers.base import LayerNode, ShapeError, Tensor, Weight
from rnnspec.shape import Shape, format_shape
from rnnspec.syntax import Module

BYTES_PER_PARAM = 4  # float32


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

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def output(self) -> Shape | None:
        if self.rows:
            return self.rows[-1].output_shape
        return self.input.shape if self.input else None

    @property
    def trainable(self) -> int:
        return sum(r.trainable for r in self.rows)

    @property
    def non_trainable(self) -> int:
        return sum(r.non_trainable for r in self.rows)

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
        first = graph.layers[0]
        x = first.kind.implied_input(first.args)
        if x is None:
            report.errors.append(RnnspecError(
                "E301", f"{first.type_name} cannot tell the model's input shape", first.span,
                f"start with an explicit input, e.g. Input(None, 32) > {first.type_name}(...) "
                "for sequences of 32 features"))
            return report
    report.input = x
    names: dict[str, int] = {}
    # A repeat reuses one resolved node, so its copies that receive the same input need inferring only once.
    known: dict[tuple[int, Tensor], tuple[Tensor, tuple[Weight, ...]]] = {}
    for node in graph.layers:
        key = (id(node), x)
        if key in known:
            out, weights = known[key]
        else:
            try:
                out = node.kind.output(node.args, x)
                weights = tuple(node.kind.weights(node.args, x.shape))
            except ShapeError as err:
                report.errors.append(_diagnose(err, node, report, x))
                return report
            known[key] = out, weights
        base = node.kind.keras_name
        seen = names.get(base, 0)
        names[base] = seen + 1
        report.rows.append(Row.of(base if seen == 0 else f"{base}_{seen}", node, x.shape, out.shape, weights))
        x = out
    _check_assertions(graph, report)
    if not report.errors:
        from rnnspec.lint import lint

        report.warnings = graph.warnings + lint(report)
    return report


def _diagnose(err: ShapeError, node: LayerNode, report: ModelReport, received: Tensor) -> RnnspecError:
    """Locate a shape error at the layer and, where the cause is an earlier layer, name it in the hint."""
    err.span = node.span
    if err.reason == "no_time_axis" and err.hint is None:
        dropper = next((r for r in reversed(report.rows) if len(r.input_shape) == 3 and len(r.output_shape) == 2),
                       None)
        if dropper is not None and dropper.node.kind.family == "recurrent":
            err.hint = (f"'{dropper.name}' ({dropper.type}, line {dropper.span.line}) returns only its last step; "
                        f"add `seq` to it to return every time step")
        elif dropper is not None:
            err.hint = f"'{dropper.name}' ({dropper.type}, line {dropper.span.line}) drops the time axis"
        elif len(received.shape) == 2 and not report.rows:
            err.hint = ("a sequence input is (timesteps, features): "
                        f"write Input(None, {received.shape[1] or 32}) for sequences of any length")
        else:
            err.hint = "recurrent layers take (batch, timesteps, features)"
    return err


def _check_assertions(graph: ModelGraph, report: ModelReport) -> None:
    for note in graph.notes:
        row = report.rows[note.index]
        if row.output_shape != note.shape:
            report.errors.append(RnnspecError(
                "E402", f"'{row.name}' ({row.type}) outputs {format_shape(row.output_shape)}, "
                f"but the spec says {format_shape(note.shape)}", note.span,
                "shapes are written batch first, e.g. (None, 32)" if len(note.shape) != len(row.output_shape)
                else None))
    if not graph.assertions:
        return
    actual = {"params": report.total, "trainable": report.trainable, "non_trainable": report.non_trainable}
    for assertion in graph.assertions:
        if assertion.kind == "shape":
            if report.output != assertion.expected:
                report.errors.append(RnnspecError(
                    "E400", f"expected output shape {format_shape(assertion.expected)}, "  # type: ignore[arg-type]
                    f"inferred {format_shape(report.output or ())}", assertion.span))
        elif actual[assertion.kind] != assertion.expected:
            what = {"params": "parameters", "trainable": "trainable parameters",
                    "non_trainable": "non-trainable parameters"}[assertion.kind]
            report.errors.append(RnnspecError(
                "E401", f"expected {assertion.expected:,} {what}, inferred {actual[assertion.kind]:,}",
                assertion.span))


def check_module(module: Module) -> list[ModelReport]:
    """Every model of a parsed file, each checked independently."""
    reports = []
    seen: dict[str, Span] = {}
    for model in module.models:
        report = infer_graph(lower(model))
        report.source = module.source
        if model.name in seen:
            first = seen[model.name]
            report.errors.insert(0, RnnspecError("E208", f"a model named '{model.name}' is already defined "
                                                 f"(line {first.line})", model.name_span, "give each model its own name"))
        seen.setdefault(model.name, model.name_span)
        reports.append(report)
    return reports
