"""The merge layers in NumPy, value for value and mask for mask as keras/src/layers/merging/ computes them.

Keras's masks are subtler than "AND the masks": the elementwise merges' output mask is the OR of the input masks,
and None as soon as one input has none. Multiply, Maximum and Minimum also let the masks change the values
(a masked entry counts as 1 in a product, and takes the other input's value in a maximum or minimum), but only
for the inputs of the highest rank: Keras expands lower-rank inputs after the batch, and the copy loses its
mask. Concatenate's mask treats an unmasked input as all real and joins the masks along its axis; Dot's is None.
"""
from __future__ import annotations

import math
from typing import Callable, ClassVar

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.backends.numpy.kernels.core import floating
from rnnspec.errors import RnnspecError

EPSILON = 1e-7  # keras.config.epsilon(), the floor of the norm in Dot(normalize=true) (ops.normalize)


class MergeKernel(Kernel):
    """A merge: `call` takes the tuple of tensors; the one-tensor path of a chain is refused."""

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        name = self.node.type_name
        raise RnnspecError("E501", f"{name} merges several tensors, but the NumPy backend was given one",
                           self.node.span, f"write (a, b) > {name}")

    def call(self, inputs: list[Array], masks: list[Mask], initial_state: list[Array] | None = None
             ) -> tuple[list[Array], list[Mask]]:
        arrays = [floating(np.asarray(x), self.dtype) for x in inputs]
        return [self.merge(arrays, list(masks))], [self.output_mask(arrays, list(masks))]

    def merge(self, arrays: list[Array], masks: list[Mask]) -> Array:
        raise NotImplementedError

    def output_mask(self, arrays: list[Array], masks: list[Mask]) -> Mask:
        """Keras's `Merge.compute_mask`: the OR of the masks, or None if any input has none."""
        if any(m is None for m in masks):
            return None
        result = masks[0]
        for m in masks[1:]:
            result = np.logical_or(result, m)
        return result


def spread(mask: Array, x: Array) -> Array:
    """A mask over all of `x`'s entries: Keras's `broadcast_to(expand_dims(mask, -1), shape(x))`."""
    return np.broadcast_to(mask[..., None], x.shape)


class Elementwise(MergeKernel):
    """Keras's `Merge.call`: inputs of lower rank are expanded after the batch (axis 1) until the ranks agree, which
    is right-aligned broadcasting of the shapes after the batch; the expanded copies carry no mask."""

    def call(self, inputs: list[Array], masks: list[Mask], initial_state: list[Array] | None = None
             ) -> tuple[list[Array], list[Mask]]:
        arrays = [floating(np.asarray(x), self.dtype) for x in inputs]
        top = max(x.ndim for x in arrays)
        kept = [m if x.ndim == top else None for x, m in zip(arrays, masks)]
        expanded = [x.reshape(x.shape[0], *(1,) * (top - x.ndim), *x.shape[1:]) for x in arrays]
        return [self.merge(expanded, kept)], [self.output_mask(arrays, list(masks))]


def total(arrays: list[Array]) -> Array:
    """The sum from left to right, as Keras's Add and Average add (so the rounding matches)."""
    out = arrays[0]
    for x in arrays[1:]:
        out = out + x
    return out


class Add(Elementwise):
    layer_types = ("Add",)

    def merge(self, arrays: list[Array], masks: list[Mask]) -> Array:
        return total(arrays)


class Subtract(Elementwise):
    layer_types = ("Subtract",)

    def merge(self, arrays: list[Array], masks: list[Mask]) -> Array:
        return arrays[0] - arrays[1]


class Average(Elementwise):
    layer_types = ("Average",)

    def merge(self, arrays: list[Array], masks: list[Mask]) -> Array:
        return total(arrays) / len(arrays)


