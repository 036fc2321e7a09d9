"""Layers that take a layer: Bidirectional and TimeDistributed."""
from __future__ import annotations

from typing import Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import Args, Choice, LayerArg, LayerType, Param, Tensor, Weight, require_rank
from rnnspec.shape import Shape

# Neither wrapper takes `trainable`: Keras 3 applies it to the wrapper but not to the layers inside, so a frozen
# wrapper's weights still count as trainable in the model (and train). Freeze the wrapped layer instead.


class Bidirectional(LayerType):
    """Runs the layer forwards and a copy backwards, then merges the two outputs."""

    name = "Bidirectional"
    family = "wrapper"
    params = (
        Param("layer", LayerArg(families=("recurrent",), description="a recurrent layer"), positional=True),
        Param("merge_mode", Choice(choices=("concat", "sum", "ave", "mul")), "concat", positional=True),
    )

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        """Keras makes the backward copy by setting go_backwards, and refuses a layer that already has it."""
        if a.layer.args.go_backwards:
            raise RnnspecError("E203", "Bidirectional runs a reversed copy itself; its layer cannot be `backwards` "
                               "(Keras refuses it)", a.layer.arg_spans.get("go_backwards") or spans.get("layer"),
                               "remove `backwards`: the layer reads forwards and its copy backwards")

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        inner = a.layer.kind.output_shape(a.layer.args, shape)
        if a.merge_mode != "concat":
            return inner
        return (*inner[:-1], inner[-1] * 2)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
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

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        return a.layer.kind.weights(a.layer.args, self._step(shape))

    def _step(self, shape: Shape) -> Shape:
        if len(shape) < 3:
            require_rank(self.name, shape, 3, "(batch, timesteps, ...)", reason="no_time_axis")
        return (shape[0], *shape[2:])
