"""Independent parts of a large batch on every core, in worker processes.

A recurrent layer's time loop is a chain of small NumPy calls: BLAS spreads its products over the cores, but every
ufunc (the gates' exp and tanh, most of the work at small and mid sizes) runs on one. Rows of a batch never
interact at inference, so a large enough batch is cut into one part per core: this process runs the first part
and each worker process one other, with BLAS held to one thread meanwhile (threadpoolctl) so that the parts do not
fight over the cores. Threads cannot do this: every NumPy call takes the GIL, and with a dozen calls per step the
threads queue on it (measured: two threads on halves of LSTM(32) at batch 256 took 1.2x the time of one thread on
the whole; two processes take about 0.6x).

Workers are plain `python -m rnnspec.backends.numpy.worker` processes on a socket pair, started in the background
by the second call large enough to split (which runs unsplit, as every call does until a worker is ready). They
hold a copy of each model's kernels, sent once per weight version, and exit when this process closes its end.
`RNNSPEC_WORKERS=0` turns them off; any failure of a worker turns them off for this process, and the call runs
here instead: a worker can make a call faster, never wrong or failed.
"""
from __future__ import annotations

import atexit
import itertools
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections import OrderedDict
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

SPLIT_WORK = 10_000_000   # multiply-adds (rows x steps x weights) from which a call is split (about 1 ms of work)
MIN_PART = 16             # rows per part at least: smaller parts gain less than the hand-off costs (measured)
WEIGHTS_PER_ROW = 16_384  # ... and a row per this many weights used per step: a product of few rows by many weights
                          # runs far below BLAS's speed (measured: 512-unit layers gain at 128 rows a part, lose at 16)
CACHED_MODELS = 8         # models a worker keeps (their weights), least recently used dropped first
_SPLIT = threading.Lock()  # one split at a time: each already uses every core, and the BLAS limit is process-wide
_keys = itertools.count()
splits = 0  # calls split so far (tests ask)

# A worker's BLAS on one thread from the start: threads it never uses would otherwise exist, and OpenBLAS's spin
# for ~0.1 s after each threaded call, taking the core the other part runs on.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

Array = np.ndarray
Forward = Callable[[Array, Optional[Array]], Array]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def new_key() -> int:
    """A model's identity in the workers' caches (ids of freed objects are reused; these are not)."""
    return next(_keys)


@lru_cache(maxsize=1)
def _blas() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


