"""Layers that take a layer: Bidirectional and TimeDistributed."""
from __future__ import annotations

from rnnspec.layers.base import Args, Choice, LayerArg, LayerType, Param, Tensor, Weight, require_rank
from rnnspec.shape import Shape


class Bidirectional(LayerType):
    """Runs the layer forwards and a copy backwards, then merges the two outputs."""

    name = "Bidirectional"
    family = "wrapper"
    params = (
        Param("layer", LayerArg(families=("recurrent",), description="a recurrent layer"), positional=True),
        Param("merge_mode", Choice(choices=("concat", "sum", "ave", "mul")), "concat", positional=True),
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        inner = a.layer.kind.output_shape(a.layer.args, shape)
        if a.merge_mode != "concat":
            return inner
        return (*inner[:-1], inner[-1] * 2)

    def weights(self, a: Args, shape: Shape) -> list[Weight]:
        half = a.layer.kind.weights(a.layer.args, shape)
        return half + half


class TimeDistributed(LayerType):
    """Applies the layer to every time step: `(batch, T, ...)` -> `(batch, T, ...layer output)`."""

    name = "TimeDistributed"
    family = "wrapper"
    params = (Param("layer", LayerArg(), positional=True),)

    def output(self, a: Args, x: Tensor) -> Tensor:
        step = self._step(x.shape)
        inner = a.layer.kind.output(a.layer.args, Tensor(step, x.dtype))
        return Tensor((inner.shape[0], x.shape[1], *inner.shape[1:]), inner.dtype)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        return self.output(a, Tensor(shape)).shape

    def weights(self, a: Args, shape: Shape) -> list[Weight]:
        return a.layer.kind.weights(a.layer.args, self._step(shape))

    def _step(self, shape: Shape) -> Shape:
        if len(shape) < 3:
            require_rank(self.name, shape, 3, "(batch, timesteps, ...)", reason="no_time_axis")
        return (shape[0], *shape[2:])
