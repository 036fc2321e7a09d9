"""Growth per doubling of every input shape the checker meets, up to the 1 MiB limit of a spec.

Each row doubles one shape (layers in a chain, models per file, broken blocks, errors, shape notes, ...), times
the work at each size, and prints the ratio of each time to the one before. A linear cost doubles (ratio ~2);
a quadratic one quadruples. The script exits 1 when a row grows super-linearly: the growth per doubling fitted
(least squares on log2 of the time) over its last four sizes long enough to time reliably is above 2.6. A fit,
not the last ratio, because this machine is shared: one slow run makes one ratio high and the next one low,
and moves a fit over four sizes far less. The core passes run in this process; the
command-line rows run `rnnspec check` as a subprocess, minus the time of a check of one tiny file.

    .venv/bin/python bench/scaling.py           # every row up to 1 MiB (a few minutes)
    .venv/bin/python bench/scaling.py --quick   # up to 128 KiB, trees up to 2,048 files
    .venv/bin/python bench/scaling.py --only broken
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rnnspec.api import check
from rnnspec.cost import model_cost
from rnnspec.drawing import render
from rnnspec.formatting import format_spec
from rnnspec.parser import MAX_SOURCE_CHARS
from rnnspec.unparse import spec_text
from rnnspec.update import update_spec

LIMIT_RATIO = 2.6  # growth per doubling above this: super-linear (linear is 2, quadratic 4)
SIZES_FITTED = 4
NOISE_FLOOR = 0.02  # seconds: shorter runs are printed but not judged
CLI_NOISE_FLOOR = 0.2  # a process start alone varies by tens of milliseconds
RNNSPEC = str(Path(sys.executable).parent / "rnnspec")


@dataclass
class Row:
    """One input shape: `unit(i)` is the i-th piece of text (a layer, a model, a file), `head` comes first."""

    name: str
    unit: Callable[[int], str]
    head: str = ""
    tail: str = ""
    run: str = "check"  # check | fill | fmt | update | graph | cost | cli-text | cli-tree | cli-json
    memory: bool = False
    both: str = ""  # a second piece per unit, after all the first ones (assertions after a chain)


def _layers(body: str) -> Callable[[int], str]:
    return lambda i: f" > {body}"


ROWS = [
    Row("chain: layers, one per line", lambda i: "\n    > Dense(4)", head="Input(4)"),
    Row("line: layers on one line", _layers("Dense(4)"), head="Input(4)"),
    Row("models per file", lambda i: f"model m{i}:\n    Input(4) > Dense(4)\n"),
    Row("broken blocks", lambda i: f"model m{i}:\n    Input(4) > Dense(4 >\n", memory=True),
    Row("errors in one model", _layers("Dense(-1)"), head="Input(4)"),
    Row("models with an error each", lambda i: f"model m{i}:\n    Input(4) > Dense(4) > LSTM(2)\n"),
    Row("shape notes", _layers("Dense(4) : (None, 4)"), head="Input(4)"),
    Row("shape notes that fail", _layers("Dense(4) : (None, 5)"), head="Input(4)"),
    Row("layers and failed assertions", _layers("LSTM(4, seq)"), head="Input(5, 3)",
        both="\nexpect shape (None, 4)"),
    Row("Dense after seq (lint W100)", _layers("Dense(4)"), head="Input(5, 3) > LSTM(4, seq)"),
    Row("repeated groups", _layers("(Dense(4) > Dropout(0.5)) x2"), head="Input(4)"),
    Row("nested repeats, folded", _layers("(Dense(4) x3 > (Dropout(0.5) x2) x2) x5000"), head="Input(4)"),
    Row("long layer name (unknown)", lambda i: "Q" * 64, head="Input(4) > Dense", tail="(4)"),
    Row("long model name", lambda i: "m" * 64, head="model ", tail=":\n    Input(4) > Dense(4)\n"),
    Row("fill: a chain written back", _layers("LSTM(4, seq)"), head="Input(5, 3)", run="fill"),
    Row("fill: repeats written back", _layers("(LSTM(4, seq) x9 > GRU(4, seq)) x99"), head="Input(5, 3)",
        run="fill"),
    Row("functional: merges, a shared layer", lambda i: f"\na{i} = x{i} > Dense(4)\nx{i + 1} = (a{i}, x{i} > shared) > Add",
        head="x0 = Input(4)\nshared = Dense(4)"),
    Row("functional: states and unpacking", lambda i: f"\ny{i + 1}, h{i + 1} = y{i} > GRU(4, seq, state, initial_state=h{i})",
        head="y0 = Input(5, 4)\nh0 = Input(4)"),
    Row("fill: a functional model written back", lambda i: f"\na{i} = x{i} > Dense(4)\nx{i + 1} = (a{i}, x{i}) > Add",
        head="x0 = Input(4)", run="fill"),
    Row("fmt: a messy chain laid out", lambda i: "\n  >Dense( 4 )   # a comment", head="Input(4)", run="fmt"),
    Row("fmt: models per file", lambda i: f"model m{i}:  Input(4)>Dense(4)\n\n\n", run="fmt"),
    Row("update: failed assertions rewritten", _layers("Dense(4) : (None, 5)"), head="Input(4)", run="update"),
    Row("update: expect lines added per model", lambda i: f"model m{i}:\n    Input(4) > Dense(4)\n", run="update"),
    Row("graph: a chain drawn (svg, dot, mermaid)", _layers("LSTM(4, seq)"), head="Input(5, 3)", run="graph"),
    Row("graph: a functional model drawn", lambda i: f"\na{i} = x{i} > Dense(4)\nx{i + 1} = (a{i}, x{i} > shared) > Add",
        head="x0 = Input(4)\nshared = Dense(4)", run="graph"),
    Row("cost: a chain of unknown length, fitted in T", _layers("LSTM(4, seq)"), head="Input(None, 3)", run="cost"),
    Row("cost: a strided chain, inferred at each length", _layers("Conv1D(4, 3, strides=2, padding=same)"),
        head="Input(None, 3)", run="cost"),
    Row("cli: errors printed per file", lambda i: "\n    > Dense(-1)", head="Input(4)", run="cli-text"),
    Row("cli: files in a tree", lambda i: "Input(4) > Dense(4)\n", run="cli-tree"),
    Row("cli: JSON over many files", lambda i: "Input(4) > Dense(4)\n", run="cli-json", memory=True),
]


def source_of(row: Row, count: int) -> str:
    return row.head + "".join(row.unit(i) for i in range(count)) + row.tail + row.both * count


def sizes(row: Row, max_chars: int, max_files: int) -> list[int]:
    """Unit counts doubling from about 2 KiB of text (or 32 files) to the largest under the limit."""
    if row.run.startswith("cli-tree") or row.run == "cli-json":
        counts, count = [], 32
        while count <= max_files:
            counts.append(count)
            count *= 2
        return counts
    per_unit = max(len(row.unit(0)) + len(row.both), 1)
    count = max(2048 // per_unit, 1)
    counts = []
    if row.run == "update":  # the updated file must stay within the limit too: it gains expect lines
        max_chars //= 3
    while len(source_of(row, count)) <= max_chars:
        counts.append(count)
        count *= 2
    return counts


def _in_process(row: Row, source: str) -> None:
    if row.run == "fmt":
        format_spec(source)
        return
    if row.run == "update":
        update_spec(source)
        return
    reports = check(source, path="bench.rnn")
    for report in reports:
        if row.run == "fill":
            spec_text(report, fill=True)
        elif row.run == "graph":
            for fmt in ("svg", "dot", "mermaid"):
                render(report, fmt)
        elif row.run == "cost":
            model_cost(report)


def _cli(row: Row, count: int, workdir: Path) -> tuple[float, int]:
    """Seconds and peak resident kilobytes of one `rnnspec check` (exit status ignored: errors are the point)."""
    if row.run == "cli-text":
        target = workdir / "errors.rnn"
        target.write_text(source_of(row, count))
        command = [RNNSPEC, "check", str(target)] + (["--max-errors", "0"] if _has_max_errors() else [])
    else:
        tree = workdir / f"{row.run}-{count}"
        if tree.exists():
            return _timed_process(_tree_command(row, tree))
        tree.mkdir()
        for i in range(count):
            (tree / f"m{i}.rnn").write_text(row.unit(i))
        command = _tree_command(row, tree)
    return _timed_process(command)


def _tree_command(row: Row, tree: Path) -> list[str]:
    return [RNNSPEC, "check", str(tree)] + (["--format", "json"] if row.run == "cli-json" else [])


# Runs the `rnnspec` script in a process that writes its own peak memory at exit. VmHWM is the peak of this
# program's memory; ru_maxrss from wait4 would also count the peak of the bench that forked it.
PEAK_WRAPPER = """
import atexit, re, runpy, sys
out, script, sys.argv = sys.argv[1], sys.argv[2], sys.argv[2:]
def peak():
    status = open('/proc/self/status').read()
    open(out, 'w').write(re.search(r'VmHWM:\\s*(\\d+)', status).group(1))
