"""The other 1-D convolutions: Conv1DTranspose, SeparableConv1D and DepthwiseConv1D, with Keras 3's rules.

All three take a 3D input only, `valid` or `same` padding (no `causal`), and support no masking. Separable and
depthwise convolutions accept strides > 1 with dilation > 1 (Keras decomposes them); the transpose does not.
"""
from __future__ import annotations

from typing import Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    TRAINABLE, Activation, Args, Bool, Choice, Int, IntTuple, LayerType, Param, Weight,
)
from rnnspec.layers.conv import DATA_FORMAT, WINDOW, _axes, _channels, windowed
from rnnspec.layers.objects import weight_arguments
from rnnspec.shape import Shape

PADDING = Param("padding", Choice(choices=("valid", "same")), "valid", positional=True)
HEAD = (Param("filters", Int(min=1), positional=True), Param("kernel_size", WINDOW, positional=True),
        Param("strides", WINDOW, (1,), positional=True), PADDING)  # how Conv1DTranspose and SeparableConv1D begin


def _span(a: Args) -> int:
    """The window's reach in steps: the kernel with its dilation gaps."""
    return (a.kernel_size[0] - 1) * a.dilation_rate[0] + 1


def transpose_length(length: int | None, a: Args) -> int | None:
    """Keras's `_get_output_shape_given_tf_padding`: the length whose strided convolution gives `length`."""
    if length is None:
        return None
    span, stride, extra = _span(a), a.strides[0], a.output_padding
    if a.padding == "valid":
        return (length - 1) * stride + span + (max(span, stride) - span if extra is None else extra[0])
    return length * stride if extra is None else (length - 1) * stride + span % 2 + extra[0]


class Conv1DTranspose(LayerType):
    """The transposed 1-D convolution (upsampling over time); kernel `(kernel_size, filters, channels)`."""

    name = "Conv1DTranspose"
    family = "conv"
    params = (
        *HEAD,
        Param("output_padding", IntTuple(min=0, length=1, nullable=True), None,
              doc="extra steps at the end; below strides (None: Keras's choice)"),
        DATA_FORMAT,
        Param("dilation_rate", WINDOW, (1,)),
        Param("activation", Activation(), "linear"),
        Param("use_bias", Bool(), True),
        *weight_arguments(("kernel", "glorot_uniform"), ("bias", "zeros")),
        TRAINABLE,
    )

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if a.strides[0] > 1 and a.dilation_rate[0] > 1:
            raise RnnspecError("E203", "Conv1DTranspose cannot combine strides > 1 with dilation_rate > 1 (Keras "
                               "refuses it)", spans.get("dilation_rate") or spans.get("strides"))
        extra = a.output_padding
        if extra is not None and extra[0] >= a.strides[0]:
            raise RnnspecError("E203", f"'output_padding' must be below strides ({a.strides[0]}), found {extra[0]}",
                               spans.get("output_padding"), "Keras refuses it; output_padding=None lets it choose")
        if a.padding == "same" and extra is not None and extra[0] == 0 and _span(a) % 2 == 0:
            raise RnnspecError(
                "E203", f"Conv1DTranspose with padding=same, output_padding=0 and an even window ({_span(a)} steps) "
                "makes an output one stride too short for its own input", spans.get("output_padding"),
                "Keras builds it, then TensorFlow fails on the first call; use output_padding=None, 1 or more, or "
                "an odd kernel_size")

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        _channels(self.name, shape, a.data_format)
        steps, channels = _axes(a.data_format)
        length = transpose_length(shape[steps], a)
        return tuple(length if i == steps else a.filters if i == channels else d for i, d in enumerate(shape))

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        kernel = Weight("kernel", (a.kernel_size[0], a.filters, _channels(self.name, shape, a.data_format)))
        return [kernel, Weight("bias", (a.filters,))] if a.use_bias else [kernel]


class DepthwiseConv1D(LayerType):
    """One filter per input channel (`depth_multiplier` of them): kernel `(kernel_size, channels, multiplier)`,
    output channels `channels * depth_multiplier`, each channel's outputs side by side."""

    name = "DepthwiseConv1D"
    family = "conv"
    params = (
        Param("kernel_size", WINDOW, positional=True),
        Param("strides", WINDOW, (1,), positional=True),
        PADDING,
        Param("depth_multiplier", Int(min=1), 1, doc="filters per input channel"),
        DATA_FORMAT,
        Param("dilation_rate", WINDOW, (1,)),
        Param("activation", Activation(), "linear"),
        Param("use_bias", Bool(), True),
        *weight_arguments(("depthwise", "glorot_uniform"), ("bias", "zeros")),
        TRAINABLE,
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        return windowed(self.name, shape, a, _channels(self.name, shape, a.data_format) * a.depth_multiplier)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        channels = _channels(self.name, shape, a.data_format)
        kernel = Weight("kernel", (a.kernel_size[0], channels, a.depth_multiplier))
        return [kernel, Weight("bias", (channels * a.depth_multiplier,))] if a.use_bias else [kernel]


class SeparableConv1D(LayerType):
    """A depthwise convolution, then a pointwise one mixing its `channels * depth_multiplier` outputs into
    `filters`: `depthwise_kernel (k, channels, multiplier)`, `pointwise_kernel (1, channels * multiplier, filters)`."""

    name = "SeparableConv1D"
    family = "conv"
    params = (
        *HEAD,
        DATA_FORMAT,
        Param("dilation_rate", WINDOW, (1,)),
        Param("depth_multiplier", Int(min=1), 1, doc="depthwise filters per input channel"),
        Param("activation", Activation(), "linear"),
        Param("use_bias", Bool(), True),
        *weight_arguments(("depthwise", "glorot_uniform"), ("pointwise", "glorot_uniform"), ("bias", "zeros")),
        TRAINABLE,
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        _channels(self.name, shape, a.data_format)
        return windowed(self.name, shape, a, a.filters)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        channels = _channels(self.name, shape, a.data_format)
        depth = channels * a.depth_multiplier
        weights = [Weight("depthwise_kernel", (a.kernel_size[0], channels, a.depth_multiplier)),
                   Weight("pointwise_kernel", (1, depth, a.filters))]
        return [*weights, Weight("bias", (a.filters,))] if a.use_bias else weights
