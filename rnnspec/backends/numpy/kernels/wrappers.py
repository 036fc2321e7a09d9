"""TimeDistributed: the wrapped layer's kernel on every step at once, time folded into the batch."""
from __future__ import annotations

import math

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask, make_kernel
from rnnspec.layers.base import LayerNode
from rnnspec.shape import Shape


def folded(shape: tuple[int, ...]) -> tuple[int, ...]:
    """`(batch, T, ...)` as the inner layer sees it: `(batch * T, ...)`."""
    return (shape[0] * shape[1], *shape[2:])


class TimeDistributed(Kernel):
    """`(batch, T, ...)` -> `(batch * T, ...)` -> the inner kernel -> `(batch, T, ...)`.

    Keras hands the inner layer `mask[:, t]` (folded here the same way) and returns the incoming mask unchanged:
    TimeDistributed does not override compute_mask, so a mask the inner layer would make (Embedding) is lost."""

    layer_types = ("TimeDistributed",)

    def __init__(self, node: LayerNode, input_shape: Shape, dtype: np.dtype) -> None:
        super().__init__(node, input_shape, dtype)
        self.inner = make_kernel(node.args.layer, (input_shape[0], *input_shape[2:]), dtype)

    def prepare(self) -> None:
        self.inner.load(self.params)

    def fresh(self, rng: np.random.Generator) -> list[Array]:
        return self.inner.fresh(rng)

    def lacks_steps(self, input_shape: tuple[int, ...]) -> bool:
        return input_shape[1] == 0  # Keras's TimeDistributed fails on an empty sequence

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return max(math.prod(output_shape), self.inner.largest_array(folded(input_shape), folded(output_shape)))

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        return self.inner.largest_product(folded(input_shape))

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        batch, steps = x.shape[:2]
        folded = None
        if mask is not None:
            mask = np.asarray(mask, bool)
            folded = mask.reshape(batch * steps, *mask.shape[2:])
        y, _ = self.inner.forward(x.reshape(batch * steps, *x.shape[2:]), folded)
        return y.reshape(batch, steps, *y.shape[1:]), mask
