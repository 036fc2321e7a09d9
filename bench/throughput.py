"""In-process parse + inference of the stacked seed model: models per second (target: >= 3,000); and the time to
check specs that would exhaust a checker that unrolls or recurses (target: milliseconds); and a functional model
of 1,000 layers with merges (target: well under a second)."""
from __future__ import annotations

import statistics
import sys
import time

import rnnspec

STACKED = "Embedding(10000, 32) > SimpleRNN(32, seq) x3 > SimpleRNN(32)"
HUGE = {
    "LSTM(32, seq) x 1000000": "Input(5, 3) > LSTM(32, seq) x 1000000 > Dense(1)",
    "nested repeats, 10^9 layers": "Input(5, 3) > ((LSTM(32, seq) > GRU(8, seq)) x 50000) x 10000",
    "100 nested groups": "Input(3) > " + "(" * 99 + "Dense(1)" + ")" * 99,
}
# A functional model of 1,000 layers: 250 blocks of two branches merged (Dense, Dense, Add, Dropout).
FUNCTIONAL = "x0 = Input(16)\n" + "".join(
    f"a{i} = x{i} > Dense(16)\nb{i} = x{i} > Dense(16)\nx{i + 1} = (a{i}, b{i}) > Add > Dropout(0.1)\n"
    for i in range(250))


def rate(seconds: float = 1.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            (report,) = rnnspec.check(STACKED)
            assert report.total == 328_320
        count += 100
    return count / (time.perf_counter() - start)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rate(0.5)  # parser tables loaded and caches warm, as in any long-running program
    rates = [rate() for _ in range(rounds)]
    per_model = 1e6 / statistics.median(rates)
    print(f"parse + inference of the stacked seed model, {rounds} rounds of 1 s")
    print(f"  median {statistics.median(rates):,.0f} models/s ({per_model:.0f} us per model), "
          f"min {min(rates):,.0f}, max {max(rates):,.0f}   target >= 3,000")
    print("checking specs a naive checker would unroll (median of 20)")
    for label, spec in HUGE.items():
        print(median_check(label, spec))
    print("a functional model with merges (median of 20)   target: well under 1 s")
    print(median_check("250 merged branch pairs", FUNCTIONAL))


def median_check(label: str, spec: str) -> str:
    """`label  time  layers`: the median of 20 checks of a spec that must check clean."""
    times = []
    for _ in range(20):
        start = time.perf_counter()
        (report,) = rnnspec.check(spec)
        times.append(time.perf_counter() - start)
        assert report.ok, report.errors
    return f"  {label:<28} {statistics.median(times) * 1e3:6.2f} ms   {report.layer_count:>13,} layers"


if __name__ == "__main__":
    main()