class Multiply(Elementwise):
    """Masked entries count as 1; when every input has a mask, entries no input keeps become 0."""

    layer_types = ("Multiply",)

    def merge(self, arrays: list[Array], masks: list[Mask]) -> Array:
        every = all(m is not None for m in masks)
        out: Array | None = None
        kept: Array | None = None
        for x, m in zip(arrays, masks):
            if m is not None:
                full = spread(m, x)
                x = np.where(full, x, x.dtype.type(1))
                if every:
                    kept = full if kept is None else np.logical_or(kept, full)
            out = x if out is None else out * x
        assert out is not None
        return np.where(kept, out, out.dtype.type(0)) if kept is not None else out


class Extremum(Elementwise):
    """Keras's `_apply_merge_op_and_or_mask`: a masked entry takes the running result's value (and the running
    result, where masked so far, the new input's), so masked entries do not win the maximum or minimum."""

    op: ClassVar[Callable[[Array, Array], Array]]

    def merge(self, arrays: list[Array], masks: list[Mask]) -> Array:
        out, kept = arrays[0], None if masks[0] is None else spread(masks[0], arrays[0])
        for x, m in zip(arrays[1:], masks[1:]):
            full = None if m is None else spread(m, x)
            if full is not None:
                x = np.where(full, x, out)
            if kept is not None:
                out = np.where(kept, out, x)
            kept = np.logical_or(kept, full) if kept is not None and full is not None else None
            out = self.op(out, x)
        return out


class Maximum(Extremum):
    layer_types = ("Maximum",)
    op = np.maximum


class Minimum(Extremum):
    layer_types = ("Minimum",)
    op = np.minimum


class Concatenate(MergeKernel):
    """np.concatenate; the mask as Keras's `Concatenate.compute_mask`: an unmasked input is all real, a mask is
    spread over its input's last axis, the spread masks joined along `axis`, then any() over the last axis."""

    layer_types = ("Concatenate",)

    def merge(self, arrays: list[Array], masks: list[Mask]) -> Array:
        return np.concatenate(arrays, axis=self.a.axis)

    def output_mask(self, arrays: list[Array], masks: list[Mask]) -> Mask:
        if all(m is None for m in masks):
            return None
        spread_masks = []
        for x, m in zip(arrays, masks):
            if m is None:
                spread_masks.append(np.ones(x.shape, bool))
            elif m.ndim < x.ndim:
                spread_masks.append(np.logical_or(m[..., None], np.zeros(x.shape, bool)))
            else:
                spread_masks.append(m)
        return np.any(np.concatenate(spread_masks, axis=self.a.axis), axis=-1)


class Dot(MergeKernel):
    """Keras's `batch_dot` per sample, after L2-normalising along the axes with `normalize`; no mask."""

    layer_types = ("Dot",)

    def merge(self, arrays: list[Array], masks: list[Mask]) -> Array:
        x, y = arrays
        a0, a1 = self.node.kind.resolve_axes(self.a, (x.shape, y.shape))  # type: ignore[attr-defined]
        if self.a.normalize:
            x, y = normalized(x, a0), normalized(y, a1)
        x, y = np.moveaxis(x, a0, -1), np.moveaxis(y, a1, 1)  # (B, ..., K) and (B, K, ...)
        batch, size = x.shape[0], x.shape[-1]
        lead, trail = x.shape[1:-1], y.shape[2:]
        out = np.matmul(x.reshape(batch, math.prod(lead), size), y.reshape(batch, size, math.prod(trail)))
        shape = (batch, *lead, *trail)
        return out.reshape(shape if len(shape) > 1 else (batch, 1))

    def output_mask(self, arrays: list[Array], masks: list[Mask]) -> Mask:
        return None

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        """The normalised copy of an input can outgrow the scores."""
        return max(math.prod(input_shape), math.prod(output_shape))


def normalized(x: Array, axis: int) -> Array:
    """Keras's `ops.normalize(order=2)`: `x * min(rsqrt(sum(x**2)), 1/epsilon)`, so a zero vector stays zero."""
    squares = np.sum(np.square(x), axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        inverse = np.minimum(1.0 / np.sqrt(squares), 1.0 / EPSILON)
    return x * inverse.astype(x.dtype)
