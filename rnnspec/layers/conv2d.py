"""Conv2D and the 2-D pooling layers: the image front-ends of recurrent models (CRNN text recognisers, and video
frames under TimeDistributed), with Keras's padding arithmetic per spatial axis (rnnspec.shape.conv_length)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    LORA_RANK, TRAINABLE, Activation, Args, Bool, Choice, Int, IntTuple, LayerType, Param, ShapeError, Weight,
    with_lora,
)
from rnnspec.layers.objects import weight_arguments
from rnnspec.shape import Shape, conv_length, format_shape
from rnnspec.syntax import TupleLit, Value


@dataclass(frozen=True)
class Pair(IntTuple):
    """Keras's `standardize_tuple` for two spatial axes: an integer is used for both, a tuple gives each."""

    length: int | None = 2

    @property
    def description(self) -> str:  # type: ignore[override]
        return "an integer or a tuple of 2 integers" + (" or None" if self.nullable else "")

    def convert(self, param: str, value: Value, resolver: Any) -> tuple[int, ...] | None:
        if not isinstance(value, TupleLit):
            single = IntTuple(min=self.min, length=1, nullable=self.nullable).convert(param, value, resolver)
            return None if single is None else single * 2
        return super().convert(param, value, resolver)

    def show(self, value: Any) -> str:
        return "None" if value is None else format_shape(value)


# Keras's `data_format` for images: channels_first reads `(batch, channels, height, width)`.
DATA_FORMAT = Param("data_format", Choice(choices=("channels_last", "channels_first")), "channels_last",
                    doc="channels_first: inputs are (batch, channels, height, width)")


def _spatial_axes(data_format: str) -> tuple[int, int, int]:
    """(height axis, width axis, channels axis) of a 4D input in this layout."""
    return (2, 3, 1) if data_format == "channels_first" else (1, 2, 3)


def _require_4d(layer: str, shape: Shape, data_format: str) -> None:
    meaning = ("(batch, channels, height, width)" if data_format == "channels_first"
               else "(batch, height, width, channels)")
    if len(shape) != 4:
        hint = ("wrap it in TimeDistributed(...) to apply it to every frame of a video (batch, frames, height, "
                "width, channels)" if len(shape) == 5 else
                "give images a channels axis, e.g. Input(32, 128, 1) for one grey channel" if len(shape) == 3
                else None)
        raise ShapeError(f"{layer} expects a 4D input {meaning}, but received {format_shape(shape)}", hint=hint)


def _channels(layer: str, shape: Shape, data_format: str) -> int:
    _require_4d(layer, shape, data_format)
    channels = shape[_spatial_axes(data_format)[2]]
    if channels is None:
        raise ShapeError(f"{layer} needs a known number of channels, but received {format_shape(shape)}",
                         hint="give the input a fixed number of channels, e.g. Input(None, None, 3)", code="E302")
    return channels


def _window_output(layer: str, shape: Shape, window: tuple[int, ...], strides: tuple[int, ...],
                   dilation: tuple[int, ...], padding: str, data_format: str) -> Shape:
    """The input shape with height and width replaced by the number of window positions along each."""
    _require_4d(layer, shape, data_format)
    out = list(shape)
    for axis, k, s, d in zip(_spatial_axes(data_format)[:2], window, strides, dilation):
        length = conv_length(shape[axis], k, s, d, padding)
        if length is not None and length <= 0:
            span = (k - 1) * d + 1
            what = "height" if axis == _spatial_axes(data_format)[0] else "width"
            raise ShapeError(
                f"{layer} with a window of {span} over a {what} of {shape[axis]} ('{padding}' padding) leaves no "
                f"output; received {format_shape(shape)}", hint="use padding=same, a smaller window, or a larger image")
        out[axis] = length
    return tuple(out)


