"""Independent parts of a large batch on every core.

A recurrent layer's time loop is a chain of small NumPy calls: BLAS spreads its products over the cores, but every
ufunc (the gates' exp and tanh, most of the work at large batches) runs on one. Rows of a batch never interact, so
from SPLIT_BATCH rows on the batch is cut into one part per core, each looped in its own thread (NumPy releases
the GIL inside a ufunc), with BLAS held to one thread meanwhile so that the parts do not fight over the cores.
Only large steps gain: below SPLIT_VALUES gate values per step the threads' hand-offs cost more than they save.
threadpoolctl does that holding for whichever BLAS NumPy was built with; without it nothing is split.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable

import numpy as np

SPLIT_VALUES = 65_536  # gate values per step (batch x gates x units) from which a batch is split
MIN_PART = 64          # rows per part at least
# One split at a time: each uses every core, and the BLAS limit is process-wide, so overlapping limits from two
# caller threads could restore each other's setting and leave BLAS on one thread.
_SPLIT = threading.Lock()


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(cores(), thread_name_prefix="rnnspec")


@lru_cache(maxsize=1)
def _blas() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def parts_for(batch: int, values_per_step: int) -> int:
    """How many parts a batch runs as (1: not split)."""
    if values_per_step < SPLIT_VALUES or batch < 2 * MIN_PART or cores() < 2 or _blas() is None:
        return 1
    return max(1, min(cores(), batch // MIN_PART))


def map_parts(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, parts: int) -> np.ndarray:
    """`fn` on `parts` slices of the batch at once, the results joined in order."""
    with _SPLIT, _blas().limit(limits=1, user_api="blas"):
        return np.concatenate(list(_pool().map(fn, np.array_split(x, parts))))
