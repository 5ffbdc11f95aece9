"""Timing helper shared by the benchmark scripts."""
from __future__ import annotations

import time


def best_seconds(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls of ``fn`` after one warm-up call, in seconds (the least disturbed by other
    processes on a shared CPU)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
