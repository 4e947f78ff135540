"""Running one variant of a sweep, in whatever process an executor chose.

The third step of the batch layer: an executor (:mod:`benefitshare.batch.executors`) calls
:func:`run_variant` on each :class:`~benefitshare.batch.plan.VariantTask` planned by
:mod:`benefitshare.batch.plan`. The worker rebuilds the variant's scenario from its files
(checking their hashes, and that it runs the same package source as the planner), runs the model
(:func:`benefitshare.model.run.run`) on the variant's own random stream, and returns its tables
as a :class:`VariantOutcome`, which :mod:`benefitshare.batch.run` commits to the store.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import socket
import time
import traceback
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from benefitshare.batch.plan import VariantTask, code_sha256
from benefitshare.batch.spec import DETAIL_TABLES
from benefitshare.model.metrics import gain_yuan
from benefitshare.model.run import run
from benefitshare.scenario.load import load_scenario

__all__ = ["VariantOutcome", "run_variant", "variant_tables"]


@dataclasses.dataclass
class VariantOutcome:
    """What a worker sends back: the variant's tables, or its error; where and how long."""

    index: int
    status: Literal["done", "failed"]
    tables: dict[str, pd.DataFrame] | None
    error: str | None
    traceback: str | None
    worker: str
    started: float
    seconds: float


@functools.lru_cache(maxsize=8)
def _base_scenario(path: str, input_sha256: tuple[str, ...]):
    """The base scenario at ``path``, once per process, checked against the planned hashes."""
    scn = load_scenario(path)
    found = tuple(sorted(scn.input_files.values()))
    if found != input_sha256:
        raise RuntimeError(
            f"the scenario files this worker reads from {path} differ from those the sweep was planned "
            "with (their SHA-256 hashes differ): every worker must see the same files"
        )
    return scn


def run_variant(task: VariantTask) -> VariantOutcome:
    """Run one variant (in any process): rebuild its scenario, run it, return its tables.

    Never raises for a problem of the variant itself: an exception is returned as a failed
    outcome with its message and traceback. Floating-point errors (overflow, division by zero,
    invalid operations) raise inside the run, as they do in the test suite, so a variant never
    produces NaN silently and behaves the same in every process.
    """
    started = time.time()
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        if task.code_sha256 and task.code_sha256 != code_sha256():
            raise RuntimeError(
                "this worker runs other benefitshare source files than the process that planned the "
                "sweep (their SHA-256 hashes differ): install the same version everywhere, and do not "
                "edit the package while a sweep runs"
            )
        for name in task.imports:
            importlib.import_module(name)
        base = _base_scenario(task.scenario_path, task.input_sha256)
        scenario = base.with_overrides(task.overrides) if task.overrides else base
        seed = np.random.SeedSequence(task.seed, spawn_key=task.spawn_key)
        with np.errstate(all="raise", under="ignore"):
            result = run(
                scenario,
                draws=task.draws,
                seed=seed,
                sampler=task.sampler,
                rules=list(task.rules) if task.rules else None,
                progress=False,
            )
            tables = variant_tables(result, task.detail)
    except Exception as exc:  # noqa: BLE001 - a variant's failure is recorded, not raised
        return VariantOutcome(
            task.index,
            "failed",
            None,
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
            worker,
            started,
            time.perf_counter() - t0,
        )
    return VariantOutcome(
        task.index, "done", tables, None, None, worker, started, time.perf_counter() - t0
    )


def variant_tables(result, detail: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """A variant's tables: ``summary`` (one row per rule and party) and any detail tables.

    The summary is :meth:`Result.summary` with ``standalone_npv_yuan`` [yuan] (NPV of the party's
    mean revenue without the agreement, at its discount rate; docs/model.md section 3.6) and
    ``gain_yuan`` [yuan] (``npv_yuan`` less it).
    """
    summary = result.summary()
    standalone_k = result.standalone_npv_mean_k()
    by_party = dict(zip(result.party_ids, standalone_k, strict=True))
    summary.insert(3, "standalone_npv_yuan", summary["party"].map(by_party).astype(float))
    summary.insert(4, "gain_yuan", gain_yuan(summary["npv_yuan"], summary["standalone_npv_yuan"]))
    out = {"summary": summary}
    for name in detail:
        out[name] = getattr(result, DETAIL_TABLES[name])()
    return out
