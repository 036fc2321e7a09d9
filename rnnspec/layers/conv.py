"""Conv1D and the 1-D pooling layers, with Keras's padding arithmetic (in rnnspec.shape)."""
from __future__ import annotations

from typing import Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    LORA_ALPHA, LORA_RANK, NAME, TRAINABLE, Activation, Args, Bool, Choice, Int, IntTuple, LayerType, Param, ShapeError, Weight,
    require_rank, with_lora,
)
from rnnspec.layers.objects import weight_arguments
from rnnspec.shape import Shape, conv_length, format_shape

WINDOW = IntTuple(length=1)

# Keras's `data_format`: channels_first reads `(batch, channels, steps)`, which moves both axes a layer uses.
DATA_FORMAT = Param("data_format", Choice(choices=("channels_last", "channels_first")), "channels_last",
                    doc="channels_first: inputs are (batch, channels, steps)")


def _axes(data_format: str) -> tuple[int, int]:
    """(steps axis, channels axis) of a 3D input in this layout."""
    return (2, 1) if data_format == "channels_first" else (1, 2)


def _require_3d(layer: str, shape: Shape, data_format: str) -> None:
    meaning = "(batch, channels, steps)" if data_format == "channels_first" else "(batch, steps, channels)"
    require_rank(layer, shape, 3, meaning, reason="no_time_axis")


def _channels(layer: str, shape: Shape, data_format: str) -> int:
    _require_3d(layer, shape, data_format)
    channels = shape[_axes(data_format)[1]]
    if channels is None:
        example = "Input(32, None) with channels_first" if data_format == "channels_first" else "Input(None, 32)"
        raise ShapeError(f"{layer} needs a known number of channels, but received {format_shape(shape)}",
                         hint=f"give the input a fixed number of channels, e.g. {example}", code="E302")
    return channels


def windowed(layer: str, shape: Shape, a: Args, channels_out: int) -> Shape:
    """The output of a convolution's window (kernel_size, strides, dilation_rate, padding) with `channels_out`."""
    out = _window_output(layer, shape, a.kernel_size[0], a.strides[0], a.dilation_rate[0], a.padding, a.data_format)
    axis = _axes(a.data_format)[1]
    return tuple(channels_out if i == axis else d for i, d in enumerate(out))


def _window_output(layer: str, shape: Shape, kernel: int, stride: int, dilation: int, padding: str,
                   data_format: str) -> Shape:
    """The input shape with its steps axis replaced by the number of window positions."""
    _require_3d(layer, shape, data_format)
    steps = _axes(data_format)[0]
    length = conv_length(shape[steps], kernel, stride, dilation, padding)
    if length is not None and length <= 0:
        span = (kernel - 1) * dilation + 1
        raise ShapeError(
            f"{layer} with a window of {span} over {shape[steps]} steps ('{padding}' padding) leaves no output "
            f"steps; received {format_shape(shape)}",
            hint="use padding=same, a smaller window, or a longer input")
    return tuple(length if i == steps else d for i, d in enumerate(shape))


class Conv1D(LayerType):
    """A 1-D convolution over time; kernel `(kernel_size, channels/groups, filters)` as in Keras."""

    name = "Conv1D"
    aliases = ("Convolution1D",)
    family = "conv"
    params = (
        Param("filters", Int(min=1), positional=True),
        Param("kernel_size", WINDOW, positional=True),
        Param("strides", WINDOW, (1,), positional=True),
        Param("padding", Choice(choices=("valid", "same", "causal")), "valid", positional=True),
        DATA_FORMAT,
        Param("dilation_rate", WINDOW, (1,)),
        Param("groups", Int(min=1), 1),
        Param("activation", Activation(), "linear"),
        Param("use_bias", Bool(), True),
        *weight_arguments(("kernel", "glorot_uniform"), ("bias", "zeros")),
        LORA_RANK,
        LORA_ALPHA,
        TRAINABLE,
    )

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if a.strides[0] > 1 and a.dilation_rate[0] > 1:
            raise RnnspecError("E203", "Conv1D cannot combine strides > 1 with dilation_rate > 1 (Keras refuses it)",
                               spans.get("dilation_rate") or spans.get("strides"))
        if a.filters % a.groups:
            raise RnnspecError("E203", f"filters ({a.filters}) must be divisible by groups ({a.groups})",
                               spans.get("groups"))

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        channels = _channels(self.name, shape, a.data_format)
        if channels % a.groups:
            raise ShapeError(f"Conv1D with groups={a.groups} needs channels divisible by it, but received "
                             f"{format_shape(shape)}")
        return windowed(self.name, shape, a, a.filters)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        channels = _channels(self.name, shape, a.data_format)
        kernel = Weight("kernel", (a.kernel_size[0], channels // a.groups, a.filters))
        return with_lora([kernel, Weight("bias", (a.filters,))] if a.use_bias else [kernel], a.lora_rank)


class Pooling1D(LayerType):
    family = "conv"
    params = (
        Param("pool_size", WINDOW, (2,), positional=True),
        Param("strides", IntTuple(length=1, nullable=True), None, positional=True, doc="None: the pool size"),
        Param("padding", Choice(choices=("valid", "same")), "valid", positional=True),
        DATA_FORMAT,
        NAME,  # Keras's pooling layers name it before their **kwargs
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        strides = a.strides or a.pool_size
        return _window_output(self.name, shape, a.pool_size[0], strides[0], 1, a.padding, a.data_format)


class MaxPooling1D(Pooling1D):
    name = "MaxPooling1D"
    aliases = ("MaxPool1D",)


class AveragePooling1D(Pooling1D):
    name = "AveragePooling1D"
    aliases = ("AvgPool1D",)
    # Keras 3 gives MaxPooling1D a pool size of 2 by default, and AveragePooling1D none: it must be written
    params = (Param("pool_size", WINDOW, positional=True), *Pooling1D.params[1:])


class GlobalPooling1D(LayerType):
    family = "conv"
    params = (DATA_FORMAT, Param("keepdims", Bool(), False))

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        """The steps axis pooled away (kept as 1 with keepdims), the channels where the layout puts them."""
        _require_3d(self.name, shape, a.data_format)
        steps, channels = _axes(a.data_format)
        if a.keepdims:
            return tuple(1 if i == steps else d for i, d in enumerate(shape))
        return (shape[0], shape[channels])


class GlobalMaxPooling1D(GlobalPooling1D):
    name = "GlobalMaxPooling1D"
    aliases = ("GlobalMaxPool1D",)


class GlobalAveragePooling1D(GlobalPooling1D):
    name = "GlobalAveragePooling1D"
    aliases = ("GlobalAvgPool1D",)
    call_arguments = ("mask",)  # the average leaves out masked steps
