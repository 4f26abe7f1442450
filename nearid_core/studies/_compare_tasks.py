"""Running the Compare study's independent pieces on a few threads, with progress.

NumPy's products, SVDs and eigensolvers release the GIL, so with one BLAS thread each
(``OMP_NUM_THREADS=1``) two workers keep two cores busy. Results never depend on the
number of workers: every piece is seeded and stored under its own key.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

__all__ = ["run_tasks"]


def run_tasks(tasks: dict[Hashable, Callable[[], Any]], *, workers: int,
              report: Callable[[float, str], None], span: tuple[float, float],
              label: Callable[[Hashable], str]) -> dict[Hashable, Any]:
    """Run every task, reporting progress in ``span`` as they finish; results by key.

    An exception from a task is raised once all started tasks have stopped; an exception
    from ``report`` (a cancel) drops the tasks not yet started.
    """
    start, stop = span
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(fn): key for key, fn in tasks.items()}
        for done, future in enumerate(as_completed(futures), 1):
            report(start + (stop - start) * done / len(futures), label(futures[future]))
        return {key: future.result() for future, key in futures.items()}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
