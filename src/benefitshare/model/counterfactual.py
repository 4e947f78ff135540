"""Stage 6, the counterfactual: what each party would receive with no agreement.

See ``docs/model.md`` §3.6. Without the agreement a relocated firm stays in the partner city
(with the stay probability) and keeps paying its pre-move tax there, of which the partner keeps
its local share; any other project comes to its host anyway with probability
``1 - additionality``; nobody bears cooperation costs. This is each party's disagreement point
(its *standalone* value) in the comparison and the bargaining solutions.

This counterfactual is a modelling assumption: no regulation defines it.
"""

from __future__ import annotations

import numpy as np

from benefitshare.model.ledgers import to_parties

__all__ = ["stay_home_yuan", "standalone_yuan"]


def stay_home_yuan(pre_move_annual_tax_yuan, *, relocated, stay_share, landing, growth_index):
    """Local tax a relocated firm would have paid at home [yuan/year], shape (D or 1, P, Y).

    Parameters
    ----------
    pre_move_annual_tax_yuan : ndarray, shape (D or 1, P, 1)
        Annual tax the firm paid before it moved [yuan/year].
    relocated : ndarray of bool, shape (1, P, 1)
    stay_share : float
        Stay probability times the origin's local share of that tax [fraction].
    landing : ndarray, shape (D or 1, P, 1)
        Landing probability (or a landing draw) [fraction].
    growth_index : ndarray, shape (D or 1, 1, Y)
        Sales growth index, 1 in the first model year.

    Notes
    -----
    ``stay_home = [relocated] pre_move_tax * stay_share * landing * growth_index``.
    """
    return np.where(relocated, pre_move_annual_tax_yuan * stay_share * landing * growth_index, 0.0)


def standalone_yuan(
    stay_home_dpy, local_net_dpy, *, relocated, additionality, host_kp, partner_index, n_draws
):
    """Each party's revenue without the agreement [yuan/year], shape (D, K, Y).

    Parameters
    ----------
    stay_home_dpy : ndarray, broadcastable to (D, P, Y)
        From :func:`stay_home_yuan`.
    local_net_dpy : ndarray, shape (D, P, Y)
        Local revenue of each project net of rebates, as if it came [yuan/year].
    relocated : ndarray of bool, shape (1, P, 1)
    additionality : ndarray, shape (D or 1, P, 1)
        Probability a project comes only because of the agreement [fraction].
    host_kp : ndarray, shape (K, P)
        One-hot host of each project.
    partner_index : int
        The partner city, which receives the stay-home tax.
    n_draws : int

    Notes
    -----
    ``standalone_partner += sum_p stay_home``; ``standalone_host += sum_p [not relocated]
    (1 - additionality) local_net``.
    """
    D, P, Y = n_draws, host_kp.shape[1], local_net_dpy.shape[-1]
    partner_kp = np.zeros_like(host_kp)
    partner_kp[partner_index] = 1.0
    comes_anyway = np.where(relocated, 0.0, 1.0 - additionality) * local_net_dpy
    return to_parties(np.broadcast_to(stay_home_dpy, (D, P, Y)), partner_kp) + to_parties(
        comes_anyway, host_kp
    )
