"""Cost recovery first: the partner recovers its outlay from the pool, then a ratio applies."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from benefitshare.rules.base import RuleParams, check_shares, register_rule

__all__ = ["cost_recovery_first"]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class CostRecoveryParams(RuleParams):
    shares: dict[str, Fraction]
    recovering_party: str | None = None
    outlay_yuan: Annotated[float, Field(ge=0.0)] | None = None
    cost_kinds: list[str] = Field(default_factory=lambda: ["infrastructure"])
    recovery_rate: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0

    def check(self, spec):
        out = check_shares(self.shares, spec, ("shares",))
        if (
            spec is not None
            and self.recovering_party is not None
            and self.recovering_party not in spec.parties
        ):
            out.append(
                (
                    ("recovering_party",),
                    self.recovering_party,
                    f"unknown party; valid: {', '.join(spec.parties)}",
                )
            )
        return out


def cost_recovery_first(
    pool_yuan,
    ctx,
    *,
    shares,
    recovering_party=None,
    outlay_yuan=None,
    cost_kinds=("infrastructure",),
    recovery_rate=1.0,
):
    """Cost recovery first: the partner recovers its outlay from the pool, then shares apply.

    Each year, ``recovery_rate`` of the pool goes to the recovering party until its cumulative
    recovery equals its outlay; the rest of the pool, and all of it afterwards, is split by
    ``shares``.

    Parameters
    ----------
    shares : dict of str to float
        Split after (and beside) recovery [fraction].
    recovering_party : str, optional
        The partner city by default.
    outlay_yuan : float, optional
        Amount to recover [yuan]; by default the party's total costs of ``cost_kinds`` over the
        horizon.
    recovery_rate : float
        Share of the pool devoted to recovery while it lasts [fraction].

    Notes
    -----
    With cumulative pool ``C_t``: recovered ``R_t = min(outlay, rate * C_t)``; recovery in year t
    is ``R_t - R_{t-1}``; party k also gets ``shares_k * (pool_t - recovery_t)``.

    References
    ----------
    Cost recovery before profit split in production-sharing contracts (cost oil, then profit oil),
    as modelled by pyscnomics and the IMF FARI model.
    """
    k = ctx.partner_index if recovering_party is None else ctx.index(recovering_party)
    total = pool_yuan.sum(axis=1)  # (D, Y)
    if outlay_yuan is None:
        outlay = sum(
            (
                np.asarray(ctx.costs_yuan[c])[..., k, :].sum(axis=-1)
                for c in cost_kinds
                if c in ctx.costs_yuan
            ),
            np.zeros(()),
        )
        outlay = np.reshape(outlay, (-1, 1))  # (D or 1, 1)
    else:
        outlay = float(outlay_yuan)
    recovered = np.minimum(outlay, recovery_rate * np.cumsum(np.maximum(total, 0.0), axis=-1))
    recovery = np.diff(recovered, axis=-1, prepend=0.0)
    rest = total - recovery
    party_totals = ctx.share_vector(shares)[:, None, None] * rest[None]
    party_totals[k] += recovery
    # the rounding residue goes to the recovering party
    party_totals[k] += total - party_totals.sum(axis=0)
    return party_totals


register_rule("cost_recovery_first", cost_recovery_first, params=CostRecoveryParams, _builtin=True)
