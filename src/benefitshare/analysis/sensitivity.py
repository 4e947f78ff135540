"""Sensitivity of an outcome to the scenario's uncertain inputs: tornado and Sobol indices.

An *outcome* is one number per draw: a party's NPV, cumulative revenue, gain over its standalone
value or share of the pool under one rule, or the whole shareable pool. It is named by a string
``"metric:party:rule"`` (``"npv:shanwei:fixed_50_50"``) or by keyword arguments.

:func:`tornado` moves one input at a time between two quantiles (P10 and P90 by default) with
every other input at its central value (the value written in the scenario and project files), and
:func:`sobol` estimates first-order and total Sobol indices with ``scipy.stats.sobol_indices``
and bootstrap confidence intervals. Both evaluate the model vectorised: every variant of the
inputs is one draw of a single :func:`~benefitshare.pipeline.evaluate` call (in chunks of draws
for Sobol). The settings of each analysis are stored with its table (``df.attrs["settings"]``),
so a table cannot be read against a sample it did not come from.

These are statistical tools with no legal basis; the ranges they explore are the modelling
assumptions of the scenario's ``[uncertainty]`` section.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from benefitshare.errors import Problem, ScenarioError
from benefitshare.model.draws import Factor, apply_draws, uncertain_factors
from benefitshare.model.metrics import discount_factors, npv_yuan
from benefitshare.model.run import central_inputs, evaluate, normalise_seed, select_rules

__all__ = [
    "METRICS",
    "Outcome",
    "parse_outcome",
    "outcome_values",
    "SensitivityModel",
    "sensitivity_model",
    "TornadoSettings",
    "tornado",
    "SobolSettings",
    "sobol",
    "sobol_from_function",
]

#: Outcome metrics -> (needs a party and a rule, short label, description). All in yuan.
METRICS: dict[str, tuple[bool, str, str]] = {
    "npv": (
        True,
        "NPV of net benefit",
        "NPV of net benefit (revenue received less costs borne), at the party's discount rate",
    ),
    "cumulative": (
        True,
        "cumulative revenue",
        "revenue received over the horizon (pool share, local revenue outside the pool, dividends)",
    ),
    "gain": (
        True,
        "NPV gain over standalone",
        "NPV of net benefit less the NPV of the standalone (no-agreement) revenue",
    ),
    "pool_share": (
        True,
        "share of the pool",
        "share of the shareable pool received over the horizon",
    ),
    "pool": (
        False,
        "shareable pool",
        "the whole shareable pool over the horizon (the same under every rule)",
    ),
}

_ARG = "<arguments>"


# ------------------------------------------------------------------------------------ outcomes
@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a sensitivity analysis measures: one number per draw [yuan].

    Attributes
    ----------
    metric : str
        One of :data:`METRICS`.
    party : str or None
        Party id (``None`` for ``pool``).
    rule : str or None
        Rule name (``None`` for ``pool``).
    """

    metric: str
    party: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        if self.party is None:
            return self.metric
        return f"{self.metric}:{self.party}:{self.rule}"

    def describe(self, scenario=None) -> str:
        """A short description, with the party's and rule's names when a scenario is given."""
        label = METRICS[self.metric][1]
        if self.party is None:
            return f"the {label}"
        party, rule = self.party, self.rule
        if scenario is not None:
            party = scenario.spec.parties[self.party].name
            spec = {r.name: r for r in scenario.spec.rules}[self.rule]
            rule = spec.label or spec.name
        return f"{party}'s {label} under {rule}"


def _unknown(kind: str, value, valid: Sequence[str]) -> str:
    hint = difflib.get_close_matches(str(value), list(valid), n=1)
    return f"unknown {kind}" + (
        f"; did you mean {hint[0]!r}?" if hint else f"; valid: {', '.join(valid)}"
    )


