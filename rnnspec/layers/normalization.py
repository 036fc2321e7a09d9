"""LayerNormalization and BatchNormalization over one axis (the features, by default)."""
from __future__ import annotations

from rnnspec.layers.base import Args, Bool, Float, Int, LayerType, Param, ShapeError, Weight
from rnnspec.shape import Shape, format_shape


class Normalization(LayerType):
    family = "normalization"

    def axis_size(self, a: Args, shape: Shape) -> int:
        axis = a.axis + len(shape) if a.axis < 0 else a.axis
        if not 0 < axis < len(shape):
            raise ShapeError(f"{self.name} axis {a.axis} is out of range for an input of shape {format_shape(shape)}",
                             hint="axis -1 normalises the features")
        size = shape[axis]
        if size is None:
            raise ShapeError(f"{self.name} needs a known size on axis {a.axis}, but received {format_shape(shape)}",
                             code="E302")
        return size

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        self.axis_size(a, shape)
        return shape


class LayerNormalization(Normalization):
    """Normalises each sample over `axis`; epsilon 1e-3 as in Keras."""

    name = "LayerNormalization"
    params = (
        Param("axis", Int(), -1, positional=True),
        Param("epsilon", Float(min=0.0), 1e-3),
        Param("center", Bool(), True),
        Param("scale", Bool(), True),
    )

    def weights(self, a: Args, shape: Shape) -> list[Weight]:
        size = self.axis_size(a, shape)
        return ([Weight("gamma", (size,))] if a.scale else []) + ([Weight("beta", (size,))] if a.center else [])


class BatchNormalization(Normalization):
    """Normalises with batch statistics while training and moving statistics (non-trainable) after."""

    name = "BatchNormalization"
    params = (
        Param("axis", Int(), -1, positional=True),
        Param("momentum", Float(min=0.0, max=1.0), 0.99),
        Param("epsilon", Float(min=0.0), 1e-3),
        Param("center", Bool(), True),
        Param("scale", Bool(), True),
    )

    def weights(self, a: Args, shape: Shape) -> list[Weight]:
        size = self.axis_size(a, shape)
        learned = ([Weight("gamma", (size,))] if a.scale else []) + ([Weight("beta", (size,))] if a.center else [])
        return learned + [Weight("moving_mean", (size,), False), Weight("moving_variance", (size,), False)]
