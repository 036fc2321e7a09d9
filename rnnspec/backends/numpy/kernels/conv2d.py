"""Conv2D and the 2-D pooling layers, with TensorFlow's SAME padding (what Keras 3 runs on) on each spatial axis.

Every window op works on `(batch, height, width, channels)`; channels_first inputs are transposed in and out.
None of these layers supports masking in Keras, so the mask stops here.
"""
from __future__ import annotations

import math

import numpy as np

from rnnspec.backends.numpy.activations import activation
from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.backends.numpy.kernels.conv import same_padding
from rnnspec.backends.numpy.kernels.core import floating, merge_lora


def _axis_plan(length: int, window: int, stride: int, dilation: int, padding: str) -> tuple[int, int, int]:
    """(output length, pad before, pad after) along one spatial axis."""
    span = (window - 1) * dilation + 1
    if padding == "same":
        return same_padding(length, span, stride)
    return max((length - span) // stride + 1, 0), 0, 0


def windows2d(x: Array, window: tuple[int, int], strides: tuple[int, int], dilation: tuple[int, int], padding: str,
              fill: float = 0.0) -> Array:
    """`(batch, out_h, out_w, kh * kw, channels)`: every window position's taps, padding filled with `fill`."""
    (oh, top, bottom), (ow, left, right) = (
        _axis_plan(x.shape[axis], window[i], strides[i], dilation[i], padding) for i, axis in enumerate((1, 2)))
    if top or bottom or left or right:
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    if not (oh and ow):
        return np.empty((x.shape[0], oh, ow, window[0] * window[1], x.shape[3]), x.dtype)
    last_h, last_w = (oh - 1) * strides[0] + 1, (ow - 1) * strides[1] + 1
    taps = [x[:, i * dilation[0]:i * dilation[0] + last_h:strides[0], j * dilation[1]:j * dilation[1] + last_w:strides[1]]
            for i in range(window[0]) for j in range(window[1])]
    return np.stack(taps, axis=3)


def to_channels_last(x: Array, data_format: str) -> Array:
    return np.moveaxis(x, 1, 3) if data_format == "channels_first" else x


def from_channels_last(x: Array, data_format: str) -> Array:
    return np.moveaxis(x, 3, 1) if data_format == "channels_first" else x


class Conv2D(Kernel):
    """`activation(conv(x, W) + b)` with kernel `(kh, kw, channels/groups, filters)`; groups split both channel
    axes. Each group is one matrix product of the windows (rows in (tap, channel) order) by its kernel slice."""

    layer_types = ("Conv2D",)

    def prepare(self) -> None:
        kernel, *rest = self.params
        if self.a.lora_rank:
            kernel = merge_lora(kernel, rest[-2], rest[-1])
            rest = rest[:-2]
        self.bias = rest[0] if self.a.use_bias else None
        kh, kw, per_group, filters = kernel.shape
        step = filters // self.a.groups
        self.group_kernels = [np.ascontiguousarray(kernel[..., g * step:(g + 1) * step]).reshape(kh * kw * per_group,
                                                                                               step)
                              for g in range(self.a.groups)]
        self.per_group = per_group
        self.act = activation(self.a.activation)

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        """The windows: every output position's taps over the input channels."""
        positions = math.prod(output_shape) // self.a.filters
        return max(math.prod(output_shape), positions * math.prod(self.a.kernel_size) * self.per_group * self.a.groups)

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        positions = math.prod(input_shape) // (self.per_group * self.a.groups)
        return positions * self.group_kernels[0].size

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        a = self.a
        x = to_channels_last(floating(x, self.dtype), a.data_format)
        patches = windows2d(x, a.kernel_size, a.strides, a.dilation_rate, a.padding)
        batch, oh, ow, taps, _ = patches.shape
        c = self.per_group
        rows = batch * oh * ow
        parts = [patches[..., g * c:(g + 1) * c].reshape(rows, taps * c) @ w for g, w in enumerate(self.group_kernels)]
        y = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
        if self.bias is not None:
            y = y + self.bias
        y = self.act(y.reshape(batch, oh, ow, -1))
        return from_channels_last(y, a.data_format), None


class Pooling2D(Kernel):
    """The windows of a 2-D pooling layer (its strides default to the pool size), channels last."""

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return math.prod(output_shape) * math.prod(self.a.pool_size)  # the windows

    def pooled(self, x: Array, fill: float = 0.0) -> Array:
        a = self.a
        return windows2d(x, a.pool_size, a.strides or a.pool_size, (1, 1), a.padding, fill=fill)


class MaxPooling2D(Pooling2D):
    layer_types = ("MaxPooling2D",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = to_channels_last(x, self.a.data_format)
        lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min  # padding never wins a window
        return from_channels_last(self.pooled(x, fill=lowest).max(axis=3), self.a.data_format), None


class AveragePooling2D(Pooling2D):
    """'same' padding averages over the real pixels of each window only (TensorFlow's avg_pool)."""

    layer_types = ("AveragePooling2D",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = to_channels_last(floating(x, self.dtype), self.a.data_format)
        total = self.pooled(x).sum(axis=3)
        if self.a.padding == "same":
            ones = np.ones((1, x.shape[1], x.shape[2], 1), x.dtype)
            y = total / self.pooled(ones).sum(axis=3)
        else:
            y = total / x.dtype.type(math.prod(self.a.pool_size))
        return from_channels_last(y, self.a.data_format), None


class GlobalMaxPooling2D(Kernel):
    """The maximum over height and width."""

    layer_types = ("GlobalMaxPooling2D",)

    def axes(self) -> tuple[int, int]:
        return (2, 3) if self.a.data_format == "channels_first" else (1, 2)

    def lacks_steps(self, input_shape: tuple[int, ...]) -> bool:
        return any(input_shape[axis] == 0 for axis in self.axes())

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return x.max(axis=self.axes(), keepdims=self.a.keepdims), None


class GlobalAveragePooling2D(GlobalMaxPooling2D):
    """The mean over height and width."""

    layer_types = ("GlobalAveragePooling2D",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return floating(x, self.dtype).mean(axis=self.axes(), keepdims=self.a.keepdims), None
