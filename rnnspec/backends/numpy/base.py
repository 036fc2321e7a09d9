"""The kernel contract: one class per layer type, holding that layer's weights and its inference in NumPy.

A kernel is built from the same resolved node and input shape as the checker's row, and takes its weights in
the order the registry declares (`node.kind.weights`), which is Keras's order: loading from Keras is a zip.
"""
from __future__ import annotations

import math
import threading
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from typing import Any, ClassVar, ContextManager, Iterator, Optional

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

    def fresh(self, rng: np.random.Generator) -> list[Array]:
        """Fresh weights drawn like Keras's default initialisers (wrappers ask the layers they hold)."""
        forget = bool(self.a.get("unit_forget_bias"))
        return [initial_value(w, rng, forget) for w in self.specs]

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return x, mask

    def lacks_steps(self, input_shape: tuple[int, ...]) -> bool:
        """Whether this input has no step for a layer that loops or reduces over the steps (Keras fails there)."""
        return False

    def largest_array(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        """Elements of the largest array `forward` allocates for these shapes (the E503 limit is checked on it):
        the output, unless the kernel works in something larger."""
        return math.prod(output_shape)

    def largest_product(self, input_shape: tuple[int, ...]) -> int:
        """Multiply-adds of the largest matrix product `forward` repeats on this input, which decides how many BLAS
        threads the call gets (see `blas_threads_for`); 0 where it runs none."""
        return 0


def make_kernel(node: LayerNode, input_shape: Shape, dtype: np.dtype) -> Kernel:
    cls = _KERNELS.get(node.type_name)
    if cls is None:
        from rnnspec.errors import RnnspecError

        raise RnnspecError("E501", f"the NumPy backend has no kernel for {node.type_name}", node.span)
    return cls(node, input_shape, dtype)


def kernels() -> dict[str, type[Kernel]]:
    from rnnspec.backends.numpy import kernels as _  # noqa: F401  (importing registers every family)

    return _KERNELS



# ------------------------------------------------------------ BLAS threads

ONE_THREAD_BELOW = 0  # multiply-adds of a product under which BLAS threads do not pay (measured, see below)


@lru_cache(maxsize=1)
def _blas_libraries() -> tuple[Any, ...]:
    """threadpoolctl's controllers of the BLAS libraries loaded (NumPy's): finding them scans the process once."""
    from threadpoolctl import ThreadpoolController

    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


_one_thread_lock = threading.Lock()
_one_thread_users = 0
_restore: list[tuple[Any, int]] = []  # (library, its thread count) as found by the first user


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread while any caller is inside. The setting is process-wide, so concurrent callers share
    it: the first to enter saves the libraries' thread counts and sets one, the last to leave restores them."""
    global _one_thread_users
    with _one_thread_lock:
        if _one_thread_users == 0:
            _restore[:] = [(library, library.num_threads) for library in _blas_libraries()]
            for library, _ in _restore:
                library.set_num_threads(1)
        _one_thread_users += 1
    try:
        yield
    finally:
        with _one_thread_lock:
            _one_thread_users -= 1
            if _one_thread_users == 0:
                for library, threads in _restore:
                    library.set_num_threads(threads)


def blas_threads(largest_product: int) -> ContextManager[None]:
    """One BLAS thread for a call whose products are all too small to gain from more, BLAS's own count otherwise.

    A small product split over threads gains nothing alone and loses much next to a busy neighbour: OpenBLAS's
    threads spin-wait for each other, so one preempted thread stalls every step (two processes running LSTM(512)
    at batch 32 took 4x their solo time each with two threads, 2x with one)."""
    return one_blas_thread() if largest_product < ONE_THREAD_BELOW else nullcontext()
