"""LayerNormalization and BatchNormalization over one axis (the features, by default), or several for LayerNorm."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnspec.layers.base import (
    TRAINABLE, ArgType, Args, Bool, Float, Int, LayerType, Param, ShapeError, Weight, type_error,
)
from rnnspec.layers.objects import weight_arguments
from rnnspec.layers.recurrent import RATE
from rnnspec.shape import Shape, format_shape
from rnnspec.syntax import Literal, TupleLit, Value


@dataclass(frozen=True)
class Axes(ArgType):
    """An axis, or a tuple of axes (negative ones count from the end), as LayerNormalization's `axis` takes."""

    description: str = "an axis or a tuple of axes"

    def convert(self, param: str, value: Value, resolver: Any) -> int | tuple[int, ...]:
        items = value.items if isinstance(value, TupleLit) else (value,)
        axes = []
        for item in items:
            if not (isinstance(item, Literal) and type(item.value) is int):
                raise type_error(param, self.description, item)
            axes.append(item.value)
        if not axes:
            raise type_error(param, self.description, value)
        return tuple(axes) if isinstance(value, TupleLit) else axes[0]

    def show(self, value: Any) -> str:
        return str(value) if isinstance(value, int) else f"({', '.join(map(str, value))}{',' * (len(value) == 1)})"


class Normalization(LayerType):
    family = "normalization"

    def axis_size(self, axis: int, shape: Shape) -> int:
        position = axis + len(shape) if axis < 0 else axis
        if not 0 < position < len(shape):
            raise ShapeError(f"{self.name} axis {axis} is out of range for an input of shape {format_shape(shape)}",
                             hint="axis -1 normalises the features")
        size = shape[position]
        if size is None:
            raise ShapeError(f"{self.name} needs a known size on axis {axis}, but received {format_shape(shape)}",
                             code="E302")
        return size

    def weight_shape(self, a: Args, shape: Shape) -> tuple[int, ...]:
        return (self.axis_size(a.axis, shape),)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        self.weight_shape(a, shape)
        return shape


class LayerNormalization(Normalization):
    """Normalises each sample over `axis` (one or several); epsilon 1e-3 as in Keras."""

    name = "LayerNormalization"
    params = (
        Param("axis", Axes(), -1, positional=True, doc="a tuple normalises over several axes"),
        Param("epsilon", Float(min=0.0), 1e-3),
        Param("center", Bool(), True),
        Param("scale", Bool(), True),
        *weight_arguments(("beta", "zeros"), ("gamma", "ones"), activity=False),
        TRAINABLE,
    )

    def weight_shape(self, a: Args, shape: Shape) -> tuple[int, ...]:
        """One size per axis, in Keras's order: it sorts the axes as written, so (-1, 1) gives (features, steps)."""
        axes = sorted(a.axis) if isinstance(a.axis, tuple) else [a.axis]
        return tuple(self.axis_size(axis, shape) for axis in axes)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        size = self.weight_shape(a, shape)
        return ([Weight("gamma", size)] if a.scale else []) + ([Weight("beta", size)] if a.center else [])


class BatchNormalization(Normalization):
    """Normalises with batch statistics while training and moving statistics (non-trainable) after."""

    name = "BatchNormalization"
    call_arguments = ("mask",)  # Keras's call takes one (it only matters while training)
    params = (
        Param("axis", Int(), -1, positional=True),
        Param("momentum", Float(min=0.0, max=1.0), 0.99),
        Param("epsilon", Float(min=0.0), 1e-3),
        Param("center", Bool(), True),
        Param("scale", Bool(), True),
        *(p for p in weight_arguments(("beta", "zeros"), ("gamma", "ones"), ("moving_mean", "zeros"),
                                      ("moving_variance", "ones"), activity=False)
          if p.name.endswith("_initializer") or p.name.startswith(("beta", "gamma"))),
        Param("renorm", Bool(), False, doc="batch renormalization: three more non-trainable statistics"),
        Param("renorm_momentum", RATE, 0.99, doc="training only: no effect on shapes, counts or inference"),
        Param("synchronized", Bool(), False, doc="training only (statistics across devices): no effect here"),
        TRAINABLE,
    )
    unsupported = {"renorm_clipping": "a spec has no dictionaries: renorm_clipping is not supported yet "
                   "(it acts only while training)"}

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        size = self.weight_shape(a, shape)
        learned = ([Weight("gamma", size)] if a.scale else []) + ([Weight("beta", size)] if a.center else [])
        stats = ["moving_mean", "moving_variance"] + (["moving_stddev", "renorm_mean", "renorm_stddev"]
                                                      if a.renorm else [])
        return learned + [Weight(name, size, False) for name in stats]
