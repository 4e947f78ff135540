"""Running a sweep: every variant on any executor, resumably, and what it produced.

The top of the batch layer. :func:`sweep` loads the sweep file (:mod:`benefitshare.batch.spec`),
plans and validates its variants (:mod:`benefitshare.batch.plan`), hands them to an executor
(:mod:`benefitshare.batch.executors`) that runs :func:`benefitshare.batch.worker.run_variant` on
each, and commits every finished variant to the results folder, one file each
(:mod:`benefitshare.batch.store`), so a sweep killed at any moment resumes where it stopped. It
returns a :class:`SweepResult`, whose report and lever effects come from
:mod:`benefitshare.analysis.sweep_effects` and whose charts from :mod:`benefitshare.viz.sweep`
(imported inside the plot methods).

Examples
--------
>>> import benefitshare as bs
>>> res = bs.sweep("scenarios/sweeps/ratio_by_rampup.toml", executor="processes",
...                workers=2)                                          # doctest: +SKIP
>>> res.frame.head()                                                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib.util
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from benefitshare.analysis import sweep_effects
from benefitshare.batch import executors, store
from benefitshare.batch.plan import code_sha256, plan_variants
from benefitshare.batch.spec import ReportSpec, SweepError, load_sweep_spec
from benefitshare.batch.worker import VariantOutcome, run_variant
from benefitshare.errors import Problem

__all__ = ["SweepResult", "sweep"]


@dataclasses.dataclass
class SweepResult:
    """What :func:`sweep` did, and its results.

    Attributes
    ----------
    out : pathlib.Path
        The results folder (load it again with :func:`benefitshare.load_sweep`).
    frame : pandas.DataFrame
        One row per finished variant, rule and party (as :func:`benefitshare.load_sweep`).
    status : pandas.DataFrame
        One row per variant: ``variant``, ``status`` (done, failed, pending), ``seconds``,
        ``worker``, ``error``, and the inputs' values.
    n_variants, n_done, n_failed, n_skipped : int
        All variants; finished (including skipped); failed; finished before this run (resumed).
    wall_s : float
        Wall time of this run [s].
    executor : dict
        The executor that ran it (name, workers, address).
    report : ReportSpec
        The sweep file's report settings.
    variables : dict
        Each input's kind (``lever`` or ``uncertainty``), by name.
    labels : dict
        Each input's display label (its name and unit), by name.
    """

    out: Path
    frame: pd.DataFrame
    status: pd.DataFrame
    n_variants: int
    n_done: int
    n_failed: int
    n_skipped: int
    wall_s: float
    executor: dict
    report: ReportSpec
    variables: dict[str, str]
    labels: dict[str, str]

    @property
    def ok(self) -> bool:
        """True when every variant finished."""
        return self.n_done == self.n_variants

    def __repr__(self) -> str:
        return (
            f"SweepResult({self.n_variants} variants: {self.n_done} done, {self.n_failed} failed, "
            f"{self.n_skipped} resumed; {self.wall_s:.1f} s on {self.executor.get('name')}; out={str(self.out)!r})"
        )

    def report_text(
        self, metric: str | None = None, *, rule: str | None = None, party: str | None = None
    ) -> str:
        """The printed summary: counts, best and worst variants, lever effects."""
        return sweep_effects.report_text(self, metric=metric, rule=rule, party=party)

    def lever_effects(
        self, metric: str | None = None, *, rule: str | None = None, party: str | None = None
    ) -> pd.DataFrame:
        """How the mean of a metric moves with each input (see
        :func:`benefitshare.analysis.sweep_effects.lever_effects`)."""
        return sweep_effects.lever_effects(
            self.frame,
            metric or self.report.metric,
            rule=rule or self.report.rule,
            party=party or self.report.party,
            variables=self.variables,
        )

    def plot_heatmap(self, x: str, y: str, metric: str | None = None, **kwargs):
        """Heatmap of a metric over two inputs (see :func:`benefitshare.viz.sweep.heatmap`)."""
        from benefitshare.viz import sweep as plots_sweep

        kwargs.setdefault("rule", self.report.rule)
        kwargs.setdefault("party", self.report.party)
        kwargs.setdefault("labels", self.labels)
        return plots_sweep.heatmap(self.frame, x, y, metric or self.report.metric, **kwargs)

    def plot_levers(self, metric: str | None = None, **kwargs):
        """A metric against each input (see :func:`benefitshare.viz.sweep.metric_by_input`)."""
        from benefitshare.viz import sweep as plots_sweep

        kwargs.setdefault("party", self.report.party)
        kwargs.setdefault("variables", list(self.variables))
        kwargs.setdefault("labels", self.labels)
        return plots_sweep.metric_by_input(self.frame, metric or self.report.metric, **kwargs)


def sweep(
    spec_or_path,
    executor="serial",
    workers: int | None = None,
    out: str | Path | None = None,
    scheduler: str | None = None,
    *,
    resume: bool | Literal["force"] = True,
    imports: Sequence[str] = (),
    progress: bool | None = None,
    command: str | None = None,
) -> SweepResult:
    """Run every variant of a sweep, skipping those already finished in ``out``.

    Parameters
    ----------
    spec_or_path : str, path-like, dict or SweepSpec
        A sweep file, or a dict of the same shape (relative scenario paths are then read from the
        current folder).
    executor : {"serial", "processes", "dask"} or Executor
        Where variants run (see :mod:`benefitshare.batch.executors`); an executor object is used as
        given.
    workers : int, optional
        Worker processes (processes: the number of CPUs by default; dask: the workers of the
        local cluster started when no ``scheduler`` is given).
    out : path-like, optional
        Results folder; ``outputs/<sweep file stem>`` by default.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``), for ``executor="dask"``.
    resume : True, False or "force"
        ``True``: skip variants already finished in ``out``, refusing a folder written by a
        different sweep file or from changed scenario files; ``"force"``: resume anyway, keeping
        only finished variants whose inputs, overrides and seeds are unchanged; ``False``: delete
        the folder's previous results and start again.
    imports : sequence of str
        Modules imported in every worker before it runs a variant, e.g. a module that registers a
        user-written split rule with :func:`benefitshare.register_rule`.
    progress : bool, optional
        Progress bar (variants done, failed, running, ETA); by default shown in a terminal or
        notebook.
    command : str, optional
        The command line, recorded in the manifest.

    Returns
    -------
    SweepResult

    Raises
    ------
    SweepError
        The sweep file or one of its variants is invalid (nothing has run).
    SweepResumeError
        ``out`` holds another sweep's results and ``resume`` is not ``"force"``.
    """
    if resume not in (True, False, "force"):
        raise SweepError(Problem("<arguments>", "resume", "must be True, False or 'force'", resume))
    t0 = time.perf_counter()
    loaded = load_sweep_spec(spec_or_path)
    tasks, inputs = plan_variants(loaded, imports=imports)
    out = Path(out) if out is not None else Path("outputs") / loaded.name
    ex = executors.get_executor(executor, workers=workers, scheduler=scheduler)
    manifest = store.new_manifest(loaded, tasks, inputs, command=command)
    done = store.prepare(out, manifest, tasks, resume=resume)
    pending = [t for t in tasks if t.index not in done]
    records = {r["variant"]: r for r in manifest["variants"]}
    for r in records.values():
        if r["variant"] in done:
            r.update(done[r["variant"]])
    n_skipped = len(done)
    run_info = {
        "started": store.now_iso(),
        "command": command,
        "executor": None,
        "skipped": n_skipped,
        "code_sha256": code_sha256(),
    }
    manifest["runs"].append(run_info)
    store.write_manifest(out, manifest)
    failed, finished = 0, n_skipped
    bar = _progress_bar(len(tasks), n_skipped, loaded.name, progress)
    last_flush = time.monotonic()
    try:
        with ex:
            run_info["executor"] = ex.describe()
            store.write_manifest(out, manifest)
            for task, outcome, error in ex.imap_unordered(run_variant, pending):
                rec = records[task.index]
                if error is not None:
                    outcome = VariantOutcome(
                        task.index,
                        "failed",
                        None,
                        f"worker failure: {type(error).__name__}: {error}",
                        None,
                        "?",
                        time.time(),
                        float("nan"),
                    )
                if outcome.status == "done":
                    store.write_variant(out, task, outcome.tables)
                    finished += 1
                else:
                    failed += 1
                rec.update(store.outcome_record(outcome))
                bar.set_postfix(done=finished, failed=failed, running=ex.running, refresh=False)
                bar.update(1)
                if outcome.status == "failed" or time.monotonic() - last_flush > 2.0:
                    store.write_manifest(out, manifest)
                    last_flush = time.monotonic()
    finally:
        bar.close()
        run_info["finished"] = store.now_iso()
        run_info["done"] = sum(r["status"] == "done" for r in records.values())
        run_info["failed"] = sum(r["status"] == "failed" for r in records.values())
        run_info["wall_s"] = round(time.perf_counter() - t0, 3)
        store.write_manifest(out, manifest)
    frame = store.load_sweep(out)
    if len(frame):
        store.write_results(out, frame)
    status = store.status_frame(out)
    n_done = int((status["status"] == "done").sum())
    return SweepResult(
        out=out,
        frame=frame,
        status=status,
        n_variants=len(tasks),
        n_done=n_done,
        n_failed=int((status["status"] == "failed").sum()),
        n_skipped=n_skipped,
        wall_s=time.perf_counter() - t0,
        executor=run_info["executor"] or {},
        report=loaded.spec.report,
        variables={v.name: loaded.spec.kind_of(v.name) for v in loaded.spec.variables},
        labels={
            v.name: f"{v.name} [{v.unit}]" if v.unit else v.name for v in loaded.spec.variables
        },
    )


def _progress_bar(total: int, initial: int, name: str, progress: bool | None):
    """A tqdm bar: the notebook widget when ipywidgets is installed, else text."""
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=name,
        unit="variant",
        disable=(not progress) if progress is not None else None,
        dynamic_ncols=True,
    )
