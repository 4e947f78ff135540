"""Uncertain inputs: declaring distributions, sampling them, and applying draws to the model.

A scenario's ``[uncertainty]`` section lists inputs, each with a target (a project column, a park
field, a model setting), an optional filter (sectors, parks, groups, projects), how a draw is
applied (``multiply``, ``add`` or ``replace`` the value in the file), a distribution from
``scipy.stats`` and whether each selected project gets its own draw. Inputs may be rank-correlated
through a Gaussian copula. Draws come from plain Monte Carlo, Latin hypercube or scrambled Sobol
sequences, all from one seed, and are generated chunk by chunk so that the same seed gives
bit-identical draws whatever the chunk size.

A deterministic run (``draws = 1``) ignores this section and uses the values written in the
scenario and project files (landing as its probability, so results are expected values).
"""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Distribution",
    "UncertainInput",
    "Correlation",
    "UncertaintySpec",
    "TARGETS",
    "SAMPLERS",
    "frozen_distribution",
    "DrawSource",
    "apply_draws",
    "uncertain_factors",
]

#: Targets an uncertain input can act on -> (pipeline input name, kind, (low, high) allowed range).
#: ``kind`` is "project" (per project column), "park" (per park field mapped to projects),
#: "sector" (per sector field mapped to projects) or "model" (scenario wide).
TARGETS: dict[str, tuple[str, str, tuple[float, float], bool]] = {
    "projects.investment_yuan": ("investment_yuan", "project", (1e-9, math.inf), False),
    "projects.output_per_fixed_asset": ("output_per_fixed_asset", "project", (0.0, 50.0), False),
    "projects.value_added_rate": ("value_added_rate", "project", (0.0, 1.0), False),
    "projects.profit_margin": ("profit_margin", "project", (-1.0, 1.0), False),
    "projects.wage_share": ("wage_share", "project", (0.0, 1.0), False),
    "projects.land_mu": ("land_mu", "project", (0.0, math.inf), False),
    "projects.building_value_yuan": ("building_value_yuan", "project", (0.0, math.inf), False),
    "projects.rebate_rate": ("rebate_rate", "project", (0.0, 1.0), False),
    "projects.pre_move_annual_tax_yuan": (
        "pre_move_annual_tax_yuan",
        "project",
        (0.0, math.inf),
        False,
    ),
    "projects.additionality": ("additionality", "project", (0.0, 1.0), False),
    "projects.landing_probability": ("landing", "project", (0.0, 1.0), False),
    "projects.start_year": ("start_year", "project", (1900, 2200), True),
    "projects.construction_years": ("construction_years", "project", (1, 10), True),
    "projects.ramp_up_years": ("ramp_up_years", "project", (1, 20), True),
    "projects.rebate_years": ("rebate_years", "project", (0, 60), True),
    "parks.county_share": ("county_share", "park", (0.0, 1.0), False),
    "parks.land_use_tax_yuan_per_m2": ("land_use_tax_yuan_per_m2", "park", (0.0, 30.0), False),
    "parks.land_price_yuan_per_mu": ("land_price_yuan_per_mu", "park", (0.0, math.inf), False),
    "parks.land_acquisition_cost_yuan_per_mu": (
        "land_acquisition_cost_yuan_per_mu",
        "park",
        (0.0, math.inf),
        False,
    ),
    "sectors.additionality": ("additionality", "sector", (0.0, 1.0), False),
    "model.sales_growth_rate": ("sales_growth_rate", "model", (-0.5, 0.5), False),
    "model.pit_effective_rate": ("pit_effective_rate", "model", (0.0, 1.0), False),
    "model.property_tax_deduction_rate": (
        "property_tax_deduction_rate",
        "model",
        (0.1, 0.3),
        False,
    ),
    "model.depreciation_years": ("depreciation_years", "model", (1.0, 60.0), False),
    "platform.return_on_capital_rate": ("return_on_capital_rate", "model", (-1.0, 1.0), False),
}

