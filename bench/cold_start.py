"""Fresh-process timings: `rnnspec check` of the stacked seed spec vs Keras building it and printing its summary,
measured alternately in one run (target: median ratio >= 15x), and the cold check vs `python -c 'import lark'`."""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

STACKED = "Embedding(10000, 32) > SimpleRNN(32, seq) x3 > SimpleRNN(32)"
KERAS_SCRIPT = """
import keras
model = keras.Sequential([
    keras.Input(shape=(None,), dtype="int32"),
    keras.layers.Embedding(10000, 32),
    keras.layers.SimpleRNN(32, return_sequences=True),
    keras.layers.SimpleRNN(32, return_sequences=True),
    keras.layers.SimpleRNN(32, return_sequences=True),
    keras.layers.SimpleRNN(32),
])
model.summary()
"""


def timed(command: list[str]) -> float:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def rnnspec_command() -> list[str]:
    script = Path(sys.executable).parent / "rnnspec"
    found = str(script) if script.exists() else shutil.which("rnnspec")
    if found is None:
        raise SystemExit("install rnnspec first: pip install -e '.[keras]'")
    return [found, "check", "-e", STACKED]


def compile_bytecode() -> None:
    """rnnspec's modules compiled once, as an installed package's are: Python does it on the first import, unless
    PYTHONDONTWRITEBYTECODE is set (as in this sandbox), when every run would compile every module again (about
    70 ms), a cost no installed copy pays; Keras and Lark come with theirs."""
    import compileall

    import rnnspec

    compileall.compile_dir(str(Path(rnnspec.__file__).parent), quiet=1)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    compile_bytecode()
    check, keras_cmd, lark_cmd = rnnspec_command(), [sys.executable, "-c", KERAS_SCRIPT], [sys.executable, "-c", "import lark"]
    timed(check), timed(keras_cmd)  # warm the OS file cache and Lark's parser-table cache
    checks, kerases, larks, ratios = [], [], [], []
    for _ in range(runs):
        c, k, l = timed(check), timed(keras_cmd), timed(lark_cmd)
        checks.append(c), kerases.append(k), larks.append(l), ratios.append(k / c)
    med = statistics.median
    print(f"fresh processes, {runs} alternating runs (medians)")
    print(f"  rnnspec check -e STACKED      {med(checks) * 1000:8.0f} ms")
    print(f"  keras build + summary         {med(kerases) * 1000:8.0f} ms")
    print(f"  python -c 'import lark'       {med(larks) * 1000:8.0f} ms")
    print(f"  keras / rnnspec check         {med(ratios):8.1f}x   target >= 15x")
    print(f"  rnnspec check - import lark   {(med(checks) - med(larks)) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