atexit.register(peak)
runpy.run_path(script, run_name='__main__')
"""


def _timed_process(command: list[str]) -> tuple[float, int]:
    """Seconds and peak resident kilobytes of `command` (an `rnnspec ...` command line)."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", PEAK_WRAPPER, peak.name, *command], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        seconds = time.perf_counter() - start
        return seconds, int(peak.read() or 0)


_MAX_ERRORS: list[bool] = []


def _has_max_errors() -> bool:
    """Whether this version of `rnnspec check` has --max-errors (its text output is then capped by default)."""
    if not _MAX_ERRORS:
        help_text = subprocess.run([RNNSPEC, "check", "--help"], capture_output=True, text=True).stdout
        _MAX_ERRORS.append("--max-errors" in help_text)
    return _MAX_ERRORS[0]


def measure(row: Row, count: int, workdir: Path, startup: float) -> tuple[float, float | None]:
    """Seconds (the best of a few runs when they are short) and peak memory in MiB where it matters."""
    if row.run.startswith("cli"):  # the better of two runs: a process start varies by tens of milliseconds
        (seconds, peak_kib), again = _cli(row, count, workdir), _cli(row, count, workdir)
        return max(min(seconds, again[0]) - startup, 1e-4), peak_kib / 1024 if row.memory else None
    source = source_of(row, count)
    best = float("inf")
    deadline = time.perf_counter() + 0.3
    while best == float("inf") or (time.perf_counter() < deadline and best < 0.1):
        gc.collect()
        start = time.perf_counter()
        _in_process(row, source)
        best = min(best, time.perf_counter() - start)
    peak = None
    if row.memory:
        gc.collect()
        tracemalloc.start()
        _in_process(row, source)
        peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
        tracemalloc.stop()
    return best, peak


