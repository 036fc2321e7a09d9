"""Embedding, Dense and the per-position layers: Activation, Dropout, Masking and the reshaping layers.

Masks follow Keras 3: Dense, Activation and the dropouts pass theirs on; Embedding(mask_zero) and Masking make
one; Flatten, RepeatVector and Reshape do not support masking, so the mask stops there.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnspec.backends.numpy.activations import activation
from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.errors import RnnspecError


def floating(x: Array, dtype: np.dtype) -> Array:
    """Integer features (an integer Input straight into an arithmetic layer) as the model's float dtype, as Keras
    computes them in float32; float inputs are already in the model dtype."""
    return x if x.dtype.kind == "f" else x.astype(dtype)


def merge_lora(main: Array, factor_a: Array, factor_b: Array, scale: float = 1.0) -> Array:
    """Keras's LoRA: `W + (alpha / rank) * A @ B` (`lora_scale` gives the scale)."""
    product = np.matmul(factor_a, factor_b)
    return main + (product if scale == 1.0 else product * product.dtype.type(scale))


def lora_scale(a: Any) -> float:
    """`lora_alpha / lora_rank`, where Keras's alpha defaults to the rank (a scale of 1)."""
    rank, alpha = a.get("lora_rank"), a.get("lora_alpha")
    return 1.0 if not rank or alpha is None else alpha / rank


class Embedding(Kernel):
    """A row lookup; with mask_zero the mask is `ids != 0` (any incoming mask is replaced). Ids outside the
    table are refused, as Keras refuses them (NumPy would read a negative id from the end of the table)."""

    layer_types = ("Embedding",)

    def prepare(self) -> None:
        table = self.params[0]
        if self.a.lora_rank:
            table = merge_lora(table, self.params[1], self.params[2])  # Keras ignores lora_alpha here (base.py)
        self.table = table

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        ids = np.asarray(x)
        if not np.issubdtype(ids.dtype, np.integer):
            ids = ids.astype(np.int32)  # Keras casts non-integer ids to int32 (truncating)
        self.require_known(ids)
        out = np.take(self.table, ids, axis=0)
        return out, (ids != 0) if self.a.mask_zero else None

    def require_known(self, ids: Array) -> None:
        vocabulary = len(self.table)
        if not ids.size:
            return
        low, high = int(ids.min()), int(ids.max())
        if low >= 0 and high < vocabulary:
            return
        bad = low if low < 0 else high
        where = tuple(int(i) for i in np.argwhere(ids == bad)[0])
        raise RnnspecError("E501", f"Embedding takes ids in 0..{vocabulary - 1} (input_dim={vocabulary}); "
                           f"found {bad:,} at {where}", self.node.span,
                           "ids past the vocabulary have no row; Keras refuses them too (reserve 0 for padding "
                           "with mask_zero=true)")


class Dense(Kernel):
    """`activation(x W + b)` on the last axis, whatever the rank; the mask passes."""

    layer_types = ("Dense",)

    def prepare(self) -> None:
        kernel = self.params[0]
        rest = self.params[1:]
        if self.a.lora_rank:
            kernel = merge_lora(kernel, rest[-2], rest[-1])  # Keras ignores lora_alpha here (base.py)
            rest = rest[:-2]
        self.kernel = kernel
        self.bias = rest[0] if self.a.use_bias else None
        self.act = activation(self.a.activation)

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        return math.prod(input_shape) * self.kernel.shape[1]

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        x = floating(x, self.dtype)
        lead = x.shape[:-1]
        y = x.reshape(-1, x.shape[-1]) @ self.kernel
        if self.bias is not None:
            y += self.bias
        return self.act(y.reshape(*lead, y.shape[-1])), mask


class ActivationKernel(Kernel):
    layer_types = ("Activation",)

    def prepare(self) -> None:
        self.act = activation(self.a.activation)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return self.act(floating(x, self.dtype)), mask


class Identity(Kernel):
    """Dropout and SpatialDropout1D at inference, and an Input in a functional model: the input and its mask."""

    layer_types = ("Dropout", "SpatialDropout1D", "Input")


class Masking(Kernel):
    """mask = any(x != mask_value) over the features; masked steps become zeros (the incoming mask is ignored)."""

    layer_types = ("Masking",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        keep = np.any(x != self.a.mask_value, axis=-1)
        return np.where(keep[..., None], x, x.dtype.type(0)), keep


class Flatten(Kernel):
    """channels_first moves axis 1 last before flattening, as Keras's Flatten does on inputs of rank 3 or more."""

    layer_types = ("Flatten",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        if self.a.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:]))), None


class RepeatVector(Kernel):
    layer_types = ("RepeatVector",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return np.repeat(x[:, None, :], self.a.n, axis=1), None


class Reshape(Kernel):
    layer_types = ("Reshape",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return x.reshape(x.shape[0], *self.a.target_shape), None
