"""SimpleRNN, LSTM and GRU: Keras 3's recurrent layers over `(batch, timesteps, features)`."""
from __future__ import annotations

from typing import ClassVar

from rnnspec.layers.base import (
    TRAINABLE, Activation, Args, Bool, Float, Int, LayerType, Param, Weight, require_known_last, require_rank,
)
from rnnspec.shape import Shape

RATE = Float(min=0.0, max=1.0, description="a rate between 0 and 1")


class Recurrent(LayerType):
    """The shared time loop: shapes, flags and arguments common to every recurrent layer."""

    family = "recurrent"
    flags = {"seq": ("return_sequences", True), "backwards": ("go_backwards", True)}
    gates: ClassVar[int] = 1  # how many unit-sized blocks the fused kernel holds
    common: ClassVar[tuple[Param, ...]] = (
        Param("use_bias", Bool(), True),
        Param("dropout", RATE, 0.0, doc="input dropout (training only)"),
        Param("recurrent_dropout", RATE, 0.0, doc="state dropout (training only)"),
        Param("return_sequences", Bool(), False, doc="every step (flag: seq) or only the last"),
        Param("go_backwards", Bool(), False, doc="read the sequence in reverse (flag: backwards)"),
        Param("unroll", Bool(), False),
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        require_rank(self.name, shape, 3, "(batch, timesteps, features)", reason="no_time_axis")
        require_known_last(self.name, shape)
        batch, steps, _ = shape
        return (batch, steps, a.units) if a.return_sequences else (batch, a.units)

    def bias_shape(self, a: Args) -> tuple[int, ...]:
        return (self.gates * a.units,)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        features = require_known_last(self.name, shape)
        width = self.gates * a.units
        weights = [Weight("kernel", (features, width)), Weight("recurrent_kernel", (a.units, width))]
        if a.use_bias:
            weights.append(Weight("bias", self.bias_shape(a)))
        return weights


UNITS = Param("units", Int(min=1), positional=True, doc="size of the state")


class SimpleRNN(Recurrent):
    """h_t = activation(x_t W + h_{t-1} U + b)."""

    name = "SimpleRNN"
    params = (UNITS, Param("activation", Activation(), "tanh", positional=True), *Recurrent.common, TRAINABLE)


class LSTM(Recurrent):
    """Long short-term memory; the fused kernel holds the gates in Keras's order i, f, c, o."""

    name = "LSTM"
    gates = 4
    params = (
        UNITS,
        Param("activation", Activation(), "tanh", positional=True),
        Param("recurrent_activation", Activation(), "sigmoid"),
        *Recurrent.common,
        Param("unit_forget_bias", Bool(), True, doc="initialise the forget gate's bias to 1"),
        TRAINABLE,
    )


class GRU(Recurrent):
    """Gated recurrent unit; gates z, r, h. With reset_after (Keras's default) it keeps two biases."""

    name = "GRU"
    gates = 3
    params = (
        UNITS,
        Param("activation", Activation(), "tanh", positional=True),
        Param("recurrent_activation", Activation(), "sigmoid"),
        *Recurrent.common,
        Param("reset_after", Bool(), True, doc="apply the reset gate after the recurrent product"),
        TRAINABLE,
    )

    def bias_shape(self, a: Args) -> tuple[int, ...]:
        return (2, 3 * a.units) if a.reset_after else (3 * a.units,)
