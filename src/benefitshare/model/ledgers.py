"""Stage 7a, ledgers: what each party receives and pays, and the statistics ledger.

Pure vectorised functions. Party axes follow the scenario's party order. Money and statistics are
kept in separate ledgers: in China the GDP (value-added) credit of a co-built park is attributed
under its own rule, independently of how tax money is split.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "to_parties",
    "platform_flows_yuan",
    "statistics_credit_yuan",
]


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


def platform_flows_yuan(capital_payments_yuan, return_on_capital_rate, payout_rate, equity_k):
    """Capital paid into, and dividends paid out of, the platform company by party.

    Parameters
    ----------
    capital_payments_yuan : ndarray, shape (Y,)
        Paid-in capital by year [yuan/year].
    return_on_capital_rate : ndarray, shape (Y,) or (D, 1, Y)
        Profit over cumulative paid-in capital [fraction/year].
    payout_rate : float
        Share of profit paid out as dividends [fraction].
    equity_k : ndarray, shape (K,)
        Equity shares [fraction].

    Returns
    -------
    capital_kY : ndarray, shape (K, Y)
        Capital each party pays in [yuan/year].
    dividends : ndarray, shape (D or 1, K, Y)
        Dividends each party receives [yuan/year].

    Notes
    -----
    ``profit_t = roc_t * sum(capital_{<=t})``; ``dividends_t = payout * max(profit_t, 0)``, split
    by equity. Retained earnings and losses are not carried (a modelling simplification).
    """
    capital = np.asarray(capital_payments_yuan, dtype=float)
    cum = np.cumsum(capital)
    profit = np.asarray(return_on_capital_rate, dtype=float) * cum
    profit = np.reshape(profit, (-1, 1, capital.shape[-1]))
    div_total = payout_rate * np.maximum(profit, 0.0)
    dividends = div_total * equity_k[None, :, None]
    return equity_k[:, None] * capital[None, :], dividends


def statistics_credit_yuan(
    value_added_dpy, host_kp, *, method, shares_k=None, equity_k=None, partner_k=None
):
    """Value-added (GDP) credit attributed to each party [yuan/year], shape (D, K, Y).

    Parameters
    ----------
    value_added_dpy : ndarray, shape (D, P, Y)
    host_kp : ndarray, shape (K, P)
        One-hot host of each project.
    method : {"host", "shares", "equity", "double"}
        ``host``: all to the host, where statistics are counted by location; ``shares`` or
        ``equity``: split by fixed shares or platform equity; ``double``: counted in full by both
        the host and every partner (Kunming's key enclave parks, 2024).
    partner_k : ndarray of bool, shape (K,), optional
        The cooperating partner parties, for ``double``; by default the parties that host no
        project.

    Notes
    -----
    Under ``double`` each project's value added is credited in full to its host and to every
    partner, so the parties' credits sum to more than the value added: by design. A host is not
    credited with another host's projects.
    """
    va = np.asarray(value_added_dpy)
    if method == "host":
        return to_parties(va, host_kp)
    total = va.sum(axis=1)  # (D, Y)
    if method in ("shares", "equity"):
        weights = np.asarray(shares_k if method == "shares" else equity_k, dtype=float)
        return weights[None, :, None] * total[:, None, :]
    if method == "double":
        hosts = np.asarray(host_kp, dtype=float)
        partner = ~hosts.any(axis=1) if partner_k is None else np.asarray(partner_k, dtype=bool)
        return to_parties(va, np.maximum(hosts, partner[:, None]))
    raise ValueError(f"unknown statistics method {method!r}; valid: host, shares, equity, double")
