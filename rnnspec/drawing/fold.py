"""Repeats found again in an unrolled path of layer calls: a repeat's copies are calls made from the same source
text, so their spans repeat with a period. Greedy and near-linear: at each position the candidate periods are the
next places its span recurs, a longer one only when it holds the whole run found so far (a nested repeat)."""
from __future__ import annotations

from bisect import bisect_right
from typing import Hashable, NamedTuple, Sequence, Union

TRIES = 4  # candidate periods that fail, per position, before giving up (keeps odd inputs linear)


class Single(NamedTuple):
    """`copies` consecutive positions drawn as one node (copies > 1: a repeat of one layer)."""

    copies: int


class Repeated(NamedTuple):
    """`copies` copies of a body of `period` positions, drawn once inside a frame; `body` folds the body."""

    period: int
    copies: int
    body: list["Segment"]


Segment = Union[Single, Repeated]


def fold_path(keys: Sequence[Hashable]) -> list[Segment]:
    places: dict[Hashable, list[int]] = {}
    for index, key in enumerate(keys):
        places.setdefault(key, []).append(index)
    return _fold(list(keys), places, 0, len(keys))


def _fold(keys: list[Hashable], places: dict[Hashable, list[int]], start: int, end: int) -> list[Segment]:
    out: list[Segment] = []
    index = start
    while index < end:
        best_period, best_copies, failed = 0, 1, 0
        spots = places[keys[index]]
        at = bisect_right(spots, index)
        while at < len(spots) and failed < TRIES:
            period = spots[at] - index
            if 2 * period > end - index:
                break
            copies = _copies(keys, index, period, end)
            if copies >= 2 and period * copies > best_period * best_copies:
                best_period, best_copies = period, copies
                if index + period * copies == end:
                    break
                at = bisect_right(spots, index + period * copies - 1)  # a longer period must hold the whole run
            else:
                failed += 1
                at += 1
        if best_copies < 2:
            out.append(Single(1))
            index += 1
        elif best_period == 1:
            out.append(Single(best_copies))
            index += best_copies
        else:
            # the body is folded on its own positions: the first copy stands for every copy
            body = _fold(keys, places, index, index + best_period)
            out.append(Repeated(best_period, best_copies, body))
            index += best_period * best_copies
    return out


def _copies(keys: list[Hashable], start: int, period: int, end: int) -> int:
    """How many copies of keys[start:start+period] follow one another from `start` (within `end`)."""
    run = 0
    while start + run + period < end and keys[start + run] == keys[start + run + period]:
        run += 1
    return 1 + run // period