SAMPLERS = ("mc", "lhs", "sobol")

Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Distribution(_Model):
    """A distribution by name with its parameters.

    ============ ===================================== =========================================
    name         params                                scipy.stats
    ============ ===================================== =========================================
    uniform      low, high                             uniform(loc=low, scale=high-low)
    triangular   low, mode, high                       triang
    normal       mean, sd                              norm
    truncnormal  mean, sd, low, high                   truncnorm
    lognormal    median, sigma (of the log)            lognorm(s=sigma, scale=median)
    beta         a, b, low=0, high=1                   beta
    bernoulli    p (default: the project's landing     bernoulli
                 probability)
    discrete     values, probabilities                 rv_discrete
    ============ ===================================== =========================================
    """

    name: Literal[
        "uniform",
        "triangular",
        "normal",
        "truncnormal",
        "lognormal",
        "beta",
        "bernoulli",
        "discrete",
    ]
    params: dict[str, Finite | list[Finite]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        need = {
            "uniform": {"low", "high"},
            "triangular": {"low", "mode", "high"},
            "normal": {"mean", "sd"},
            "truncnormal": {"mean", "sd", "low", "high"},
            "lognormal": {"median", "sigma"},
            "beta": {"a", "b"},
            "bernoulli": set(),
            "discrete": {"values", "probabilities"},
        }[self.name]
        optional = {"beta": {"low", "high"}, "bernoulli": {"p"}}.get(self.name, set())
        keys = set(self.params)
        if not need <= keys:
            raise ValueError(
                f"{self.name} needs parameters {sorted(need)}; missing {sorted(need - keys)}"
            )
        extra = keys - need - optional
        if extra:
            raise ValueError(
                f"{self.name} takes parameters {sorted(need | optional)}; unknown {sorted(extra)}"
            )
        p = self.params
        scalar = {k: v for k, v in p.items() if not isinstance(v, list)}
        lists = {k for k, v in p.items() if isinstance(v, list)}
        if self.name != "discrete" and lists:
            raise ValueError(f"parameters {sorted(lists)} must be numbers")
        if self.name in ("uniform", "truncnormal", "triangular") and scalar["low"] > scalar["high"]:
            raise ValueError(f"low ({scalar['low']}) must not exceed high ({scalar['high']})")
        if self.name == "triangular" and not scalar["low"] <= scalar["mode"] <= scalar["high"]:
            raise ValueError("mode must lie between low and high")
        if self.name in ("normal", "truncnormal") and scalar["sd"] < 0:
            raise ValueError(f"sd must be >= 0, got {scalar['sd']}")
        if (
            self.name == "truncnormal"
            and scalar["sd"] > 0
            and not scalar["low"] <= scalar["mean"] <= scalar["high"]
        ):
            raise ValueError("mean must lie between low and high")
        if self.name == "lognormal" and (scalar["median"] <= 0 or scalar["sigma"] < 0):
            raise ValueError("lognormal needs median > 0 and sigma >= 0")
        if self.name == "beta":
            if scalar["a"] <= 0 or scalar["b"] <= 0:
                raise ValueError("beta needs a > 0 and b > 0")
            if scalar.get("low", 0.0) > scalar.get("high", 1.0):
                raise ValueError("low must not exceed high")
        if self.name == "bernoulli" and "p" in scalar and not 0 <= scalar["p"] <= 1:
            raise ValueError(f"p must be between 0 and 1, got {scalar['p']}")
        if self.name == "discrete":
            values, probs = p["values"], p["probabilities"]
            if (
                not isinstance(values, list)
                or not isinstance(probs, list)
                or len(values) != len(probs)
                or not values
            ):
                raise ValueError(
                    "values and probabilities must be lists of the same, non-zero length"
                )
            if any(q < 0 for q in probs) or abs(sum(probs) - 1.0) > 1e-9:
                raise ValueError(
                    f"probabilities must be non-negative and sum to 1 (they sum to {sum(probs):.6g})"
                )
        return self


class UncertainInput(_Model):
    """One uncertain input."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]
    target: str
    distribution: Distribution
    apply: Literal["multiply", "add", "replace"] = "multiply"
    independent: bool = Field(
        False, description="One draw per selected project instead of one shared draw."
    )
    sectors: list[str] | None = None
    parks: list[str] | None = None
    groups: list[str] | None = None
    projects: list[str] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _target(self) -> UncertainInput:
        if self.target not in TARGETS:
            import difflib

            hint = difflib.get_close_matches(self.target, list(TARGETS), n=1)
            raise ValueError(
                f"unknown target {self.target!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else f"; valid: {', '.join(TARGETS)}")
            )
        _, kind, _, _ = TARGETS[self.target]
        if kind == "model" and (
            self.independent or self.sectors or self.parks or self.groups or self.projects
        ):
            raise ValueError(
                f"{self.target} is scenario wide: it takes no filters and cannot be independent"
            )
        if self.distribution.name == "bernoulli" and self.target != "projects.landing_probability":
            raise ValueError(
                "a bernoulli distribution is for projects.landing_probability (whether a project lands)"
            )
        if (
            self.target == "projects.landing_probability"
            and self.distribution.name == "bernoulli"
            and self.apply != "replace"
        ):
            raise ValueError("landing draws replace the landing probability: use apply = 'replace'")
        return self


class Correlation(_Model):
    """Rank (Spearman) correlation between shared-draw inputs, by a Gaussian copula."""

    names: list[str] = Field(min_length=2)
    matrix: list[list[Finite]]

    @model_validator(mode="after")
    def _psd(self) -> Correlation:
        n = len(self.names)
        m = np.asarray(self.matrix, dtype=float)
        if m.shape != (n, n):
            raise ValueError(f"matrix must be {n} x {n} to match names, got {m.shape}")
        if not np.allclose(m, m.T):
            raise ValueError("matrix must be symmetric")
        if not np.allclose(np.diag(m), 1.0):
            raise ValueError("matrix must have ones on the diagonal")
        if np.any(np.abs(m) > 1):
            raise ValueError("correlations must lie between -1 and 1")
        eig = np.linalg.eigvalsh(normal_correlation(m))
        if eig.min() < -1e-10:
            raise ValueError(
                f"matrix is not positive semi-definite (smallest eigenvalue {eig.min():.3g}): "
                "these correlations cannot hold together"
            )
        if len(set(self.names)) != n:
            raise ValueError("names must be distinct")
        return self


class UncertaintySpec(_Model):
    """The ``[uncertainty]`` section."""

    sampler: Literal["mc", "lhs", "sobol"] = "lhs"
    chunk_draws: Annotated[int, Field(ge=1, le=100_000)] = 512
    keep_draws: Annotated[int, Field(ge=1)] = 100_000
    keep_paths: Annotated[int, Field(ge=1)] = 2_000
    inputs: list[UncertainInput] = Field(default_factory=list)
    correlation: Correlation | None = None

    @model_validator(mode="after")
    def _names(self) -> UncertaintySpec:
        names = [i.name for i in self.inputs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"input names must be unique; repeated: {sorted(dup)}")
        if self.correlation is not None:
            by = {i.name: i for i in self.inputs}
            for n in self.correlation.names:
                if n not in by:
                    raise ValueError(
                        f"correlation names unknown input {n!r}; inputs: {', '.join(names)}"
                    )
                if by[n].independent:
                    raise ValueError(
                        f"correlation needs shared-draw inputs; {n!r} has independent = true"
                    )
        return self


def normal_correlation(spearman: np.ndarray) -> np.ndarray:
    """Pearson correlation of the Gaussian copula giving a Spearman rank correlation.

    ``rho = 2 sin(pi rho_s / 6)`` (Kruskal 1958).
    """
    return 2.0 * np.sin(np.pi * np.asarray(spearman) / 6.0)


def frozen_distribution(dist: Distribution, *, default_p=None):
    """The ``scipy.stats`` frozen distribution, or a float for a zero-width one."""
    from scipy import stats  # imported when sampling, to keep ``import benefitshare`` fast

    p = dist.params
    n = dist.name
    if n == "uniform":
        return (
            p["low"]
            if p["high"] == p["low"]
            else stats.uniform(loc=p["low"], scale=p["high"] - p["low"])
        )
    if n == "triangular":
        width = p["high"] - p["low"]
        return (
            p["low"]
            if width == 0
            else stats.triang(c=(p["mode"] - p["low"]) / width, loc=p["low"], scale=width)
        )
    if n == "normal":
        return p["mean"] if p["sd"] == 0 else stats.norm(loc=p["mean"], scale=p["sd"])
    if n == "truncnormal":
        if p["sd"] == 0 or p["low"] == p["high"]:
            return min(max(p["mean"], p["low"]), p["high"])
        a, b = (p["low"] - p["mean"]) / p["sd"], (p["high"] - p["mean"]) / p["sd"]
        return stats.truncnorm(a, b, loc=p["mean"], scale=p["sd"])
    if n == "lognormal":
        return p["median"] if p["sigma"] == 0 else stats.lognorm(s=p["sigma"], scale=p["median"])
    if n == "beta":
        lo, hi = p.get("low", 0.0), p.get("high", 1.0)
        return lo if hi == lo else stats.beta(p["a"], p["b"], loc=lo, scale=hi - lo)
    if n == "bernoulli":
        return stats.bernoulli(p.get("p", default_p))
    if n == "discrete":
        values = np.asarray(p["values"], dtype=float)
        if np.unique(values).size == 1:
            return float(values[0])
        order = np.argsort(values)
        return stats.rv_discrete(values=(values[order], np.asarray(p["probabilities"])[order]))
    raise ValueError(n)  # pragma: no cover - the Literal excludes it


def ppf(dist, u):
    """Quantiles of a frozen distribution (or a constant) at probabilities ``u``.

    For a discrete distribution the quantile is the smallest value whose cumulative probability
    reaches ``u`` (as ``scipy.stats.rv_discrete.ppf``), found by a sorted search.
    """
    if isinstance(dist, float | int):
        return np.full(np.shape(u), float(dist))
    if hasattr(dist, "xk") and hasattr(dist, "pk"):
        xk, cdf = np.asarray(dist.xk), np.cumsum(dist.pk)
        idx = np.searchsorted(cdf, np.asarray(u), side="left")
        return xk[np.minimum(idx, xk.size - 1)].astype(float)
    return dist.ppf(u)


# -------------------------------------------------------------------------------------- factors


class Factor:
    """One uncertain input resolved against a scenario: which projects, how many dimensions."""

    def __init__(self, spec: UncertainInput, scenario):
        self.spec = spec
        self.input_name, self.kind, self.bounds, self.integer = TARGETS[spec.target]
        proj = scenario.projects
        mask = np.ones(len(proj), dtype=bool)
        if spec.sectors is not None:
            mask &= np.isin(proj.sector, spec.sectors)
        if spec.parks is not None:
            mask &= np.isin(proj.park, spec.parks)
        if spec.groups is not None:
            mask &= np.isin(proj.group, spec.groups)
        if spec.projects is not None:
            mask &= np.isin(proj.project_id, spec.projects)
        self.mask = mask if self.kind != "model" else None
        self.n_dims = int(mask.sum()) if spec.independent else 1
        landing = (
            proj.landing_probability if spec.target == "projects.landing_probability" else None
        )
        if spec.distribution.name == "bernoulli" and "p" not in spec.distribution.params:
            # one bernoulli per project with its own landing probability
            self.landing_p = landing[mask]
        else:
            self.landing_p = None
        self.dist = (
            frozen_distribution(spec.distribution, default_p=None)
            if self.landing_p is None
            else None
        )

    @property
    def name(self) -> str:
        return self.spec.name

    def values(self, u: np.ndarray) -> np.ndarray:
        """Draw values from probabilities ``u`` of shape (n, n_dims)."""
        if self.landing_p is not None:
            # lands when u < p: the probability of landing is the project's own
            return (u < self.landing_p[None, :]).astype(float)
        return ppf(self.dist, u)

    def quantile(self, q: float) -> float:
        """The q-quantile of the shared draw (for tornado charts)."""
        if self.landing_p is not None:
            return float(q)  # fraction of the landing probability's unit interval
        return float(ppf(self.dist, np.array([q]))[0])


def uncertain_factors(scenario) -> list[Factor]:
    """The scenario's uncertain inputs resolved against its projects."""
    return [Factor(i, scenario) for i in scenario.spec.uncertainty.inputs]


def apply_draws(
    inputs: dict[str, np.ndarray], factors: list[Factor], values: list[np.ndarray], scenario
) -> dict:
    """Model inputs for a chunk: central inputs with each factor's draws applied.

    Parameters
    ----------
    inputs : dict of str to ndarray
        Central inputs from :func:`~benefitshare.pipeline.central_inputs`.
    factors : list of Factor
    values : list of ndarray
        Per factor, draw values shaped (n, n_dims).

    Returns
    -------
    dict of str to ndarray
        Inputs with a leading draws axis where a factor acts; values are clipped to the input's
        allowed range (e.g. rates to [0, 1]) and rounded for whole-year inputs.
    """
    out = dict(inputs)
    P = len(scenario.projects)
    for f, v in zip(factors, values, strict=True):
        n = v.shape[0]
        base = out[f.input_name]
        if f.kind == "model":
            x = v[:, 0].reshape(n, 1, 1)
            new = _combine(np.asarray(base, dtype=float), x, f.spec.apply)
        else:
            if f.landing_p is not None:
                # a bernoulli draw replaces the landing probability by 0 or 1
                full = np.broadcast_to(np.asarray(base, dtype=float), (n, P, 1)).copy()
                draw = v if f.spec.independent else np.broadcast_to(v, (n, int(f.mask.sum())))
                full[:, f.mask, 0] = draw
                out[f.input_name] = full
                continue
            full = np.broadcast_to(
                np.asarray(base, dtype=float), (max(n, np.shape(base)[0]), P, np.shape(base)[2])
            ).copy()
            if full.shape[0] != n:
                full = np.broadcast_to(full, (n, *full.shape[1:])).copy()
            x = v if f.spec.independent else np.broadcast_to(v, (n, int(f.mask.sum())))
            sel = full[:, f.mask, :]
            full[:, f.mask, :] = _combine(sel, x[:, :, None], f.spec.apply)
            new = full
        lo, hi = f.bounds
        new = np.clip(new, lo, hi)
        if f.integer:
            new = np.rint(new).astype(np.int64)
        out[f.input_name] = new
    return out


def _combine(base, x, how):
    if how == "multiply":
        return base * x
    if how == "add":
        return base + x
    return np.broadcast_to(x, np.broadcast_shapes(np.shape(base), np.shape(x))).astype(float)


# -------------------------------------------------------------------------------------- sampling


def _feistel_permutation(index: np.ndarray, n: int, keys: np.ndarray) -> np.ndarray:
    """Keyed pseudo-random permutations of ``range(n)`` evaluated at ``index``, one per key row.

    A balanced Feistel network on the smallest even power of two covering ``n``, with cycle
    walking, so that any chunk of a permutation can be computed on its own, in O(chunk) memory.

    Parameters
    ----------
    index : ndarray of int, shape (n_idx,)
    n : int
    keys : ndarray of uint64, shape (M, rounds)
        One row of round keys per permutation.

    Returns
    -------
    ndarray of int, shape (M, n_idx)
    """
    bits = max(2, int(np.ceil(np.log2(max(n, 2)))))
    bits += bits % 2
    half = np.uint64(bits // 2)
    mask = np.uint64((1 << (bits // 2)) - 1)
    mul1, mul2, sh = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(31)
    keys = np.asarray(keys, dtype=np.uint64)
    cur = np.broadcast_to(index.astype(np.uint64)[None, :], (keys.shape[0], index.size)).copy()
    out = np.empty(cur.shape, dtype=np.uint64)
    todo = np.ones(cur.shape, dtype=bool)
    with np.errstate(over="ignore"):
        for _ in range(64):
            rows, cols = np.nonzero(todo)
            x = cur[rows, cols]
            left, right = x >> half, x & mask
            for r in range(keys.shape[1]):
                f = ((right * mul1) ^ keys[rows, r]) * mul2
                f = (f ^ (f >> sh)) & mask
                left, right = right, left ^ f
            x = (left << half) | right
            cur[rows, cols] = x
            done = x < np.uint64(n)
            out[rows[done], cols[done]] = x[done]
            todo[rows[done], cols[done]] = False
            if not todo.any():
                break
    if todo.any():  # pragma: no cover - 64 walks always suffice for these sizes
        raise RuntimeError("permutation did not converge")
    return out.astype(np.int64)


class DrawSource:
    """Probabilities in (0, 1) for every draw and dimension, generated chunk by chunk.

    Parameters
    ----------
    n_dims : int
    n_draws : int
    seed : int, numpy.random.SeedSequence or None
    method : {"mc", "lhs", "sobol"}
    correlation : (list of int, ndarray) or None
        Column indices of the correlated dimensions and their Spearman matrix.

    Notes
    -----
    ``mc`` draws from ``numpy.random.Generator(PCG64)``; ``lhs`` is a Latin hypercube whose
    strata are permuted by a keyed pseudo-random permutation per dimension, jittered uniformly;
    ``sobol`` is ``scipy.stats.qmc.Sobol`` with Owen scrambling. All three are consumed in
    order, so ``chunk(0, n)`` equals the concatenation of any split into consecutive chunks.
    """

    def __init__(self, n_dims: int, n_draws: int, seed=None, method: str = "lhs", correlation=None):
        if method not in SAMPLERS:
            raise ValueError(f"unknown sampler {method!r}; valid: {', '.join(SAMPLERS)}")
        self.n_dims = n_dims
        self.n_draws = n_draws
        self.method = method
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.seed_sequence = ss
        main, perm, corr = ss.spawn(3)
        self._rng = np.random.Generator(np.random.PCG64(main))
        self._keys = np.random.Generator(np.random.PCG64(perm)).integers(
            0, 2**63, size=(max(n_dims, 1), 4), dtype=np.uint64
        )
        self._pos = 0
        self._sobol = None
        from scipy import stats

        if method == "sobol" and n_dims > 0:
            self._sobol = stats.qmc.Sobol(
                d=n_dims, scramble=True, rng=np.random.Generator(np.random.PCG64(corr))
            )
        self._corr = None
        if correlation is not None and n_dims:
            cols, spearman = correlation
            self._corr = (
                np.asarray(cols),
                np.linalg.cholesky(_nearest_pd(normal_correlation(spearman))),
            )

    def next(self, n: int) -> np.ndarray:
        """The next ``n`` draws, shape (n, n_dims)."""
        start = self._pos
        self._pos += n
        if self.n_dims == 0:
            return np.empty((n, 0))
        if self.method == "mc":
            u = self._rng.random((n, self.n_dims))
        elif self.method == "lhs":
            idx = np.arange(start, start + n)
            strata = _feistel_permutation(idx, self.n_draws, self._keys).T
            u = (strata + self._rng.random((n, self.n_dims))) / self.n_draws
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*balance properties.*")
                u = self._sobol.random(n)
        u = np.clip(u, 1e-12, 1 - 1e-12)
        if self._corr is not None:
            from scipy import stats

            cols, chol = self._corr
            z = stats.norm.ppf(u[:, cols]) @ chol.T
            u[:, cols] = stats.norm.cdf(z)
        return u


def _nearest_pd(m: np.ndarray) -> np.ndarray:
    """Lift tiny negative eigenvalues so that a PSD matrix has a Cholesky factor."""
    w, v = np.linalg.eigh(m)
    w = np.maximum(w, 1e-12)
    out = (v * w) @ v.T
    d = np.sqrt(np.diag(out))
    return out / np.outer(d, d)


def split_columns(factors: list[Factor], u: np.ndarray) -> list[np.ndarray]:
    """Split an (n, total dims) probability array into each factor's values."""
    out = []
    j = 0
    for f in factors:
        out.append(f.values(u[:, j : j + f.n_dims]))
        j += f.n_dims
    return out


def correlation_columns(factors: list[Factor], corr: Correlation | None):
    """Column indices in the draw array of the correlated factors, with their matrix."""
    if corr is None:
        return None
    start = {}
    j = 0
    for f in factors:
        start[f.name] = j
        j += f.n_dims
    return [start[n] for n in corr.names], np.asarray(corr.matrix, dtype=float)


def describe(factors: list[Factor]) -> list[dict[str, Any]]:
    """Plain description of the factors, for manifests."""
    return [
        {
            "name": f.name,
            "target": f.spec.target,
            "distribution": f.spec.distribution.name,
            "params": dict(f.spec.distribution.params),
            "apply": f.spec.apply,
            "independent": f.spec.independent,
            "dims": f.n_dims,
        }
        for f in factors
    ]
