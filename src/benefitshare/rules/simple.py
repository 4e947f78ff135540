"""Share-based rules: host keeps all, fixed ratio with a term, phased schedule, equity shares."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from benefitshare.rules.base import (
    RuleParams,
    check_shares,
    host_totals,
    register_rule,
    split_totals,
)
from benefitshare.rules.spec import Fraction, Year, YearKey, doc, outside_horizon
from benefitshare.schedules import expand_steps

Shares = dict[str, Fraction]


class NoParams(RuleParams):
    """No parameters."""


def host_keeps_all(pool_yuan, ctx):
    """Host keeps all: each project's pool goes to the host of its park.

    The legal baseline: a resident enterprise pays corporate income tax where it is registered,
    and local taxes accrue where the activity takes place.

    References
    ----------
    全国人民代表大会, 中华人民共和国企业所得税法 (2018-12-29), art. 50.
    """
    return host_totals(pool_yuan, ctx)


class FixedRatioParams(RuleParams):
    """Parameters of ``fixed_ratio``."""

    shares: Shares = Field(
        **doc(
            "Share of the pool for each party (party id -> share, summing to 1)",
            {"shenzhen": 0.5, "shanwei": 0.5},
            "fraction",
        )
    )
    term_years: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None,
        **doc(
            "Years the ratio applies from start_year; then the host keeps all. For ever when "
            "omitted",
            10,
            "years",
        ),
    )
    start_year: Year | None = Field(
        None, **doc("First year of the term; the first model year when omitted", 2026, "year")
    )

    def check(self, spec):
        out = check_shares(self.shares, spec, ("shares",))
        if spec is not None and self.start_year is not None:
            # a term that began before the model runs on for its remaining years
            problem = outside_horizon(
                self.start_year, spec.model.start_year, spec.model.end_year, earlier_ok=True
            )
            if problem is not None:
                out.append((("start_year",), self.start_year, problem))
        return out


def fixed_ratio(pool_yuan, ctx, *, shares, term_years=None, start_year=None):
    """Fixed ratio, optionally for a term: parties take fixed shares, then the host keeps all.

    Parameters
    ----------
    shares : dict of str to float
        Share of the pool for each party [fraction]; they sum to 1.
    term_years : int, optional
        Number of years the ratio applies from ``start_year``; afterwards the host keeps all.
    start_year : int, optional
        First year of the term; the first model year by default.

    References
    ----------
    Zhongshan-Heyuan co-built park: retained local tax split 50:50 (secondary source).
    辽宁省人民政府关于支持飞地经济发展的实施意见 (2018/19): 5:5 for 10 years (secondary source).
    """
    years = ctx.years
    first = years[0] if start_year is None else start_year
    active = years >= first
    if term_years is not None:
        active &= years < first + term_years
    hosts = host_totals(pool_yuan, ctx)
    shared = split_totals(hosts.sum(axis=0), ctx.share_vector(shares)[:, None, None], hosts)
    return np.where(active[None, None, :], shared, hosts)


class PhasedParams(RuleParams):
    """Parameters of ``phased_schedule``."""

    schedule: dict[YearKey, Shares] = Field(
        min_length=1,
        **doc(
            "Shares by year, as steps that carry forward (year -> party id -> share)",
            {"2026": {"shenzhen": 0.6, "shanwei": 0.4}, "2031": {"shenzhen": 0.3, "shanwei": 0.7}},
            "fraction",
        ),
    )

    def check(self, spec):
        out = []
        for year, shares in self.schedule.items():
            out.extend(check_shares(shares, spec, ("schedule", year)))
            if spec is not None:
                # a step before the first model year carries forward into it
                problem = outside_horizon(
                    year, spec.model.start_year, spec.model.end_year, earlier_ok=True
                )
                if problem is not None:
                    out.append((("schedule", year), year, problem))
        if spec is not None and min(self.schedule) > spec.model.start_year:
            out.append(
                (
                    ("schedule",),
                    min(self.schedule),
                    f"schedule starts after the first model year {spec.model.start_year}: "
                    "give shares for the first model year or earlier",
                )
            )
        return out


def phased_schedule(pool_yuan, ctx, *, schedule):
    """Phased schedule: year-keyed shares that carry forward, e.g. a partner share tapering.

    Parameters
    ----------
    schedule : dict of int to dict of str to float
        ``{2026: {"shenzhen": 0.6, "shanwei": 0.4}, 2031: {...}}`` [fraction].

    References
    ----------
    Stepped sharing schedules in enclave agreements; a modelling device for
    tapering the partner's share as the host's capacity grows.
    """
    per_party = np.stack(
        [
            expand_steps({y: s.get(p, 0.0) for y, s in schedule.items()}, ctx.years)
            for p in ctx.party_ids
        ]
    )  # (K, Y)
    hosts = host_totals(pool_yuan, ctx)
    return split_totals(hosts.sum(axis=0), per_party[:, None, :], hosts)


class EquityParams(RuleParams):
    """Parameters of ``equity_proportional``."""

    equity: Shares | None = Field(
        None,
        **doc(
            "Equity share of each party; the [platform] equity when omitted",
            {"shenzhen": 0.6, "shanwei": 0.4},
            "fraction",
        ),
    )

    def check(self, spec):
        if self.equity is not None:
            return check_shares(self.equity, spec, ("equity",))
        if spec is not None and spec.platform is None:
            return [
                (("equity",), ..., "give equity shares here or a [platform] section with equity")
            ]
        return []


def equity_proportional(pool_yuan, ctx, *, equity=None):
    """Equity-proportional: shares follow each party's equity in the platform company.

    Parameters
    ----------
    equity : dict of str to float, optional
        Equity shares; the scenario's platform-company equity by default.

    References
    ----------
    Suzhou-Suqian Industrial Park: returns on the co-built land shared "按照双方的股本构成分配"
    (secondary source; the actual equity shares were not found).
    """
    shares = equity if equity is not None else ctx.equity
    hosts = host_totals(pool_yuan, ctx)
    return split_totals(hosts.sum(axis=0), ctx.share_vector(shares)[:, None, None], hosts)


register_rule("host_keeps_all", host_keeps_all, params=NoParams, _builtin=True)
register_rule("fixed_ratio", fixed_ratio, params=FixedRatioParams, _builtin=True)
register_rule("phased_schedule", phased_schedule, params=PhasedParams, _builtin=True)
register_rule("equity_proportional", equity_proportional, params=EquityParams, _builtin=True)

__all__ = ["host_keeps_all", "fixed_ratio", "phased_schedule", "equity_proportional"]
