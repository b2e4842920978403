"""How the engine uses the CPU: BLAS on one thread, blocks of mentees on a few worker threads.

OpenBLAS's own threads cost milliseconds per call on the small matrix products
of one block (measured on 2 cores: 3.5 ms for one product of 32 mentees x 8,000
mentors, against 0.4 ms on one thread), so every public entry point runs BLAS on
one thread, and the scoring pass spreads independent blocks over worker threads
instead (NumPy releases the GIL inside array operations). The BLAS limit is
process-wide while a call runs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import numpy  # noqa: F401  (load NumPy's BLAS before the controller looks for it)
from threadpoolctl import ThreadpoolController

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")

WORKERS = max(1, min(4, os.cpu_count() or 1))
_CONTROLLER = ThreadpoolController()


def single_threaded_blas(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with BLAS limited to one thread."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _CONTROLLER.limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


def parallel_map(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[func(x) for x in items]``, in order, on up to ``WORKERS`` threads."""
    if WORKERS == 1 or len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(func, items))
