"""Layers that move or resize the axes: Permute, Cropping1D, ZeroPadding1D, UpSampling1D.

None of them supports masking in Keras, so a mask stops at them. Keras's symbolic output is float32 for all but
Permute, which keeps its input's dtype (its own `compute_output_spec`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import Args, Int, IntTuple, LayerType, Param, ShapeError, Tensor, require_rank
from rnnspec.layers.conv import DATA_FORMAT
from rnnspec.shape import Shape, format_shape
from rnnspec.syntax import TupleLit, Value


@dataclass(frozen=True)
class Pair(IntTuple):
    """Keras's `standardize_tuple(value, 2)`: an integer n is (n, n), a tuple must hold exactly two."""

    min: int = 0

    @property
    def description(self) -> str:  # type: ignore[override]
        return "an integer or a tuple of two integers"

    def convert(self, param: str, value: Value, resolver: Any) -> tuple[int, ...]:
        result = super().convert(param, value, resolver)
        assert result is not None
        if not isinstance(value, TupleLit):
            return (result[0], result[0])
        if len(result) != 2:
            raise RnnspecError("E203", f"'{param}' expects two values (before, after), found {len(result)}",
                               value.span, f"{param}=({result[0]}, {result[0]}) or {param}={result[0]} for both ends")
        return result

    def show(self, value: Any) -> str:
        return format_shape(value)


class ReshapingFamily(LayerType):
    family = "reshaping"


class Permute(ReshapingFamily):
    """Reorders the axes after the batch: `dims` is a permutation of 1..n (`(2, 1)` swaps steps and features)."""

    name = "Permute"
    params = (Param("dims", IntTuple(min=1), positional=True, doc="the new order of the axes, counted from 1"),)

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if sorted(a.dims) != list(range(1, len(a.dims) + 1)):
            raise RnnspecError("E203", f"'dims' must order the axes 1 to {len(a.dims)}, each once; found "
                               f"{format_shape(a.dims)}", spans.get("dims"),
                               "axis 0 is the batch and stays; (2, 1) swaps steps and features")

    def output(self, a: Args, x: Tensor) -> Tensor:
        return Tensor(self.output_shape(a, x.shape), x.dtype)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        if len(shape) != len(a.dims) + 1:
            raise ShapeError(f"Permute{format_shape(a.dims)} reorders {len(a.dims)} axes, so it expects a "
                             f"{len(a.dims) + 1}D input, but received {format_shape(shape)}",
                             hint="list every axis after the batch once")
        return (shape[0], *(shape[d] for d in a.dims))


class Cropping1D(ReshapingFamily):
    """Cuts `cropping = (before, after)` steps off each sequence."""

    name = "Cropping1D"
    params = (Param("cropping", Pair(), (1, 1), positional=True, doc="steps cut at the start and at the end"),)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        require_rank(self.name, shape, 3, "(batch, steps, features)", reason="no_time_axis")
        steps = shape[1]
        if steps is not None and steps - sum(a.cropping) <= 0:
            raise ShapeError(f"Cropping1D{format_shape(a.cropping)} cuts {sum(a.cropping)} steps from "
                             f"{format_shape(shape)}, leaving none",
                             hint="crop fewer steps than the input has")
        return (shape[0], None if steps is None else steps - sum(a.cropping), shape[2])


class ZeroPadding1D(ReshapingFamily):
    """Adds `padding = (before, after)` zero steps to each sequence."""

    name = "ZeroPadding1D"
    params = (Param("padding", Pair(), (1, 1), positional=True, doc="zero steps added at the start and the end"),
              DATA_FORMAT)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        meaning = "(batch, features, steps)" if a.data_format == "channels_first" else "(batch, steps, features)"
        require_rank(self.name, shape, 3, meaning, reason="no_time_axis")
        axis = 2 if a.data_format == "channels_first" else 1
        return tuple(d + sum(a.padding) if i == axis and d is not None else d for i, d in enumerate(shape))


class UpSampling1D(ReshapingFamily):
    """Repeats each step `size` times."""

    name = "UpSampling1D"
    params = (Param("size", Int(min=1), 2, positional=True, doc="times each step is repeated"),)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        require_rank(self.name, shape, 3, "(batch, steps, features)", reason="no_time_axis")
        return (shape[0], None if shape[1] is None else shape[1] * a.size, shape[2])
