"""Applying a mechanism: clauses with scopes and year windows, the rest to the host."""

from __future__ import annotations

import numpy as np

from ..errors import RuleError
from .base import CONSERVATION_TOL_YUAN, RuleContext, get_rule, host_matrix, parse_params

__all__ = ["clause_masks", "apply_mechanism", "call_rule"]


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


def call_rule(name: str, pool_yuan: np.ndarray, ctx: RuleContext, params: dict) -> np.ndarray:
    """Call a registered rule and check its output: shape, finiteness and conservation.

    Raises
    ------
    RuleError
        If the rule returns the wrong shape, a non-finite value, or shares that do not sum to the
        pool within :data:`CONSERVATION_TOL_YUAN` in some cell.
    """
    rule = get_rule(name)
    kwargs = parse_params(name, params)
    out = np.asarray(rule.fn(pool_yuan, ctx, **kwargs), dtype=float)
    want = (ctx.n_parties, *pool_yuan.shape)
    if out.shape != want:
        raise RuleError(f"rule {name!r} returned shape {out.shape}; expected (parties, draws, projects, years) = {want}")
    if not np.isfinite(out).all():
        raise RuleError(f"rule {name!r} returned NaN or infinite amounts")
    gap = np.abs(out.sum(axis=0) - pool_yuan)
    if gap.size and gap.max() > CONSERVATION_TOL_YUAN:
        d, p, y = np.unravel_index(int(gap.argmax()), gap.shape)
        raise RuleError(
            f"rule {name!r} does not conserve money: in draw {d}, project {p}, year {int(ctx.years[y])} "
            f"the parties' shares differ from the pool by {gap.max():.6g} yuan"
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
    ndarray, shape (K, D, P, Y)
        What each party receives [yuan/year]; sums over K to the pool.
    """
    total = sum(pool_by_tax.values())
    out = np.zeros((ctx.n_parties, *total.shape))
    covered = np.zeros_like(total)
    for clause in rule_spec.all_clauses():
        taxes, proj, yr = clause_masks(
            clause, pool_taxes=list(pool_by_tax), parks=ctx.park, groups=ctx.group, years=ctx.years
        )
        if not taxes:
            continue
        mask = proj[None, :, None] & yr[None, None, :]
        sub = np.where(mask, sum(pool_by_tax[t] for t in taxes), 0.0)
        out += call_rule(clause.rule, sub, ctx, clause.params)
        covered += sub
    rest = total - covered
    out += host_matrix(ctx)[:, None, :, None] * rest[None]
    return out