def parse_outcome(
    scenario, outcome: str | Outcome, *, rule: str | None = None, party: str | None = None
) -> Outcome:
    """Read and check an outcome against a scenario.

    Parameters
    ----------
    scenario : Scenario
    outcome : str or Outcome
        ``"metric"``, ``"metric:party"`` or ``"metric:party:rule"``; the metric is one of
        :data:`METRICS`.
    rule, party : str, optional
        Given separately; each must agree with the string when both name it. A rule may be
        omitted when the scenario has exactly one.

    Returns
    -------
    Outcome

    Raises
    ------
    ScenarioError
        Naming every problem: an unknown metric, party or rule (with the nearest valid name), a
        party or rule given twice with different values, or missing.
    """
    problems: list[Problem] = []
    if isinstance(outcome, Outcome):
        parts = [outcome.metric, outcome.party or "", outcome.rule or ""]
    elif isinstance(outcome, str) and outcome.strip():
        parts = [p.strip() for p in outcome.split(":")]
    else:
        raise ScenarioError(
            Problem(_ARG, "outcome", "give a metric such as 'npv:shanwei:fixed_50_50'", outcome)
        )
    if len(parts) > 3:
        raise ScenarioError(Problem(_ARG, "outcome", "write at most metric:party:rule", outcome))
    parts += [""] * (3 - len(parts))
    metric, s_party, s_rule = parts
    for field, from_str, given in (("party", s_party, party), ("rule", s_rule, rule)):
        if from_str and given is not None and from_str != given:
            problems.append(
                Problem(_ARG, field, f"the outcome names {field} {from_str!r}; give it once", given)
            )
    party = party if party is not None else (s_party or None)
    rule = rule if rule is not None else (s_rule or None)
    if metric not in METRICS:
        problems.append(
            Problem(_ARG, "outcome metric", _unknown("metric", metric, list(METRICS)), metric)
        )
        raise ScenarioError(problems)
    needs = METRICS[metric][0]
    parties = list(scenario.spec.parties)
    rules = scenario.rule_names
    if not needs:
        for field, value in (("party", party), ("rule", rule)):
            if value is not None:
                problems.append(
                    Problem(
                        _ARG, field, f"{metric!r} is the whole pool: it takes no {field}", value
                    )
                )
    else:
        if party is None:
            problems.append(
                Problem(_ARG, "party", f"{metric!r} needs a party; valid: {', '.join(parties)}")
            )
        elif party not in parties:
            problems.append(Problem(_ARG, "party", _unknown("party", party, parties), party))
        if rule is None:
            if len(rules) == 1:
                rule = rules[0]
            else:
                problems.append(
                    Problem(_ARG, "rule", f"{metric!r} needs a rule; valid: {', '.join(rules)}")
                )
        elif rule not in rules:
            problems.append(Problem(_ARG, "rule", _unknown("rule", rule, rules), rule))
    if problems:
        raise ScenarioError(problems)
    return Outcome(metric, party, rule) if needs else Outcome(metric)


def outcome_values(scenario, chunk, outcome: Outcome, rule_index: int = 0) -> np.ndarray:
    """The outcome for every draw of one evaluated chunk.

    Parameters
    ----------
    scenario : Scenario
    chunk : ChunkOutput
        From :func:`~benefitshare.pipeline.evaluate`.
    outcome : Outcome
    rule_index : int
        Position of ``outcome.rule`` among the rules the chunk was evaluated with.

    Returns
    -------
    ndarray, shape (D,)
        [yuan]. NPVs use each party's discount rate, as in :meth:`Result.summary`.

    Notes
    -----
    ``revenue = pool share + retained + dividends``; ``npv = sum_y (revenue - costs)_y d_y``;
    ``gain = npv - sum_y standalone_y d_y``; ``pool_share`` and ``pool`` are horizon sums.
    """
    if outcome.metric == "pool":
        return chunk.pool_dy.sum(axis=-1)
    spec = scenario.spec
    k = list(spec.parties).index(outcome.party)
    party = spec.parties[outcome.party]
    rate = party.discount_rate if party.discount_rate is not None else spec.model.discount_rate
    factors_y = discount_factors(rate, scenario.years)
    share = chunk.pool_share_rdky[rule_index, :, k]  # (D, Y)
    if outcome.metric == "pool_share":
        return share.sum(axis=-1)
    revenue = share + chunk.retained_dky[:, k] + chunk.dividends_dky[:, k]
    if outcome.metric == "cumulative":
        return revenue.sum(axis=-1)
    npv = npv_yuan(revenue - chunk.costs_cdky[:, :, k].sum(axis=0), factors_y)
    if outcome.metric == "npv":
        return npv
    return npv - npv_yuan(chunk.standalone_dky[:, k], factors_y)


