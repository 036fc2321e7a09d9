"""Large-budget robustness run: mangled specs and random text through `rnnspec check`'s path; prints how many
inputs ran, how many were accepted or refused, the worst time per input, and any input that escaped as a
non-rnnspec exception (there should be none).

    python bench/fuzz.py [COUNT]
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_fuzz import SEEDS, TOKENS, assert_robust  # noqa: E402  (one definition of the property)


def mangle(rng: random.Random) -> str:
    text = rng.choice(SEEDS)
    for _ in range(rng.randint(1, 6)):
        position = rng.randint(0, len(text))
        action = rng.choice(["insert", "delete", "double", "swap", "bytes"])
        if action == "insert":
            text = text[:position] + rng.choice(TOKENS) + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + rng.randint(1, 6):]
        elif action == "double":
            text = text[:position] + text[position:position + 8] * 2 + text[position + 8:]
        elif action == "swap":
            a, b = sorted((position, rng.randint(0, len(text))))
            text = text[:a] + text[b:b + 3] + text[a + 3:b] + text[a:a + 3] + text[b + 3:]
        else:
            text = text[:position] + "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(1, 5))) + text[position:]
    return text


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rng = random.Random(0)
    worst, worst_text, escaped = 0.0, "", 0
    start = time.perf_counter()
    for i in range(count):
        text = mangle(rng) if i % 4 else "".join(chr(rng.randint(0, 0x7F)) for _ in range(rng.randint(0, 120)))
        t = time.perf_counter()
        try:
            assert_robust(text)
        except Exception as err:  # noqa: BLE001 (counting escapes is the point)
            escaped += 1
            print(f"ESCAPED {type(err).__name__}: {text!r}")
        elapsed = time.perf_counter() - t
        if elapsed > worst:
            worst, worst_text = elapsed, text
    total = time.perf_counter() - start
    print(f"{count} inputs in {total:.1f} s; worst {worst * 1000:.1f} ms ({worst_text[:60]!r}); escaped: {escaped}")


if __name__ == "__main__":
    main()