class Worker:
    """One worker process and this process's record of which model versions it holds."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        package_parent = str(Path(__file__).resolve().parents[3])
        path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rnnspec.backends.numpy.worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=path, **ONE_THREAD))
        self.connection = Connection(ours.detach())
        self.ready = False
        self.held: OrderedDict[int, int] = OrderedDict()  # model key -> weight version

    def is_ready(self) -> bool:
        """Whether the worker has started (it says so once its imports are done); never waits."""
        if not self.ready and self.connection.poll(0):
            self.ready = self.connection.recv() == ("ready",)
            if not self.ready:
                raise OSError("the worker did not start")
        return self.ready

    def send(self, key: int, version: int, layers: object, x: Array, mask: Array | None) -> None:
        """Ask for the model on `x`; the layers travel only if the worker lacks this version of them."""
        shipped = None if self.held.get(key) == version else pickle.dumps(layers, pickle.HIGHEST_PROTOCOL)
        self.held[key] = version
        self.held.move_to_end(key)
        dropped = [self.held.popitem(last=False)[0] for _ in range(len(self.held) - CACHED_MODELS)]
        mask_shape = None if mask is None else mask.shape
        self.connection.send(("run", key, shipped, dropped, x.shape, x.dtype.str, mask_shape))
        self.connection.send_bytes(np.ascontiguousarray(x))
        if mask is not None:
            self.connection.send_bytes(np.ascontiguousarray(mask, bool))

    def receive(self) -> Array:
        reply = self.connection.recv()
        if reply[0] != "ok":
            raise OSError(f"the worker failed: {reply[1]}")
        _, shape, dtype = reply
        out = np.empty(shape, dtype)
        if out.nbytes:
            self.connection.recv_bytes_into(memoryview(out).cast("B"))
        else:
            self.connection.recv_bytes()
        return out

    def close(self) -> None:
        """Ended at once (it holds nothing to keep): waiting for one still importing would delay our exit."""
        self.connection.close()
        self.process.kill()
        self.process.wait()


class _Pool:
    """The workers of this process (a forked child starts its own: the sockets are its parent's)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.workers: list[Worker] = []
        self.failed = False
        self.large_calls = 0

    def wanted(self) -> int:
        setting = os.environ.get("RNNSPEC_WORKERS", "").strip()
        if self.failed or _blas() is None or os.name != "posix" or not sys.executable:
            return 0
        if setting.isdigit():
            return int(setting)
        return cores() - 1

    def ready(self) -> list[Worker]:
        """The workers able to take a part of a large call now. The second large call starts them: a process
        that makes one (`rnnspec run`, a script) would only pay for their start-up."""
        self.large_calls += 1
        if self.large_calls >= 2:
            self.start()
        return self.answering()

    def start(self) -> None:
        if not self.workers and self.wanted() > 0:
            try:
                self.workers = [Worker() for _ in range(self.wanted())]
            except OSError:
                self.fail()

    def answering(self) -> list[Worker]:
        try:
            return [w for w in self.workers if w.is_ready()]
        except (OSError, EOFError):
            self.fail()
            return []

    def fail(self) -> None:
        """A worker that cannot start or answer turns them all off: the calls run here, as without workers."""
        self.failed = True
        self.close()

    def close(self) -> None:
        workers, self.workers = self.workers, []
        for worker in workers:
            try:
                worker.close()
            except OSError:
                pass


_pool: _Pool | None = None


def pool() -> _Pool:
    global _pool
    if _pool is None or _pool.pid != os.getpid():
        _pool = _Pool()
    return _pool


@atexit.register
def _close() -> None:
    if _pool is not None and _pool.pid == os.getpid():
        _pool.close()


def wait_until_ready(timeout: float = 30.0) -> int:
    """Start the workers and wait for them (tests, benchmarks); how many are ready."""
    workers = pool()
    workers.start()
    for worker in list(workers.workers):
        try:
            if worker.ready or worker.connection.poll(timeout):
                worker.is_ready()
        except (OSError, EOFError):
            workers.fail()
    return len(workers.answering())


def split_call(forward: Forward, key: int, version: int, layers: object, x: Array, mask: Array | None,
               weights_per_step: int) -> Array | None:
    """`forward(x, mask)` with the batch split across this process and the ready workers, or None where the call
    is too small to gain, no worker is ready, or another split is running (each split uses every core).
    `weights_per_step`: the multiply-adds of one row's step, a rough measure of the model's cost."""
    steps = x.shape[1] if x.ndim > 1 else 1
    part = max(MIN_PART, -(-weights_per_step // WEIGHTS_PER_ROW))
    if len(x) * steps * weights_per_step < SPLIT_WORK or len(x) < 2 * part or not _SPLIT.acquire(blocking=False):
        return None
    try:
        workers = pool()
        ready = workers.ready()[:len(x) // part - 1]
        return _in_parts(workers, ready, forward, (key, version, layers), x, mask) if ready else None
    finally:
        _SPLIT.release()


def _in_parts(workers: _Pool, ready: list[Worker], forward: Forward, model: tuple[int, int, object], x: Array,
              mask: Array | None) -> Array | None:
    """The first part here, one part per ready worker; a worker that fails has its part run here too."""
    global splits
    bounds = np.linspace(0, len(x), len(ready) + 2).astype(int)
    parts = [(x[a:b], None if mask is None else mask[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    done = False
    try:
        try:
            for worker, part in zip(ready, parts[1:]):
                worker.send(*model, *part)
        except (OSError, EOFError, pickle.PicklingError, TypeError, AttributeError):
            workers.fail()
            return None
        with _blas().limit(limits=1, user_api="blas"):
            outputs = [forward(*parts[0])]
        for worker, part in zip(ready, parts[1:]):
            try:
                outputs.append(worker.receive())
            except (OSError, EOFError):
                workers.fail()
                outputs.append(forward(*part))
        done = True
    finally:
        if not done and not workers.failed:  # an error or interrupt left replies unread: fresh workers next time
            workers.close()
    splits += 1
    return np.concatenate(outputs)
