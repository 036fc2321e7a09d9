"""RNN and its cells: `RNN(LSTMCell(8))`, `RNN(StackedRNNCells((LSTMCell(8), GRUCell(4))))`.

A cell computes one step and is only valid as RNN's argument; RNN loops it over time. Each cell is the step of a
recurrent layer (SimpleRNNCell of SimpleRNN, ...), so its weights, and its NumPy kernel, are that layer's: the
cell names the layer (`layer`) and `as_layer` makes the equivalent layer node.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from rnnspec.errors import RnnspecError
from rnnspec.layers.base import (
    TRAINABLE, Activation, Args, Bool, Int, LayerArg, LayerNode, LayerType, Param, ShapeError, Tensor, Weight,
    registry, require_known_last, require_rank,
)
from rnnspec.layers.objects import SEED, weight_arguments
from rnnspec.layers.recurrent import RATE, STATEFUL, Recurrent, stateful_without_batch
from rnnspec.layers.wrappers import WRAPPER_GENERIC
from rnnspec.shape import Shape
from rnnspec.syntax import Call, TupleLit, Value

CELL_FAMILY = "cell"
_WEIGHTS = weight_arguments(("kernel", "glorot_uniform"), ("recurrent", "orthogonal"), ("bias", "zeros"),
                            activity=False)
_INITIALIZERS, _PENALTIES = _WEIGHTS[:3], _WEIGHTS[3:]  # Keras puts unit_forget_bias between the two


def cell_params(gated: bool, *, after_initializers: tuple[Param, ...] = (),
                after_dropout: tuple[Param, ...] = ()) -> tuple[Param, ...]:
    """Keras's cell constructor order: units, activation, [recurrent_activation], use_bias, the initialisers,
    [unit_forget_bias], regularisers and constraints, dropout, recurrent_dropout, [reset_after], seed."""
    gate = (Param("recurrent_activation", Activation(), "sigmoid"),) if gated else ()
    return (
        Param("units", Int(min=1), positional=True, doc="size of the state"),
        Param("activation", Activation(), "tanh", positional=True),
        *gate,
        Param("use_bias", Bool(), True),
        *_INITIALIZERS, *after_initializers, *_PENALTIES,
        Param("dropout", RATE, 0.0, doc="input dropout (training only)"),
        Param("recurrent_dropout", RATE, 0.0, doc="state dropout (training only)"),
        *after_dropout, SEED, TRAINABLE,
    )


def _not_a_layer(name: str) -> ShapeError:
    example = "StackedRNNCells((LSTMCell(8), LSTMCell(4)))" if name == "StackedRNNCells" else f"{name}(8)"
    return ShapeError(f"{name} is a cell: it computes one step, and only RNN loops it over time",
                      hint=f"wrap it in RNN: RNN({example})", code="E200")


# Keras 3 passes `trainable=False` to an RNN or a stack but not to the cells inside, whose weights still train.
NOT_FROZEN = ("Keras 3 does not freeze the cells inside, whose weights still train: freeze each cell instead, "
              "e.g. RNN(LSTMCell(32, trainable=false))")

class Cell(LayerType):
    """One step of a recurrent layer (`layer`); a chain refuses it."""

    family = CELL_FAMILY
    layer: ClassVar[str] = ""

    def output(self, a: Args, x: Tensor) -> Tensor:
        raise _not_a_layer(self.name)

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        raise _not_a_layer(self.name)

    def output_size(self, a: Args) -> int:
        return a.units

    def state_names(self, a: Args) -> tuple[str, ...]:
        return self.layer_kind().state_names

    def state_sizes(self, a: Args) -> tuple[int, ...]:
        return tuple(a.units for _ in self.state_names(a))

    def layer_kind(self) -> Recurrent:
        return registry()[self.layer]  # type: ignore[return-value]

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        """The layer's weights for a step input `(batch, features)`: the same kernel, recurrent kernel and bias."""
        return self.layer_kind().declared_weights(a, shape)


class SimpleRNNCell(Cell):
    name = "SimpleRNNCell"
    layer = "SimpleRNN"
    params = cell_params(gated=False)


class LSTMCell(Cell):
    name = "LSTMCell"
    layer = "LSTM"
    params = cell_params(gated=True, after_initializers=(
        Param("unit_forget_bias", Bool(), True, doc="initialise the forget gate's bias to 1"),))


class GRUCell(Cell):
    name = "GRUCell"
    layer = "GRU"
    params = cell_params(gated=True, after_dropout=(
        Param("reset_after", Bool(), True, doc="apply the reset gate after the recurrent product"),))


def as_layer(cell: LayerNode, **overrides: Any) -> LayerNode:
    """The recurrent layer a cell is the step of, with the cell's arguments (those the layer takes) and
    `overrides` (return_sequences, go_backwards): its weights and kernel are the cell's."""
    kind = cell.kind.layer_kind()  # type: ignore[attr-defined]
    args = Args(kind.defaults)
    args.update({k: v for k, v in cell.args.items() if k in kind.param_table})
    args.update(overrides)
    return LayerNode(kind, args, cell.span, cell.arg_spans)


def leaves(cell: LayerNode) -> tuple[LayerNode, ...]:
    """The basic cells a cell argument holds, in order (StackedRNNCells: its cells; any other: itself)."""
    return tuple(cell.args.cells) if cell.type_name == "StackedRNNCells" else (cell,)


