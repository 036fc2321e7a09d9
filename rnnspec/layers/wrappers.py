"""Layers that take a layer: Bidirectional and TimeDistributed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    Args, Choice, LayerArg, LayerNode, LayerType, Param, ShapeError, Tensor, Weight, is_none, require_rank,
)
from rnnspec.shape import Shape
from rnnspec.syntax import Value

# Neither wrapper takes `trainable`: Keras 3 applies it to the wrapper but not to the layers inside, so a frozen
# wrapper's weights still count as trainable in the model (and train). Freeze the wrapped layer instead.
WRAPPER_GENERIC = ("activity_regularizer", "dtype", "autocast", "name")
NO_TRAINABLE = ("Keras 3 applies it to the wrapper, not to the layer inside, whose weights still train: "
                "freeze the wrapped layer instead, e.g. LSTM(32, trainable=false)")


@dataclass(frozen=True)
class OptionalLayer(LayerArg):
    """A layer argument that may be None (Bidirectional's `backward_layer`), so `--fill` can write the default."""

    def convert(self, param: str, value: Value, resolver: Any) -> LayerNode | None:  # type: ignore[override]
        return None if is_none(value) else super().convert(param, value, resolver)

    def show(self, value: Any) -> str:
        return "None" if value is None else "layer"


def returns_state(node: LayerNode) -> bool:
    """Whether a layer returns its states (Bidirectional through the layer it wraps)."""
    inner = node.args.get("layer")
    return bool(node.args.get("return_state") or isinstance(inner, LayerNode) and returns_state(inner))


def state_names(node: LayerNode) -> tuple[str, ...]:
    """A recurrent layer's states (`h`, `c`), named as its outputs would be with return_state."""
    return node.kind.output_names({**node.args, "return_state": True})[1:]  # type: ignore[arg-type]


def output_size(node: LayerNode) -> int:
    """The size of a recurrent layer's output features: its units, a ConvLSTM's filters, an RNN's cell's."""
    args = node.args
    if "units" in args:
        return args.units
    if "filters" in args:
        return args.filters
    cell = args.cell
    return cell.kind.output_size(cell.args)


class Bidirectional(LayerType):
    """Runs the layer forwards and a copy (or `backward_layer`) backwards, then merges the two outputs.

    With the layer's `return_state` (Keras has no argument of its own for it) the outputs are the merged output,
    the forward layer's states, then the backward layer's; `initial_state=` takes them in that order too."""

    name = "Bidirectional"
    family = "wrapper"
    generic = WRAPPER_GENERIC
    unsupported = {"trainable": NO_TRAINABLE,
                   "weights": "a spec holds no arrays: load weights with the backend (model.load_weights)"}
    call_arguments = ("initial_state", "mask")
    params = (
        Param("layer", LayerArg(families=("recurrent",), description="a recurrent layer"), positional=True),
        Param("merge_mode", Choice(choices=("concat", "sum", "ave", "mul")), "concat", positional=True),
        Param("backward_layer", OptionalLayer(families=("recurrent",), description="a recurrent layer or None"),
              None, doc="used instead of a `backwards` copy of `layer`: it must be `backwards`, with the same "
              "units and seq (its type and other options may differ)"),
    )

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        """Keras's rules (the halves read in opposite directions and agree on return_sequences and return_state)
        plus three that Keras lacks: equal units (Keras accepts others, then states the wrong concat width and
        crashes in sum, ave and mul), as many states with return_state, and a forward layer that reads forwards
        (a swapped pair swaps the halves and, with seq, reverses the steps)."""
        forward, backward = a.layer, a.backward_layer
        if backward is None:
            if forward.args.go_backwards:
                raise RnnspecError(
                    "E203", "Bidirectional runs a reversed copy itself; its layer cannot be `backwards` "
                    "(Keras refuses it)", forward.arg_spans.get("go_backwards") or spans.get("layer"),
                    "remove `backwards`: the layer reads forwards and its copy backwards")
            return
        whole = backward.span
        if forward.args.go_backwards:
            same = backward.args.go_backwards
            raise RnnspecError(
                "E203", "the forward layer of a Bidirectional must read forwards, found `backwards`"
                + (" on both layers (Keras refuses it)" if same else " on it and not on the backward layer"),
                forward.arg_spans.get("go_backwards") or spans.get("layer"),
                "remove `backwards` from the forward layer" if same
                else "move `backwards` from the forward layer to the backward layer")
        if not backward.args.go_backwards:
            raise RnnspecError(
                "E203", f"the backward layer of a Bidirectional must read backwards, but {backward.type_name} "
                "reads forwards like the forward layer (Keras refuses it)",
                backward.arg_spans.get("go_backwards") or whole, "add `backwards` to the backward layer")
        seq = forward.args.return_sequences
        if backward.args.return_sequences != seq:
            raise RnnspecError(
                "E203", f"the backward layer must match the forward layer's return_sequences "
                f"({str(seq).lower()}), found {str(not seq).lower()} (Keras refuses it)",
                backward.arg_spans.get("return_sequences") or whole,
                "add `seq` to the backward layer" if seq else "remove `seq` from the backward layer")
        state = forward.args.return_state
        if backward.args.return_state != state:
            raise RnnspecError(
                "E203", f"the backward layer must match the forward layer's return_state "
                f"({str(state).lower()}), found {str(not state).lower()} (Keras refuses it)",
                backward.arg_spans.get("return_state") or whole,
                "add `state` to the backward layer" if state else "remove `state` from the backward layer")
        forward_states, backward_states = state_names(forward), state_names(backward)
        if state and len(backward_states) != len(forward_states):  # a rule Keras lacks
            raise RnnspecError(
                "E203", f"with return_state the halves must have as many states: {forward.type_name} has "
                f"{len(forward_states)} ({', '.join(forward_states)}), {backward.type_name} "
                f"{len(backward_states)} ({', '.join(backward_states)})", whole,
                f"give the backward layer the forward layer's type, {forward.type_name} (Keras builds it, but its "
                "symbolic outputs list the forward layer's states twice, so the model fails at run time)")
        size, backward_size = output_size(forward), output_size(backward)
        if backward_size != size:
            what = "filters" if "filters" in forward.args else "units"
            raise RnnspecError(
                "E203", f"the backward layer has {backward_size} {what} but the forward layer has "
                f"{size}: Bidirectional merges two outputs of the same size",
                backward.arg_spans.get(what) or whole,
                f"give the backward layer {size} {what} (Keras builds it, then states the wrong concat "
                "width and fails at run time with sum, ave or mul)")

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        out = self.output(a, inputs[0])
        if not a.layer.args.return_state:
            return (out,)
        return (out, *(state for half in self.halves(a) for state in half.kind.outputs(half.args, inputs)[1:]))

    def output_names(self, a: Mapping[str, Any]) -> tuple[str, ...]:
        """An explicit `return_state` in `a` wins over the layer's, for a caller asking for the state names."""
        state = a.get("return_state")
        if not (a["layer"].args.return_state if state is None else state):
            return ("output",)
        forward, backward = self.halves(a)
        return ("output", *(f"forward_{n}" for n in state_names(forward)),
                *(f"backward_{n}" for n in state_names(backward)))

    def state_shapes(self, a: Args, x: Tensor) -> tuple[Shape, ...]:
        """The forward layer's states, then the backward layer's: Keras gives each half its half of the list, so
        halves with different numbers of states (LSTM with GRU) can take none."""
        forward, backward = self.halves(a)
        fwd, bwd = (half.kind.state_shapes(half.args, x) for half in (forward, backward))
        if len(fwd) != len(bwd):
            raise ShapeError(
                f"Bidirectional splits initial_state in half between its layers, but its {forward.type_name} takes "
                f"{len(fwd)} state(s) and its {backward.type_name} {len(bwd)}: no list fits both",
                hint="give both halves the same layer type, or drop initial_state", code="E303")
        return (*fwd, *bwd)

    @staticmethod
    def halves(a: Mapping[str, Any]) -> tuple[LayerNode, LayerNode]:
        """The forward layer and the backward one (the layer itself where no `backward_layer` is given: the copy
        differs only in go_backwards, which no shape depends on)."""
        return a["layer"], a.get("backward_layer") or a["layer"]

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        inner = a.layer.kind.output_shape(a.layer.args, shape)
        if a.merge_mode != "concat":
            return inner
        return (*inner[:-1], inner[-1] * 2)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        """The forward layer's weights, then the backward layer's (or its copy's): Keras's `model.weights` order,
        so the halves may differ in count when their types do."""
        backward = a.backward_layer or a.layer
        return a.layer.kind.weights(a.layer.args, shape) + backward.kind.weights(backward.args, shape)


class TimeDistributed(LayerType):
    """Applies the layer to every time step: `(batch, T, ...)` -> `(batch, T, ...layer output)`."""

    name = "TimeDistributed"
    family = "wrapper"
    generic = WRAPPER_GENERIC
    unsupported = {"trainable": NO_TRAINABLE}
    call_arguments = ("mask",)  # Keras's call takes one and hands it to the wrapped layer
    params = (Param("layer", LayerArg(), positional=True),)

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        """Keras's TimeDistributed reshapes one output: a layer returning its states fails when called."""
        if returns_state(a.layer):
            inner = a.layer.args.get("layer", a.layer)
            raise RnnspecError(
                "E203", f"TimeDistributed takes a layer with one output, but {a.layer.type_name} returns its states "
                "too (Keras fails when it is called)", inner.arg_spans.get("return_state") or spans.get("layer"),
                "remove `state` from the wrapped layer")

    def output(self, a: Args, x: Tensor) -> Tensor:
        step = self._step(x.shape)
        inner = a.layer.kind.output(a.layer.args, Tensor(step, x.dtype))
        return Tensor((inner.shape[0], x.shape[1], *inner.shape[1:]), inner.dtype)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        return self.output(a, Tensor(shape)).shape

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        return a.layer.kind.weights(a.layer.args, self._step(shape))

    def _step(self, shape: Shape) -> Shape:
        if len(shape) < 3:
            require_rank(self.name, shape, 3, "(batch, timesteps, ...)", reason="no_time_axis")
        return (shape[0], *shape[2:])
