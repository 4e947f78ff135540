"""Stage 4, government tiers: central, provincial, city and county shares of each tax.

For each tax the centre takes its statutory share; the province takes its share of the local
part; what remains is split between the city and the county (or zone) by the park's county share.
By construction ``central + provincial + city + county == tax``.

See ``docs/model.md`` §3.4.

References
----------
国务院 国发〔2016〕26号 (VAT 50:50 from 2016); 国务院 国发〔2003〕26号 (income taxes 60:40 from
2004). Guangdong's province-versus-city split was not found: the provincial shares are scenario
assumptions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["tier_fractions", "tier_amounts", "rebates_yuan"]


def tier_fractions(central_share, provincial_share, county_share):
    """Fraction of a tax that each tier receives.

    Parameters
    ----------
    central_share : array_like, shape (Y,) or (1, 1, Y) [fraction]
    provincial_share : array_like, shape (Y,) or (1, 1, Y)
        Province's share of the part the centre leaves [fraction].
    county_share : array_like, shape (1, P, 1)
        County (or zone) share of what the province leaves [fraction].

    Returns
    -------
    dict of str to ndarray
        ``central``, ``provincial``, ``city``, ``county``, each broadcastable to (1, P, Y); they
        sum to 1.
    """
    c = np.asarray(central_share, dtype=float).reshape(1, 1, -1)
    p = np.asarray(provincial_share, dtype=float).reshape(1, 1, -1)
    k = np.asarray(county_share, dtype=float)
    central = c
    provincial = (1.0 - c) * p
    local = 1.0 - central - provincial
    county = local * k
    city = local - county
    return {"central": central, "provincial": provincial, "city": city, "county": county}


def tier_amounts(total_xty, county_weighted_xty, central_ty, provincial_ty):
    """Amount of each tax each tier receives [yuan/year]: the tier identity.

    The one place where tax is split into the four tiers, used by both engines for the per-draw
    totals and for the flows by park.

    Parameters
    ----------
    total_xty : ndarray, shape (X, T, Y)
        Tax by type, summed over projects (X is draws or parks) [yuan/year].
    county_weighted_xty : ndarray, shape (X, T, Y)
        The same sum with each project's tax weighted by its park's county share [yuan/year].
    central_ty, provincial_ty : ndarray, shape (T, Y)
        Central share of each tax, and the province's share of what the centre leaves
        [fraction].

    Returns
    -------
    ndarray, shape (X, T, 4, Y)
        Central, provincial, city and county amounts (order of
        :data:`~benefitshare.glossary.TIERS`). ``city`` is the remainder, so the four sum to the
        tax to rounding: ``central + provincial + city + county == tax``.
    """
    central = np.asarray(central_ty, dtype=float)
    provincial = (1.0 - central) * np.asarray(provincial_ty, dtype=float)
    local = 1.0 - central - provincial
    out = np.empty(total_xty.shape[:2] + (4,) + total_xty.shape[2:])
    out[:, :, 0] = central * total_xty
    out[:, :, 1] = provincial * total_xty
    out[:, :, 3] = local * county_weighted_xty
    out[:, :, 2] = total_xty - out[:, :, 0] - out[:, :, 1] - out[:, :, 3]
    return out


def rebates_yuan(local_tax_yuan, rebate_rate, in_window):
    """Local rebates returned to a firm [yuan/year].

    Parameters
    ----------
    local_tax_yuan : ndarray, shape (D, P, Y)
        The city and county part of a tax the rebate applies to (VAT, CIT).
    rebate_rate : array_like, shape (D or 1, P, 1) [fraction]
    in_window : ndarray of bool, shape (D, P, Y)
        Years the rebate is granted.

    Notes
    -----
    Rebates (返还, 奖补) are agreed project by project; their rates and terms are assumptions of
    the scenario, and the local tiers bear them in proportion to what they keep.
    """
    return np.where(in_window, rebate_rate * local_tax_yuan, 0.0)
