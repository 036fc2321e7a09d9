"""The kernel contract: one class per layer type, holding that layer's weights and its inference in NumPy.

A kernel is built from the same resolved node and input shape as the checker's row, and takes its weights in
the order the registry declares (`node.kind.weights`), which is Keras's order: loading from Keras is a zip.
"""
from __future__ import annotations

from typing import ClassVar, Optional

import numpy as np

from rnnspec.backends.numpy.init import initial_value
from rnnspec.layers.base import LayerNode, Weight
from rnnspec.shape import Shape

Array = np.ndarray
Mask = Optional[np.ndarray]  # (batch, steps) booleans, True where a step is real

_KERNELS: dict[str, type["Kernel"]] = {}


class Kernel:
    """Default: the identity, passing the mask on (Dropout and friends at inference)."""

    layer_types: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.layer_types:
            _KERNELS[name] = cls

    def __init__(self, node: LayerNode, input_shape: Shape, dtype: np.dtype) -> None:
        self.node = node
        self.a = node.args
        self.input_shape = input_shape
        self.dtype = dtype
        self.specs: list[Weight] = node.kind.weights(node.args, input_shape)
        self.params: list[Array] = []

    def load(self, arrays: list[Array]) -> None:
        """Take this layer's weights (already checked against `specs`) and precompute what forward needs."""
        self.params = [np.ascontiguousarray(a, dtype=self.dtype) for a in arrays]
        self.prepare()

    def prepare(self) -> None:
        """Derive fused or folded copies of the weights; called after every load."""

    def __reduce__(self) -> tuple:
        """Pickled as its layer and weights (for worker processes): what `prepare` derives is derived again."""
        return _rebuilt, (type(self), self.node, self.input_shape, self.dtype, self.params)

    def fresh(self, rng: np.random.Generator) -> list[Array]:
        """Fresh weights drawn like Keras's default initialisers (wrappers ask the layers they hold)."""
        forget = bool(self.a.get("unit_forget_bias"))
        return [initial_value(w, rng, forget) for w in self.specs]

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return x, mask

    def multiply_adds_per_step(self) -> int:
        """A rough cost of one row's step, which decides whether a batch is worth splitting across processes:
        every weight used once (a lookup table, such as Embedding's, is not)."""
        return sum(w.size for w in self.specs)


def _rebuilt(cls: type[Kernel], node: LayerNode, input_shape: Shape, dtype: np.dtype, params: list[Array]
             ) -> Kernel:
    kernel = cls(node, input_shape, dtype)
    kernel.load(params)
    return kernel


def make_kernel(node: LayerNode, input_shape: Shape, dtype: np.dtype) -> Kernel:
    cls = _KERNELS.get(node.type_name)
    if cls is None:
        from rnnspec.errors import RnnspecError

        raise RnnspecError("E501", f"the NumPy backend has no kernel for {node.type_name}", node.span)
    return cls(node, input_shape, dtype)


def kernels() -> dict[str, type[Kernel]]:
    from rnnspec.backends.numpy import kernels as _  # noqa: F401  (importing registers every family)

    return _KERNELS

