"""LayerNormalization and BatchNormalization at inference, in Keras 3's arithmetic: `x * inv + (beta - mean * inv)`
with `inv = gamma / sqrt(variance + epsilon)`. Both pass the mask on without using it."""
from __future__ import annotations

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.backends.numpy.kernels.core import floating


class LayerNormalization(Kernel):
    """Per-sample statistics over `axis` (one or several), the variance as the mean squared deviation (two passes,
    as tf.nn.moments). Keras sorts the axes as written and reshapes (not transposes) gamma and beta into place,
    so axis=(-1, 1) lays the `(features, steps)` weights out in the input's `(steps, features)` order."""

    layer_types = ("LayerNormalization",)

    def prepare(self) -> None:
        by_name = {spec.name: p for spec, p in zip(self.specs, self.params)}
        self.gamma = by_name.get("gamma")
        self.beta = by_name.get("beta")
        axis = self.a.axis
        self.axes = sorted(axis) if isinstance(axis, tuple) else [axis]

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        integer = x.dtype.kind != "f"
        x = floating(x, self.dtype)
        ndim = x.ndim
        axes = tuple(self.axes)
        shape = [1] * ndim
        for dim in self.axes:
            shape[dim] = x.shape[dim]

        def place(v: Array | None) -> Array | None:
            if v is not None and v.ndim != ndim and self.axes != [ndim - 1]:
                return v.reshape(shape)
            return v

        mean = x.mean(axis=axes, keepdims=True)
        variance = np.square(x - mean).mean(axis=axes, keepdims=True)
        inv = 1 / np.sqrt(variance + x.dtype.type(self.a.epsilon))
        gamma, beta = place(self.gamma), place(self.beta)
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv
        if beta is not None:
            shift = shift + beta
        out = x * inv + shift
        # Keras's ops.layer_normalization casts its result back to the input dtype: integer inputs truncate
        return (np.trunc(out) if integer else out), mask


class BatchNormalization(Kernel):
    """The moving statistics: an affine map per channel of `axis`, folded once per load. With renorm the extra
    statistics only matter while training (Keras's inference path reads moving_mean and moving_variance)."""

    layer_types = ("BatchNormalization",)

    def prepare(self) -> None:
        by_name = {spec.name: p for spec, p in zip(self.specs, self.params)}
        mean, variance = by_name["moving_mean"], by_name["moving_variance"]
        inv = 1 / np.sqrt(variance + variance.dtype.type(self.a.epsilon))
        if "gamma" in by_name:
            inv = inv * by_name["gamma"]
        shift = -mean * inv
        if "beta" in by_name:
            shift = by_name["beta"] + shift
        shape = [1] * len(self.input_shape)
        shape[self.a.axis] = inv.shape[0]
        self.inv, self.shift = inv.reshape(shape), shift.reshape(shape)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return floating(x, self.dtype) * self.inv + self.shift, mask
