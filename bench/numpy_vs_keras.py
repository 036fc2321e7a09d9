"""NumPy backend vs Keras at inference, measured in one run (medians of repeated timings).

For SimpleRNN, LSTM and GRU at units 32/128/512 and batch 1/32/256 over 100 steps of 32 features, and the
stacked seed model at batch 32, prints the NumPy time against Keras `model.predict`, a `tf.function`-compiled
call, and the model's own matrix products alone; then the cold start of a fresh process that loads a saved
model and predicts one batch, NumPy (.npz) against Keras (.keras).

    python bench/numpy_vs_keras.py            # the whole table (a few minutes)
    python bench/numpy_vs_keras.py --quick    # units 32/128, batch 1/32
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import rnnspec  # noqa: E402

STEPS, FEATURES = 100, 32
STACKED = "Embedding(10000, 32) > SimpleRNN(32, seq) x3 > SimpleRNN(32)"


def timed(fn: Callable[[], object], budget: float = 0.4, least: int = 3) -> float:
    """Median seconds per call over at least `least` calls or `budget` seconds."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < least or time.perf_counter() - start < budget:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if len(times) >= 200:
            break
    return statistics.median(times)


def matmul_only(kind: str, units: int, batch: int) -> Callable[[], object]:
    """The products a recurrent layer cannot avoid: the input projection once, then `h @ U` per step."""
    gates = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch * STEPS, FEATURES)).astype("float32")
    w = rng.normal(size=(FEATURES, gates * units)).astype("float32")
    u = rng.normal(size=(units, gates * units)).astype("float32")
    h = np.zeros((batch, units), "float32")
    out = np.empty((batch, gates * units), "float32")

    def run() -> None:
        x @ w
        for _ in range(STEPS):
            np.matmul(h, u, out=out)

    return run


def row(label: str, spec: str, batch: int, ints: bool = False, with_matmul: tuple | None = None) -> dict[str, float]:
    import tensorflow as tf

    report = rnnspec.select(spec)
    keras_model = rnnspec.compile(report)
    model = rnnspec.compile(report, backend="numpy")
    model.set_weights(keras_model.get_weights())
    rng = np.random.default_rng(1)
    x = rng.integers(1, 10000, size=(batch, STEPS)).astype("int32") if ints else \
        rng.normal(size=(batch, STEPS, FEATURES)).astype("float32")
    np.testing.assert_allclose(model(x), keras_model.predict(x, verbose=0), atol=1e-4)
    compiled = tf.function(lambda t: keras_model(t, training=False))
    tensor = tf.constant(x)
    result = {
        "numpy": timed(lambda: model(x)),
        "predict": timed(lambda: keras_model.predict(x, batch_size=batch, verbose=0)),
        "tf.function": timed(lambda: compiled(tensor).numpy()),
    }
    if with_matmul:
        result["matmul"] = timed(matmul_only(*with_matmul))
    return result


def cold_start() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        npz, keras_file, x = Path(tmp, "m.npz"), Path(tmp, "m.keras"), Path(tmp, "x.npy")
        report = rnnspec.select(STACKED)
        keras_model = rnnspec.compile(report)
        keras_model.save(keras_file)
        from rnnspec.backends.numpy.weights_io import save_npz

        model = rnnspec.compile(report, backend="numpy")
        model.set_weights(keras_model.get_weights())
        save_npz(model, npz, source=STACKED)
        np.save(x, np.random.default_rng(0).integers(1, 10000, size=(32, STEPS)).astype("int32"))
        numpy_code = ("import numpy as np; from rnnspec.backends.numpy.weights_io import load_npz; "
                      f"m = load_npz({str(npz)!r}); m(np.load({str(x)!r}))")
        keras_code = (f"import numpy as np, keras; m = keras.saving.load_model({str(keras_file)!r}); "
                      f"m.predict(np.load({str(x)!r}), verbose=0)")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        ours, theirs = [], []
        for _ in range(5):
            for code, sink in ((numpy_code, ours), (keras_code, theirs)):
                t = time.perf_counter()
                subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
                sink.append(time.perf_counter() - t)
        return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    quick = "--quick" in sys.argv
    units_list, batches = ([32, 128], [1, 32]) if quick else ([32, 128, 512], [1, 32, 256])
    print(f"{STEPS} steps of {FEATURES} features; times are medians; ratio = Keras time / NumPy time")
    print(f"{'model':<22}{'batch':>6}{'numpy ms':>10}{'predict ms':>12}{'x':>7}{'tf.fn ms':>10}{'x':>7}"
          f"{'matmul ms':>11}{'np/mm':>7}")
    for kind in ("SimpleRNN", "LSTM", "GRU"):
        for units in units_list:
            for batch in batches:
                r = row(f"{kind}({units})", f"Input({STEPS}, {FEATURES}) > {kind}({units})", batch,
                        with_matmul=(kind, units, batch))
                print(f"{kind + f'({units})':<22}{batch:>6}{r['numpy'] * 1e3:>10.2f}{r['predict'] * 1e3:>12.2f}"
                      f"{r['predict'] / r['numpy']:>7.1f}{r['tf.function'] * 1e3:>10.2f}"
                      f"{r['tf.function'] / r['numpy']:>7.2f}{r['matmul'] * 1e3:>11.2f}{r['numpy'] / r['matmul']:>7.2f}",
                      flush=True)
    r = row("stacked seed", STACKED, 32, ints=True)
    print(f"{'stacked seed':<22}{32:>6}{r['numpy'] * 1e3:>10.2f}{r['predict'] * 1e3:>12.2f}"
          f"{r['predict'] / r['numpy']:>7.1f}{r['tf.function'] * 1e3:>10.2f}{r['tf.function'] / r['numpy']:>7.2f}")
    ours, theirs = cold_start()
    print(f"cold start (fresh process: import, load saved model, predict 32 x {STEPS}): "
          f"numpy {ours * 1e3:.0f} ms, keras {theirs * 1e3:.0f} ms, {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
