"""Stage 9, outcomes: net benefit, NPV, gain over standalone, discount factors, payback year, quantiles.

The one definition of each outcome; every other module (the result, the comparison, the solver,
sensitivity, sweeps, bargaining) calls these. Pure functions over arrays whose last axis is the
year (see ``docs/model.md`` §3.9).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "discount_factors",
    "party_discount_factors",
    "revenue_yuan",
    "net_benefit_yuan",
    "npv_yuan",
    "gain_yuan",
    "payback_year",
    "percentiles",
]


def discount_factors(rate, years, base_year=None):
    """Discount factors ``(1 + r) ** -(year - base_year)``.

    Parameters
    ----------
    rate : float or ndarray, shape (K,)
        Discount rate(s) [fraction/year].
    years : ndarray of int, shape (Y,)
    base_year : int, optional
        Year discounted by 1; the first model year by default.

    Returns
    -------
    ndarray, shape (Y,) or (K, Y)
    """
    years = np.asarray(years)
    base = years[0] if base_year is None else base_year
    r = np.asarray(rate, dtype=float)
    return (1.0 + r[..., None]) ** -(years - base).astype(float)


def party_discount_factors(spec, years) -> np.ndarray:
    """Discount factors (K, Y) at each party's rate (the scenario's rate where a party has none)."""
    rates = [
        p.discount_rate if p.discount_rate is not None else spec.model.discount_rate
        for p in spec.parties.values()
    ]
    return discount_factors(np.array(rates), years)


def revenue_yuan(pool_share_yuan, retained_yuan, dividends_yuan):
    """Revenue a party receives [yuan/year]: its pool share, plus the local revenue it keeps
    outside the pool, plus platform dividends (arrays that broadcast; the last axis is the year).
    """
    return np.asarray(pool_share_yuan) + (np.asarray(retained_yuan) + np.asarray(dividends_yuan))


def net_benefit_yuan(revenue_yuan, costs_yuan):
    """A party's net benefit [yuan/year]: revenue received less costs borne.

    Parameters
    ----------
    revenue_yuan : ndarray, shape (..., Y)
        Pool share plus local revenue outside the pool plus platform dividends [yuan/year].
    costs_yuan : ndarray, shape broadcastable to ``revenue_yuan``
        Costs borne, all kinds summed [yuan/year].
    """
    return np.asarray(revenue_yuan) - np.asarray(costs_yuan)


def gain_yuan(npv_yuan_, standalone_npv_yuan):
    """Gain over not cooperating [yuan]: the NPV under a rule less the standalone NPV."""
    return np.asarray(npv_yuan_) - np.asarray(standalone_npv_yuan)


def percentiles(values, pct, axis=0):
    """Percentiles ``pct`` [0-100] of ``values`` along ``axis``, by linear interpolation.

    The one percentile convention of every table and chart: P5/P50/P95 columns, fan charts,
    gain intervals and sweep summaries.
    """
    return np.percentile(np.asarray(values, dtype=float), pct, axis=axis)


def npv_yuan(flows_yuan, factors):
    """Net present value of yearly flows [yuan]: ``sum_y flows[..., y] * factors[..., y]``."""
    return np.sum(np.asarray(flows_yuan) * factors, axis=-1)


def payback_year(net_yuan, years):
    """First year from which the cumulative net benefit stays non-negative.

    Parameters
    ----------
    net_yuan : ndarray, shape (..., Y)
    years : ndarray of int, shape (Y,)

    Returns
    -------
    ndarray of float, shape (...)
        Calendar year; NaN where the cumulative net benefit is negative at the horizon's end
        (no payback within the horizon).
    """
    cum = np.cumsum(net_yuan, axis=-1)
    negative = cum < -1e-6
    # last negative year; payback is the next one
    any_neg = negative.any(axis=-1)
    last_neg = np.where(
        any_neg, negative.shape[-1] - 1 - np.argmax(negative[..., ::-1], axis=-1), -1
    )
    idx = last_neg + 1
    y = np.asarray(years, dtype=float)
    ok = idx < len(y)
    return np.where(ok, y[np.minimum(idx, len(y) - 1)], np.nan)