def growth_per_doubling(values: list[float], floor: float) -> float | None:
    """2 to the slope of log2(value) fitted over the last sizes at or above `floor`; None when too few to judge."""
    below = [i for i, value in enumerate(values) if value < floor]
    judged = values[below[-1] + 1 if below else 0:][-SIZES_FITTED:]
    if len(judged) < 3:
        return None
    fit = statistics.linear_regression(range(len(judged)), [math.log2(value) for value in judged])
    return 2 ** fit.slope


def run_row(row: Row, counts: list[int], workdir: Path, startup: float) -> bool:
    print(f"\n{row.name}")
    print(f"  {'units':>8} {'chars':>9} {'seconds':>9} {'ratio':>6}" + ("  peak MiB  ratio" if row.memory else ""))
    times: list[float] = []
    peaks: list[float] = []
    for count in counts:
        seconds, peak = measure(row, count, workdir, startup)
        ratio = f"{seconds / times[-1]:6.2f}" if times else " " * 6
        chars = len(source_of(row, count)) if not row.run.startswith("cli-") or row.run == "cli-text" else 0
        line = f"  {count:>8,} {chars:>9,} {seconds:9.4f} {ratio}"
        if peak is not None:
            line += f"  {peak:8.1f}  " + (f"{peak / peaks[-1]:5.2f}" if peaks else "")
            peaks.append(peak)
        print(line, flush=True)
        times.append(seconds)
    floor = CLI_NOISE_FLOOR if row.run.startswith("cli") else NOISE_FLOOR
    verdicts = [("time", growth_per_doubling(times, floor))]
    if peaks:
        verdicts.append(("memory", growth_per_doubling(peaks, 1.0)))
    failed = False
    for what, growth in verdicts:
        if growth is None:
            print(f"  {what}: too short to judge")
        else:
            bad = growth > LIMIT_RATIO
            failed |= bad
            print(f"  {what}: growth per doubling {growth:.2f} (fit over the last sizes) -> "
                  f"{'SUPER-LINEAR' if bad else 'linear'}")
    return not failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="up to 128 KiB of text and 2,048 files")
    parser.add_argument("--only", help="run only the rows whose name contains this")
    options = parser.parse_args()
    max_chars = MAX_SOURCE_CHARS // 8 if options.quick else MAX_SOURCE_CHARS
    max_files = 2048 if options.quick else 8192
    rows = [r for r in ROWS if options.only is None or options.only in r.name]
    workdir = Path(tempfile.mkdtemp(prefix="rnnspec-scaling-"))
    try:
        startup = 0.0
        if any(r.run.startswith("cli") for r in rows):
            tiny = workdir / "tiny.rnn"
            tiny.write_text("Input(4) > Dense(4)\n")
            startup = statistics.median(_timed_process([RNNSPEC, "check", str(tiny)])[0] for _ in range(3))
            print(f"rnnspec check of one tiny file: {startup:.3f} s (subtracted from the cli rows)")
        results = {row.name: run_row(row, sizes(row, max_chars, max_files), workdir, startup) for row in rows}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    bad = [name for name, ok in results.items() if not ok]
    print("\nsuper-linear: " + ", ".join(bad) if bad else "\nevery row grows linearly")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
