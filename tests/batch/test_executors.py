"""Executors: one interface, a registry by name, and bit-identical sweeps on every backend."""

from __future__ import annotations

import concurrent.futures
import math
import os
from concurrent.futures.process import BrokenProcessPool

import pandas as pd
import pytest
from sweep_helpers import sweep_dict, write_scenario

import benefitshare as bs
from benefitshare.batch.executors import (
    EXECUTORS,
    DaskExecutor,
    Executor,
    ExecutorError,
    PoolExecutor,
    ProcessExecutor,
    SerialExecutor,
    get_executor,
    register_executor,
)


def die_on_three(x: int) -> int:
    """Square ``x``; the worker process dies on 3 (for the broken-pool test)."""
    if x == 3:
        os._exit(1)
    return x * x


def test_registry_lists_the_three_backends():
    assert {"serial", "processes", "dask"} <= set(EXECUTORS)
    assert isinstance(get_executor("serial"), SerialExecutor)
    assert isinstance(get_executor("processes", workers=3), ProcessExecutor)
    assert get_executor("processes", workers=3).workers == 3
    dask = get_executor("dask", scheduler="tcp://127.0.0.1:1")
    assert isinstance(dask, DaskExecutor) and dask.scheduler == "tcp://127.0.0.1:1"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"executor": "proceses"}, "unknown executor 'proceses'; did you mean 'processes'"),
        ({"executor": "mpi"}, "valid: dask, processes, serial"),
        (
            {"executor": "processes", "scheduler": "tcp://h:8786"},
            "--scheduler is for the dask executor",
        ),
        ({"executor": "processes", "workers": 0}, "workers must be a whole number >= 1"),
        ({"executor": "serial", "workers": 2}, "the serial executor has one worker"),
    ],
)
def test_bad_executor_options_are_refused(kwargs, match):
    with pytest.raises(ExecutorError, match=match):
        get_executor(**kwargs)


def test_objects_are_accepted_and_registered_names_resolve():
    ex = SerialExecutor()
    assert get_executor(ex) is ex
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        wrapped = get_executor(pool)
        assert isinstance(wrapped, PoolExecutor) and wrapped.workers == 2
        with wrapped:
            got = {
                item: (res, err) for item, res, err in wrapped.imap_unordered(math.sqrt, [4, -1, 9])
            }
    assert got[4] == (2.0, None) and got[9] == (3.0, None)
    assert got[-1][0] is None and isinstance(got[-1][1], ValueError)

    class Mine(SerialExecutor):
        name = "mine"

    register_executor("mine", Mine)
    try:
        assert isinstance(get_executor("mine"), Mine)
        with pytest.raises(ExecutorError, match="already registered"):
            register_executor("mine", Mine)
    finally:
        EXECUTORS.pop("mine")
    with pytest.raises(ExecutorError, match="expected an Executor subclass"):
        register_executor("bad", dict)
    assert issubclass(ProcessExecutor, Executor)


def test_every_item_comes_back_once_with_its_error():
    with SerialExecutor() as ex:
        got = list(ex.imap_unordered(math.sqrt, [9, -4, 16]))
    assert [(i, r) for i, r, e in got if e is None] == [(9, 3.0), (16, 4.0)]
    assert [(i, type(e)) for i, _, e in got if e is not None] == [(-4, ValueError)]


def test_a_dead_worker_fails_its_item_and_the_pool_carries_on():
    with ProcessExecutor(workers=1) as ex:
        got = {item: (res, err) for item, res, err in ex.imap_unordered(die_on_three, range(1, 10))}
    assert sorted(got) == list(range(1, 10))
    assert isinstance(got[3][1], BrokenProcessPool)
    # items in flight with the dead one (at most 2 more with one worker) fail with it; the rest run
    # in a new pool
    assert got[1] == (1, None) and got[9] == (81, None)
    assert sum(err is not None for _, err in got.values()) <= 3
    assert all(res == i * i for i, (res, err) in got.items() if err is None)


def test_serial_processes_and_dask_give_bit_identical_sweeps(tmp_path):
    from dask.distributed import LocalCluster

    scenario = write_scenario(tmp_path)
    spec = sweep_dict(scenario, draws=40, shares=(0.2, 0.5, 0.8), growth=(0.0, 0.02))
    spec["uncertainties"] = {
        "design": "lhs",
        "samples": 3,
        "inputs": [{"name": "growth", "path": "model.sales_growth_rate", "low": 0.0, "high": 0.03}],
    }
    spec["sweep"]["detail"] = ["annual"]
    serial = bs.sweep(spec, executor="serial", out=tmp_path / "serial", progress=False)
    processes = bs.sweep(
        spec, executor="processes", workers=2, out=tmp_path / "processes", progress=False
    )
    environ = dict(
        os.environ
    )  # Dask's nanny leaves its worker variables in this process's environment
    try:
        with LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            dask = bs.sweep(
                spec,
                executor="dask",
                scheduler=cluster.scheduler_address,
                out=tmp_path / "dask",
                progress=False,
            )
    finally:
        os.environ.clear()
        os.environ.update(environ)
    assert serial.n_done == processes.n_done == dask.n_done == 9
    assert dask.executor["cluster"] == "existing" and dask.executor["workers"] == 2
    for other in (processes, dask):
        pd.testing.assert_frame_equal(other.frame, serial.frame, check_exact=True)
        pd.testing.assert_frame_equal(
            bs.load_sweep(other.out, "annual"),
            bs.load_sweep(serial.out, "annual"),
            check_exact=True,
        )
        # the variants ran in other processes than this one
        assert os.getpid() not in {int(w.rsplit(":", 1)[1]) for w in other.status["worker"]}
    assert serial.status["worker"].nunique() == 1


def test_a_dask_executor_starts_and_closes_its_own_local_cluster(monkeypatch):
    import dask

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as another LocalCluster leaves it
    environ = dict(os.environ)
    ex = DaskExecutor(workers=1)
    with ex:
        cluster = ex._cluster
        env = ex._client.run(
            lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"))
        )
        got = list(ex.imap_unordered(math.sqrt, [16.0, -1.0]))
        assert ex.describe()["cluster"] == "local" and ex.workers == 1
        assert ex.describe()["scheduler"].startswith("tls://127.0.0.1:")  # see test_dask_security
    # workers keep glibc's memory trimming (see DaskExecutor), one BLAS thread each
    assert list(env.values()) == [(None, "1")]
    assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") is not None
    assert got[0][:2] == (16.0, 4.0) and isinstance(got[1][2], ValueError)
    assert ex._client is None and ex._cluster is None and cluster.status.name == "closed"
    assert dict(os.environ) == environ  # the caller's environment is left as it was
