"""Global sensitivity: first-order and total Sobol indices, with seeded BCa bootstrap intervals.

:func:`sobol` estimates the Sobol indices of an :class:`~benefitshare.analysis.outcomes.Outcome`
with respect to the uncertain inputs a scenario declares (``docs/model.md``, section 5), by
sampling the vectorised model of :func:`~benefitshare.analysis.sensitivity_model.sensitivity_model`;
:func:`sobol_from_function` does the same for any vectorised function. The indices come from
``scipy.stats.sobol_indices`` (the estimators of Saltelli et al. 2010, also written out here in
:func:`saltelli_2010_indices`), the intervals from a bias-corrected and accelerated bootstrap
(:func:`bca_intervals`) with a closed-form jackknife (:func:`jackknife_indices`). The settings
are stored with the table (``df.attrs["settings"]``), so a table cannot be read against a
sample it did not come from. ``scipy.stats`` is imported only when an analysis runs.

These are statistical tools with no legal basis; the ranges they explore are the modelling
assumptions of the scenario's ``[uncertainty]`` section.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from benefitshare.analysis.outcomes import Outcome
from benefitshare.analysis.sensitivity_model import Marginal, sensitivity_model
from benefitshare.errors import Problem, ScenarioError
from benefitshare.model.run import normalise_seed

__all__ = [
    "SobolSettings",
    "sobol",
    "sobol_from_function",
    "saltelli_2010_indices",
    "jackknife_indices",
    "bca_intervals",
]

_ARG = "<arguments>"


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


def saltelli_2010_indices(f_A, f_B, f_AB):
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


def jackknife_indices(f_A, f_B, f_AB):
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


def bca_intervals(f_A, f_B, f_AB, confidence_level, n_resamples, rng, *, batch_floats=4_000_000):
    """Bias-corrected and accelerated bootstrap intervals of the indices, (2 d,) low and high.

    The same interval as ``scipy.stats.bootstrap(..., method="BCa")`` over the rows of the
    sample (the resamples are drawn as it draws them, ``rng.integers(0, n, (B, n))``), with
    the jackknife of :func:`jackknife_indices` in O(n d) instead of O(n^2 d). Where the
    interval is undefined (an index that is the same in every resample) it is the percentile
    interval, a constant where nothing varies.

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. Journal of the American
    Statistical Association 82(397), 171-185.
    """
    from scipy.special import ndtr, ndtri

    d, n = f_AB.shape
    theta = np.concatenate(saltelli_2010_indices(f_A, f_B, f_AB))  # (2 d,)
    idx = rng.integers(0, n, (n_resamples, n))
    per = max(1, int(batch_floats // (n * (d + 2))))
    boot = np.concatenate(
        [
            np.concatenate(saltelli_2010_indices(f_A[i], f_B[i], f_AB[:, i]), axis=0)
            for i in np.array_split(idx, range(per, n_resamples, per))
        ],
        axis=1,
    )  # (2 d, B)
    jack = jackknife_indices(f_A, f_B, f_AB)
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
    in O(n d) (:func:`jackknife_indices`) rather than by ``n`` evaluations of the estimator,
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
    marginals = [d if isinstance(d, Marginal) else Marginal(d) for d in dists]
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
    first, total = saltelli_2010_indices(f_A, f_B, f_AB)
    if not (
        np.allclose(first, res.first_order, rtol=1e-9, atol=1e-12)
        and np.allclose(total, res.total_order, rtol=1e-9, atol=1e-12)
    ):  # pragma: no cover
        raise RuntimeError("scipy.stats.sobol_indices evaluated the sample in an unexpected order")
    low, high = bca_intervals(
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
        E.g. ``"npv:shanwei:fixed_50_50"``; see
        :func:`~benefitshare.analysis.outcomes.parse_outcome`.
    n : int
        Base sample size, a power of two; the model is evaluated ``n (d + 2)`` times for ``d``
        inputs, vectorised in chunks of ``chunk_draws``.
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        The same seed gives the same table, intervals included.
    rule, party : str, optional
    per_project : {"common", "grouped"}
        How an input drawn per project (``independent = true``) is analysed: one draw common to
        its projects (the default), or one draw per project as in a run, the input's draws
        forming a group (see :func:`~benefitshare.analysis.sensitivity_model.sensitivity_model`).
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
