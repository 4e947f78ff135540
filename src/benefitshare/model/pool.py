"""Stage 5, the shareable pool: the part of each tax the agreement divides.

See ``docs/model.md`` §3.5.

The pool takes, from the projects of the parks and groups it covers, the tiers it names
(usually the city's and the county's local parts) of the taxes it names, less the rebates to
firms when it is net of rebates. Rebates are borne by the local tiers in proportion to what they
keep, so the part of a rebate that falls on the pool is the pool's local-tier share of the local
part. Pure vectorised functions over ``(draws, projects, years)``.

Whatever local revenue a host does not put in the pool it keeps (see
:func:`benefitshare.model.ledgers.retained_yuan`).
"""

from __future__ import annotations

import numpy as np

from benefitshare.glossary import LOCAL_TIERS

__all__ = ["local_in_pool_fraction", "pool_fraction", "pool_by_tax_yuan"]


def local_in_pool_fraction(county_share, in_pool_p, pool_tiers):
    """Share of a project's local part (city + county) that falls in the pool [fraction].

    Parameters
    ----------
    county_share : ndarray, shape (D or 1, P, 1)
        County (or zone) share of the local part [fraction].
    in_pool_p : ndarray of bool, shape (P,)
        Projects the pool covers.
    pool_tiers : sequence of str
        The tiers the pool takes.

    Returns
    -------
    ndarray, shape (D or 1, P, 1)
        ``[city in pool] (1 - county_share) + [county in pool] county_share``, zero for projects
        outside the pool. It is also the share of a rebate that the pool bears.
    """
    cs = np.asarray(county_share, dtype=float)
    share = np.zeros((1, cs.shape[1], 1))
    for tier in pool_tiers:
        if tier in LOCAL_TIERS:
            share = share + ((1.0 - cs) if tier == "city" else cs)
    return share * np.asarray(in_pool_p, dtype=float)[None, :, None]


def pool_fraction(fractions, in_pool_p, pool_tiers):
    """Fraction of a tax that goes into the pool, before rebates [fraction].

    Parameters
    ----------
    fractions : dict of str to ndarray
        The tier fractions of the tax (:func:`benefitshare.model.tiers.tier_fractions`).
    in_pool_p : ndarray of bool, shape (P,)
    pool_tiers : sequence of str

    Returns
    -------
    ndarray, broadcastable to (D, P, Y)
    """
    return (
        sum(fractions[tier] for tier in pool_tiers)
        * np.asarray(in_pool_p, dtype=float)[None, :, None]
    )


def pool_by_tax_yuan(
    tax, fractions, rebates, *, in_pool_p, county_share, pool_taxes, pool_tiers, net_of_rebates
):
    """The pool by tax, and the part of it that comes out of local revenue [yuan/year].

    Parameters
    ----------
    tax : dict of str to ndarray, shape (D, P, Y)
        Tax by type [yuan/year].
    fractions : dict of str to dict of str to ndarray
        Tier fractions by tax (:func:`benefitshare.model.tiers.tier_fractions`).
    rebates : dict of str to ndarray, shape (D, P, Y)
        Rebates to firms by tax (VAT and CIT) [yuan/year].
    in_pool_p : ndarray of bool, shape (P,)
    county_share : ndarray, shape (D or 1, P, 1)
    pool_taxes, pool_tiers : sequence of str
    net_of_rebates : bool

    Returns
    -------
    pool : dict of str to ndarray, shape (D, P, Y)
        The pool by tax, for the taxes in the pool.
    pool_local : ndarray, shape (D, P, Y)
        The part of the pool taken out of the hosts' local revenue (equal to the whole pool when
        it takes local tiers only).

    Notes
    -----
    ``pool_t = tax_t * sum_{tier in pool} fraction_tier * [in pool] - [net] rebate_t * s``, with
    ``s`` the local-in-pool fraction (:func:`local_in_pool_fraction`);
    ``pool_local = sum_t tax_t * local_t * s - [net] rebate_t * s``.
    """
    s = local_in_pool_fraction(county_share, in_pool_p, pool_tiers)
    only_local = set(pool_tiers) <= set(LOCAL_TIERS)
    first = next(iter(tax.values()))
    pool: dict[str, np.ndarray] = {}
    pool_local = np.zeros(first.shape)
    for t in pool_taxes:
        f = fractions[t]
        amount = tax[t] * pool_fraction(f, in_pool_p, pool_tiers)
        if net_of_rebates and t in rebates:
            amount -= rebates[t] * s
        pool[t] = amount
        if only_local:
            pool_local += amount
        else:
            part = tax[t] * ((1.0 - f["central"] - f["provincial"]) * s)
            if net_of_rebates and t in rebates:
                part -= rebates[t] * s
            pool_local += part
    return pool, pool_local
