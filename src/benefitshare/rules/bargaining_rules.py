"""Bargaining-solution rules: constant shares that implement the Shapley or Nash split."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from benefitshare.errors import RuleError, unknown_name
from benefitshare.rules.base import RuleParams, host_totals, register_rule, split_totals
from benefitshare.rules.games import nash_split, project_to_simplex
from benefitshare.rules.spec import doc

_BASIS = doc(
    "expected: shares fixed in advance from expected values; realised: shares per draw on its "
    "realised path",
    "expected",
)

__all__ = ["shapley_split", "nash_bargaining_split", "implementing_shares"]


class ShapleyParams(RuleParams):
    """Parameters of ``shapley_split``."""

    basis: Literal["expected", "realised"] = Field("expected", **_BASIS)


class NashParams(RuleParams):
    """Parameters of ``nash_bargaining_split``."""

    basis: Literal["expected", "realised"] = Field("expected", **_BASIS)
    weights: dict[str, Annotated[float, Field(ge=0.0)]] | None = Field(
        None,
        **doc(
            "Bargaining weights by party (normalised); equal when omitted",
            {"shenzhen": 1.0, "shanwei": 2.0},
            "relative weight",
        ),
    )

    def check(self, spec):
        out = []
        if self.weights is not None:
            if spec is not None:
                for pid in self.weights:
                    if pid not in spec.parties:
                        out.append(
                            (
                                ("weights", pid),
                                pid,
                                unknown_name("party", pid, spec.parties),
                            )
                        )
            if not sum(self.weights.values()) > 0:
                out.append(
                    (("weights",), dict(self.weights), "at least one weight must be positive")
                )
        return out


def _need(ctx, what: str):
    missing = [
        name
        for name in (
            "outside_pool_net_dky",
            "pool_total_dy",
            "discount_factors_ky",
            "coalition_game",
        )
        if getattr(ctx, name) is None
    ]
    if missing:
        raise RuleError(
            f"the {what} rule needs the run's standalone and coalition values; the rule "
            f"context lacks {', '.join(missing)} (run it through benefitshare.run)"
        )


def implementing_shares(target_kd: np.ndarray, ctx, *, basis: str = "expected") -> np.ndarray:
    """Constant pool shares that give each party its target NPV, shape (K, D or 1).

    Parameters
    ----------
    target_kd : ndarray, shape (K, D)
        Target NPV of net benefit per party and draw [yuan].
    ctx : RuleContext
        Must carry ``outside_pool_net_dky``, ``pool_total_dy`` and ``discount_factors_ky``.
    basis : {"expected", "realised"}
        ``expected``: one set of shares from the mean over draws (an agreement fixed in
        advance); ``realised``: shares per draw (a settlement on the realised path).

    Returns
    -------
    ndarray, shape (K, D) or (K, 1)
        Shares on the probability simplex.

    Notes
    -----
    Party k's NPV is ``NPV_k(outside_k) + s_k * NPV_k(pool)``, so ``s_k = (target_k -
    NPV_k(outside_k)) / NPV_k(pool)``. When the parties share one discount rate and the targets
    sum to v(N), these shares sum to 1. Shares outside [0, 1] (a target the pool cannot deliver)
    are replaced by the nearest shares on the simplex, so the rule then comes as close as a split
    of the pool can.
    """
    df = ctx.discount_factors_ky  # (K, Y)
    outside = np.einsum("dky,ky->dk", ctx.outside_pool_net_dky, df)
    pool_npv = np.einsum("dy,ky->dk", ctx.pool_total_dy, df)
    need = target_kd.T - outside  # (D, K)
    if basis == "expected":
        need = need.mean(axis=0, keepdims=True)
        pool_npv = pool_npv.mean(axis=0, keepdims=True)
    # a pool worth less than a fen cannot implement anything: split it evenly
    positive = pool_npv > 0.01
    raw = np.where(positive, need / np.where(positive, pool_npv, 1.0), 0.0)
    # shares far outside [0, 1] project onto a vertex; bound them so the projection stays exact
    shares = project_to_simplex(np.clip(raw, -1e3, 1e3).T)  # (K, D)
    return shares


def _apply(pool_yuan, ctx, shares_kd):
    hosts = host_totals(pool_yuan, ctx)
    total = hosts.sum(axis=0)
    return split_totals(total, shares_kd[:, :, None], hosts)


def shapley_split(pool_yuan, ctx, *, basis="expected"):
    """Shapley split: constant shares of the pool that give each party its Shapley value.

    The parties' coalition values come from the engine (see
    :func:`benefitshare.model.coalitions.coalition_values`); each party's Shapley value is its
    average marginal contribution to them. The rule finds the constant shares of the whole
    shareable pool under which every party's NPV of net benefit equals its Shapley value, and
    applies them to the part of the pool it covers.

    Parameters
    ----------
    basis : {"expected", "realised"}
        ``expected`` (default): shares fixed in advance from expected values; ``realised``:
        shares recomputed for each draw on its realised path.

    Notes
    -----
    With two parties the Shapley value is each party's standalone value plus half the
    cooperative surplus (equal gains). If a party's Shapley value cannot be reached within the
    pool, the nearest feasible shares are used (:func:`implementing_shares`). Within a clause
    that covers only part of the pool the targets are met only approximately.

    References
    ----------
    Shapley (1953); applied to enclave parks by 李学文, 石战强, 郜钏贝 (2023), 中国土地科学
    37(11). A modelling device: no co-built park is known to use it.
    """
    _need(ctx, "shapley_split")
    game = ctx.coalition_game()
    target = game.shapley()
    return _apply(pool_yuan, ctx, implementing_shares(target, ctx, basis=basis))


def nash_bargaining_split(pool_yuan, ctx, *, basis="expected", weights=None):
    """Nash bargaining split: constant shares that implement the (weighted) Nash solution.

    Each party receives its standalone value plus its weight's share of the cooperative surplus
    (the maximiser of the Nash product with transferable utility), implemented as constant
    shares of the pool as in :func:`shapley_split`.

    Parameters
    ----------
    basis : {"expected", "realised"}
        As in :func:`shapley_split`.
    weights : dict of str to float, optional
        Bargaining weights by party (normalised); equal by default (symmetric Nash).

    References
    ----------
    Nash (1950); 胡俊峰 (2015), 华东经济管理 (8), on bargaining between partner cities (fact
    sheet §7). A modelling device: no co-built park is known to use it.
    """
    _need(ctx, "nash_bargaining_split")
    game = ctx.coalition_game()
    w = None if weights is None else [float(weights.get(p, 0.0)) for p in ctx.party_ids]
    target = nash_split(game.standalone, game.grand, w)
    return _apply(pool_yuan, ctx, implementing_shares(target, ctx, basis=basis))


register_rule("shapley_split", shapley_split, params=ShapleyParams, _builtin=True)
register_rule("nash_bargaining_split", nash_bargaining_split, params=NashParams, _builtin=True)
