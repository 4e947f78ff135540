"""Stage 2, economy: capex, capacity, sales, value added, profit, wages, fixed assets, land.

Pure vectorised functions over arrays shaped ``(draws, projects, years)``. A per-project input is
``(D or 1, P, 1)``; a year schedule ``(1, 1, Y)`` or ``(Y,)``; broadcasting does the rest. The
year is an axis, never a state.

These are modelling assumptions, not law: a project spends its investment over its construction
years, then ramps up linearly to full capacity; sales at full capacity are proportional to the
investment; depreciation is a fixed cost, so a project makes losses while it ramps up.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "capex_yuan",
    "operation_start_year",
    "capacity_fraction",
    "growth_index",
    "full_capacity_sales_yuan",
    "profit_before_tax_yuan",
    "taxable_income_yuan",
    "fixed_assets_yuan",
]


def capex_yuan(investment_yuan, start_year, phasing, years):
    """Capital expenditure by year.

    Parameters
    ----------
    investment_yuan : array_like, shape (D or 1, P, 1)
        Planned investment [yuan].
    start_year : array_like of int, shape (D or 1, P, 1)
        First construction year [year].
    phasing : ndarray, shape (P, C)
        Share of the investment spent in each construction year, zero-padded [fraction].
    years : ndarray of int, shape (Y,)

    Returns
    -------
    ndarray, shape (D, P, Y) [yuan/year]

    Notes
    -----
    ``capex[d, p, y] = investment[p] * phasing[p, y - start[d, p]]`` for
    ``0 <= y - start < C``, else 0. Spending that would fall after the horizon is dropped.
    """
    k = np.asarray(years)[None, None, :] - np.asarray(start_year)
    width = phasing.shape[1]
    valid = (k >= 0) & (k < width)
    idx = np.clip(k, 0, width - 1)
    share = np.take_along_axis(phasing[None, :, :], idx, axis=2)
    return np.where(valid, share, 0.0) * investment_yuan


def operation_start_year(start_year, construction_years):
    """First year of operation [year]: construction ends, production begins."""
    return np.asarray(start_year) + np.asarray(construction_years)


def capacity_fraction(operation_start, ramp_up_years, years):
    """Share of full capacity reached in each year, rising linearly over the ramp-up.

    Parameters
    ----------
    operation_start : array_like of int, shape (D or 1, P, 1) [year]
    ramp_up_years : array_like, shape (D or 1, P, 1) [years]
    years : ndarray of int, shape (Y,)

    Returns
    -------
    ndarray, shape (D, P, Y) [fraction]

    Notes
    -----
    ``min(1, (y - start + 1) / ramp)`` for ``y >= start``, else 0: full capacity is reached in the
    ramp-up's last year.
    """
    k = np.asarray(years)[None, None, :] - operation_start + 1
    return np.clip(k / np.asarray(ramp_up_years, dtype=float), 0.0, 1.0)


def growth_index(growth_rate, years):
    """Price-and-volume index relative to the first model year [fraction].

    Parameters
    ----------
    growth_rate : array_like, shape (..., Y) or scalar
        Growth in each year [fraction/year]; a leading draws axis is kept.
    years : ndarray of int, shape (Y,)

    Returns
    -------
    ndarray, shape (..., Y)
        ``index[..., 0] = 1``; ``index[..., t] = index[..., t-1] * (1 + g[..., t])``.
    """
    g = np.asarray(growth_rate, dtype=float)
    g = np.broadcast_to(g, g.shape[:-1] + (len(years),) if g.ndim else (len(years),)).copy()
    g[..., 0] = 0.0
    return np.cumprod(1.0 + g, axis=-1)


def full_capacity_sales_yuan(investment_yuan, output_per_fixed_asset, index):
    """Sales a project would make at full capacity in each year [yuan/year], shape (D, P, Y)."""
    return np.asarray(investment_yuan) * np.asarray(output_per_fixed_asset) * np.asarray(index)


def profit_before_tax_yuan(full_sales_yuan, capacity, profit_margin, depreciation_yuan, operating):
    """Accounting profit before income tax [yuan/year], shape (D, P, Y).

    Parameters
    ----------
    full_sales_yuan : ndarray, shape (D, P, Y)
        Sales at full capacity [yuan/year].
    capacity : ndarray, shape (D, P, Y) [fraction]
    profit_margin : array_like, shape (D or 1, P, 1)
        Profit before tax over sales at full capacity [fraction].
    depreciation_yuan : array_like, shape (D or 1, P, 1)
        Annual depreciation, a fixed cost [yuan/year].
    operating : ndarray of bool, shape (D, P, Y)
        Years from the start of operation on.

    Notes
    -----
    ``profit = capacity * (margin * full_sales + depreciation) - depreciation`` while operating:
    the margin at full capacity, with the fixed cost carried in full during ramp-up, so early
    years can make losses. A modelling assumption.
    """
    contribution = profit_margin * full_sales_yuan + depreciation_yuan
    return np.where(operating, capacity * contribution - depreciation_yuan, 0.0)


def taxable_income_yuan(profit_yuan, carryforward_years):
    """Taxable income after carrying losses forward, oldest first [yuan/year], shape (D, P, Y).

    Parameters
    ----------
    profit_yuan : ndarray, shape (D, P, Y) or any shape (..., Y)
    carryforward_years : int
        How many later years a loss may be deducted in.

    Notes
    -----
    A loss of year t may be set against profits of years t+1 .. t+N, the oldest loss first, and
    then expires (企业所得税法 art. 18, five years; the number is a scenario setting). The year
    loop carries an (D, P, N) buffer; every other operation is vectorised.

    References
    ----------
    全国人民代表大会, 中华人民共和国企业所得税法 (2018-12-29), art. 18.
    """
    given = np.asarray(profit_yuan, dtype=float)
    # any leading axes: each series along the last (year) axis carries its own losses
    profit = given.reshape((-1, 1, given.shape[-1])) if given.ndim != 3 else given
    n = int(carryforward_years)
    out = np.maximum(profit, 0.0)
    if n == 0:
        return out.reshape(given.shape)
    # only projects that ever make a loss need the year loop
    losing = (profit < 0.0).any(axis=(0, 2))
    if not losing.any():
        return out.reshape(given.shape)
    sel = np.flatnonzero(losing)
    sub = profit[:, sel, :]
    d, p, y = sub.shape
    buf = np.zeros((d, p, n))  # buf[..., k]: loss from k+1 years ago
    res = np.empty_like(sub)
    for t in range(y):
        gain = np.maximum(sub[:, :, t], 0.0)
        if buf.any():
            remaining = gain.copy()
            for k in range(n - 1, -1, -1):
                use = np.minimum(remaining, buf[:, :, k])
                buf[:, :, k] -= use
                remaining -= use
            res[:, :, t] = remaining
        else:
            res[:, :, t] = gain
        buf[:, :, 1:] = buf[:, :, :-1]
        buf[:, :, 0] = np.maximum(-sub[:, :, t], 0.0)
    out[:, sel, :] = res
    return out.reshape(given.shape)


def fixed_assets_yuan(capex):
    """Gross fixed assets, cumulative capex [yuan], shape (D, P, Y)."""
    return np.cumsum(capex, axis=-1)
