"""A Dask cluster: at a scheduler address, or a ``LocalCluster`` started for the sweep.

Dask is imported only when the executor starts; install it with ``pip install
"benefitshare[dask]"``. Workers receive small tasks (file paths, overrides, seeds) and read the
scenario files themselves, so every worker must see the files at the same paths (a shared file
system, or the same checkout on every machine); a worker that reads different files fails the
variant with a message saying so.

A Dask client can run any code on the workers, so the local cluster admits only this process:
its scheduler, workers and client talk TLS with a temporary certificate made for the sweep
(``Security.temporary()``, which needs the ``cryptography`` package), and it serves no
dashboard and no other HTTP page unless asked for. An existing cluster is reached with the
``security`` given, or else with the TLS settings of Dask's configuration (see the README).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from benefitshare.batch.executors.base import Executor, ExecutorError, window

__all__ = ["DaskExecutor", "WORKER_ENVIRON", "NO_HTTP_ROUTES"]

#: Environment of local-cluster workers, over Dask's ``distributed.nanny.pre-spawn-environ``
#: (``None`` unsets a variable): glibc's default memory trimming (see :class:`DaskExecutor`).
WORKER_ENVIRON: dict[str, str | None] = {"MALLOC_TRIM_THRESHOLD_": None}

#: Dask settings of a local cluster started without a dashboard. Dask's scheduler opens an HTTP
#: server even with ``dashboard_address=None`` (on port 8787, or a free one), serving its
#: ``distributed.scheduler.http.routes`` (metrics, cluster information, a health check, a proxy);
#: each worker does the same on a free port. With no routes, those servers answer nothing.
NO_HTTP_ROUTES: dict[str, list] = {
    "distributed.scheduler.http.routes": [],
    "distributed.worker.http.routes": [],
}


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
    security : distributed.security.Security, optional
        TLS settings of the client, and of the local cluster when one is started. By default an
        existing cluster is reached with the ``distributed.comm.tls`` settings of Dask's
        configuration (files or ``DASK_DISTRIBUTED__COMM__TLS__...`` variables), and a local
        cluster gets a temporary certificate, ``Security.temporary()``, known only to this
        process: a client without it, from another process of the machine, cannot connect.
    **cluster_options
        Passed to ``LocalCluster`` (defaults: ``processes=True``, ``threads_per_worker=1``,
        ``host="127.0.0.1"``). No dashboard unless ``dashboard_address`` is given (e.g.
        ``"127.0.0.1:8787"``); without it, the HTTP servers of the scheduler and workers listen
        on a free port of 127.0.0.1 and serve no page (:data:`NO_HTTP_ROUTES`).

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
        security=None,
        **cluster_options,
    ):
        if sum(x is not None for x in (scheduler, client)) > 1:
            raise ExecutorError("give a scheduler address or a client, not both")
        super().__init__(workers)
        self.scheduler = scheduler
        self._client = client
        self._own_client = client is None
        self._cluster = None
        self.security = security
        self.cluster_options = {
            "processes": True,
            "threads_per_worker": 1,
            "host": "127.0.0.1",
            "silence_logs": logging.WARNING,
            **cluster_options,
        }
        if self.cluster_options.get("dashboard_address") is None:
            # LocalCluster's dashboard_address=None only drops the dashboard's pages: the
            # scheduler still serves its other HTTP routes on port 8787. Bind that server to a
            # free loopback port instead; start() gives it no routes.
            self.cluster_options["dashboard_address"] = None
            self.cluster_options["scheduler_kwargs"] = {
                "dashboard": False,
                "dashboard_address": "127.0.0.1:0",
                **(self.cluster_options.get("scheduler_kwargs") or {}),
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
                self._client = self._connect(Client)
            else:
                import dask

                security = self._local_security()
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
                    if self.cluster_options["dashboard_address"] is None:
                        settings.update(NO_HTTP_ROUTES)
                    with dask.config.set(settings):
                        self._cluster = LocalCluster(
                            n_workers=n, security=security, **self.cluster_options
                        )
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
                self._client = Client(self._cluster, security=security)
        nthreads = self._client.nthreads()
        if not nthreads:
            self._client.wait_for_workers(1, timeout=60)
            nthreads = self._client.nthreads()
        self.workers = max(1, sum(nthreads.values()))

    def _connect(self, client_class):
        """A client of the scheduler at ``self.scheduler``, or an :class:`ExecutorError`."""
        from distributed.security import Security

        tls = self.scheduler.startswith("tls://")
        hint = (
            "; a tls:// scheduler needs the CA and this client's certificate and key: pass"
            " security=, or name their files in Dask's configuration (distributed.comm.tls, e.g."
            " DASK_DISTRIBUTED__COMM__TLS__CA_FILE, ..._CLIENT__CERT, ..._CLIENT__KEY)"
            if tls
            else ""
        )
        security = self.security if self.security is not None else Security()
        try:
            # Refuse a tls:// address without TLS settings here: Dask's client raises a
            # TypeError and leaves its event loop in a state that hangs the next client.
            if tls and security.get_connection_args("client")["ssl_context"] is None:
                raise OSError("no TLS settings for the client")
            return client_class(self.scheduler, timeout="20s", security=security)
        except (OSError, RuntimeError) as exc:
            # OSError: unreachable, a TLS handshake refused, or a certificate file not found;
            # RuntimeError: a plain address while the settings require encryption
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {self.scheduler}: {exc}{hint}"
            ) from exc

    def _local_security(self):
        """The TLS settings of the local cluster: the ones given, or a temporary certificate."""
        if self.security is not None:
            return self.security
        from distributed.security import Security

        try:
            return Security.temporary()
        except ImportError as exc:
            raise ExecutorError(
                "the dask executor's local cluster uses TLS, which needs the cryptography "
                'package: pip install "benefitshare[dask]" (or pip install cryptography)'
            ) from exc

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
