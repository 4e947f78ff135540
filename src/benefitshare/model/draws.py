"""Uncertain inputs: sampling their distributions and applying the draws to the model inputs.

A scenario's ``[uncertainty]`` section (its schema is :mod:`benefitshare.scenario.uncertainty`)
lists inputs, each with a target (a project column, a park field, a model setting), an optional
filter (sectors, parks, groups, projects), how a draw is applied (``multiply``, ``add`` or
``replace`` the value in the file), a distribution from ``scipy.stats`` and whether each selected
project gets its own draw. Inputs may be rank-correlated through a Gaussian copula. This module
resolves them against the projects and samples them: draws come from plain Monte Carlo, Latin
hypercube or scrambled Sobol sequences, all from one seed, and are generated chunk by chunk so
that the same seed gives bit-identical draws whatever the chunk size.

A deterministic run (``draws = 1``) ignores this section and uses the values written in the
scenario and project files (landing as its probability, so results are expected values).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = [
    "SAMPLERS",
    "frozen_distribution",
    "DrawSource",
    "apply_draws",
    "uncertain_factors",
]

#: The samplers, by the name a scenario's ``uncertainty.sampler`` and ``run(sampler=...)`` use.
SAMPLERS = ("mc", "lhs", "sobol")


def frozen_distribution(dist, *, default_p=None):
    """The ``scipy.stats`` frozen distribution, or a float for a zero-width one.

    Parameters
    ----------
    dist : benefitshare.scenario.uncertainty.Distribution
    default_p : float, optional
        The bernoulli probability when the distribution gives none.
    """
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

    def __init__(self, spec, scenario):
        self.spec = spec  # a benefitshare.scenario.uncertainty.UncertainInput
        self.input_name, self.kind, self.bounds, self.integer = spec.target_spec
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
        Column indices of the correlated dimensions and the Pearson correlation of their
        Gaussian copula (from the Spearman matrix: ``Correlation.normal_matrix()``).

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
            cols, normal = correlation
            self._corr = (np.asarray(cols), np.linalg.cholesky(_nearest_pd(np.asarray(normal))))

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


def correlation_columns(factors: list[Factor], corr):
    """Column indices in the draw array of the correlated factors, with their copula matrix.

    ``corr`` is the scenario's ``uncertainty.correlation`` (a ``Correlation``) or ``None``.
    """
    if corr is None:
        return None
    start = {}
    j = 0
    for f in factors:
        start[f.name] = j
        j += f.n_dims
    return [start[n] for n in corr.names], corr.normal_matrix()


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