@dataclass(frozen=True)
class CellTuple(LayerArg):
    """A tuple of cells (StackedRNNCells's `cells`, Keras's list): each one a SimpleRNNCell, LSTMCell or GRUCell."""

    description: str = "a tuple of cells, e.g. (LSTMCell(8), LSTMCell(4))"

    def convert(self, param: str, value: Value, resolver: Any) -> tuple[LayerNode, ...]:  # type: ignore[override]
        items = value.items if isinstance(value, TupleLit) else ()
        if not items:
            raise RnnspecError("E202", f"'{param}' expects {self.description}", value.span,
                               "a lone cell needs no stack: RNN(LSTMCell(8))" if isinstance(value, Call) else None)
        cells = []
        for item in items:
            node = resolver(item) if isinstance(item, Call) else None
            if node is None or node.kind.family != CELL_FAMILY or node.type_name == "StackedRNNCells":
                raise RnnspecError("E202", f"'{param}' expects SimpleRNNCell, LSTMCell or GRUCell items, found "
                                   f"{node.type_name if node is not None else 'a value'}", item.span,
                                   "list the cells of an inner stack in this one" if node is not None
                                   and node.type_name == "StackedRNNCells" else None)
            cells.append(node)
        return tuple(cells)

    def show(self, value: Any) -> str:
        return "cells"


class StackedRNNCells(Cell):
    """Cells run one after another within each step: each reads the previous one's output. The output is the last
    cell's; the states are every cell's, in order (flattened: `h1, c1, h2`)."""

    name = "StackedRNNCells"
    generic = WRAPPER_GENERIC
    unsupported = {"trainable": NOT_FROZEN}
    params = (Param("cells", CellTuple(), positional=True, doc="the cells, first to last"),)

    def output_size(self, a: Args) -> int:
        return a.cells[-1].kind.output_size(a.cells[-1].args)

    def state_names(self, a: Args) -> tuple[str, ...]:
        return tuple(f"{n}{i + 1}" for i, c in enumerate(a.cells) for n in c.kind.state_names(c.args))

    def state_sizes(self, a: Args) -> tuple[int, ...]:
        return tuple(s for c in a.cells for s in c.kind.state_sizes(c.args))

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        """Every cell's weights in order, each built on the previous cell's output (Keras's build)."""
        weights: list[Weight] = []
        for cell in a.cells:
            weights += cell.kind.weights(cell.args, shape)
            shape = (shape[0], cell.kind.output_size(cell.args))
        return weights


@dataclass(frozen=True)
class CellArg(LayerArg):
    """RNN's cell: a cell, or a tuple of cells that Keras stacks (as StackedRNNCells)."""

    families: tuple[str, ...] = (CELL_FAMILY,)
    description: str = "a cell (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells) or a tuple of cells"

    def convert(self, param: str, value: Value, resolver: Any) -> LayerNode:
        if isinstance(value, TupleLit):
            stack = registry()["StackedRNNCells"]
            cells = stack.param_table["cells"].type.convert(param, value, resolver)
            args = Args(stack.defaults)
            args["cells"] = cells
            return LayerNode(stack, args, value.span, {"cells": value.span})
        if isinstance(value, Call) and value.has_parens and value.name in registry() \
                and registry()[value.name].family == "recurrent":
            raise RnnspecError("E202", f"'{param}' expects {self.description}, found the layer {value.name}",
                               value.span, f"use the cell, RNN({value.name}Cell(...)), or the layer {value.name} "
                               "alone" if f"{value.name}Cell" in registry() else None)
        return super().convert(param, value, resolver)


class RNN(LayerType):
    """Keras's generic recurrent layer: loops its cell over time. Its weights are its cell's; with return_state it
    gives every state of every cell after the output."""

    name = "RNN"
    family = "recurrent"
    flags = Recurrent.flags
    call_arguments = ("initial_state", "mask")
    generic = WRAPPER_GENERIC  # Keras 3 does not freeze the cell of an RNN(trainable=False): not taken
    unsupported = {"trainable": NOT_FROZEN}  # refused where written (E201, with the reason)
    params = (
        Param("cell", CellArg(), positional=True, doc="the cell run at each step"),
        Param("return_sequences", Bool(), False, doc="every step (flag: seq) or only the last"),
        Param("return_state", Bool(), False, doc="the final states too, after the output (flag: state)"),
        Param("go_backwards", Bool(), False, doc="read the sequence in reverse (flag: backwards)"),
        STATEFUL,
        Param("unroll", Bool(), False),
        Param("zero_output_for_mask", Bool(), False, doc="masked steps output zeros instead of the last output"),
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        require_rank(self.name, shape, 3, "(batch, timesteps, features)", reason="no_time_axis")
        require_known_last(self.name, shape)
        if shape[0] is None and a.get("stateful"):
            raise stateful_without_batch(self.name, shape)
        size = a.cell.kind.output_size(a.cell.args)
        return (shape[0], shape[1], size) if a.return_sequences else (shape[0], size)

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        x = inputs[0]
        out = self.output(a, x)
        if not a.return_state:
            return (out,)
        return (out, *(Tensor(shape, out.dtype) for shape in self.state_shapes(a, x)))

    def output_names(self, a: Mapping[str, Any]) -> tuple[str, ...]:  # type: ignore[override]
        cell = a["cell"]
        return ("output", *cell.kind.state_names(cell.args)) if a.get("return_state") else ("output",)

    def state_shapes(self, a: Args, x: Tensor) -> tuple[Shape, ...]:
        return tuple((x.shape[0], size) for size in a.cell.kind.state_sizes(a.cell.args))

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        features = require_known_last(self.name, shape)
        return a.cell.kind.weights(a.cell.args, (shape[0], features))
