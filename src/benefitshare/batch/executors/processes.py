"""Local worker processes through ``concurrent.futures``, with the spawn start method.

Spawn (not fork) starts each worker as a fresh interpreter that imports the worker function by
its module path, as macOS and Windows do by default; it does not inherit the parent's threads or
locks, so it works the same from a script, the command line and a Jupyter notebook. A script that
runs a sweep on processes must guard its entry point with ``if __name__ == "__main__":``, as for
any spawn-based pool.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool

from benefitshare.batch.executors.base import Executor, window

__all__ = ["PoolExecutor", "ProcessExecutor"]


class PoolExecutor(Executor):
    """Any ``concurrent.futures.Executor`` as an executor (the caller owns and shuts it down)."""

    name = "pool"

    def __init__(self, pool: cf.Executor | None = None, workers: int | None = None):
        super().__init__(workers or getattr(pool, "_max_workers", None) or 1)
        self._pool = pool

    def _new_pool(self) -> cf.Executor:  # pragma: no cover - a given pool is not replaced
        raise RuntimeError("the pool broke and cannot be restarted")

    def imap_unordered(self, fn, items):
        items = iter(items)
        inflight: dict[cf.Future, object] = {}

        def fill() -> None:
            while len(inflight) < window(self.workers):
                item = next(items, _END)
                if item is _END:
                    return
                inflight[self._pool.submit(fn, item)] = item

        fill()
        try:
            while inflight:
                self._running = len(inflight)
                finished, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
                broken = False
                for fut in finished:
                    item = inflight.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool as exc:
                        broken = True
                        yield item, None, exc
                    except Exception as exc:  # noqa: BLE001 - reported with its item
                        yield item, None, exc
                    else:
                        yield item, result, None
                if broken:
                    # A worker died (killed, out of memory): every item in flight fails with it.
                    # Report them, then carry on with the rest in a new pool.
                    for fut, item in list(inflight.items()):
                        inflight.pop(fut)
                        yield item, None, BrokenProcessPool("a worker process died while it ran")
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
                fill()
        finally:
            self._running = 0
            for fut in inflight:
                fut.cancel()

    def describe(self):
        return {"name": self.name, "workers": self.workers, "pool": type(self._pool).__name__}


class ProcessExecutor(PoolExecutor):
    """Local worker processes (``ProcessPoolExecutor`` with the spawn context).

    Parameters
    ----------
    workers : int, optional
        Number of processes; the number of CPUs by default.
    """

    name = "processes"

    def __init__(self, workers: int | None = None):
        super().__init__(None, workers=workers or os.cpu_count() or 1)

    def _new_pool(self) -> cf.Executor:
        return cf.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    def start(self) -> None:
        self._pool = self._new_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self):
        return {"name": self.name, "workers": self.workers, "start_method": "spawn"}


_END = object()
