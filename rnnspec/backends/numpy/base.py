"""The kernel contract: one class per layer type, holding that layer's weights and its inference in NumPy.

A kernel is built from the same resolved node and input shape as the checker's row, and takes its weights in
the order the registry declares (`node.kind.weights`), which is Keras's order: loading from Keras is a zip.
"""
from __future__ import annotations

import math
import os
import threading
import time
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from typing import Any, ClassVar, ContextManager, Iterator, Optional

import numpy as np

from rnnspec.backends.numpy.init import initial_value
from rnnspec.layers.base import LayerNode, Weight
from rnnspec.layers.objects import initializer_for
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
        return [initial_value(w, rng, forget, initializer_for(self.a, w.name)) for w in self.specs]

    stateful = False  # keeps its final states as the next call's initial states (see kernels.recurrent)

    def reset_states(self) -> None:
        """Forget the states a stateful layer carries from call to call (the next call starts from zeros)."""

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return x, mask

    def call(self, inputs: list[Array], masks: list[Mask], initial_state: list[Array] | None = None
             ) -> tuple[list[Array], list[Mask]]:
        """One call in a functional model: its input tensors (several for a merge) with their masks, and the
        `initial_state` arrays where the spec gives them; returns every output (the output, then the states with
        `return_state`) with its mask, as Keras's `compute_mask` gives them. A chain calls `forward`."""
        y, mask = self.forward(inputs[0], masks[0])
        return [y], [mask]

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
#
# OpenBLAS splits a product over its threads, which spin-wait for each other: on an idle core a large product
# gains, but next to a busy neighbour one preempted thread stalls every step of a time loop. Measured on this
# 2-core machine, whole model calls (100 steps), 1 thread against 2 in 5 interleaved rounds with a 0.25 s pause
# before each (a thread left spinning by the previous run slows the next one: without the pause, small products
# at large batches seemed to lose with threads). By the multiply-adds of the per-step product: below half a
# million, 1.01-1.02x for every shape tried (LSTM(32) at batch 48, LSTM(64) at 16, LSTM(128) at 4, GRU(256) at 2,
# SimpleRNN(256) at 4; OpenBLAS itself uses one thread there); from 0.53 million, 1.07-1.66x (LSTM(32) at batch
# 64: 1.11x, LSTM(128) at 8: 1.33x, GRU(128) at 32: 1.45x, LSTM(512) at 1: 1.66x), SimpleRNN(128) at batch 32
# (0.66 million) the one exception at 1.00x. With other jobs on the machine, whole calls took 1.4-7x longer
# with two threads (LSTM(512) at batch 32: 452 ms against 116 ms), and two processes side by side took 4x their
# solo time each with two threads, about their solo time with one. So a call runs on one BLAS thread unless its
# largest product is at least ONE_THREAD_BELOW and the other processes leave a core idle.

ONE_THREAD_BELOW = 1 << 19  # multiply-adds of a product (524,288) below which BLAS threads do not pay
SAMPLE_EVERY = 0.5  # seconds between two looks at how busy the other processes keep the cores


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
                _set_threads(library, 1)
        _one_thread_users += 1
    try:
        yield
    finally:
        with _one_thread_lock:
            _one_thread_users -= 1
            if _one_thread_users == 0:
                for library, threads in _restore:
                    _set_threads(library, threads)


def _set_threads(library: Any, threads: int) -> None:
    """threadpoolctl lets only the first thread that limits OpenBLAS's process-wide pool change it (the others'
    calls do nothing, silently); the count above already serialises ours, so whichever thread is first or last
    sets it, and leaves no thread in control."""
    release = getattr(type(library), "clear_controlling_thread", None)
    if release is not None:
        release(force=True)
    library.set_num_threads(threads)
    if release is not None:
        release()


class IdleCores:
    """Cores the other processes left idle lately: the machine's busy time (/proc/stat) less this process's own
    (os.times, all its threads), over the last SAMPLE_EVERY seconds or more. None where /proc/stat is missing
    (not Linux); 0 until a first interval has passed, so a process that makes one call never starts threads."""

    def __init__(self) -> None:
        self.last: tuple[float, float, float] | None = None  # (wall clock, machine busy, own CPU), in seconds
        self.idle: float | None = 0.0

    def __call__(self) -> float | None:
        now = time.monotonic()
        last = self.last
        if last is not None and now - last[0] < SAMPLE_EVERY:
            return self.idle
        busy = machine_busy()
        if busy is None:
            self.idle = None
            return None
        times = os.times()
        sample = (now, busy, times.user + times.system)
        if last is not None:
            others = (sample[1] - last[1]) - (sample[2] - last[2])
            self.idle = (os.cpu_count() or 1) - max(others, 0.0) / (now - last[0]) - 1  # less the core we run on
        self.last = sample
        return self.idle


def machine_busy() -> float | None:
    """Seconds all cores have spent busy since boot (user, nice, system, irq, softirq, steal), or None."""
    try:
        with open("/proc/stat", "rb") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    ticks = [int(v) for v in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


idle_cores = IdleCores()


def blas_threads(largest_product: int) -> ContextManager[None]:
    """BLAS's own thread count for a call with a product large enough to gain from threads while another core is
    idle; one thread otherwise (see the note above)."""
    if largest_product >= ONE_THREAD_BELOW:
        idle = idle_cores()
        if idle is None or idle >= 0.5:
            return nullcontext()
    return one_blas_thread()
