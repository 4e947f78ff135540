"""One-at-a-time sensitivity (tornado): each uncertain input at a low and a high quantile.

:func:`tornado` moves one input declared in the scenario's ``[uncertainty]`` section
(``docs/model.md``, section 5) at a time between two quantiles (P10 and P90 by default), every
other input at its central value (the value written in the scenario and project files), and
measures an :class:`~benefitshare.analysis.outcomes.Outcome` (a party's NPV, revenue, gain or
pool share under one rule, or the pool). All variants are evaluated vectorised, as draws of one
model evaluation. The settings are stored with the table (``df.attrs["settings"]``).

This is a statistical tool with no legal basis; the ranges it explores are the modelling
assumptions of the scenario's ``[uncertainty]`` section.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from benefitshare.analysis.outcomes import Outcome, outcome_evaluator, parse_outcome
from benefitshare.analysis.sensitivity_model import declared_factors
from benefitshare.errors import Problem, ScenarioError
from benefitshare.model.draws import Factor, apply_draws
from benefitshare.model.inputs import central_inputs

__all__ = ["TornadoSettings", "tornado"]

_ARG = "<arguments>"


@dataclasses.dataclass(frozen=True)
class TornadoSettings:
    """How a tornado table was made (stored as ``df.attrs["settings"]``).

    Attributes
    ----------
    outcome : str
        ``metric:party:rule``.
    outcome_description : str
    scenario : str
    low_q, high_q : float
        Quantiles each input is moved to [fraction].
    central_yuan : float
        The outcome with every input at its central value (the deterministic run) [yuan].
    inputs_sha256 : dict
        SHA-256 of the scenario's input files.
    """

    outcome: str
    outcome_description: str
    scenario: str
    low_q: float
    high_q: float
    central_yuan: float
    inputs_sha256: dict


def _check_quantiles(low_q, high_q) -> None:
    problems = []
    for name, q in (("low_q", low_q), ("high_q", high_q)):
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0.0 < q < 1.0:
            problems.append(
                Problem(_ARG, name, "must be a probability strictly between 0 and 1", q)
            )
    if not problems and low_q >= high_q:
        problems.append(Problem(_ARG, "low_q", f"must be below high_q ({high_q})", low_q))
    if problems:
        raise ScenarioError(problems)


#: Cumulative probabilities within this of ``q`` count as reaching it (``0.6 + 0.3`` is 0.9).
_Q_TOL = 1e-9


def _tornado_values(factor: Factor, q: float) -> tuple[np.ndarray, float, str]:
    """The factor's values at quantile ``q`` (1, n_dims), the value shown, and its unit.

    The q-quantile of a discrete or Bernoulli distribution is the smallest value whose
    cumulative probability reaches ``q``, with a tolerance for rounding in the sum of the
    probabilities (so that P90 of ``{0: 0.6, 1: 0.3, 2: 0.1}`` is 1, not 2).
    """
    dist = factor.spec.distribution
    if factor.landing_p is not None:
        # each project at the q-quantile of its own Bernoulli draw: it lands iff p > 1 - q
        v = (factor.landing_p > 1.0 - q + _Q_TOL).astype(float)[None, :]
        return v, float(v.mean()), "share landing"
    if dist.name == "discrete":
        values = np.asarray(dist.params["values"], dtype=float)
        order = np.argsort(values, kind="stable")
        cdf = np.cumsum(np.asarray(dist.params["probabilities"], dtype=float)[order])
        i = min(int(np.searchsorted(cdf, q - _Q_TOL, side="left")), values.size - 1)
        x = float(values[order][i])
    elif dist.name == "bernoulli":
        x = float(dist.params["p"] > 1.0 - q + _Q_TOL)
    else:
        x = float(factor.values(np.full((1, 1), q))[0, 0])
    v = np.full((1, factor.n_dims), x)
    if factor.spec.target == "projects.landing_probability" and dist.name == "bernoulli":
        return v, x, "share landing"
    unit = {"multiply": "multiplier", "add": "added", "replace": "value"}[factor.spec.apply]
    return v, x, unit


def tornado(
    scenario,
    outcome: str | Outcome,
    *,
    rule: str | None = None,
    party: str | None = None,
    low_q: float = 0.1,
    high_q: float = 0.9,
) -> pd.DataFrame:
    """One-at-a-time sensitivity: each input at its low and high quantile, the others central.

    Parameters
    ----------
    scenario : Scenario
        With an ``[uncertainty]`` section.
    outcome : str or Outcome
        E.g. ``"npv:shanwei:fixed_50_50"``; see
        :func:`~benefitshare.analysis.outcomes.parse_outcome`.
    rule, party : str, optional
        The rule and party, if not in ``outcome``.
    low_q, high_q : float
        Quantiles of each input's distribution [fraction], P10 and P90 by default.

    Returns
    -------
    pandas.DataFrame
        One row per input, largest swing first: ``input``, ``target``, ``apply``,
        ``value_unit`` (``multiplier``, ``added``, ``value`` or ``share landing``),
        ``low_value``, ``high_value`` (the input at ``low_q`` and ``high_q``), ``outcome_low_yuan``,
        ``outcome_high_yuan``, ``swing_yuan`` (``|high - low|``). ``df.attrs["settings"]`` is a
        :class:`TornadoSettings` with the central outcome.

    Raises
    ------
    ScenarioError
        For a bad outcome or quantile, or a scenario without uncertain inputs.

    Notes
    -----
    Central values are the values in the scenario and project files, as in the deterministic
    run (landing at its probability, so the central outcome is an expected value). A quantile is
    applied to the file's value exactly as a draw would be (``multiply``, ``add`` or ``replace``,
    then clipped to the input's range). An input drawn separately for each project
    (``independent = true``) takes the same quantile in every project. A per-project landing
    draw is moved to the same quantile of each project's own Bernoulli distribution: at
    quantile ``q`` a project lands when its landing probability exceeds ``1 - q``, so at P10
    only projects more than 90% likely to land do, and at P90 all projects more than 10% likely
    do; ``low_value`` and ``high_value`` give the share of its projects that land.

    All ``2 M + 1`` variants (the central run and two per input) are evaluated in one call, as
    draws of one array.
    """
    out = parse_outcome(scenario, outcome, rule=rule, party=party)
    _check_quantiles(low_q, high_q)
    factors = declared_factors(scenario)
    base = central_inputs(scenario)
    n = 1 + 2 * len(factors)
    rows, changes = [], {}
    for j, f in enumerate(factors):
        v_lo, show_lo, unit = _tornado_values(f, low_q)
        v_hi, show_hi, _ = _tornado_values(f, high_q)
        new = apply_draws(base, [f], [np.concatenate([v_lo, v_hi])], scenario)[f.input_name]
        changes.setdefault(f.input_name, []).append((1 + 2 * j, new))
        rows.append(
            {
                "input": f.name,
                "target": f.spec.target,
                "apply": f.spec.apply,
                "value_unit": unit,
                "low_value": show_lo,
                "high_value": show_hi,
            }
        )
    inputs = dict(base)
    for name, parts in changes.items():
        b = np.asarray(base[name])
        shape = np.broadcast_shapes(b.shape[1:], *(new.shape[1:] for _, new in parts))
        arr = np.array(
            np.broadcast_to(b, (n, *shape)), dtype=np.result_type(b, *(p for _, p in parts))
        )
        for row, new in parts:
            arr[row : row + 2] = new
        inputs[name] = arr
    y = outcome_evaluator(scenario, out)(inputs)
    df = pd.DataFrame(rows)
    df["outcome_low_yuan"] = y[1::2]
    df["outcome_high_yuan"] = y[2::2]
    df["swing_yuan"] = np.abs(df["outcome_high_yuan"] - df["outcome_low_yuan"])
    df = df.sort_values("swing_yuan", ascending=False, kind="stable").reset_index(drop=True)
    df.attrs["settings"] = TornadoSettings(
        outcome=str(out),
        outcome_description=out.describe(scenario),
        scenario=scenario.name,
        low_q=float(low_q),
        high_q=float(high_q),
        central_yuan=float(y[0]),
        inputs_sha256=dict(scenario.input_files),
    )
    return df
