"""Activations as layers (Keras's `layers/activations`): ReLU, LeakyReLU, PReLU, ELU, Softmax.

All of them keep the shape and pass the mask on (Keras: supports_masking); PReLU alone has a weight, `alpha`,
shaped like one sample with the `shared_axes` set to 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    TRAINABLE, Args, Float, IntTuple, LayerType, Param, ShapeError, Weight, is_none,
)
from rnnspec.layers.normalization import Axes
from rnnspec.layers.objects import weight_arguments
from rnnspec.shape import Shape, format_shape
from rnnspec.syntax import Value


@dataclass(frozen=True)
class OptionalFloat(Float):
    """A number, or None (ReLU's `max_value`: no ceiling)."""

    description: str = "a number or None"

    def convert(self, param: str, value: Value, resolver: Any) -> float | None:  # type: ignore[override]
        return None if is_none(value) else super().convert(param, value, resolver)


SLOPE = Float(min=0.0, description="a number >= 0")


class ActivationFamily(LayerType):
    family = "activations"


class ReLU(ActivationFamily):
    """`max(x, 0)` with Keras's options: a ceiling, a slope below the threshold, a threshold other than 0."""

    name = "ReLU"
    params = (
        Param("max_value", OptionalFloat(min=0.0, description="a number >= 0 or None"), None, positional=True,
              doc="the ceiling (None: none)"),
        Param("negative_slope", SLOPE, 0.0, positional=True, doc="slope below the threshold"),
        Param("threshold", SLOPE, 0.0, positional=True, doc="values at or below it are cut"),
    )


class LeakyReLU(ActivationFamily):
    """`x` above 0, `negative_slope * x` below (Keras 3 renamed `alpha` to `negative_slope`)."""

    name = "LeakyReLU"
    params = (Param("negative_slope", SLOPE, 0.3, positional=True),)


class ELU(ActivationFamily):
    """`x` above 0, `alpha * (exp(x) - 1)` below; Keras takes any alpha, negative included."""

    name = "ELU"
    params = (Param("alpha", Float(), 1.0, positional=True),)


class PReLU(ActivationFamily):
    """A leaky ReLU whose slopes are learnt: `alpha` has one sample's shape, 1 on every shared axis."""

    name = "PReLU"
    params = (
        *weight_arguments(("alpha", "Zeros"), activity=False),
        Param("shared_axes", IntTuple(min=1, nullable=True), None,
              doc="axes (1 = the first after the batch) that share one slope"),
        TRAINABLE,
    )

    def alpha_shape(self, a: Args, shape: Shape) -> tuple[int, ...]:
        """Keras's `build`: the sample's shape with the shared axes set to 1; every other axis must be known."""
        param = list(shape[1:])
        for axis in a.shared_axes or ():
            if axis > len(param):
                raise ShapeError(f"PReLU shares axis {axis}, but its input {format_shape(shape)} has axes 1 to "
                                 f"{len(param)} after the batch",
                                 hint="shared_axes counts from 1, the first axis after the batch")
            param[axis - 1] = 1
        if None in param:
            raise ShapeError(f"PReLU needs a known size on every axis it does not share, but received "
                             f"{format_shape(shape)}",
                             hint="give the input a fixed length, or share that axis: shared_axes=1 for the steps",
                             code="E302")
        return tuple(param)  # type: ignore[arg-type]

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        self.alpha_shape(a, shape)
        return shape

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        return [Weight("alpha", self.alpha_shape(a, shape))]


class Softmax(ActivationFamily):
    """The softmax over `axis` (one or several). With a mask, Keras broadcasts the mask it receives against the
    input (a `(batch, steps)` mask meets the last two axes of a 3-D input) and gives masked positions 0."""

    name = "Softmax"
    params = (Param("axis", Axes(), -1, positional=True, doc="an axis or a tuple of axes (-1: the last)"),)

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        axes = (a.axis,) if isinstance(a.axis, int) else a.axis
        if len(set(axes)) != len(axes):
            raise RnnspecError("E203", f"Softmax's 'axis' names an axis twice: {a.axis}", spans.get("axis"),
                               "Keras fails on a repeated axis")

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        axes = (a.axis,) if isinstance(a.axis, int) else a.axis
        positions = set()
        for axis in axes:
            if not -len(shape) <= axis < len(shape):
                raise ShapeError(f"Softmax axis {axis} is out of range for an input of shape {format_shape(shape)}",
                                 hint="axis -1 is the features")
            positions.add(axis % len(shape))
        if len(positions) != len(axes):
            raise ShapeError(f"Softmax axes {a.axis} name one axis of {format_shape(shape)} twice",
                             hint="Keras fails on a repeated axis")
        return shape
