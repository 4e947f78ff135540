"""Cost recovery first: the partner recovers its outlay from the pool, then a ratio applies."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from benefitshare.errors import unknown_name
from benefitshare.glossary import COST_KINDS
from benefitshare.rules.base import RuleParams, check_shares, register_rule
from benefitshare.rules.spec import Fraction, Yuan, bounded, doc

__all__ = ["cost_recovery_first"]


class CostRecoveryParams(RuleParams):
    """Parameters of ``cost_recovery_first``."""

    shares: dict[str, Fraction] = Field(
        **doc(
            "Split after (and beside) recovery (party id -> share, summing to 1)",
            {"shenzhen": 0.3, "shanwei": 0.7},
            "fraction",
        )
    )
    recovering_party: str | None = Field(
        None,
        **doc("Party that recovers its outlay; the partner when omitted", "shenzhen", "party id"),
    )
    outlay_yuan: Yuan | None = Field(
        None,
        **doc(
            "Amount to recover; the party's costs of cost_kinds over the horizon when omitted",
            200000000.0,
            "yuan",
        ),
    )
    cost_kinds: list[str] = Field(
        default_factory=lambda: ["infrastructure"],
        json_schema_extra={"items": {"type": "string", "enum": list(COST_KINDS)}},
        **doc("Cost kinds that count as outlay", ["infrastructure"], "list of cost kinds"),
    )
    recovery_rate: bounded(0.0, 1.0, above_low=True) = Field(
        1.0, **doc("Share of the pool devoted to recovery while it lasts", 0.5, "fraction")
    )

    def check(self, spec):
        out = check_shares(self.shares, spec, ("shares",))
        for i, kind in enumerate(self.cost_kinds):
            if kind not in COST_KINDS:
                out.append((("cost_kinds", i), kind, unknown_name("cost kind", kind, COST_KINDS)))
        if (
            spec is not None
            and self.recovering_party is not None
            and self.recovering_party not in spec.parties
        ):
            out.append(
                (
                    ("recovering_party",),
                    self.recovering_party,
                    unknown_name("party", self.recovering_party, spec.parties),
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
