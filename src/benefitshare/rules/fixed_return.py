"""Fixed return: a guaranteed return on invested capital for some years, then dividends."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from benefitshare.errors import unknown_name
from benefitshare.glossary import COST_KINDS
from benefitshare.rules.base import (
    RuleParams,
    check_shares,
    host_totals,
    register_rule,
    split_totals,
)
from benefitshare.rules.spec import Fraction, Year, Yuan, doc, outside_horizon

__all__ = ["fixed_return"]


class FixedReturnParams(RuleParams):
    """Parameters of ``fixed_return``."""

    investor: str | None = Field(
        None, **doc("Party that invested; the partner when omitted", "shenzhen", "party id")
    )
    return_rate: Fraction = Field(
        0.10, **doc("Guaranteed return on invested capital", 0.1, "fraction/year")
    )
    guarantee_years: Annotated[int, Field(ge=0, le=100)] = Field(
        5, **doc("Length of the guarantee", 5, "years")
    )
    start_year: Year | None = Field(
        None,
        **doc(
            "First year of the guarantee; the investor's first capital payment when omitted",
            2027,
            "year",
        ),
    )
    capital_yuan: Yuan | None = Field(
        None,
        **doc(
            "A fixed capital base; the investor's cumulative outlays of capital_kinds when omitted",
            100000000.0,
            "yuan",
        ),
    )
    capital_kinds: list[str] = Field(
        default_factory=lambda: ["infrastructure", "platform_capital"],
        json_schema_extra={"items": {"type": "string", "enum": list(COST_KINDS)}},
        **doc(
            "Cost kinds that count as invested capital", ["infrastructure"], "list of cost kinds"
        ),
    )
    carry_shortfall: bool = Field(
        True,
        **doc(
            "Carry an unpaid guaranteed amount forward and pay it first from later pools",
            True,
        ),
    )
    shares: dict[str, Fraction] | None = Field(
        None,
        **doc(
            "Split after the guarantee; the [platform] equity when omitted",
            {"shenzhen": 0.5, "shanwei": 0.5},
            "fraction",
        ),
    )

    def check(self, spec):
        out = []
        if spec is not None and self.investor is not None and self.investor not in spec.parties:
            out.append(
                (("investor",), self.investor, unknown_name("party", self.investor, spec.parties))
            )
        for i, kind in enumerate(self.capital_kinds):
            if kind not in COST_KINDS:
                out.append(
                    (
                        ("capital_kinds", i),
                        kind,
                        unknown_name("cost kind", kind, COST_KINDS),
                    )
                )
        if spec is not None and self.start_year is not None:
            # a guarantee that began before the model runs on for its remaining years
            problem = outside_horizon(
                self.start_year, spec.model.start_year, spec.model.end_year, earlier_ok=True
            )
            if problem is not None:
                out.append((("start_year",), self.start_year, problem))
        if self.shares is not None:
            out.extend(check_shares(self.shares, spec, ("shares",)))
        elif spec is not None and spec.platform is None:
            out.append(
                (
                    ("shares",),
                    ...,
                    "give the shares after the guarantee, or a [platform] section with equity",
                )
            )
        return out


def fixed_return(
    pool_yuan,
    ctx,
    *,
    investor=None,
    return_rate=0.10,
    guarantee_years=5,
    start_year=None,
    capital_yuan=None,
    capital_kinds=("infrastructure", "platform_capital"),
    carry_shortfall=True,
    shares=None,
):
    """Fixed return: the investor gets a guaranteed return on its capital, then shares by equity.

    For ``guarantee_years`` from ``start_year`` the investor receives ``return_rate`` times its
    invested capital each year, paid from the pool; the rest of the pool stays with the host.
    After the guarantee the pool is split by ``shares`` (the platform company's equity by
    default), as dividends are paid on the actual returns.

    Parameters
    ----------
    investor : str, optional
        The party that invested; the partner city by default.
    return_rate : float
        Guaranteed return [fraction/year] on invested capital.
    guarantee_years : int
        Length of the guarantee [years].
    start_year : int, optional
        First year of the guarantee; by default the first year the investor pays capital, in
        each draw (the first model year if it pays none).
    capital_yuan : float, optional
        A fixed capital base [yuan]; by default the investor's cumulative outlays of
        ``capital_kinds`` up to each year.
    capital_kinds : list of str
        Cost kinds that count as invested capital.
    carry_shortfall : bool
        When the pool cannot pay the guaranteed amount, carry the arrears forward and pay them
        first from later pools (also after the guarantee ends); otherwise the shortfall lapses.
    shares : dict of str to float, optional
        Split after the guarantee (and of any pool left once arrears are paid) [fraction].

    Notes
    -----
    ``due_t = return_rate * capital_t`` in the guarantee years. With arrears ``A``:
    ``owed_t = A_{t-1} + due_t``, ``paid_t = min(owed_t, max(pool_t, 0))``, ``A_t = owed_t -
    paid_t``. Before and in the guarantee years the host keeps ``pool_t - paid_t``; afterwards party k
    receives ``shares_k * (pool_t - paid_t)``. A guarantee funded from outside the pool is not
    modelled: money is conserved within the pool.

    References
    ----------
    宁波市鄞州区 — 衢江区 "消薄飞地" (Zhejiang enclaves that lift weak villages): a fixed 10% a
    year for the first 5 years on the villages' investment, then dividends from actual rent
    (https://www.nbyz.gov.cn/art/2023/2/10/art_1229660399_59197784.html); Zhenhai-Longyou
    enclave, a fixed return of about 10% a year.
    """
    k = ctx.partner_index if investor is None else ctx.index(investor)
    years = ctx.years
    hosts = host_totals(pool_yuan, ctx)
    total = hosts.sum(axis=0)  # (D, Y)
    outlay = sum(
        (
            np.asarray(ctx.costs_yuan[c], dtype=float)[..., k, :]
            for c in capital_kinds
            if c in ctx.costs_yuan
        ),
        np.zeros(len(years)),
    )
    outlay = np.reshape(outlay, (-1, len(years)))  # (D or 1, Y)
    if capital_yuan is not None:
        capital = np.full((1, len(years)), float(capital_yuan))
    else:
        capital = np.cumsum(outlay, axis=-1)
    # first year of the guarantee, per draw: the investor's first capital payment in that draw
    if start_year is not None:
        first = np.array([start_year])
    elif capital_yuan is None:
        pays = outlay > 0  # (D or 1, Y)
        first = np.where(pays.any(axis=1), years[pays.argmax(axis=1)], years[0])
    else:
        first = np.array([years[0]])
    first = first[:, None]  # (D or 1, 1)
    window = (years[None] >= first) & (years[None] < first + guarantee_years)  # (D or 1, Y)
    due = np.broadcast_to(np.where(window, return_rate * capital, 0.0), total.shape)  # (D, Y)
    avail = np.maximum(total, 0.0)
    paid = np.zeros_like(total)
    arrears = np.zeros(total.shape[0])
    for t in range(len(years)):
        owed = due[:, t] + (arrears if carry_shortfall else 0.0)
        paid[:, t] = np.minimum(owed, avail[:, t])
        arrears = owed - paid[:, t]
    rest = total - paid
    after = ctx.share_vector(shares if shares is not None else (ctx.equity or {}))
    if shares is None and not ctx.equity:
        after = np.zeros(ctx.n_parties)
    nonzero = total != 0.0
    safe = np.where(nonzero, total, 1.0)
    host_frac = np.where(nonzero, hosts / safe, 0.0)  # (K, D, Y)
    # before the guarantee starts (the investor has not invested yet) and during it, the host
    # keeps what is not paid out; the after-guarantee shares apply only once it has ended
    until_end = years[None] < first + guarantee_years  # (D or 1, Y)
    amounts = np.where(
        until_end[None] | (after.sum() == 0.0),
        host_frac * rest[None],
        after[:, None, None] * rest[None],
    )
    amounts[k] += paid
    frac = np.where(total > 0.0, amounts / safe, host_frac)
    return split_totals(total, frac, hosts)


register_rule("fixed_return", fixed_return, params=FixedReturnParams, _builtin=True)
