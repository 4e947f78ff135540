"""A Dask cluster: at a scheduler address, or a ``LocalCluster`` started for the sweep.

Dask is imported only when the executor starts; install it with ``pip install
"benefitshare[dask]"``. Workers receive small tasks (file paths, overrides, seeds) and read the
scenario files themselves, so every worker must see the files at the same paths (a shared file
system, or the same checkout on every machine); a worker that reads different files fails the
variant with a message saying so.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from benefitshare.batch.executors.base import Executor, ExecutorError, window

__all__ = ["DaskExecutor", "WORKER_ENVIRON"]

#: Environment of local-cluster workers, over Dask's ``distributed.nanny.pre-spawn-environ``
#: (``None`` unsets a variable): glibc's default memory trimming (see :class:`DaskExecutor`).
WORKER_ENVIRON: dict[str, str | None] = {"MALLOC_TRIM_THRESHOLD_": None}


class DaskExecutor(Executor):
    """Runs items on a Dask cluster.

    Parameters
    ----------
    workers : int, optional
        Workers of the ``LocalCluster`` started when no scheduler or client is given (one thread
        each); the number of CPUs by default. Ignored for an existing cluster.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    client : dask.distributed.Client, optional
        An existing client (left open on close).
    **cluster_options
        Passed to ``LocalCluster`` (defaults: ``processes=True``, ``threads_per_worker=1``,
        ``host="127.0.0.1"``, ``dashboard_address=None``).

    Notes
    -----
    The workers of the local cluster keep the C library's default memory trimming. Dask's
    default (``MALLOC_TRIM_THRESHOLD_=65536`` in ``distributed.nanny.pre-spawn-environ``) returns
    freed memory to the system at once, which suits workers holding data for a long time but
    makes every large array of a model run a fresh mapping: variants ran about a quarter slower.
    For a cluster of your own, set that key to ``null`` in the workers' Dask configuration.
    """

    name = "dask"
    takes_scheduler = True

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        client=None,
        **cluster_options,
    ):
        if sum(x is not None for x in (scheduler, client)) > 1:
            raise ExecutorError("give a scheduler address or a client, not both")
        super().__init__(workers)
        self.scheduler = scheduler
        self._client = client
        self._own_client = client is None
        self._cluster = None
        self.cluster_options = {
            "processes": True,
            "threads_per_worker": 1,
            "host": "127.0.0.1",
            "dashboard_address": None,
            "silence_logs": logging.WARNING,
            **cluster_options,
        }

    def start(self) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask is a dev dependency
            raise ExecutorError(
                'the dask executor needs dask.distributed: pip install "benefitshare[dask]"'
            ) from exc
        if self._client is None:
            if self.scheduler is not None:
                try:
                    self._client = Client(self.scheduler, timeout="20s")
                except OSError as exc:
                    raise ExecutorError(
                        f"cannot reach the Dask scheduler at {self.scheduler}: {exc}"
                    ) from exc
            else:
                import dask

                n = self.requested_workers or os.cpu_count() or 1
                # Dask's nanny writes its pre-spawn variables into this process's environment
                # and leaves them there; workers inherit this environment. Start the workers
                # without the variables unset here, then leave the environment as it was.
                saved = dict(os.environ)
                try:
                    for key, value in WORKER_ENVIRON.items():
                        if value is None:
                            os.environ.pop(key, None)
                    settings = {
                        f"distributed.nanny.pre-spawn-environ.{k}": v
                        for k, v in WORKER_ENVIRON.items()
                    }
                    with dask.config.set(settings):
                        self._cluster = LocalCluster(n_workers=n, **self.cluster_options)
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
                self._client = Client(self._cluster)
        nthreads = self._client.nthreads()
        if not nthreads:
            self._client.wait_for_workers(1, timeout=60)
            nthreads = self._client.nthreads()
        self.workers = max(1, sum(nthreads.values()))

    def close(self) -> None:
        if self._client is not None and self._own_client:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def imap_unordered(self, fn, items):
        from dask.distributed import as_completed

        items = iter(items)
        inflight: dict[str, Any] = {}
        queue = as_completed()

        def fill() -> None:
            while len(inflight) < window(self.workers):
                item = next(items, _END)
                if item is _END:
                    return
                fut = self._client.submit(fn, item, pure=False)
                inflight[fut.key] = item
                queue.add(fut)

        fill()
        try:
            for fut in queue:
                item = inflight.pop(fut.key)
                self._running = len(inflight) + 1
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker; reported with its item
                    yield item, None, exc
                else:
                    yield item, result, None
                finally:
                    fut.release()
                fill()
        finally:
            self._running = 0
            queue.clear()

    def describe(self):
        out = {"name": self.name, "workers": self.workers}
        if self._client is not None:
            out["scheduler"] = self._client.scheduler.address
            out["cluster"] = "local" if self._cluster is not None else "existing"
        return out


_END = object()
