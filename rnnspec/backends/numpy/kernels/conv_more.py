"""Conv1DTranspose, DepthwiseConv1D and SeparableConv1D with TensorFlow's arithmetic (what Keras 3 runs on).

They work on `(batch, steps, channels)` (channels_first is transposed in and out) and end the mask, as Keras's
layers support no masking. The transpose scatters each input step's contribution over the window it reaches and
keeps the positions TensorFlow's `conv_transpose` keeps: the forward convolution's left padding is cut off.
"""
from __future__ import annotations

import math

import numpy as np

from rnnspec.backends.numpy.activations import activation
from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.backends.numpy.init import initial_value
from rnnspec.backends.numpy.kernels.conv import same_padding, to_channels_last, windows
from rnnspec.backends.numpy.kernels.core import floating
from rnnspec.layers.conv_more import transpose_length


class Conv1DTranspose(Kernel):
    """`activation(conv_transpose(x, W) + b)`, kernel `(k, filters, channels)`."""

    layer_types = ("Conv1DTranspose",)

    def prepare(self) -> None:
        self.kernel = self.params[0]
        self.bias = self.params[1] if self.a.use_bias else None
        self.act = activation(self.a.activation)

    def layout(self, length: int) -> tuple[int, int, int]:
        """(output length, steps cut at the start, length of the full scatter) for an input of `length` steps."""
        a = self.a
        stride, dilation = a.strides[0], a.dilation_rate[0]
        span = (a.kernel_size[0] - 1) * dilation + 1
        out = transpose_length(length, a)
        assert out is not None
        left = same_padding(out, span, stride)[1] if a.padding == "same" else 0
        return out, left, max((length - 1) * stride + span, left + out)

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        steps = input_shape[2 if self.a.data_format == "channels_first" else 1]
        return max(math.prod(output_shape), input_shape[0] * self.layout(steps)[2] * self.a.filters)

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        return math.prod(input_shape) * self.a.filters

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        a = self.a
        x = to_channels_last(floating(x, self.dtype), a.data_format)
        batch, length, _ = x.shape
        stride, dilation = a.strides[0], a.dilation_rate[0]
        out, left, full_length = self.layout(length)
        full = np.zeros((batch, full_length, a.filters), x.dtype)
        last = (length - 1) * stride + 1
        for tap in range(a.kernel_size[0]):
            start = tap * dilation
            full[:, start:start + last:stride] += x @ self.kernel[tap].T
        y = full[:, left:left + out]
        if self.bias is not None:
            y = y + self.bias
        return to_channels_last(self.act(y), a.data_format), None


class DepthwiseConv1D(Kernel):
    """Each channel convolved with its own `depth_multiplier` filters; output channel `c * multiplier + m`."""

    layer_types = ("DepthwiseConv1D",)

    def fresh(self, rng: np.random.Generator) -> list[Array]:
        """Keras calls the weight `kernel` but takes its initialiser as `depthwise_initializer`."""
        inits = {"kernel": self.a.depthwise_initializer, "bias": self.a.bias_initializer}
        return [initial_value(w, rng, False, inits[w.name]) for w in self.specs]

    def prepare(self) -> None:
        self.kernel = self.params[0]
        self.bias = self.params[1] if self.a.use_bias else None
        self.act = activation(self.a.activation)

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return math.prod(output_shape) * self.a.kernel_size[0]  # the windows, at most

    def depthwise(self, x: Array) -> Array:
        a = self.a
        patches = windows(x, a.kernel_size[0], a.strides[0], a.dilation_rate[0], a.padding)
        y = np.einsum("bokc,kcm->bocm", patches, self.kernel)
        return y.reshape(y.shape[0], y.shape[1], -1)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = to_channels_last(floating(x, self.dtype), self.a.data_format)
        y = self.depthwise(x)
        if self.bias is not None:
            y = y + self.bias
        return to_channels_last(self.act(y), self.a.data_format), None


class SeparableConv1D(DepthwiseConv1D):
    """The depthwise convolution, then `(channels * multiplier, filters)` on every position."""

    layer_types = ("SeparableConv1D",)
    fresh = Kernel.fresh  # depthwise_kernel and pointwise_kernel name their initialisers as Keras does

    def prepare(self) -> None:
        self.kernel = self.params[0]
        self.pointwise = self.params[1][0]
        self.bias = self.params[2] if self.a.use_bias else None
        self.act = activation(self.a.activation)

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        positions = math.prod(output_shape) // self.a.filters
        return max(math.prod(output_shape), positions * self.pointwise.shape[0] * self.a.kernel_size[0])

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = to_channels_last(floating(x, self.dtype), self.a.data_format)
        y = self.depthwise(x) @ self.pointwise
        if self.bias is not None:
            y = y + self.bias
        return to_channels_last(self.act(y), self.a.data_format), None