# ------------------------------------------------------------------------------------ the model
class _Marginal:
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


def _factors(scenario) -> list[Factor]:
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


def _evaluator(scenario, outcome: Outcome):
    """``f(inputs) -> (D,)``: evaluate only the outcome's rule (the first one for ``pool``)."""
    specs = (
        select_rules(scenario, [outcome.rule]) if outcome.rule else list(scenario.spec.rules)[:1]
    )
    return lambda inputs: outcome_values(scenario, evaluate(scenario, inputs, specs), outcome)


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
    factors = _factors(scenario)
    unc = scenario.spec.uncertainty
    chunk = int(chunk_draws or unc.chunk_draws)
    base = central_inputs(scenario)
    run = _evaluator(scenario, out)
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
        dists += [_Marginal(dist, _dist_label(f))] * width
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


# ------------------------------------------------------------------------------------ tornado
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
        E.g. ``"npv:shanwei:fixed_50_50"``; see :func:`parse_outcome`.
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
    factors = _factors(scenario)
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
    y = _evaluator(scenario, out)(inputs)
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


# ------------------------------------------------------------------------------------ Sobol
@dataclasses.dataclass(frozen=True)
class SobolSettings:
    """How a Sobol table was made (stored as ``df.attrs["settings"]``).

    Attributes
    ----------
    n : int
        Base sample size (a power of two); the model is evaluated ``n (d + 2)`` times.
    seed : dict
        ``entropy`` and ``spawn_key`` of the seed's ``SeedSequence``: repeats the analysis
        exactly, confidence intervals included.
    method : str
        Estimator of ``scipy.stats.sobol_indices`` (``saltelli_2010``).
    sampler : str
    n_evaluations : int
    confidence_level : float
    n_resamples : int
        Bootstrap resamples (BCa intervals).
    inputs : tuple of str
    distributions : tuple of str
    outcome, outcome_description, scenario : str or None
        Set by :func:`sobol` (``None`` from :func:`sobol_from_function`).
    groups : tuple of int or None
        The input of each row of the sample, when inputs are groups of rows.
    per_project : str or None
        How :func:`sobol` treated per-project inputs: ``"common"`` or ``"grouped"``.
    common_draw : tuple of str
        Per-project inputs analysed with one draw common to their projects.
    ignored_correlation : tuple of str
        Correlated inputs of the scenario, treated as independent here.
    inputs_sha256 : dict
    """

    n: int
    seed: dict
    method: str
    sampler: str
    n_evaluations: int
    confidence_level: float
    n_resamples: int
    inputs: tuple[str, ...]
    distributions: tuple[str, ...]
    groups: tuple[int, ...] | None = None
    outcome: str | None = None
    outcome_description: str | None = None
    scenario: str | None = None
    per_project: str | None = None
    common_draw: tuple[str, ...] = ()
    ignored_correlation: tuple[str, ...] = ()
    inputs_sha256: dict = dataclasses.field(default_factory=dict)


