"""A worker process of the NumPy backend (see `parallel`): runs parts of a batch through models it is sent.

    python -m rnnspec.backends.numpy.worker FD    # FD: its end of a socket pair, inherited from the parent
"""
from __future__ import annotations

import pickle
import signal
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection

import numpy as np


def serve(connection: Connection) -> None:
    from threadpoolctl import threadpool_limits

    from rnnspec.backends.numpy.model import run_layers

    threadpool_limits(limits=1, user_api="blas")  # the parent's part runs on the other core meanwhile
    models: dict[int, Sequence[object]] = {}
    connection.send(("ready",))
    while True:
        try:
            _, key, shipped, dropped, shape, dtype, mask_shape = connection.recv()
        except EOFError:  # the parent closed its end or exited
            return
        x = np.frombuffer(connection.recv_bytes(), dtype).reshape(shape)
        mask = None if mask_shape is None else np.frombuffer(connection.recv_bytes(), bool).reshape(mask_shape)
        for old in dropped:
            models.pop(old, None)
        try:
            if shipped is not None:
                models[key] = pickle.loads(shipped)
            out = np.ascontiguousarray(run_layers(models[key], x, mask))  # type: ignore[arg-type]
        except Exception as error:  # noqa: BLE001  (the parent runs the part itself and reports any real error)
            connection.send(("error", f"{type(error).__name__}: {error}"))
            continue
        connection.send(("ok", out.shape, out.dtype.str))
        connection.send_bytes(out)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; the worker ends with it
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    main()
