"""Executors: where the variants of a sweep run, behind one interface and a registry by name.

=========== ================================================================================
name        backend
=========== ================================================================================
serial      this process, one variant after another
processes   local worker processes (``concurrent.futures.ProcessPoolExecutor``, spawn start
            method, so it works from Jupyter and on macOS and Windows)
dask        a Dask cluster (``dask.distributed.Client``) at a scheduler address, or a
            ``LocalCluster`` started for the sweep
=========== ================================================================================

Every executor is an :class:`Executor`: a context manager whose :meth:`Executor.imap_unordered`
runs a module-level function on each item and yields ``(item, result, error)`` as items finish.
The function (:func:`benefitshare.batch.worker.run_variant`) gets only small, picklable tasks (file
paths, overrides, seeds) and rebuilds the scenario in the worker. A ``concurrent.futures.Executor``
(e.g. ``mpi4py.futures.MPIPoolExecutor``) or an :class:`Executor` instance can be given instead of
a name; :func:`register_executor` adds a backend by name.
"""

from __future__ import annotations

from benefitshare.batch.executors.base import Executor, ExecutorError
from benefitshare.batch.executors.dask import DaskExecutor
from benefitshare.batch.executors.processes import PoolExecutor, ProcessExecutor
from benefitshare.batch.executors.serial import SerialExecutor
from benefitshare.errors import did_you_mean

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "SerialExecutor",
    "ProcessExecutor",
    "PoolExecutor",
    "DaskExecutor",
    "get_executor",
    "register_executor",
]

#: Executors by name.
EXECUTORS: dict[str, type[Executor]] = {
    "serial": SerialExecutor,
    "processes": ProcessExecutor,
    "dask": DaskExecutor,
}


def register_executor(name: str, cls: type[Executor], *, replace: bool = False) -> type[Executor]:
    """Register an :class:`Executor` subclass under ``name`` (``executor="name"``)."""
    if not (isinstance(cls, type) and issubclass(cls, Executor)):
        raise ExecutorError(f"executor {name!r}: expected an Executor subclass, got {cls!r}")
    if name in EXECUTORS and not replace:
        raise ExecutorError(f"an executor named {name!r} is already registered; pass replace=True")
    EXECUTORS[name] = cls
    return cls


def get_executor(
    executor="serial", *, workers: int | None = None, scheduler: str | None = None
) -> Executor:
    """An executor from a name, an :class:`Executor`, or a ``concurrent.futures.Executor``.

    Parameters
    ----------
    executor : str, Executor or concurrent.futures.Executor
    workers : int, optional
        Number of worker processes (processes; dask without ``scheduler``).
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786`` (dask only).

    Raises
    ------
    ExecutorError
        Unknown name (listing the valid ones), or options the executor does not take.
    """
    import concurrent.futures

    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ExecutorError(f"workers must be a whole number >= 1, got {workers!r}")
    if isinstance(executor, Executor):
        if workers is not None or scheduler is not None:
            raise ExecutorError(
                "give workers and scheduler to the executor object, not alongside it"
            )
        return executor
    if isinstance(executor, concurrent.futures.Executor):
        if scheduler is not None:
            raise ExecutorError("scheduler is for executor='dask'")
        return PoolExecutor(executor, workers=workers)
    if not isinstance(executor, str) or executor not in EXECUTORS:
        valid = sorted(EXECUTORS)
        hint = did_you_mean(executor, valid)
        raise ExecutorError(
            f"unknown executor {executor!r}"
            + (f"; did you mean {hint!r}?" if hint is not None else f"; valid: {', '.join(valid)}")
        )
    cls = EXECUTORS[executor]
    if scheduler is not None:
        if not cls.takes_scheduler:
            raise ExecutorError(f"--scheduler is for the dask executor, not {executor!r}")
        return cls(workers=workers, scheduler=scheduler)
    return cls(workers=workers)
