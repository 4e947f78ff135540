"""Applying a mechanism: clauses with scopes and year windows, the rest to the host."""

from __future__ import annotations

import numpy as np

from benefitshare.errors import RuleError
from benefitshare.rules.base import (
    CONSERVATION_TOL_YUAN,
    RuleContext,
    get_rule,
    host_totals,
    parse_params,
    pool_total,
)

__all__ = [
    "CONSERVATION_RTOL",
    "conservation_tolerance_yuan",
    "clause_masks",
    "apply_mechanism",
    "call_rule",
    "PoolCache",
    "tax_subsets",
]

#: Relative part of the conservation tolerance, per unit of the magnitude summed.
#:
#: float64 rounds each operation to a relative error of at most eps = 2.2e-16. Forming a pool
#: total sums P project cells (recursive summation errs by at most (P - 1) eps sum|cell|), and a
#: rule's shares add at most a few more operations per party. 1e-13 is about 450 eps: enough for
#: the sums of a few hundred terms at their worst and of any number of terms as numpy sums them
#: (pairwise, error O(log2 P) eps), while a real leak of 1 yuan in a pool of 1e12 yuan (1e-12)
#: is ten times the tolerance and is caught.
CONSERVATION_RTOL = 1e-13


def conservation_tolerance_yuan(magnitude_yuan):
    """How far the parties' shares may differ from the pool by rounding alone [yuan].

    ``CONSERVATION_TOL_YUAN + CONSERVATION_RTOL * magnitude``, where ``magnitude`` is the sum of
    the absolute values that were added up (the pool's cells in a draw and year, and the parties'
    shares): the absolute part covers pools near zero, the relative part large ones.
    """
    return CONSERVATION_TOL_YUAN + CONSERVATION_RTOL * np.asarray(magnitude_yuan, dtype=float)


def tax_subsets(rule_specs, pool_taxes, *, parks=None, groups=None, years=None) -> list[tuple]:
    """The pools the mechanisms need: ``(taxes, project mask or None, year mask or None)``.

    Always the whole pool; then each clause's tax scope, restricted to its projects and years
    when those are given.
    """
    full = tuple(sorted(pool_taxes))
    out = {(full, None, None): None}
    for spec in rule_specs:
        for clause in spec.all_clauses():
            if clause.scope.taxes is not None:
                taxes = tuple(sorted(t for t in pool_taxes if t in clause.scope.taxes))
            else:
                taxes = full
            if not taxes:
                continue
            proj = yr = None
            if parks is not None and years is not None:
                _, p_mask, y_mask = clause_masks(
                    clause, pool_taxes=list(pool_taxes), parks=parks, groups=groups, years=years
                )
                if not p_mask.any() or not y_mask.any():
                    continue
                if not (p_mask.all() and y_mask.all()):
                    proj, yr = p_mask, y_mask
            key = (
                taxes,
                None if proj is None else proj.tobytes(),
                None if yr is None else yr.tobytes(),
            )
            out.setdefault(key, (taxes, proj, yr))
    result = [(full, None, None)]
    for key, val in out.items():
        if val is not None and key != (full, None, None):
            result.append(val)
    return result


def clause_masks(clause, *, pool_taxes, parks, groups, years):
    """The taxes, project mask (P,) and year mask (Y,) a clause covers."""
    scope = clause.scope
    taxes = [t for t in pool_taxes if scope.taxes is None or t in scope.taxes]
    proj = np.ones(len(parks), dtype=bool)
    if scope.parks is not None:
        proj &= np.isin(np.asarray(parks), scope.parks)
    if scope.groups is not None:
        proj &= np.isin(np.asarray(groups), scope.groups)
    yr = np.ones(len(years), dtype=bool)
    if clause.from_year is not None:
        yr &= years >= clause.from_year
    if clause.to_year is not None:
        yr &= years <= clause.to_year
    return taxes, proj, yr


def _abs_total(pool_yuan: np.ndarray, ctx: RuleContext) -> np.ndarray:
    """Sum over projects of the pool's absolute cells, (D, Y); remembered in ``ctx.memo`` for
    the lifetime of ``pool_yuan``, as the rules of one run check the same pools."""
    key = ("abs_total", id(pool_yuan))
    hit = ctx.memo.get(key)
    if hit is not None and hit[0] is pool_yuan:
        return hit[1]
    out = np.abs(pool_yuan).sum(axis=1)
    ctx.memo[key] = (pool_yuan, out)
    return out


