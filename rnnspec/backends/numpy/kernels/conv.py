"""Conv1D and the 1-D pooling layers, with TensorFlow's padding arithmetic (what Keras 3 runs on).

Every window op works on `(batch, steps, channels)`; channels_first inputs are transposed in and out. None of
these layers supports masking in Keras, so the mask stops here, except GlobalAveragePooling1D, which averages
over the unmasked steps only (and still returns no mask).
"""
from __future__ import annotations

import math

import numpy as np

from rnnspec.backends.numpy.activations import activation
from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.backends.numpy.kernels.core import floating, lora_scale, merge_lora


def same_padding(length: int, window: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow's 'SAME': (output length, left pad, right pad); the odd pad goes on the right."""
    out = -(-length // stride)
    total = max((out - 1) * stride + window - length, 0)
    return out, total // 2, total - total // 2


def windows(x: Array, window: int, stride: int, dilation: int, padding: str, fill: float = 0.0) -> Array:
    """`(batch, out, window, channels)`: the taps of every window position, padding filled with `fill`."""
    length = x.shape[1]
    span = (window - 1) * dilation + 1
    if padding == "causal":
        left, right = span - 1, 0
        out = (length + left - span) // stride + 1
    elif padding == "same":
        out, left, right = same_padding(length, span, stride)
    else:
        left = right = 0
        out = (length - span) // stride + 1
    out = max(out, 0)
    if left or right:
        x = np.pad(x, ((0, 0), (left, right), (0, 0)), constant_values=fill)
    if not out:
        return np.empty((x.shape[0], 0, window, x.shape[2]), x.dtype)
    last = (out - 1) * stride + 1
    return np.stack([x[:, j * dilation:j * dilation + last:stride] for j in range(window)], axis=2)


def to_channels_last(x: Array, data_format: str) -> Array:
    return np.swapaxes(x, 1, 2) if data_format == "channels_first" else x


class Conv1D(Kernel):
    """`activation(conv(x, W) + b)` with kernel `(k, channels/groups, filters)`; groups split both channel axes."""

    layer_types = ("Conv1D",)

    def prepare(self) -> None:
        kernel, *rest = self.params
        if self.a.lora_rank:
            kernel = merge_lora(kernel, rest[-2], rest[-1], lora_scale(self.a))
            rest = rest[:-2]
        self.bias = rest[0] if self.a.use_bias else None
        k, per_group, filters = kernel.shape
        groups = self.a.groups
        step = filters // groups
        # one `(k * channels/groups, filters/groups)` matrix per group, rows in (tap, channel) order
        self.group_kernels = [np.ascontiguousarray(kernel[:, :, g * step:(g + 1) * step]).reshape(k * per_group, step)
                              for g in range(groups)]
        self.per_group = per_group
        self.act = activation(self.a.activation)

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        """The windows: every output position's taps over the input channels."""
        return max(math.prod(output_shape), math.prod(output_shape) // self.a.filters * self.a.kernel_size[0]
                   * self.per_group * self.a.groups)

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        batch_and_length = math.prod(input_shape) // (self.per_group * self.a.groups)
        return batch_and_length * self.group_kernels[0].size

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        a = self.a
        x = to_channels_last(floating(x, self.dtype), a.data_format)
        patches = windows(x, a.kernel_size[0], a.strides[0], a.dilation_rate[0], a.padding)
        batch, out, k, _ = patches.shape
        c = self.per_group
        parts = [patches[..., g * c:(g + 1) * c].reshape(batch * out, k * c) @ w
                 for g, w in enumerate(self.group_kernels)]
        y = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
        if self.bias is not None:
            y += self.bias
        y = self.act(y.reshape(batch, out, -1))
        return to_channels_last(y, a.data_format), None


class Pooling1D(Kernel):
    """The windows of a 1-D pooling layer (its strides default to the pool size), channels last."""

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return math.prod(output_shape) * self.a.pool_size[0]  # the windows

    def pooled(self, x: Array, fill: float = 0.0) -> tuple[Array, int, int]:
        a = self.a
        pool, stride = a.pool_size[0], (a.strides or a.pool_size)[0]
        return windows(x, pool, stride, 1, a.padding, fill=fill), pool, stride


class MaxPooling1D(Pooling1D):
    layer_types = ("MaxPooling1D",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = to_channels_last(x, self.a.data_format)
        lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min  # padding never wins a window
        y = self.pooled(x, fill=lowest)[0].max(axis=2)
        return to_channels_last(y, self.a.data_format), None


class AveragePooling1D(Pooling1D):
    """'same' padding averages over the real steps of each window only (TensorFlow's avg_pool)."""

    layer_types = ("AveragePooling1D",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = to_channels_last(floating(x, self.dtype), self.a.data_format)
        patches, pool, stride = self.pooled(x)
        total = patches.sum(axis=2)
        if self.a.padding == "same":
            ones = np.ones((1, x.shape[1], 1), x.dtype)
            y = total / windows(ones, pool, stride, 1, "same").sum(axis=2)
        else:
            y = total / x.dtype.type(pool)
        return to_channels_last(y, self.a.data_format), None


class GlobalMaxPooling1D(Kernel):
    """The maximum over the steps; Keras ignores (and drops) any mask."""

    layer_types = ("GlobalMaxPooling1D",)

    def lacks_steps(self, input_shape: tuple[int, ...]) -> bool:
        return input_shape[2 if self.a.data_format == "channels_first" else 1] == 0

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        axis = 2 if self.a.data_format == "channels_first" else 1
        return x.max(axis=axis, keepdims=self.a.keepdims), None


class GlobalAveragePooling1D(Kernel):
    """The mean over the steps; with a mask, the sum of the unmasked steps over their count (a fully masked
    row is 0/0 = NaN, as in Keras). The mask stops here."""

    layer_types = ("GlobalAveragePooling1D",)
    lacks_steps = GlobalMaxPooling1D.lacks_steps

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = floating(x, self.dtype)
        channels_first = self.a.data_format == "channels_first"
        axis = 2 if channels_first else 1
        keepdims = self.a.keepdims
        if mask is None:
            return x.mean(axis=axis, keepdims=keepdims), None
        # Keras expands the mask on the channels axis and lets broadcasting do the rest
        expanded = np.expand_dims(np.asarray(mask, bool), 1 if channels_first else 2)
        total = np.where(expanded, x, x.dtype.type(0)).sum(axis=axis, keepdims=keepdims)
        count = expanded.astype(x.dtype).sum(axis=axis, keepdims=keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count, None
