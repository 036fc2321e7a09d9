"""In-process parse + inference of the stacked seed model: models per second (target: >= 3,000)."""
from __future__ import annotations

import statistics
import sys
import time

import rnnspec

STACKED = "Embedding(10000, 32) > SimpleRNN(32, seq) x3 > SimpleRNN(32)"


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


if __name__ == "__main__":
    main()
