"""Shapes as Keras writes them: a tuple with the batch first, unknown dimensions as None.

All dimension arithmetic lives here, so that a dimension can later become a named symbol (`T`, `T-2`) by
changing these functions only; layers never do arithmetic on dimensions themselves.
"""
from __future__ import annotations

from typing import Optional

Dim = Optional[int]
Shape = tuple[Dim, ...]


def format_shape(shape: Shape) -> str:
    """`(None, 100, 64)`, and `(None, 32)`; a one-dimensional shape keeps its comma like Python."""
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def summary_shape(shape: Shape) -> str:
    """A shape as Keras's summary prints it: `(None, 32)`, and `(None)` for one dimension."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def known(dim: Dim) -> bool:
    return dim is not None


def product(dims: Shape) -> Dim:
    """The product of dimensions, or None when any is unknown."""
    total = 1
    for d in dims:
        if d is None:
            return None
        total *= d
    return total


def conv_length(length: Dim, kernel: int, stride: int, dilation: int, padding: str) -> Dim:
    """Output length of a 1-D convolution or pooling window, with Keras's padding arithmetic."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    effective = (kernel - 1) * dilation + 1
    return (length - effective) // stride + 1


def repeat_length(length: Dim, n: int) -> Dim:
    return None if length is None else length * n
