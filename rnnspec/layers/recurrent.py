"""SimpleRNN, LSTM and GRU: Keras 3's recurrent layers over `(batch, timesteps, features)`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from rnnspec.layers.base import (
    TRAINABLE, Activation, Args, Bool, Float, Int, LayerType, Param, ShapeError, Tensor, Weight, ident_of, require_known_last,
    require_rank, type_error,
)
from rnnspec.shape import Shape, format_shape
from rnnspec.syntax import Literal, Value

RATE = Float(min=0.0, max=1.0, description="a rate from 0 up to (not including) 1",
             max_reason="a rate of 1 drops every value while training")


@dataclass(frozen=True)
class BoolOrAuto(Bool):
    """`use_cudnn`: true, false or auto (Keras decides)."""

    description: str = "true, false or auto"

    def convert(self, param: str, value: Value, resolver: Any) -> bool | str:  # type: ignore[override]
        word = ident_of(value)
        if word is None and isinstance(value, Literal) and isinstance(value.value, str):
            word = value.value
        if word == "auto":
            return "auto"
        try:
            return super().convert(param, value, resolver)
        except Exception:
            raise type_error(param, self.description, value) from None

    def show(self, value: Any) -> str:
        return "auto" if value == "auto" else super().show(value)


# `seed` comes from rnnspec.layers.objects, which imports the base module only: defined here as the same Param
# would make a cycle through the layers that import RATE from this module.
from rnnspec.layers.objects import SEED, weight_arguments  # noqa: E402

USE_CUDNN = Param("use_cudnn", BoolOrAuto(), "auto",
                  doc="which TensorFlow kernel runs it on a GPU; no effect on shapes, counts or outputs")
STATEFUL = Param("stateful", Bool(), False, doc="keep the final states as the next call's initial states, row by row "
                 "(until reset_states); needs a fixed batch, as in Input(20, 8, batch_size=4)")


def stateful_without_batch(layer: str, shape: Shape) -> ShapeError:
    """Keras refuses a stateful layer an unknown batch: its states are variables, one row per sample. (Callers
    test `shape[0] is None and a.get("stateful")` themselves: a call less for every recurrent layer checked.)"""
    return ShapeError(f"a stateful {layer} needs a fixed batch size, but received {format_shape(shape)}",
                      hint="it keeps one state per row: give the input a batch size, e.g. "
                           f"Input({', '.join(['20'] + ['8'] * (len(shape) - 2))}, batch_size=4)", code="E302")


class Recurrent(LayerType):
    """The shared time loop: shapes, flags and arguments common to every recurrent layer."""

    family = "recurrent"
    flags = {"seq": ("return_sequences", True), "state": ("return_state", True), "backwards": ("go_backwards", True)}
    gates: ClassVar[int] = 1  # how many unit-sized blocks the fused kernel holds
    state_names: ClassVar[tuple[str, ...]] = ("h",)  # the states in Keras's order, each (batch, units)
    call_arguments = ("initial_state", "mask")
    common: ClassVar[tuple[Param, ...]] = (
        Param("use_bias", Bool(), True),
        Param("dropout", RATE, 0.0, doc="input dropout (training only)"),
        Param("recurrent_dropout", RATE, 0.0, doc="state dropout (training only)"),
        Param("return_sequences", Bool(), False, doc="every step (flag: seq) or only the last"),
        Param("return_state", Bool(), False, doc="the final states too, after the output (flag: state)"),
        Param("go_backwards", Bool(), False, doc="read the sequence in reverse (flag: backwards)"),
        STATEFUL,
        Param("unroll", Bool(), False),
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        require_rank(self.name, shape, 3, "(batch, timesteps, features)", reason="no_time_axis")
        require_known_last(self.name, shape)
        batch, steps, _ = shape
        if batch is None and dict.get(a, "stateful"):  # dict.get: see Args
            raise stateful_without_batch(self.name, shape)
        return (batch, steps, a.units) if a.return_sequences else (batch, a.units)

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """Keras's `output, *states` with return_state: the states are (batch, units) whatever return_sequences."""
        x = inputs[0]
        out = self.output(a, x)
        if not a.return_state:
            return (out,)
        state = Tensor((x.shape[0], a.units), out.dtype)
        return (out, *(state for _ in self.state_names))

    def output_names(self, a: Mapping[str, Any]) -> tuple[str, ...]:
        """Reads `a` as a mapping: a caller asking for the state names passes `{**args, "return_state": True}`."""
        return ("output", *self.state_names) if a.get("return_state") else ("output",)

    def state_shapes(self, a: Args, x: Tensor) -> tuple[Shape, ...]:
        return tuple((x.shape[0], a.units) for _ in self.state_names)

    def bias_shape(self, a: Args) -> tuple[int, ...]:
        return (self.gates * a.units,)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        features = require_known_last(self.name, shape)
        width = self.gates * a.units
        weights = [Weight("kernel", (features, width)), Weight("recurrent_kernel", (a.units, width))]
        if a.use_bias:
            weights.append(Weight("bias", self.bias_shape(a)))
        return weights


def signature(gated: bool, after_init: tuple[Param, ...] = (), last: tuple[Param, ...] = ()) -> tuple[Param, ...]:
    """Keras's recurrent constructor order: units, activation, [recurrent_activation], use_bias, the weights'
    initialisers, `after_init` (LSTM's unit_forget_bias), regularisers, constraints, dropouts, then the flags
    (SimpleRNN has `seed` after them, the gated layers before), then `last`."""
    use_bias, dropout, recurrent_dropout, *flags = Recurrent.common
    unroll = flags.pop()
    head = (
        Param("units", Int(min=1), positional=True, doc="size of the state"),
        Param("activation", Activation(), "tanh", positional=True),
    )
    gate = (Param("recurrent_activation", Activation(), "sigmoid"),) if gated else ()
    weights = weight_arguments(("kernel", "glorot_uniform"), ("recurrent", "orthogonal"), ("bias", "zeros"))
    initializers, rest = weights[:3], weights[3:]
    seed = Param("seed", SEED.type, None, doc="the dropout masks' seed (training only)")
    order = (*flags, unroll, seed) if not gated else (seed, *flags, unroll)
    return (*head, *gate, use_bias, *initializers, *after_init, *rest, dropout, recurrent_dropout, *order, *last,
            TRAINABLE)


class SimpleRNN(Recurrent):
    """h_t = activation(x_t W + h_{t-1} U + b)."""

    name = "SimpleRNN"
    params = signature(gated=False)


class LSTM(Recurrent):
    """Long short-term memory; the fused kernel holds the gates in Keras's order i, f, c, o."""

    name = "LSTM"
    gates = 4
    state_names = ("h", "c")
    params = signature(True, after_init=(Param("unit_forget_bias", Bool(), True,
                                               doc="initialise the forget gate's bias to 1"),), last=(USE_CUDNN,))


class GRU(Recurrent):
    """Gated recurrent unit; gates z, r, h. With reset_after (Keras's default) it keeps two biases."""

    name = "GRU"
    gates = 3
    params = signature(True, last=(Param("reset_after", Bool(), True,
                                         doc="apply the reset gate after the recurrent product"), USE_CUDNN))

    def bias_shape(self, a: Args) -> tuple[int, ...]:
        return (2, 3 * a.units) if a.reset_after else (3 * a.units,)
