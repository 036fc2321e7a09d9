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


SETTLE = 0.15  # seconds between contenders: OpenBLAS's threads spin for ~0.1 s after a threaded call (TF's too)


def compared(fns: dict[str, Callable[[], object]], rounds: int = 7, budget: float = 0.06) -> dict[str, float]:
    """Median time of each, and the median over rounds of each one's ratio to the first (`x <name>`).

    The rounds interleave the contenders, so that a slow phase of this shared machine (timings here drift by up
    to 1.7x within seconds) slows all of them alike instead of whichever happened to run during it. A pause
    before each keeps the threads the previous one left spinning from taking a core from it."""
    per_round: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(SETTLE)
            per_round[name].append(timed(fn, budget=budget, least=2))
    first = next(iter(fns))
    result = {name: statistics.median(times) for name, times in per_round.items()}
    for name, times in per_round.items():
        result[f"x {name}"] = statistics.median(t / base for t, base in zip(times, per_round[first]))
    return result


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


def row(spec: str, batch: int, ints: bool = False, with_matmul: tuple | None = None) -> dict[str, float]:
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
    fns: dict[str, Callable[[], object]] = {
        "numpy": lambda: model(x),
        "predict": lambda: keras_model.predict(x, batch_size=batch, verbose=0),
        "tf.function": lambda: compiled(tensor).numpy(),
    }
    if with_matmul:
        fns["matmul"] = matmul_only(*with_matmul)
    return compared(fns)


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
    from rnnspec.backends.numpy import parallel

    workers = parallel.wait_until_ready()  # started before timing, as a running service would have them
    units_list, batches = ([32, 128], [1, 32]) if quick else ([32, 128, 512], [1, 32, 256])
    print(f"{STEPS} steps of {FEATURES} features; times are medians; x = median over interleaved rounds of "
          f"Keras time / NumPy time; np/mm = NumPy time / matmul time; {workers} NumPy worker process(es)")
    print(f"{'model':<22}{'batch':>6}{'numpy ms':>10}{'predict ms':>12}{'x':>7}{'tf.fn ms':>10}{'x':>7}"
          f"{'matmul ms':>11}{'np/mm':>7}")
    results: dict[tuple[str, int, int], dict[str, float]] = {}
    for kind in ("SimpleRNN", "LSTM", "GRU"):
        for units in units_list:
            for batch in batches:
                r = results[kind, units, batch] = row(f"Input({STEPS}, {FEATURES}) > {kind}({units})", batch,
                                                      with_matmul=(kind, units, batch))
                print(f"{kind + f'({units})':<22}{batch:>6}{r['numpy'] * 1e3:>10.2f}{r['predict'] * 1e3:>12.2f}"
                      f"{r['x predict']:>7.1f}{r['tf.function'] * 1e3:>10.2f}"
                      f"{r['x tf.function']:>7.2f}{r['matmul'] * 1e3:>11.2f}{1 / r['x matmul']:>7.2f}",
                      flush=True)
    r = row(STACKED, 32, ints=True)
    print(f"{'stacked seed':<22}{32:>6}{r['numpy'] * 1e3:>10.2f}{r['predict'] * 1e3:>12.2f}"
          f"{r['x predict']:>7.1f}{r['tf.function'] * 1e3:>10.2f}{r['x tf.function']:>7.2f}")
    print_targets(results, r)
    ours, theirs = cold_start()
    print(f"cold start (fresh process: import, load saved model, predict 32 x {STEPS}): "
          f"numpy {ours * 1e3:.0f} ms, keras {theirs * 1e3:.0f} ms, {theirs / ours:.1f}x   target >= 8x")


def print_targets(results: dict[tuple[str, int, int], dict[str, float]], stacked: dict[str, float]) -> None:
    """Each target of issue 3 against the worst row it covers."""
    def worst(key: str, keep: Callable[[str, int, int], bool], lowest: bool = True) -> tuple[float, str]:
        rows = [(1 / r[key] if key == "x matmul" else r[key], f"{k}({u}) b{b}")
                for (k, u, b), r in results.items() if keep(k, u, b)]
        if not rows:
            return float("nan"), "not measured"
        return min(rows) if lowest else max(rows)

    checks = [
        ("predict, batch <= 32, units <= 128", ">=", 10.0, worst("x predict", lambda k, u, b: b <= 32 and u <= 128)),
        ("predict, every size", ">=", 1.0, worst("x predict", lambda k, u, b: True)),
        ("tf.function, batch 1", ">=", 3.0, worst("x tf.function", lambda k, u, b: b == 1)),
        ("tf.function, batch 32, units <= 128", ">=", 1.3,
         worst("x tf.function", lambda k, u, b: b == 32 and u <= 128)),
        ("tf.function, every size", ">=", 0.9, worst("x tf.function", lambda k, u, b: True)),
        ("numpy / matmul, units 512", "<=", 1.4, worst("x matmul", lambda k, u, b: u == 512, lowest=False)),
    ]
    checks.append(("stacked seed vs predict, batch 32", ">=", 10.0, (stacked["x predict"], "stacked")))
    print("targets (worst row):")
    for label, op, target, (value, where) in checks:
        met = value >= target if op == ">=" else value <= target
        print(f"  {label:<38} {value:6.2f} {op} {target:<5} {'met' if met else 'MISSED'}  ({where})")


if __name__ == "__main__":
    main()
