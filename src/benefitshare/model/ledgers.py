"""Stage 7, ledgers: each party's flows outside the pool, its costs, and the statistics ledger.

See ``docs/model.md`` §3.7. The ledgers come before the split rules (stage 8), which may
look at a party's costs and flows outside the pool. Pure vectorised functions; party axes follow the scenario's party
order. Money and statistics are kept in separate ledgers: in China the GDP (value-added) credit
of a co-built park is attributed under its own rule, independently of how tax money is split.
The net benefit of these flows is :func:`benefitshare.model.metrics.net_benefit_yuan`.
"""

from __future__ import annotations

import numpy as np

from benefitshare.glossary import COST_KINDS
from benefitshare.model.metrics import net_benefit_yuan

__all__ = [
    "STATISTICS_METHODS",
    "to_parties",
    "retained_yuan",
    "costs_yuan",
    "platform_dividends_yuan",
    "statistics_credit_yuan",
    "outside_pool_net_yuan",
]

#: Rules for attributing value added (GDP) between the parties.
STATISTICS_METHODS = ("host", "shares", "equity", "double")


def to_parties(amount_dpy, owner_kp):
    """Sum project amounts into party amounts.

    Parameters
    ----------
    amount_dpy : ndarray, shape (D, P, Y) [yuan/year]
    owner_kp : ndarray, shape (K, P)
        Weight of party k in project p's amount (one-hot for "the host").

    Returns
    -------
    ndarray, shape (D, K, Y)
    """
    return np.einsum("kp,dpy->dky", owner_kp, amount_dpy)


def retained_yuan(local_net_dpy, pool_local_dpy, host_kp):
    """Local revenue the hosts keep outside the pool [yuan/year], shape (D, K, Y).

    Parameters
    ----------
    local_net_dpy : ndarray, shape (D, P, Y)
        City and county revenue of each project, net of the rebates they pay [yuan/year].
    pool_local_dpy : ndarray, shape (D, P, Y)
        The part of it that goes into the pool (:func:`benefitshare.model.pool.pool_by_tax_yuan`).
    host_kp : ndarray, shape (K, P)

    Notes
    -----
    By 财预〔2015〕92号 and the tax-sharing system, tax is collected where the firm is
    registered, so what the agreement does not move stays with the host.
    """
    return to_parties(local_net_dpy - pool_local_dpy, host_kp)


def costs_yuan(explicit_costs_cky, acquisition_dky):
    """Costs by kind and party [yuan/year], shape (C, D, K, Y).

    Parameters
    ----------
    explicit_costs_cky : ndarray, shape (C, K, Y)
        The scenario's costs and platform capital, by kind (:data:`~benefitshare.glossary.COST_KINDS`).
    acquisition_dky : ndarray, shape (D, K, Y)
        Land acquisition and compensation borne by the hosts, for the land that is used.
    """
    C, K, Y = explicit_costs_cky.shape
    D = acquisition_dky.shape[0]
    out = np.broadcast_to(explicit_costs_cky[:, None], (C, D, K, Y)).copy()
    out[COST_KINDS.index("land_acquisition")] += acquisition_dky
    return out


def platform_dividends_yuan(capital_payments_yuan, return_on_capital_rate, payout_rate, equity_k):
    """Dividends each party receives from the platform company [yuan/year], (D or 1, K, Y).

    Parameters
    ----------
    capital_payments_yuan : ndarray, shape (Y,)
        Paid-in capital by year [yuan/year] (the parties' shares of it are costs of kind
        ``platform_capital``).
    return_on_capital_rate : ndarray, shape (Y,) or (D, 1, Y)
        Profit over cumulative paid-in capital [fraction/year].
    payout_rate : float
        Share of profit paid out as dividends [fraction].
    equity_k : ndarray, shape (K,)
        Equity shares [fraction].

    Notes
    -----
    ``profit_t = roc_t * sum(capital_{<=t})``; ``dividends_t = payout * max(profit_t, 0)``, split
    by equity. Retained earnings and losses are not carried (a modelling simplification).
    """
    capital = np.asarray(capital_payments_yuan, dtype=float)
    profit = np.asarray(return_on_capital_rate, dtype=float) * np.cumsum(capital)
    profit = np.reshape(profit, (-1, 1, capital.shape[-1]))
    return payout_rate * np.maximum(profit, 0.0) * np.asarray(equity_k)[None, :, None]


def statistics_credit_yuan(
    credit_host_dky, value_added_dy, *, method, party_roles, shares_k=None, equity_k=None
):
    """Value-added (GDP) credit attributed to each party [yuan/year], shape (D, K, Y).

    The one definition of the statistics rule.

    Parameters
    ----------
    credit_host_dky : ndarray, shape (D, K, Y)
        Value added of the projects each party hosts [yuan/year].
    value_added_dy : ndarray, shape (D, Y)
        Value added of all projects [yuan/year].
    method : {"host", "shares", "equity", "double"}
        ``host``: all to the host, where statistics are counted by location; ``shares`` or
        ``equity``: split by fixed shares or platform equity; ``double``: each host counts its own
        projects and every party with role ``partner`` counts all of them in full (Kunming's key
        enclave parks, 2024).
    party_roles : sequence of str, length K
        ``host``, ``partner`` or ``other``.
    shares_k, equity_k : ndarray, shape (K,), optional
        Weights for ``shares`` and ``equity``.

    Notes
    -----
    Under ``double`` the credits sum to more than the value added, by design. A host is not
    credited with another host's projects, and a party with role ``other`` gets only what it
    hosts (nothing, if it hosts no park).
    """
    if method == "host":
        return credit_host_dky
    if method in ("shares", "equity"):
        weights = np.asarray(shares_k if method == "shares" else equity_k, dtype=float)
        return weights[None, :, None] * value_added_dy[:, None, :]
    if method == "double":
        partner = np.array([role == "partner" for role in party_roles])
        return np.where(partner[None, :, None], value_added_dy[:, None, :], credit_host_dky)
    raise ValueError(
        f"unknown statistics method {method!r}; valid: {', '.join(STATISTICS_METHODS)}"
    )


def outside_pool_net_yuan(retained_dky, dividends_dky, costs_cdky):
    """Each party's net flows outside the pool [yuan/year], shape (D, K, Y).

    Local revenue kept outside the pool plus platform dividends, less all costs: what a rule
    that looks at a party's whole position (the bargaining rules) adds to its pool share.
    """
    return net_benefit_yuan(retained_dky + dividends_dky, costs_cdky.sum(axis=0))