def _saltelli_2010(f_A, f_B, f_AB):
    """First-order and total indices (Saltelli et al. 2010, table 2 (b) and (f)).

    ``f_A`` and ``f_B`` are (..., n), ``f_AB`` is (d, ..., n), all centred on the mean of
    ``f_A`` and ``f_B``; returns two arrays (d, ...). The estimator of
    ``scipy.stats.sobol_indices(method="saltelli_2010")``, vectorised over leading axes (the
    bootstrap's resamples); a zero variance gives zero indices.
    """
    var = np.var(np.concatenate([f_A, f_B], axis=-1), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.mean(f_B * (f_AB - f_A), axis=-1) / var
        st = 0.5 * np.mean((f_A - f_AB) ** 2, axis=-1) / var
    zero = ~(var > 0)
    return np.where(zero, 0.0, s), np.where(zero, 0.0, st)


def _jackknife_indices(f_A, f_B, f_AB):
    """Leave-one-row-out first-order and total indices, (2 d, n), in O(n d).

    Each estimator is a ratio of sums over the rows, so leaving row ``i`` out subtracts its
    terms from the sums (the variance over the ``2 (n - 1)`` values of ``f_A`` and ``f_B`` left).
    """
    n = f_A.shape[-1]
    m = n - 1
    g = f_B * (f_AB - f_A)  # (d, n)
    h = 0.5 * (f_A - f_AB) ** 2
    s1 = f_A.sum() + f_B.sum() - (f_A + f_B)
    s2 = (f_A**2).sum() + (f_B**2).sum() - (f_A**2 + f_B**2)
    var = s2 / (2 * m) - (s1 / (2 * m)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (g.sum(axis=-1, keepdims=True) - g) / m / var
        st = (h.sum(axis=-1, keepdims=True) - h) / m / var
    zero = ~(var > 0)
    return np.concatenate([np.where(zero, 0.0, s), np.where(zero, 0.0, st)], axis=0)


def _bca_intervals(f_A, f_B, f_AB, confidence_level, n_resamples, rng, *, batch_floats=4_000_000):
    """Bias-corrected and accelerated bootstrap intervals of the indices, (2 d,) low and high.

    The same interval as ``scipy.stats.bootstrap(..., method="BCa")`` over the rows of the
    sample (the resamples are drawn as it draws them, ``rng.integers(0, n, (B, n))``), with
    the jackknife of :func:`_jackknife_indices` in O(n d) instead of O(n^2 d). Where the
    interval is undefined (an index that is the same in every resample) it is the percentile
    interval, a constant where nothing varies.

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. Journal of the American
    Statistical Association 82(397), 171-185.
    """
    from scipy.special import ndtr, ndtri

    d, n = f_AB.shape
    theta = np.concatenate(_saltelli_2010(f_A, f_B, f_AB))  # (2 d,)
    idx = rng.integers(0, n, (n_resamples, n))
    per = max(1, int(batch_floats // (n * (d + 2))))
    boot = np.concatenate(
        [
            np.concatenate(_saltelli_2010(f_A[i], f_B[i], f_AB[:, i]), axis=0)
            for i in np.array_split(idx, range(per, n_resamples, per))
        ],
        axis=1,
    )  # (2 d, B)
    jack = _jackknife_indices(f_A, f_B, f_AB)
    alpha = (1.0 - confidence_level) / 2.0
    with np.errstate(all="ignore"):
        below = (boot < theta[:, None]).sum(axis=1) + (boot <= theta[:, None]).sum(axis=1)
        z0 = ndtri(below / (2.0 * n_resamples))
        dev = jack.mean(axis=1, keepdims=True) - jack
        accel = (dev**3).sum(axis=1) / (6.0 * ((dev**2).sum(axis=1)) ** 1.5)
        z = ndtri(alpha)
        a1 = ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
        a2 = ndtr(z0 + (z0 - z) / (1 - accel * (z0 - z)))
    low, high = np.empty(2 * d), np.empty(2 * d)
    for j in range(2 * d):
        q = (a1[j], a2[j]) if np.isfinite(a1[j]) and np.isfinite(a2[j]) else (alpha, 1 - alpha)
        low[j], high[j] = np.percentile(boot[j], [100 * q[0], 100 * q[1]])
    return low, high


def _check_sobol_args(n, confidence_level, n_resamples) -> None:
    problems = []
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2 or n & (n - 1):
        problems.append(Problem(_ARG, "n", "must be a power of two, at least 2 (e.g. 1024)", n))
    if (
        isinstance(confidence_level, bool)
        or not isinstance(confidence_level, int | float)
        or not 0.0 < confidence_level < 1.0
    ):
        problems.append(
            Problem(_ARG, "confidence_level", "must be strictly between 0 and 1", confidence_level)
        )
    if (
        isinstance(n_resamples, bool)
        or not isinstance(n_resamples, int | np.integer)
        or n_resamples < 1
    ):
        problems.append(Problem(_ARG, "n_resamples", "must be a whole number >= 1", n_resamples))
    if problems:
        raise ScenarioError(problems)


def sobol_from_function(
    func: Callable[[np.ndarray], np.ndarray],
    dists: Sequence,
    n: int = 2**10,
    seed=None,
    *,
    names: Sequence[str] | None = None,
    groups: Sequence[int] | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 999,
) -> pd.DataFrame:
    """Sobol indices of any vectorised function, with seeded bootstrap confidence intervals.

    Parameters
    ----------
    func : callable
        ``func(x)`` with ``x`` of shape (d, m) returns the output, shape (m,) or (1, m).
    dists : sequence
        ``d`` marginal distributions with a ``ppf`` method (e.g. frozen ``scipy.stats``
        distributions); numbers are taken as constants.
    n : int
        Base sample size, a power of two; ``func`` sees ``n (d + 2)`` columns in all.
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Drives both the scrambled Sobol sample and the bootstrap.
    names : sequence of str, optional
        Input names (``x0``, ``x1``, ... by default); one per group when ``groups`` is given.
    groups : sequence of int, optional
        The group (0, 1, ...) of each of the ``d`` rows of ``x``: indices are then estimated per
        group, the rows of a group being resampled together (Jacques et al. 2006); ``func`` sees
        ``n (g + 2)`` columns for ``g`` groups.
    confidence_level : float
        Of the bootstrap intervals.
    n_resamples : int
        Bootstrap resamples.

    Returns
    -------
    pandas.DataFrame
        One row per input, largest total index first: ``input``, ``first_order``,
        ``total_order``, ``first_order_low``, ``first_order_high``, ``total_order_low``,
        ``total_order_high``. ``df.attrs["settings"]`` is a :class:`SobolSettings`.

    Notes
    -----
    Indices come from ``scipy.stats.sobol_indices(func=..., n=..., dists=..., rng=...)``
    (Saltelli et al. 2010 estimators on a scrambled Sobol sample of two matrices A and B). The
    intervals are BCa bootstrap intervals over the ``n`` rows of the sample, as
    ``SobolResult.bootstrap`` computes them, with two differences: the resamples are drawn from
    a generator seeded from ``seed`` (``SobolResult.bootstrap`` draws from NumPy's global random
    state, so its intervals could not be repeated), and the jackknife that BCa needs is computed
    in O(n d) (:func:`_jackknife_indices`) rather than by ``n`` evaluations of the estimator,
    which takes minutes at n = 2^13. On the same resamples the intervals equal
    ``scipy.stats.bootstrap(..., method="BCa")``'s. Where the bootstrap distribution is constant
    (an input that does not matter) the interval is that constant.

    With ``groups`` the sample is drawn as ``scipy.stats.sobol_indices`` draws it (one scrambled
    Sobol sequence of ``2 d`` columns split into A and B), each matrix ``AB_g`` takes the rows of
    group ``g`` from B, and the indices come from ``scipy.stats.sobol_indices(func={"f_A": ...,
    "f_B": ..., "f_AB": ...})``; with one row per group this equals the ungrouped analysis.

    References
    ----------
    Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. and Tarantola, S. (2010).
    Variance based sensitivity analysis of model output. Computer Physics Communications 181(2),
    259-270.

    Jacques, J., Lavergne, C. and Devictor, N. (2006). Sensitivity analysis in presence of
    model uncertainty and correlated inputs. Reliability Engineering & System Safety 91,
    1126-1134 (indices of groups of inputs).
    """
    _check_sobol_args(n, confidence_level, n_resamples)
    n = int(n)
    ss = normalise_seed(seed)
    sample_ss, boot_ss = ss.spawn(2)
    marginals = [d if isinstance(d, _Marginal) else _Marginal(d) for d in dists]
    rows = len(marginals)
    if groups is not None:
        groups = np.asarray(groups, dtype=int)
        n_groups = int(groups.max()) + 1 if groups.size else 0
        if (
            groups.shape != (rows,)
            or groups.min(initial=0) < 0
            or np.unique(groups).size != n_groups
        ):
            raise ScenarioError(
                Problem(
                    _ARG,
                    "groups",
                    "give each distribution's group, numbered 0, 1, ... without gaps",
                    groups.tolist(),
                )
            )
    d = rows if groups is None else n_groups
    names = [f"x{i}" for i in range(d)] if names is None else list(names)
    if len(names) != d or d == 0:
        raise ScenarioError(Problem(_ARG, "names", f"give one name per input ({d})", names))
    from scipy import stats  # imported when used, to keep `import benefitshare` light

    outputs: list[np.ndarray] = []

    def recorded(x):
        y = np.asarray(func(x), dtype=float).reshape(1, -1)
        if y.shape[1] != x.shape[1]:
            raise ValueError(f"func returned {y.shape[1]} values for {x.shape[1]} columns")
        if not np.isfinite(y).all():
            raise ValueError("func returned values that are not finite")
        outputs.append(y[0])
        return y

    if groups is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            res = stats.sobol_indices(
                func=recorded, n=n, dists=marginals, rng=np.random.default_rng(sample_ss)
            )
        # calls: func(A), func(B), func(AB); AB's columns run over inputs fastest (scipy's layout)
        f_A, f_B = outputs[0], outputs[1]
        f_AB = outputs[2].reshape(n, d).T
    else:
        sobol_seq = stats.qmc.Sobol(d=2 * rows, rng=np.random.default_rng(sample_ss), bits=64)
        u = sobol_seq.random(n).T.reshape(2, rows, n)
        A = np.stack([m.ppf(u[0, i]) for i, m in enumerate(marginals)])
        B = np.stack([m.ppf(u[1, i]) for i, m in enumerate(marginals)])
        f_A, f_B = recorded(A)[0], recorded(B)[0]
        AB = np.concatenate([np.where((groups == g)[:, None], B, A) for g in range(d)], axis=1)
        f_AB = recorded(AB)[0].reshape(d, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            res = stats.sobol_indices(
                func={"f_A": f_A[None], "f_B": f_B[None], "f_AB": f_AB[:, None]}, n=n
            )
    mean = np.mean([f_A, f_B])
    scale = np.std([f_A, f_B]) or 1.0  # the indices do not depend on the output's unit
    f_A, f_B, f_AB = (f_A - mean) / scale, (f_B - mean) / scale, (f_AB - mean) / scale
    first, total = _saltelli_2010(f_A, f_B, f_AB)
    if not (
        np.allclose(first, res.first_order, rtol=1e-9, atol=1e-12)
        and np.allclose(total, res.total_order, rtol=1e-9, atol=1e-12)
    ):  # pragma: no cover
        raise RuntimeError("scipy.stats.sobol_indices evaluated the sample in an unexpected order")
    low, high = _bca_intervals(
        f_A, f_B, f_AB, confidence_level, int(n_resamples), np.random.default_rng(boot_ss)
    )
    df = pd.DataFrame(
        {
            "input": names,
            "first_order": first,
            "total_order": total,
            "first_order_low": low[:d],
            "first_order_high": high[:d],
            "total_order_low": low[d:],
            "total_order_high": high[d:],
        }
    )
    df = df.sort_values("total_order", ascending=False, kind="stable").reset_index(drop=True)
    df.attrs["settings"] = SobolSettings(
        n=n,
        seed={"entropy": ss.entropy, "spawn_key": list(ss.spawn_key)},
        method="saltelli_2010",
        sampler="scrambled Sobol' sequence (scipy.stats.qmc.Sobol), A and B from 2d columns",
        n_evaluations=n * (d + 2),
        confidence_level=float(confidence_level),
        n_resamples=int(n_resamples),
        inputs=tuple(names),
        distributions=tuple(
            repr(marginals[i if groups is None else int(np.argmax(groups == i))]) for i in range(d)
        ),
        groups=None if groups is None else tuple(int(g) for g in groups),
    )
    return df


def sobol(
    scenario,
    outcome: str | Outcome,
    *,
    n: int = 2**10,
    seed=None,
    rule: str | None = None,
    party: str | None = None,
    per_project: str = "common",
    confidence_level: float = 0.95,
    n_resamples: int = 999,
    chunk_draws: int | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Global sensitivity: first-order and total Sobol indices of an outcome, with intervals.

    Parameters
    ----------
    scenario : Scenario
        With an ``[uncertainty]`` section; each declared input is one factor.
    outcome : str or Outcome
        E.g. ``"npv:shanwei:fixed_50_50"``; see :func:`parse_outcome`.
    n : int
        Base sample size, a power of two; the model is evaluated ``n (d + 2)`` times for ``d``
        inputs, vectorised in chunks of ``chunk_draws``.
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        The same seed gives the same table, intervals included.
    rule, party : str, optional
    per_project : {"common", "grouped"}
        How an input drawn per project (``independent = true``) is analysed: one draw common to
        its projects (the default), or one draw per project as in a run, the input's draws
        forming a group (see :func:`sensitivity_model`).
    confidence_level : float
    n_resamples : int
        Bootstrap resamples for the intervals.
    chunk_draws : int, optional
    progress : bool, optional

    Returns
    -------
    pandas.DataFrame
        As :func:`sobol_from_function`; ``df.attrs["settings"]`` (a :class:`SobolSettings`)
        also names the outcome, the scenario, its input hashes, how per-project inputs were
        treated and the correlations left out.

    Notes
    -----
    The first-order index of an input is the share of the outcome's variance it explains alone,
    the total index the share it explains with all its interactions. With
    ``per_project="common"`` an input drawn per project counts for more than in a run, where
    the projects' draws partly average out; ``"grouped"`` gives the indices of the run as
    declared. Correlations between inputs are not used, since the indices assume independent
    inputs.
    """
    model = sensitivity_model(
        scenario,
        outcome,
        rule=rule,
        party=party,
        per_project=per_project,
        chunk_draws=chunk_draws,
        progress=progress,
    )
    _check_sobol_args(n, confidence_level, n_resamples)
    df = sobol_from_function(
        model.func,
        model.dists,
        n,
        seed,
        names=model.names,
        groups=model.groups,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
    )
    df.attrs["settings"] = dataclasses.replace(
        df.attrs["settings"],
        outcome=str(model.outcome),
        outcome_description=model.outcome.describe(scenario),
        scenario=scenario.name,
        per_project=model.per_project,
        common_draw=model.common_draw,
        ignored_correlation=model.ignored_correlation,
        inputs_sha256=dict(scenario.input_files),
    )
    return df
