"""The scenario as a vectorised function of its uncertain inputs, for sensitivity analysis.

The analysis layer's view of the uncertain inputs a scenario declares in its ``[uncertainty]``
section (``docs/model.md``, section 5): :func:`declared_factors` lists them (refusing a scenario
that declares none), :func:`sensitivity_model` turns the scenario's outcome into a function
``func(x) -> y`` of one column of input values per variant, evaluated by the model in chunks of
draws, with a :class:`Marginal` distribution per input. :mod:`benefitshare.analysis.sobol`
samples it; :mod:`benefitshare.analysis.tornado` uses the same factors at fixed quantiles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from benefitshare.analysis.outcomes import Outcome, outcome_evaluator, parse_outcome
from benefitshare.errors import Problem, ScenarioError
from benefitshare.model.draws import Factor, apply_draws, uncertain_factors
from benefitshare.model.inputs import central_inputs

__all__ = ["Marginal", "SensitivityModel", "declared_factors", "sensitivity_model"]

_ARG = "<arguments>"


class Marginal:
    """A marginal distribution for ``scipy.stats.sobol_indices``: only ``ppf`` is needed.

    Wraps a frozen distribution or a constant (a zero-width input); probabilities are clipped to
    ``[1e-12, 1 - 1e-12]`` as the run's samplers do, so a discrete or unbounded marginal never
    returns an infinite or out-of-support value.
    """

    def __init__(self, dist, label: str = ""):
        self.dist = dist
        self.label = label

    def ppf(self, u):
        u = np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12)
        if isinstance(self.dist, int | float):
            return np.full(u.shape, float(self.dist))
        return np.asarray(self.dist.ppf(u), dtype=float)

    def __repr__(self) -> str:
        return self.label or repr(self.dist)


def _dist_label(factor: Factor) -> str:
    d = factor.spec.distribution
    if factor.landing_p is not None:
        return "uniform(0, 1): a project lands when the draw is below its landing probability"
    params = ", ".join(f"{k}={v}" for k, v in d.params.items())
    return f"{d.name}({params})"


@dataclasses.dataclass(frozen=True)
class SensitivityModel:
    """The scenario as a function of its uncertain inputs, for sensitivity analysis.

    Attributes
    ----------
    names : tuple of str
        One per declared uncertain input, in the scenario's order.
    dists : tuple
        Marginal of each input (objects with ``ppf``), for :func:`scipy.stats.sobol_indices`.
    func : callable
        ``func(x) -> y``: ``x`` of shape (d, n) holds one value of each input per column (as
        drawn from ``dists``), ``y`` of shape (1, n) the outcome [yuan].
    outcome : Outcome
    common_draw : tuple of str
        Inputs declared ``independent = true`` (one draw per project) that are analysed with one
        draw shared by all their projects (``per_project="common"``); empty when grouped.
    groups : tuple of int or None
        With ``per_project="grouped"``, the input (index into ``names``) of each row of ``x``;
        ``None`` when each row is one input.
    per_project : {"common", "grouped"}
    ignored_correlation : tuple of str
        Inputs of the scenario's correlation block; Sobol indices treat inputs as independent.
    chunk_draws : int
        Columns of ``x`` evaluated at once.
    """

    names: tuple[str, ...]
    dists: tuple
    func: Callable[[np.ndarray], np.ndarray]
    outcome: Outcome
    common_draw: tuple[str, ...]
    ignored_correlation: tuple[str, ...]
    chunk_draws: int
    groups: tuple[int, ...] | None = None
    per_project: str = "common"


def declared_factors(scenario) -> list[Factor]:
    """The scenario's declared uncertain inputs, one :class:`Factor` each.

    Raises
    ------
    ScenarioError
        When the scenario declares none (it has no ``[uncertainty]`` inputs).
    """
    factors = uncertain_factors(scenario)
    if not factors:
        raise ScenarioError(
            Problem(
                _ARG,
                "uncertainty.inputs",
                "the scenario declares no uncertain inputs; add an [uncertainty] section",
            )
        )
    return factors


def _common_values(factor: Factor, column: np.ndarray) -> np.ndarray:
    """A factor's values (n, n_dims) when every selected project takes the same draw ``column``.

    For a per-project landing draw ``column`` is the common uniform probability ``u``; each
    project lands when ``u`` is below its own landing probability.
    """
    col = np.asarray(column, dtype=float)[:, None]
    if factor.landing_p is not None:
        return factor.values(col)
    return np.broadcast_to(col, (col.shape[0], factor.n_dims))


def sensitivity_model(
    scenario,
    outcome: str | Outcome,
    *,
    rule: str | None = None,
    party: str | None = None,
    per_project: str = "common",
    chunk_draws: int | None = None,
    progress: bool | None = None,
) -> SensitivityModel:
    """The scenario's outcome as a vectorised function of its uncertain inputs.

    Each declared input is one factor. How an input drawn separately for each project
    (``independent = true``) enters depends on ``per_project``:

    ``"common"``
        One draw common to all its projects: ``x`` has one row per input. A per-project landing
        draw becomes a common uniform draw ``u``, each project landing when ``u`` is below its
        own landing probability (so each project still lands with its own probability, but the
        projects land or fail together). This makes such an input count for more than it does
        in a run, where the projects' draws are independent and partly average out.
    ``"grouped"``
        One row of ``x`` per project, as in a run, and the rows of an input form a group
        (``groups``) whose indices are estimated together: the indices then describe the run
        as declared.

    Correlations between inputs are not used either way: Sobol indices assume independent
    inputs.

    Parameters
    ----------
    scenario : Scenario
    outcome : str or Outcome
        See :func:`parse_outcome`.
    rule, party : str, optional
    per_project : {"common", "grouped"}
    chunk_draws : int, optional
        Columns evaluated at once; the scenario's ``uncertainty.chunk_draws`` by default.
    progress : bool, optional
        Show a progress bar over the columns evaluated (tqdm; shown after about a second in a
        terminal or notebook by default).

    Returns
    -------
    SensitivityModel
    """
    out = parse_outcome(scenario, outcome, rule=rule, party=party)
    if per_project not in ("common", "grouped"):
        raise ScenarioError(
            Problem(_ARG, "per_project", "must be 'common' or 'grouped'", per_project)
        )
    factors = declared_factors(scenario)
    unc = scenario.spec.uncertainty
    chunk = int(chunk_draws or unc.chunk_draws)
    base = central_inputs(scenario)
    run = outcome_evaluator(scenario, out)
    grouped = per_project == "grouped"
    widths = [f.n_dims if grouped else 1 for f in factors]
    starts = np.concatenate([[0], np.cumsum(widths)])
    n_rows = int(starts[-1])

    def values_of(f: Factor, rows: np.ndarray) -> np.ndarray:
        if not grouped:
            return _common_values(f, rows[0])
        return f.values(rows.T) if f.landing_p is not None else rows.T

    def func(x: np.ndarray) -> np.ndarray:
        from tqdm.auto import tqdm

        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[0] != n_rows:
            raise ValueError(f"x must have shape ({n_rows}, n), got {x.shape}")
        n = x.shape[1]
        y = np.empty(n)
        with tqdm(
            total=n,
            desc=f"{scenario.name} sensitivity",
            unit="draw",
            delay=1.0,
            leave=False,
            disable=(not progress) if progress is not None else None,
        ) as bar:
            for start in range(0, n, chunk):
                sl = slice(start, min(start + chunk, n))
                values = [
                    values_of(f, x[starts[j] : starts[j + 1], sl]) for j, f in enumerate(factors)
                ]
                y[sl] = run(apply_draws(base, factors, values, scenario))
                bar.update(sl.stop - sl.start)
        return y[None, :]

    from scipy import stats  # imported when used, to keep `import benefitshare` light

    dists = []
    for f, width in zip(factors, widths, strict=True):
        dist = stats.uniform(0.0, 1.0) if f.landing_p is not None else f.dist
        dists += [Marginal(dist, _dist_label(f))] * width
    return SensitivityModel(
        names=tuple(f.name for f in factors),
        dists=tuple(dists),
        func=func,
        outcome=out,
        common_draw=() if grouped else tuple(f.name for f in factors if f.spec.independent),
        ignored_correlation=tuple(unc.correlation.names) if unc.correlation is not None else (),
        chunk_draws=chunk,
        groups=tuple(int(j) for j, w in enumerate(widths) for _ in range(w)) if grouped else None,
        per_project=per_project,
    )
