"""Timing: what is measured runs in interleaved rounds; the best of each is compared.

Every figure is a ratio measured side by side in one run: the thing measured
and its reference are timed in interleaved rounds (reference, ours, reference,
ours, ...) and the BEST of each is compared, since stalls on a shared machine
only ever add time; medians are printed beside them.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


def consume(items: Iterable[object]) -> int:
    """Consume an iterable, dropping each item; return how many there were."""
    count = 0
    for _ in items:
        count += 1
    return count


@dataclass(frozen=True)
class Timing:
    """Samples of one measured operation, in seconds."""

    samples: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object]) -> float:
    """Run ``fn`` once after a garbage collection; return its wall time in seconds."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    fns: Sequence[Callable[[], object]], *, repeat: int, warmup: int = 1, collect: bool = True
) -> list[Timing]:
    """Time functions in interleaved rounds (a, b, a, b, ...) after ``warmup`` untimed rounds.

    ``collect=False`` skips the garbage collection before each call (for sub-ms calls).
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            if collect:
                samples[i].append(timed(fn))
            else:
                start = time.perf_counter()
                fn()
                samples[i].append(time.perf_counter() - start)
    return [Timing(tuple(s)) for s in samples]


def best_of(fn: Callable[[], object], repeat: int) -> Timing:
    """Time one function ``repeat`` times (for slow baselines outside the paired rounds)."""
    return Timing(tuple(timed(fn) for _ in range(repeat)))
