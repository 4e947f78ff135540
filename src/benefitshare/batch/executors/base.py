"""The executor interface."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

__all__ = ["Executor", "ExecutorError", "window"]


class ExecutorError(ValueError):
    """An executor is unknown or wrongly configured."""


class Executor(abc.ABC):
    """Runs a function on items, possibly in other processes or machines.

    Use as a context manager (``start`` on entry, ``close`` on exit)::

        with get_executor("processes", workers=2) as ex:
            for item, result, error in ex.imap_unordered(fn, items):
                ...

    ``fn`` must be a module-level function and items and results picklable. ``error`` is the
    exception when the executor could not get a result (a worker process died, the cluster lost
    the task); ``fn``'s own exceptions are the function's business to catch and report.
    """

    #: Name in the registry.
    name: ClassVar[str] = ""
    #: Whether the executor connects to a scheduler address.
    takes_scheduler: ClassVar[bool] = False

    def __init__(self, workers: int | None = None):
        self.requested_workers = workers
        self.workers = workers or 1
        self._running = 0

    def start(self) -> None:
        """Start workers (or connect); ``workers`` holds their number afterwards."""
        return None

    def close(self) -> None:
        """Stop what :meth:`start` started."""
        return None

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> int:
        """Items being worked on now (at most ``workers``)."""
        return min(self._running, self.workers)

    @abc.abstractmethod
    def imap_unordered(
        self, fn: Callable[[Any], Any], items: Iterable[Any]
    ) -> Iterator[tuple[Any, Any, BaseException | None]]:
        """Yield ``(item, fn(item), None)``, or ``(item, None, error)``, as items finish."""

    def describe(self) -> dict[str, Any]:
        """Name, workers and address, for the sweep manifest."""
        return {"name": self.name, "workers": self.workers}


def window(workers: int) -> int:
    """Items in flight at once: enough to keep every worker busy, few enough to stop promptly."""
    return 2 * workers + 1
