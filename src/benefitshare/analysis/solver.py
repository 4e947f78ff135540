"""Rule solver: the parameters of a rule family that meet a target, found with scipy.optimize.

Part of the analysis layer, above the model (``docs/model.md``, section 3.8 for the rules).

``solve_rule(scenario, family, target)`` searches the parameters of one family of split rules
(a fixed ratio, a taper's end points, a cap, a term: :mod:`benefitshare.analysis.rule_families`)
for those that meet a target (equal gains, gains proportional to contributions, the Shapley
split, a minimum host share, the largest Nash product). Every candidate is evaluated by the engine on the same draws. The answer
says plainly whether the target was met, and gives the parameters, the rule as it would be
written in a scenario file, and the resulting metrics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from benefitshare.analysis.compare import (
    DEFAULT_CONTRIBUTION_KINDS,
    check_contribution_kinds,
    contribution_npv_k,
)
from benefitshare.analysis.outcomes import expected_npv_rk, expected_standalone_npv_k
from benefitshare.analysis.rule_families import FAMILIES, family_rule
from benefitshare.glossary import YUAN_PER_YI
from benefitshare.model.metrics import gain_yuan
from benefitshare.model.run import game_from_result

__all__ = ["SolveResult", "solve_rule", "TARGETS"]

#: Targets: name -> description.
TARGETS: dict[str, str] = {
    "equal_gains": "the partner and the host side gain the same NPV over standalone",
    "proportional_gains": "gains in proportion to contributions (capital, land, infrastructure)",
    "shapley": "the partner's NPV equals its Shapley value",
    "min_host_share": "the host side keeps at least `value` of the pool; the partner gains "
    "as much as it can",
    "nash": "the largest (weighted) Nash product of the parties' gains",
}

_EQUATIONS = ("equal_gains", "proportional_gains", "shapley")


@dataclasses.dataclass(frozen=True)
class SolveResult:
    """What the solver found.

    Attributes
    ----------
    success : bool
        Whether the parameters meet the target (an equation to ``tol_yuan``; a maximum that
        satisfies its constraints).
    message : str
        A plain statement of the outcome, including why the target cannot be met.
    family, target : str
    params : dict
        The family's parameters found (the closest ones when ``success`` is False).
    rule : dict
        The rule as in a scenario file: ``{"rule": ..., "params": {...}}``.
    metrics : dict
        Resulting expected values: ``npv_<party>_yuan``, ``gain_<party>_yuan``,
        ``share_of_pool_<party>``, ``host_share``, ``residual_yuan`` (equation targets),
        ``shapley_<party>_yuan``, ``win_win``.
    evaluations : int
        Candidate rules evaluated by the engine.
    note : str
        The solver's remark on the answer alone (why the target is not met, other solutions,
        a whole-year term between two values), or ``""``; also part of ``message``.
    """

    success: bool
    message: str
    family: str
    target: str
    params: dict[str, float]
    rule: dict[str, Any]
    metrics: dict[str, Any]
    evaluations: int
    note: str = ""

    def __str__(self) -> str:
        status = "met" if self.success else "NOT met"
        ps = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.params.items())
        return f"{self.family} for {self.target}: target {status}; {ps}\n{self.message}"


def _fmt(v: float) -> str:
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.6g}" if abs(v) < 1e6 else f"{v / YUAN_PER_YI:.4g} 亿元"


class _Problem:
    """Evaluates candidate parameter vectors with the engine (several per run)."""

    def __init__(
        self,
        scenario,
        family,
        target,
        *,
        value,
        options,
        draws,
        seed,
        nash_weights,
        contribution_kinds,
    ):
        self.scenario = scenario
        self.family = family
        self.target = target
        self.value = value
        self.options = dict(options or {})
        self.draws = draws
        self.seed = seed
        spec = scenario.spec
        self.parties = list(spec.parties)
        self.partner = spec.party_index("partner")
        self.host = spec.party_index("host")
        self.others = [k for k in range(len(self.parties)) if k != self.partner]
        self.weights = nash_weights
        self.contribution_kinds = tuple(contribution_kinds)
        self.evaluations = 0
        self.cache: dict[tuple, dict] = {}
        self.game = None

    # -------------------------------------------------------------------- rules of the family
    def rule(self, params: Mapping[str, float]) -> dict[str, Any]:
        """The family's rule at ``params``, as in a scenario file."""
        return family_rule(
            self.family,
            params,
            partner=self.parties[self.partner],
            host=self.parties[self.host],
            years=self.scenario.years,
            options=self.options,
        )

    def bounds(self) -> list[tuple[float, float]]:
        Y = len(self.scenario.years)
        if self.family in ("fixed_ratio", "taper"):
            return [(0.0, 1.0)] * len(FAMILIES[self.family])
        if self.family == "term":
            return [(1.0, float(Y))]
        # cap: up to everything the partner could take at its rate
        m = self.baseline_metrics()
        return [
            (0.0, float(self.options.get("partner_share", 0.5)) * m["pool_total_yuan"] * 1.0001)
        ]

    # -------------------------------------------------------------------- evaluation
    def evaluate(self, points: Sequence[Mapping[str, float]]) -> list[dict]:
        """Metrics of each candidate; all uncached ones are evaluated in one engine run."""
        from benefitshare.model.run import run
        from benefitshare.rules import validate_params
        from benefitshare.rules.spec import RuleSpec

        keys = [tuple(sorted((k, float(v)) for k, v in pt.items())) for pt in points]
        todo = [i for i, key in enumerate(keys) if key not in self.cache]
        todo = list(dict.fromkeys(keys[i] for i in todo))
        if todo:
            specs = []
            for j, key in enumerate(todo):
                rd = self.rule(dict(key))
                problems = validate_params(rd["rule"], rd["params"], self.scenario.spec)
                if problems:
                    raise ValueError(f"the solver built invalid parameters {rd}: {problems}")
                specs.append(RuleSpec(name=f"candidate_{j}", rule=rd["rule"], params=rd["params"]))
            scn = dataclasses.replace(
                self.scenario, spec=self.scenario.spec.model_copy(update={"rules": specs})
            )
            result = (
                run(scn, draws=self.draws, seed=self.seed, progress=False)
                if self.draws > 1
                else run(scn)
            )
            self.evaluations += len(specs)
            if self.game is None:
                self.game = game_from_result(result)
            expected = self._expected(result)
            for j, key in enumerate(todo):
                self.cache[key] = self._metrics(result, j, expected)
        return [self.cache[key] for key in keys]

    def baseline_metrics(self) -> dict:
        if not hasattr(self, "_baseline"):
            # a run of "host keeps all" (partner share 0 of a ratio) gives the rule-free quantities
            from benefitshare.model.run import run
            from benefitshare.rules.spec import RuleSpec

            spec = RuleSpec(name="host_keeps_all", rule="host_keeps_all")
            scn = dataclasses.replace(
                self.scenario, spec=self.scenario.spec.model_copy(update={"rules": [spec]})
            )
            result = (
                run(scn, draws=self.draws, seed=self.seed, progress=False)
                if self.draws > 1
                else run(scn)
            )
            self.game = self.game or game_from_result(result)
            self._baseline = self._metrics(result, 0, self._expected(result))
        return self._baseline

    def _expected(self, result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expected NPV (R, K), standalone NPV (K,) and contributions (K,) of a run [yuan]."""
        return (
            expected_npv_rk(result),
            expected_standalone_npv_k(result),
            contribution_npv_k(result, self.contribution_kinds),
        )

    def _metrics(self, result, r: int, expected) -> dict:
        """Metrics of rule ``r`` of a run, given its :meth:`_expected` values."""
        npv_rk, standalone_k, contrib_k = expected
        m = result.means
        share = m["pool_share_rdky"][r].sum(axis=-1)
        pool_total = float(m["pool_dy"].sum())
        out = {
            "npv": npv_rk[r],
            "gain": gain_yuan(npv_rk[r], standalone_k),
            "share": share / pool_total if pool_total > 0 else np.zeros_like(share),
            "pool_total_yuan": pool_total,
            "contrib": contrib_k,
        }
        if result.n_draws > 1:
            out["p_loss"] = result.counts["gain_below_zero_rk"][r] / result.n_draws
        return out

    # -------------------------------------------------------------------- objectives
    def residual(self, mt: dict) -> float:
        """Equation targets: a signed gap [yuan] that is 0 at the target."""
        g = mt["gain"]
        gp, gh = g[self.partner], g[self.others].sum()
        if self.target == "equal_gains":
            return float(gp - gh)
        if self.target == "proportional_gains":
            c = mt["contrib"]
            total_c = c.sum()
            if not total_c > 0:
                raise ValueError(
                    "gains proportional to contributions: nobody contributes anything "
                    f"(cost kinds {', '.join(self.contribution_kinds)})"
                )
            return float(gp - c[self.partner] / total_c * (gp + gh))
        if self.target == "shapley":
            return float(mt["npv"][self.partner] - self.game.shapley()[self.partner, 0])
        raise AssertionError(self.target)

    def objective(self, mt: dict) -> float:
        """Maximisation targets: the value to maximise (-inf where infeasible)."""
        g = mt["gain"]
        if self.target == "min_host_share":
            host_share = float(mt["share"][self.others].sum())
            return float(g[self.partner]) if host_share >= self.value - 1e-12 else -np.inf
        if self.target == "nash":
            w = self.nash_weight_vector()
            used = w > 0
            if (g[used] <= 0).any():
                return -np.inf
            return float(np.sum(w[used] * np.log(g[used])))
        raise AssertionError(self.target)

    def constraint(self, mt: dict) -> float:
        """min_host_share: host share minus the minimum (>= 0 is feasible)."""
        return float(mt["share"][self.others].sum() - self.value)

    def nash_weight_vector(self) -> np.ndarray:
        if self.weights is None:
            return np.ones(len(self.parties)) / len(self.parties)
        w = np.array([float(self.weights.get(p, 0.0)) for p in self.parties])
        if (w < 0).any() or not w.sum() > 0:
            raise ValueError(
                f"Nash weights must be non-negative and not all 0, got {dict(self.weights)}"
            )
        return w / w.sum()

    def report(self, mt: dict) -> dict:
        out: dict[str, Any] = {}
        for k, p in enumerate(self.parties):
            out[f"npv_{p}_yuan"] = float(mt["npv"][k])
        for k, p in enumerate(self.parties):
            out[f"gain_{p}_yuan"] = float(mt["gain"][k])
        for k, p in enumerate(self.parties):
            out[f"share_of_pool_{p}"] = float(mt["share"][k])
        out["host_share"] = float(mt["share"][self.others].sum())
        shapley = self.game.shapley()[:, 0]
        for k, p in enumerate(self.parties):
            out[f"shapley_{p}_yuan"] = float(shapley[k])
        if "p_loss" in mt:
            for k, p in enumerate(self.parties):
                out[f"p_loss_{p}"] = float(mt["p_loss"][k])
        out["win_win"] = bool((mt["gain"] >= -0.01).all())
        if self.target in _EQUATIONS:
            out["residual_yuan"] = self.residual(mt)
        return out


def solve_rule(
    scenario,
    family: str,
    target: str,
    *,
    value: float | None = None,
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    options: Mapping[str, Any] | None = None,
    draws: int = 1,
    seed=None,
    nash_weights: Mapping[str, float] | None = None,
    contribution_kinds: Sequence[str] = DEFAULT_CONTRIBUTION_KINDS,
    tol_yuan: float = 1.0,
    grid: int = 41,
) -> SolveResult:
    """Find the parameters of a rule family that meet a target.

    Parameters
    ----------
    scenario : Scenario
    family : {"fixed_ratio", "taper", "cap", "term"}
        ``fixed_ratio``: the partner's share ``partner_share`` of the pool (the host the rest),
        optionally for ``options["term_years"]``. ``taper``: a partner share falling linearly
        from ``start_share`` to ``end_share`` over ``options["taper_years"]`` (15) from
        ``options["from_year"]``, then constant. ``cap``: the partner takes
        ``options["partner_share"]`` (0.5) of the pool until its cumulative take reaches
        ``cap_yuan``, then the host keeps all. ``term``: a ratio (``options["partner_share"]``,
        0.5) for ``term_years`` whole years, then the host keeps all.
    target : {"equal_gains", "proportional_gains", "shapley", "min_host_share", "nash"}
        See :data:`TARGETS`. ``min_host_share`` needs ``value`` (a fraction of the pool over the
        horizon that the host side keeps, at least).
    value : float, optional
        The minimum host share for ``min_host_share``.
    fixed : dict, optional
        Family parameters to hold fixed (e.g. ``{"end_share": 0.2}`` for a taper).
    bounds : dict, optional
        Search bounds by parameter (defaults: shares in [0, 1], a term of 1 to the horizon's
        years, a cap up to the partner's share of the whole pool).
    options : dict, optional
        Family options (above).
    draws, seed :
        Evaluate on draws (expected values over the same draws for every candidate).
    nash_weights : dict, optional
        Bargaining weights for ``nash`` (equal by default).
    contribution_kinds : sequence of str
        For ``proportional_gains``.
    tol_yuan : float
        An equation target is met when its gap is at most this [yuan].
    grid : int
        Points of the initial grid per free parameter (continuous parameters).

    Returns
    -------
    SolveResult

    Raises
    ------
    ValueError
        Unknown family, target or parameter, or a missing or invalid ``value``.

    Notes
    -----
    Equation targets (equal gains, proportional gains, Shapley) are gaps in expected NPV [yuan]
    that must be zero. With one continuous parameter the grid brackets a sign change and
    :func:`scipy.optimize.brentq` finds the root; without a sign change no value in the bounds
    meets the target, and the closest (from :func:`scipy.optimize.minimize_scalar`) is reported.
    With more parameters :func:`scipy.optimize.least_squares` starts from the best grid point
    (the target then has many solutions; the one found is near that point). A whole-year term
    is searched exhaustively; equality then falls between two terms and the closer is given.
    Maximisation targets (Nash product; the partner's gain under a minimum host share) refine
    the best feasible grid point with :func:`scipy.optimize.minimize_scalar`, a root of the
    constraint, or :func:`scipy.optimize.minimize`.

    With two parties sharing a discount rate, ``equal_gains``, ``shapley`` and ``nash`` (equal
    weights) have the same answer: the Shapley value is standalone plus half the surplus.

    Examples
    --------
    >>> sol = bs.solve_rule(scn, "fixed_ratio", "equal_gains")   # doctest: +SKIP
    >>> sol.success, sol.params                                   # doctest: +SKIP
    (True, {'partner_share': 0.5276...})
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; valid: {', '.join(FAMILIES)}")
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; valid: {', '.join(TARGETS)}")
    if target == "min_host_share":
        if value is None or not 0.0 <= float(value) <= 1.0:
            raise ValueError(
                "target 'min_host_share' needs value = the minimum host share in [0, 1], "
                f"got {value!r}"
            )
    names = FAMILIES[family]
    fixed = dict(fixed or {})
    bad = [k for k in [*fixed, *(bounds or {})] if k not in names]
    if bad:
        raise ValueError(
            f"unknown parameter(s) {bad} of family {family!r}; valid: {', '.join(names)}"
        )
    check_contribution_kinds(contribution_kinds)
    if draws > 1 and (seed is None or isinstance(seed, np.random.Generator)):
        # every candidate must see the same draws
        seed = (
            int(np.random.default_rng(seed).integers(0, 2**63))
            if isinstance(seed, np.random.Generator)
            else int(np.random.SeedSequence().entropy % 2**63)
        )
    prob = _Problem(
        scenario,
        family,
        target,
        value=None if value is None else float(value),
        options=options,
        draws=draws,
        seed=seed,
        nash_weights=nash_weights,
        contribution_kinds=contribution_kinds,
    )
    free = [n for n in names if n not in fixed]
    default_bounds = dict(zip(names, prob.bounds(), strict=True))
    bnds = [tuple(float(v) for v in (bounds or {}).get(n, default_bounds[n])) for n in free]
    integer = family == "term"

    def point(x) -> dict[str, float]:
        pt = dict(fixed)
        for n, v in zip(free, np.atleast_1d(x), strict=True):
            pt[n] = float(round(v)) if integer else float(v)
        return pt

    if not free:
        x_best = np.zeros(0)
        mt = prob.evaluate([point(x_best)])[0]
        return _finish(
            prob, point(x_best), mt, tol_yuan, note="all parameters fixed; evaluated as given"
        )
    if integer:
        lo, hi = int(np.ceil(bnds[0][0])), int(np.floor(bnds[0][1]))
        xs = [np.array([float(t)]) for t in range(lo, hi + 1)]
    elif len(free) == 1:
        xs = [np.array([v]) for v in np.linspace(bnds[0][0], bnds[0][1], grid)]
    else:
        n_side = max(5, int(round(grid ** (1.0 / len(free)))) if len(free) > 2 else min(grid, 11))
        axes = [np.linspace(lo, hi, n_side) for lo, hi in bnds]
        xs = [
            np.array(v)
            for v in np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(free), -1).T
        ]
    mts = prob.evaluate([point(x) for x in xs])

    if target in _EQUATIONS:
        return _solve_equation(prob, free, bnds, xs, mts, point, integer, tol_yuan)
    return _solve_max(prob, free, bnds, xs, mts, point, integer, tol_yuan)


def _one(prob, point, x) -> dict:
    return prob.evaluate([point(x)])[0]


def _solve_equation(prob, free, bnds, xs, mts, point, integer, tol_yuan) -> SolveResult:
    from scipy import optimize  # imported when solving: keeps `import benefitshare` light

    r = np.array([prob.residual(mt) for mt in mts])
    names = ", ".join(free)
    if integer or len(free) == 1:
        exact = np.flatnonzero(np.abs(r) <= tol_yuan)
        if exact.size:
            i = int(exact[np.argmin(np.abs(r[exact]))])
            return _finish(prob, point(xs[i]), mts[i], tol_yuan)
        signs = np.sign(r)
        cross = np.flatnonzero(signs[:-1] * signs[1:] < 0)
        if cross.size and integer:
            i = int(cross[0])
            j = i if abs(r[i]) <= abs(r[i + 1]) else i + 1
            t0, t1 = int(xs[i][0]), int(xs[i + 1][0])
            note = (
                f"exact equality falls between {t0} and {t1} years; {int(xs[j][0])} whole years "
                f"is the closer (gap {r[j] / YUAN_PER_YI:+.4f} 亿元)"
            )
            return _finish(prob, point(xs[j]), mts[j], tol_yuan, note=note, force_success=True)
        if cross.size:
            i = int(cross[0])
            a, b = float(xs[i][0]), float(xs[i + 1][0])
            root = optimize.brentq(
                lambda v: prob.residual(_one(prob, point, v)),
                a,
                b,
                xtol=1e-12,
                rtol=1e-12,
                maxiter=200,
            )
            note = ""
            if cross.size > 1:
                others = ", ".join(
                    f"{float(xs[c][0]):.4g}..{float(xs[c + 1][0]):.4g}" for c in cross[1:]
                )
                note = f"the target is also met in other intervals ({others}); the lowest is given"
            return _finish(prob, point(root), _one(prob, point, root), tol_yuan, note=note)
        # no sign change: report the closest
        i = int(np.argmin(np.abs(r)))
        best_x, best_mt = xs[i], mts[i]
        if not integer:
            lo = float(xs[max(i - 1, 0)][0])
            hi = float(xs[min(i + 1, len(xs) - 1)][0])
            if hi > lo:
                res = optimize.minimize_scalar(
                    lambda v: abs(prob.residual(_one(prob, point, v))),
                    bounds=(lo, hi),
                    method="bounded",
                    options={"xatol": 1e-10},
                )
                mt = _one(prob, point, res.x)
                if abs(prob.residual(mt)) < abs(r[i]):
                    best_x, best_mt = np.array([res.x]), mt
        gap = prob.residual(best_mt)
        lo_b, hi_b = bnds[0]
        note = (
            f"no value of {names} in [{_fmt(lo_b)}, {_fmt(hi_b)}] meets the target: the gap "
            f"never changes sign; the closest leaves a gap of {gap / YUAN_PER_YI:+.4f} 亿元"
        )
        return _finish(prob, point(best_x), best_mt, tol_yuan, note=note)
    # several continuous parameters
    i = int(np.argmin(np.abs(r)))
    lower = np.array([b[0] for b in bnds])
    upper = np.array([b[1] for b in bnds])
    scale = max(abs(r).max(), 1.0)
    res = optimize.least_squares(
        lambda x: [prob.residual(_one(prob, point, np.clip(x, lower, upper))) / scale],
        xs[i],
        bounds=(lower, upper),
        xtol=1e-12,
        ftol=1e-14,
        gtol=1e-14,
        diff_step=1e-6,
    )
    x = np.clip(res.x, lower, upper)
    mt = _one(prob, point, x)
    if abs(prob.residual(mt)) > abs(r[i]):
        x, mt = xs[i], mts[i]
    note = (
        "the target has many solutions in these parameters; this one is near the best point "
        "of the grid"
    )
    if abs(prob.residual(mt)) > tol_yuan:
        note = (
            f"no combination of {names} in the bounds met the target; the closest leaves a gap of "
            f"{prob.residual(mt) / YUAN_PER_YI:+.4f} 亿元"
        )
    return _finish(prob, point(x), mt, tol_yuan, note=note)


def _solve_max(prob, free, bnds, xs, mts, point, integer, tol_yuan) -> SolveResult:
    from scipy import optimize  # imported when solving: keeps `import benefitshare` light

    f = np.array([prob.objective(mt) for mt in mts])
    feasible = np.isfinite(f)
    if not feasible.any():
        if prob.target == "nash":
            best = int(np.argmax([mt["gain"].min() for mt in mts]))
            note = (
                "no parameters in the bounds give every party a gain over its standalone value, "
                "so the Nash product is undefined; shown: the parameters with the largest smallest "
                "gain"
            )
        else:
            best = int(np.argmax([prob.constraint(mt) for mt in mts]))
            note = (
                f"no parameters in the bounds leave the host side {prob.value:.1%} of the pool; "
                "shown: the largest host share found"
            )
        return _finish(prob, point(xs[best]), mts[best], tol_yuan, note=note, force_failure=True)
    i = int(np.nanargmax(np.where(feasible, f, -np.inf)))
    best_x, best_mt, best_f = xs[i], mts[i], f[i]
    if not integer and len(free) == 1:
        cands = []
        for j in (i - 1, i + 1):
            if 0 <= j < len(xs):
                a, b = sorted((float(xs[i][0]), float(xs[j][0])))
                if prob.target == "min_host_share" and not feasible[j]:
                    # the optimum sits on the constraint between a feasible and an infeasible point
                    root = optimize.brentq(
                        lambda v: prob.constraint(_one(prob, point, v)), a, b, xtol=1e-12
                    )
                    for v in (root, np.nextafter(root, xs[i][0])):
                        cands.append(v)
                else:
                    res = optimize.minimize_scalar(
                        lambda v: -_finite(prob.objective(_one(prob, point, v))),
                        bounds=(a, b),
                        method="bounded",
                        options={"xatol": 1e-10},
                    )
                    cands.append(res.x)
        for v in cands:
            mt = _one(prob, point, v)
            val = prob.objective(mt)
            if np.isfinite(val) and val > best_f:
                best_x, best_mt, best_f = np.array([v]), mt, val
    elif not integer:
        lower = np.array([b[0] for b in bnds])
        upper = np.array([b[1] for b in bnds])
        cons = []
        if prob.target == "min_host_share":
            cons = [
                {
                    "type": "ineq",
                    "fun": lambda x: prob.constraint(_one(prob, point, np.clip(x, lower, upper))),
                }
            ]

            def fun(x):
                mt = _one(prob, point, np.clip(x, lower, upper))
                return -float(mt["gain"][prob.partner]) / YUAN_PER_YI
        else:

            def fun(x):
                return -_finite(prob.objective(_one(prob, point, np.clip(x, lower, upper))))

        res = optimize.minimize(
            fun,
            best_x,
            method="SLSQP",
            bounds=list(zip(lower, upper, strict=True)),
            constraints=cons,
            options={"ftol": 1e-12, "maxiter": 200},
        )
        x = np.clip(res.x, lower, upper)
        mt = _one(prob, point, x)
        val = prob.objective(mt)
        if np.isfinite(val) and val > best_f:
            best_x, best_mt = x, mt
    return _finish(prob, point(best_x), best_mt, tol_yuan)


def _finite(v: float) -> float:
    return v if np.isfinite(v) else -1e30


def _finish(
    prob,
    params,
    mt,
    tol_yuan,
    *,
    note: str = "",
    force_success: bool = False,
    force_failure: bool = False,
) -> SolveResult:
    metrics = prob.report(mt)
    p = prob.parties
    if prob.target in _EQUATIONS:
        ok = abs(metrics["residual_yuan"]) <= tol_yuan
    elif prob.target == "nash":
        ok = np.isfinite(prob.objective(mt))
    else:
        ok = prob.constraint(mt) >= -1e-9
    ok = (ok or force_success) and not force_failure
    params = {k: (int(round(v)) if prob.family == "term" else float(v)) for k, v in params.items()}
    gains = ", ".join(f"{q} {metrics[f'gain_{q}_yuan'] / YUAN_PER_YI:+.3f}" for q in p)
    head = "Target met." if ok else "Target NOT met."
    desc = TARGETS[prob.target]
    msg = f"{head} Target: {desc}. Gains over standalone (亿元): {gains}."
    if note:
        msg += " " + note[0].upper() + note[1:] + "."
    return SolveResult(
        success=bool(ok),
        message=msg,
        family=prob.family,
        target=prob.target,
        params=params,
        rule=prob.rule(params),
        metrics=metrics,
        evaluations=prob.evaluations,
        note=note[:1].upper() + note[1:] + "." if note else "",
    )
