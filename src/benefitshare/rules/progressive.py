"""Rules on the size of the pool: incremental over a baseline, and tiered brackets."""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from benefitshare.rules.base import (
    RuleParams,
    check_shares,
    host_totals,
    register_rule,
    split_totals,
)
from benefitshare.rules.spec import Fraction, Year, Yuan, doc, outside_horizon, yuan

__all__ = ["incremental_over_baseline", "tiered"]


class IncrementalParams(RuleParams):
    """Parameters of ``incremental_over_baseline``."""

    shares: dict[str, Fraction] = Field(
        **doc(
            "Split of the increment over the base (party id -> share, summing to 1)",
            {"shenzhen": 0.5, "shanwei": 0.5},
            "fraction",
        )
    )
    base_year: Year | None = Field(
        None,
        **doc(
            "Year whose pool total is the base; the first model year when omitted (give "
            "this or base_yuan)",
            2028,
            "year",
        ),
    )
    base_yuan: Yuan | None = Field(
        None, **doc("A fixed base instead of base_year", 50000000.0, "yuan/year")
    )

    @model_validator(mode="after")
    def _one_base(self):
        if self.base_year is not None and self.base_yuan is not None:
            raise ValueError("give base_year or base_yuan, not both")
        return self

    def check(self, spec):
        out = check_shares(self.shares, spec, ("shares",))
        if spec is not None and self.base_year is not None:
            problem = outside_horizon(self.base_year, spec.model.start_year, spec.model.end_year)
            if problem is not None:
                out.append((("base_year",), self.base_year, problem))
        return out


def incremental_over_baseline(pool_yuan, ctx, *, shares, base_year=None, base_yuan=None):
    """Incremental over a baseline: only the growth of the pool over a base amount is shared.

    The host keeps the pool up to the base amount each year; the increment above it is split by
    ``shares``. The base is the pool total in ``base_year`` (the first model year by default) or
    the fixed ``base_yuan``.

    Notes
    -----
    ``increment_t = max(total_t - base, 0)``; party k receives ``shares_k * increment_t``, the host
    also the base part.

    References
    ----------
    Base-number sharing (基数分成) in Chinese intergovernmental arrangements: the base stays with
    the existing recipient, the increment is shared.
    """
    hosts = host_totals(pool_yuan, ctx)
    total = hosts.sum(axis=0)  # (D, Y)
    if base_yuan is not None:
        base = np.full(total.shape[:1] + (1,), float(base_yuan))
    else:
        year = ctx.years[0] if base_year is None else base_year
        base = total[:, ctx.years == year]  # (D, 1)
    increment = np.maximum(total - base, 0.0)
    nonzero = total != 0.0
    host_frac = np.where(nonzero, hosts / np.where(nonzero, total, 1.0), 0.0)
    weights = (
        ctx.share_vector(shares)[:, None, None] * increment[None]
        + host_frac * (total - increment)[None]
    )
    frac = np.where(nonzero, weights / np.where(nonzero, total, 1.0), 0.0)
    return split_totals(total, frac, hosts)


class Bracket(RuleParams):
    """One bracket of ``tiered``: a slice of the year's pool total and its split."""

    up_to_yuan: yuan(0.0, above_low=True) | None = Field(
        None,
        **doc(
            "Upper end of the bracket; omitted in the last bracket (it takes the rest)",
            100000000.0,
            "yuan/year",
        ),
    )
    shares: dict[str, Fraction] = Field(
        **doc(
            "Split of this slice (party id -> share, summing to 1)",
            {"shenzhen": 0.5, "shanwei": 0.5},
            "fraction",
        )
    )


class TieredParams(RuleParams):
    """Parameters of ``tiered``."""

    brackets: list[Bracket] = Field(
        min_length=1,
        **doc(
            "Brackets of the year's pool total, in increasing order",
            [
                {"up_to_yuan": 100000000.0, "shares": {"shenzhen": 0.5, "shanwei": 0.5}},
                {"shares": {"shenzhen": 0.2, "shanwei": 0.8}},
            ],
        ),
    )

    @model_validator(mode="after")
    def _ordered(self):
        limits = [b.up_to_yuan for b in self.brackets]
        if limits[-1] is not None:
            raise ValueError("the last bracket must have no up_to_yuan (it takes the rest)")
        if any(x is None for x in limits[:-1]):
            raise ValueError("every bracket but the last needs up_to_yuan")
        inner = limits[:-1]
        if any(b <= a for a, b in zip(inner, inner[1:], strict=False)):
            raise ValueError("up_to_yuan must increase from bracket to bracket")
        return self

    def check(self, spec):
        out = []
        for i, b in enumerate(self.brackets):
            out.extend(check_shares(b.shares, spec, ("brackets", i, "shares")))
        return out


def tiered(pool_yuan, ctx, *, brackets):
    """Tiered by pool size: each slice of the year's pool total is split by its bracket's shares.

    Like a progressive tax schedule: with brackets ``[{up_to_yuan = 1e8, shares = A}, {shares =
    B}]`` the first 100 million yuan of a year's pool is split by A and the rest by B.

    References
    ----------
    Progressive (tiered) splits in revenue-sharing agreements; a modelling
    device, no Guangdong precedent found.
    """
    hosts = host_totals(pool_yuan, ctx)
    total = hosts.sum(axis=0)  # (D, Y)
    weights = np.zeros((ctx.n_parties, *total.shape))
    lower = 0.0
    for b in brackets:
        upper = np.inf if b.up_to_yuan is None else b.up_to_yuan
        slice_ = np.clip(total, lower, upper) - lower
        weights += ctx.share_vector(b.shares)[:, None, None] * slice_[None]
        lower = upper
    # effective shares of the total; a non-positive total stays with the hosts
    safe = np.where(total > 0.0, total, 1.0)
    shares = np.where(total > 0.0, weights / safe, hosts / np.where(total != 0.0, total, 1.0))
    return split_totals(total, shares, hosts)


register_rule(
    "incremental_over_baseline", incremental_over_baseline, params=IncrementalParams, _builtin=True
)
register_rule("tiered", tiered, params=TieredParams, _builtin=True)
