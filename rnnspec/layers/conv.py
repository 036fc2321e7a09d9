"""Conv1D and the 1-D pooling layers, with Keras's padding arithmetic (in rnnspec.shape)."""
from __future__ import annotations

from typing import Any

from rnnspec.layers.base import (
    Activation, Args, Bool, Choice, Int, IntTuple, LayerType, Param, ShapeError, Weight, require_known_last,
    require_rank,
)
from rnnspec.errors import RnnspecError, Span
from rnnspec.shape import Shape, conv_length, format_shape
from typing import Mapping

WINDOW = IntTuple(length=1)


def _window_output(layer: str, shape: Shape, kernel: int, stride: int, dilation: int, padding: str) -> Shape:
    require_rank(layer, shape, 3, "(batch, steps, channels)", reason="no_time_axis")
    length = conv_length(shape[1], kernel, stride, dilation, padding)
    if length is not None and length <= 0:
        span = (kernel - 1) * dilation + 1
        raise ShapeError(
            f"{layer} with a window of {span} over {shape[1]} steps ('{padding}' padding) leaves no output "
            f"steps; received {format_shape(shape)}",
            hint="use padding=same, a smaller window, or a longer input")
    return (shape[0], length, shape[2])


class Conv1D(LayerType):
    """A 1-D convolution over time; kernel `(kernel_size, channels/groups, filters)` as in Keras."""

    name = "Conv1D"
    family = "conv"
    params = (
        Param("filters", Int(min=1), positional=True),
        Param("kernel_size", WINDOW, positional=True),
        Param("strides", WINDOW, (1,), positional=True),
        Param("padding", Choice(choices=("valid", "same", "causal")), "valid", positional=True),
        Param("dilation_rate", WINDOW, (1,)),
        Param("groups", Int(min=1), 1),
        Param("activation", Activation(), "linear"),
        Param("use_bias", Bool(), True),
    )

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if a.strides[0] > 1 and a.dilation_rate[0] > 1:
            raise RnnspecError("E203", "Conv1D cannot combine strides > 1 with dilation_rate > 1 (Keras refuses it)",
                               spans.get("dilation_rate") or spans.get("strides"))
        if a.filters % a.groups:
            raise RnnspecError("E203", f"filters ({a.filters}) must be divisible by groups ({a.groups})",
                               spans.get("groups"))

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        channels = require_known_last(self.name, shape, "channels")
        if channels % a.groups:
            raise ShapeError(f"Conv1D with groups={a.groups} needs channels divisible by it, but received "
                             f"{format_shape(shape)}")
        batch, length, _ = _window_output(self.name, shape, a.kernel_size[0], a.strides[0], a.dilation_rate[0],
                                          a.padding)
        return (batch, length, a.filters)

    def weights(self, a: Args, shape: Shape) -> list[Weight]:
        channels = require_known_last(self.name, shape, "channels")
        kernel = Weight("kernel", (a.kernel_size[0], channels // a.groups, a.filters))
        return [kernel, Weight("bias", (a.filters,))] if a.use_bias else [kernel]


class Pooling1D(LayerType):
    family = "conv"
    params = (
        Param("pool_size", WINDOW, (2,), positional=True),
        Param("strides", IntTuple(length=1), None, positional=True, doc="None: the pool size"),
        Param("padding", Choice(choices=("valid", "same")), "valid", positional=True),
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        strides = a.strides or a.pool_size
        return _window_output(self.name, shape, a.pool_size[0], strides[0], 1, a.padding)


class MaxPooling1D(Pooling1D):
    name = "MaxPooling1D"


class AveragePooling1D(Pooling1D):
    name = "AveragePooling1D"


class GlobalPooling1D(LayerType):
    family = "conv"
    params = (Param("keepdims", Bool(), False),)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        require_rank(self.name, shape, 3, "(batch, steps, features)", reason="no_time_axis")
        return (shape[0], 1, shape[2]) if a.keepdims else (shape[0], shape[2])


class GlobalMaxPooling1D(GlobalPooling1D):
    name = "GlobalMaxPooling1D"


class GlobalAveragePooling1D(GlobalPooling1D):
    name = "GlobalAveragePooling1D"


