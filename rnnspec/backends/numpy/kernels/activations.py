"""ReLU, LeakyReLU, PReLU, ELU and Softmax as Keras 3 computes them (its `activations.relu` branches, TF's
`leaky_relu` and `elu`); every one passes its mask on. Softmax also uses the mask it receives, as Keras does."""
from __future__ import annotations

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.backends.numpy.kernels.core import floating
from rnnspec.errors import RnnspecError


class ReLU(Kernel):
    """Keras's `activations.relu`: leaky where only a slope is set, else cut at the threshold, clipped at
    `max_value`, minus `negative_slope` times how far below the threshold."""

    layer_types = ("ReLU",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = floating(x, self.dtype)
        slope, ceiling, threshold = self.a.negative_slope, self.a.max_value, self.a.threshold
        kind = x.dtype.type
        if slope and ceiling is None and not threshold:
            return np.where(x > 0, x, x * kind(slope)), mask
        y = np.where(x > kind(threshold), x, kind(0)) if threshold else np.maximum(x, kind(0))
        if ceiling is not None:
            y = np.minimum(y, kind(ceiling))
        if slope:
            y = y - kind(slope) * np.maximum(kind(threshold) - x, kind(0))
        return y, mask


class LeakyReLU(Kernel):
    layer_types = ("LeakyReLU",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = floating(x, self.dtype)
        return np.where(x > 0, x, x * x.dtype.type(self.a.negative_slope)), mask


class ELU(Kernel):
    """`x` above 0, `alpha * expm1(x)` at or below it."""

    layer_types = ("ELU",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = floating(x, self.dtype)
        below = np.expm1(np.minimum(x, 0)) * x.dtype.type(self.a.alpha)
        return np.where(x > 0, x, below), mask


class PReLU(Kernel):
    """`relu(x) - alpha * relu(-x)`, alpha broadcast over the batch and the shared axes."""

    layer_types = ("PReLU",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = floating(x, self.dtype)
        zero = x.dtype.type(0)
        return np.maximum(x, zero) - self.params[0] * np.maximum(-x, zero), mask


class Softmax(Kernel):
    """The softmax over `axis`. A mask is used as Keras uses it: it must broadcast against the input (NumPy's rule,
    from the last axis), masked positions enter as -1e9 and leave as 0; the mask itself passes on unchanged."""

    layer_types = ("Softmax",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = floating(x, self.dtype)
        axes = (self.a.axis,) if isinstance(self.a.axis, int) else tuple(self.a.axis)
        if mask is None:
            return self.softmax(x, axes), None
        keep = np.asarray(mask, bool)
        fits = keep.ndim <= x.ndim and all(m in (1, d) for m, d in zip(keep.shape[::-1], x.shape[::-1]))
        if not fits:
            raise RnnspecError(
                "E501", f"Softmax receives a mask of shape {keep.shape} that does not broadcast against its input "
                f"{x.shape}; Keras fails on it too", self.node.span,
                "Keras lines a (batch, steps) mask up with the input's last two axes: drop the mask before Softmax "
                "(a layer that does not support masking), or use Activation(softmax), which ignores it")
        large = x.dtype.type(-3e4 if x.dtype == np.float16 else -1e9)
        y = self.softmax(np.where(keep, x, large), axes)
        return np.where(keep, y, x.dtype.type(0)), mask

    @staticmethod
    def softmax(x: Array, axes: tuple[int, ...]) -> Array:
        e = np.exp(x - x.max(axis=axes, keepdims=True))
        return e / e.sum(axis=axes, keepdims=True)