def call_rule(name: str, pool_yuan: np.ndarray, ctx: RuleContext, params: dict) -> np.ndarray:
    """Call a registered rule and check its output: shape, finiteness and conservation.

    Raises
    ------
    RuleError
        If the rule returns the wrong shape, a non-finite value, or shares that do not sum to the
        pool within :func:`conservation_tolerance_yuan` in some draw and year.
    """
    rule = get_rule(name)
    kwargs = parse_params(name, params)
    out = np.asarray(rule.fn(pool_yuan, ctx, **kwargs), dtype=float)
    want = (ctx.n_parties, pool_yuan.shape[0], pool_yuan.shape[2])
    if out.shape != want:
        raise RuleError(
            f"rule {name!r} returned shape {out.shape}; expected (parties, draws, years) = {want}"
        )
    if not np.isfinite(out).all():
        raise RuleError(f"rule {name!r} returned NaN or infinite amounts")
    gap = np.abs(out.sum(axis=0) - pool_total(pool_yuan, ctx))
    magnitude = np.abs(out).sum(axis=0)  # (D, Y); the shares alone give a smaller tolerance,
    if not (gap <= conservation_tolerance_yuan(magnitude)).all():  # so check them first
        magnitude = magnitude + _abs_total(pool_yuan, ctx)
    excess = gap - conservation_tolerance_yuan(magnitude)
    if excess.size and excess.max() > 0.0:
        d, y = np.unravel_index(int(excess.argmax()), excess.shape)
        raise RuleError(
            f"rule {name!r} does not conserve money: in draw {d}, year {int(ctx.years[y])} the "
            f"parties' shares differ from the pool by {gap[d, y]:.6g} yuan (allowed for rounding: "
            f"{conservation_tolerance_yuan(magnitude[d, y]):.3g} yuan). This is an internal "
            "error of the rule, not a problem with your inputs: please report it with the "
            "scenario file and the rule."
        )
    return out


def apply_mechanism(rule_spec, pool_by_tax: dict[str, np.ndarray], ctx: RuleContext) -> np.ndarray:
    """Split the pool between parties under one mechanism.

    Parameters
    ----------
    rule_spec : RuleSpec
        The mechanism: one rule or several clauses.
    pool_by_tax : dict of str to ndarray, shape (D, P, Y) each
        Shareable pool by tax type [yuan/year].
    ctx : RuleContext

    Returns
    -------
    ndarray, shape (K, D, Y)
        What each party receives [yuan/year]; sums over K to the pool summed over projects.

    Notes
    -----
    ``pool_by_tax`` may be a :class:`PoolCache`, which sums and caches pools by tax subset so
    that mechanisms that share a scope do not recompute it.
    """
    cache = pool_by_tax if isinstance(pool_by_tax, PoolCache) else PoolCache(pool_by_tax)
    taxes_all = cache.taxes
    shape = cache.total(tuple(taxes_all)).shape
    out = np.zeros((ctx.n_parties, shape[0], shape[2]))
    # what the hosts would keep of the whole pool, less what the clauses cover (host totals are
    # linear in the pool, so the rest is never formed project by project)
    rest = host_totals(cache.total(tuple(taxes_all)), ctx)
    for clause in rule_spec.all_clauses():
        taxes, proj, yr = clause_masks(
            clause, pool_taxes=taxes_all, parks=ctx.park, groups=ctx.group, years=ctx.years
        )
        if not taxes or not proj.any() or not yr.any():
            continue
        if proj.all() and yr.all():
            sub = cache.total(tuple(taxes))
        else:
            sub = cache.masked(tuple(taxes), proj, yr)
        out += call_rule(clause.rule, sub, ctx, clause.params)
        rest -= host_totals(sub, ctx)
    out += rest
    return out


class PoolCache:
    """Pools by tax type, with their sums over tax subsets computed once and kept."""

    def __init__(self, pool_by_tax: dict[str, np.ndarray], *, taxes=None, sums=None):
        self.by_tax = dict(pool_by_tax)
        self.taxes = list(taxes) if taxes is not None else list(pool_by_tax)
        self._sums: dict[tuple, np.ndarray] = {tuple(sorted(k)): v for k, v in (sums or {}).items()}
        self._masked: dict[tuple, np.ndarray] = {}

    @classmethod
    def from_subsets(cls, taxes, subsets, arrays) -> PoolCache:
        """A cache that holds only the pools of given subsets (as the compiled engine makes them).

        ``subsets`` are ``(taxes, project mask or None, year mask or None)`` as from
        :func:`tax_subsets`; ``arrays`` the matching (D, P, Y) pools.
        """
        cache = cls({}, taxes=taxes)
        for (tx, proj, yr), arr in zip(subsets, arrays, strict=True):
            key = tuple(sorted(tx))
            if proj is None and yr is None:
                cache._sums[key] = arr
            else:
                cache._masked[(key, proj.tobytes(), yr.tobytes())] = arr
        return cache

    def masked(self, taxes: tuple, proj: np.ndarray, yr: np.ndarray) -> np.ndarray:
        """The pool of ``taxes`` restricted to projects ``proj`` and years ``yr`` (zero elsewhere)."""
        key = (tuple(sorted(taxes)), proj.tobytes(), yr.tobytes())
        if key not in self._masked:
            self._masked[key] = np.where(
                proj[None, :, None] & yr[None, None, :], self.total(taxes), 0.0
            )
        return self._masked[key]

    def total(self, taxes: tuple) -> np.ndarray:
        key = tuple(sorted(taxes))
        if key not in self._sums:
            if not self.by_tax:
                raise KeyError(f"no pool was computed for the tax subset {key}")
            arrays = [self.by_tax[t] for t in key]
            acc = arrays[0].copy()
            for a in arrays[1:]:
                acc += a
            self._sums[key] = acc
        return self._sums[key]