class Conv2D(LayerType):
    """A 2-D convolution; kernel `(kh, kw, channels/groups, filters)` as in Keras."""

    name = "Conv2D"
    family = "conv"
    params = (
        Param("filters", Int(min=1), positional=True),
        Param("kernel_size", Pair(), positional=True),
        Param("strides", Pair(), (1, 1), positional=True),
        Param("padding", Choice(choices=("valid", "same")), "valid", positional=True),
        DATA_FORMAT,
        Param("dilation_rate", Pair(), (1, 1)),
        Param("groups", Int(min=1), 1),
        Param("activation", Activation(), "linear"),
        Param("use_bias", Bool(), True),
        *weight_arguments(("kernel", "glorot_uniform"), ("bias", "zeros")),
        LORA_RANK,
        TRAINABLE,
    )

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if max(a.strides) > 1 and max(a.dilation_rate) > 1:
            raise RnnspecError("E203", "Conv2D cannot combine strides > 1 with dilation_rate > 1 (Keras refuses it)",
                               spans.get("dilation_rate") or spans.get("strides"))
        if a.filters % a.groups:
            raise RnnspecError("E203", f"filters ({a.filters}) must be divisible by groups ({a.groups})",
                               spans.get("groups"))
        if a.lora_rank is not None and a.kernel_constraint is not None:
            raise RnnspecError("E203", "LoRA cannot be combined with a kernel_constraint (Keras refuses it)",
                               spans.get("lora_rank") or spans.get("kernel_constraint"),
                               "drop kernel_constraint, or lora_rank")

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        channels = _channels(self.name, shape, a.data_format)
        if channels % a.groups:
            raise ShapeError(f"Conv2D with groups={a.groups} needs channels divisible by it, but received "
                             f"{format_shape(shape)}")
        out = _window_output(self.name, shape, a.kernel_size, a.strides, a.dilation_rate, a.padding, a.data_format)
        channel_axis = _spatial_axes(a.data_format)[2]
        return tuple(a.filters if i == channel_axis else d for i, d in enumerate(out))

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        channels = _channels(self.name, shape, a.data_format)
        kernel = Weight("kernel", (*a.kernel_size, channels // a.groups, a.filters))
        return with_lora([kernel, Weight("bias", (a.filters,))] if a.use_bias else [kernel], a.lora_rank)


STRIDES = Param("strides", Pair(nullable=True), None, positional=True, doc="None: the pool size")
POOL_PADDING = Param("padding", Choice(choices=("valid", "same")), "valid", positional=True)


class Pooling2D(LayerType):
    family = "conv"

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        strides = a.strides or a.pool_size
        return _window_output(self.name, shape, a.pool_size, strides, (1, 1), a.padding, a.data_format)


class MaxPooling2D(Pooling2D):
    name = "MaxPooling2D"
    params = (Param("pool_size", Pair(), (2, 2), positional=True), STRIDES, POOL_PADDING, DATA_FORMAT)


class AveragePooling2D(Pooling2D):
    """Keras 3 gives AveragePooling2D no default pool size (MaxPooling2D has (2, 2)), so it is required here."""

    name = "AveragePooling2D"
    params = (Param("pool_size", Pair(), positional=True), STRIDES, POOL_PADDING, DATA_FORMAT)


class GlobalPooling2D(LayerType):
    family = "conv"
    params = (DATA_FORMAT, Param("keepdims", Bool(), False))

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        """Height and width pooled away (kept as 1 with keepdims), the channels where the layout puts them."""
        _require_4d(self.name, shape, a.data_format)
        height, width, channels = _spatial_axes(a.data_format)
        if a.keepdims:
            return tuple(1 if i in (height, width) else d for i, d in enumerate(shape))
        return (shape[0], shape[channels])


class GlobalMaxPooling2D(GlobalPooling2D):
    name = "GlobalMaxPooling2D"


class GlobalAveragePooling2D(GlobalPooling2D):
    name = "GlobalAveragePooling2D"

