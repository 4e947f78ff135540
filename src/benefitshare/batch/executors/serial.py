"""The serial executor: every item in this process, one after another."""

from __future__ import annotations

from benefitshare.batch.executors.base import Executor

__all__ = ["SerialExecutor"]


class SerialExecutor(Executor):
    """Runs items in the calling process, in order. The reference the others must match."""

    name = "serial"

    def __init__(self, workers: int | None = None):
        if workers not in (None, 1):
            from benefitshare.batch.executors.base import ExecutorError

            raise ExecutorError(f"the serial executor has one worker, not {workers}")
        super().__init__(1)

    def imap_unordered(self, fn, items):
        for item in items:
            self._running = 1
            try:
                result = fn(item)
            except Exception as exc:  # noqa: BLE001 - reported to the caller with its item
                self._running = 0
                yield item, None, exc
                continue
            self._running = 0
            yield item, result, None
