"""Coalition values of a scenario's parties, computed by the engine (``docs/model.md`` §3.8).

The game itself and its solutions (Shapley value, Nash bargaining) are in
:mod:`benefitshare.rules.games`. Here the worth of each coalition is computed from one engine
evaluation, which the caller passes in as a function (the run module), so this module never
imports the run that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from benefitshare.glossary import COST_KINDS
from benefitshare.model.metrics import net_benefit_yuan, npv_yuan
from benefitshare.rules.games import MAX_EXACT_PLAYERS, CoalitionGame, lazy
from benefitshare.rules.spec import RuleSpec

__all__ = [
    "group_hosts",
    "single_host",
    "game_from_flows",
    "coalition_values",
    "context_game",
    "host_keeps_all_spec",
]

# ------------------------------------------------------------ games from the engine


@dataclasses.dataclass(frozen=True)
class _Parts:
    """NPV building blocks of coalition values, per host group g, draw d and party k [yuan]."""

    group_host: np.ndarray  # (G,) host party of each group
    active_gd: np.ndarray  # (G, D) local revenue of the group's projects net of their land cost
    standalone_gdk: np.ndarray  # (G, D, K) what the group's projects give each party alone
    coop_dk: np.ndarray  # (D, K) dividends less cooperation costs not tied to a group


def _game_from_parts(
    players: Sequence[str], partner: int, parts: _Parts, note: str
) -> CoalitionGame:
    """Coalition values from the building blocks (see :func:`coalition_values`)."""
    n = len(players)
    if n > MAX_EXACT_PLAYERS:
        raise ValueError(
            f"exact coalition values need at most {MAX_EXACT_PLAYERS} parties, got {n}"
        )
    G = parts.group_host.size
    D = parts.coop_dk.shape[0]
    hosting = set(parts.group_host.tolist())
    values = np.zeros((2**n, D))
    for m in range(1, 2**n):
        inside = np.array([(m >> k) & 1 for k in range(n)], dtype=bool)
        active = (
            np.array([inside[partner] and inside[h] for h in parts.group_host], dtype=bool)
            if G
            else np.zeros(0, bool)
        )
        v = np.zeros(D)
        for g in range(G):
            if active[g]:
                v += parts.active_gd[g]
            else:
                v += parts.standalone_gdk[g][:, inside].sum(axis=1)
        any_active = bool(active.any())
        for k in np.flatnonzero(inside):
            if k == partner or k not in hosting:
                engaged = any_active
            else:
                engaged = bool(active[parts.group_host == k].any())
            if engaged:
                v += parts.coop_dk[:, k]
        values[m] = v
    return CoalitionGame(tuple(players), values, note)


def game_from_flows(
    *,
    players: Sequence[str],
    partner: int,
    host: int,
    retained_dky: np.ndarray,
    pool_dy: np.ndarray,
    dividends_dky: np.ndarray,
    costs_dky: np.ndarray,
    standalone_dky: np.ndarray,
    discount_factors_ky: np.ndarray,
) -> CoalitionGame:
    """Coalition values when one party hosts every park, from a run's per-party flows.

    Parameters
    ----------
    players : sequence of str
    partner, host : int
        Index of the partner city and of the single host.
    retained_dky, dividends_dky, costs_dky, standalone_dky : ndarray, shape (D, K, Y) [yuan/year]
    pool_dy : ndarray, shape (D, Y)
        The whole shareable pool [yuan/year].
    discount_factors_ky : ndarray, shape (K, Y)

    Returns
    -------
    CoalitionGame
        As defined in :func:`coalition_values`; every cost counts when the cooperation happens.
    """
    df = np.asarray(discount_factors_ky)
    host_rev = retained_dky[:, host] + pool_dy
    active = npv_yuan(host_rev, df[host])[None]  # (1, D)
    sa = npv_yuan(standalone_dky, df[None])[None]  # (1, D, K)
    coop = npv_yuan(net_benefit_yuan(dividends_dky, costs_dky), df[None])  # (D, K)
    parts = _Parts(np.array([host]), active, sa, coop)
    return _game_from_parts(players, partner, parts, "from the run's flows (one host)")


def host_keeps_all_spec() -> RuleSpec:
    """The legal baseline as a rule: each host keeps its pool."""
    return RuleSpec(name="host_keeps_all", rule="host_keeps_all")


def group_hosts(setup) -> np.ndarray:
    """The parties that host at least one project, sorted (the groups of the game)."""
    return np.unique(setup.host_index)


def coalition_values(setup, inputs: Mapping[str, np.ndarray], evaluate: Callable) -> CoalitionGame:
    """Coalition values of the parties, computed by the engine.

    Parameters
    ----------
    setup : ModelSetup
        From :func:`benefitshare.model.inputs.model_setup`.
    inputs : mapping of str to ndarray
        Model inputs (with a leading draws axis for sampled values).
    evaluate : callable
        ``evaluate(inputs, rule_specs) -> ChunkOutput``: one engine evaluation on this setup
        (:func:`benefitshare.model.run.evaluate` with the setup bound).

    Returns
    -------
    CoalitionGame
        Values [yuan, NPV at each party's discount rate], shape (2**K, D).

    Notes
    -----
    Group the projects by the party that hosts their park. For a coalition S:

    * the cooperation happens in a group's parks only if both the group's host and the partner
      city are in S (an *active* group). An active group contributes all the local revenue its
      projects generate, net of rebates, inside and outside the pool (who in S receives it is an
      internal transfer), less the land acquisition cost its host bears;
    * a group that is not active behaves as without the agreement (``docs/model.md`` §3.6): its
      relocated firms pay their pre-move tax to the partner city (counted if the partner is in
      S) and its other projects come to the host with probability 1 - additionality (counted if
      the host is in S);
    * a member's dividends from the platform company and its cooperation costs not tied to a
      project (infrastructure, subsidies, paid-in capital, other) count when it takes part: the
      partner and any party that hosts no park when some group is active, a host when one of its
      own groups is active.

    Hence ``v({i})`` is party i's standalone value, and ``v(N)`` is the total NPV of net
    benefit under cooperation (the sum over parties of a rule's NPVs, whatever the rule, when
    the parties share one discount rate). A party that hosts nothing, pays nothing and owns
    nothing is a null player.

    The values come from one engine evaluation on ``(G + 1) * D`` draws: each group's projects
    land alone (the landing probability masked to the group), plus one draw where nothing lands
    (to separate costs tied to projects from the rest). The engine is linear in the landing
    probability, so the groups' parts add up to the full run.

    This decomposition is a modelling assumption: no regulation defines coalition values for
    co-built parks.
    """
    players = list(setup.party_ids)
    K = len(players)
    P = setup.n_projects
    partner = setup.partner_index
    inp = dict(inputs)
    D = max(np.shape(v)[0] for v in inp.values())
    hosts_p = setup.host_index
    group_host = group_hosts(setup)
    G = group_host.size
    masks = np.zeros((G + 1, P))
    for g, h in enumerate(group_host):
        masks[g] = hosts_p == h
    # draw index = d * (G + 1) + g
    tiled = {}
    for name, arr in inp.items():
        a = np.asarray(arr)
        tiled[name] = np.repeat(a, G + 1, axis=0) if a.shape[0] == D and D > 1 else a
    landing = np.broadcast_to(np.asarray(inp["landing"], dtype=float), (D, P, 1))
    tiled["landing"] = (landing[:, None] * masks[None, :, :, None]).reshape(D * (G + 1), P, 1)
    out = evaluate(tiled, [host_keeps_all_spec()])
    df = setup.discount_factors_ky

    def npv(x_dky):  # (D*(G+1), K, Y) -> (D, G+1, K)
        x = np.broadcast_to(x_dky, (D * (G + 1), K, x_dky.shape[-1]))
        return npv_yuan(x, df[None]).reshape(D, G + 1, K)

    revenue = npv(out.retained_dky + out.pool_share_rdky[0])
    standalone = npv(out.standalone_dky)
    land = npv(out.costs_cdky[COST_KINDS.index("land_acquisition")])
    all_costs = npv(out.costs_cdky.sum(axis=0))
    dividends = npv(out.dividends_dky)
    land_g = land[:, :G] - land[:, G:]  # project land cost of each group (D, G, K)
    active = np.stack(
        [revenue[:, g, h] - land_g[:, g, h] for g, h in enumerate(group_host)]
    )  # (G, D)
    parts = _Parts(
        group_host=group_host,
        active_gd=active,
        standalone_gdk=standalone[:, :G].transpose(1, 0, 2),
        coop_dk=dividends[:, G] - all_costs[:, G],
    )
    return _game_from_parts(players, partner, parts, "engine, projects grouped by host")


def single_host(setup) -> int | None:
    """The one party that hosts every project, when it is not the partner; else ``None``."""
    hosts = group_hosts(setup)
    if hosts.size == 1 and int(hosts[0]) != setup.partner_index:
        return int(hosts[0])
    return None


def context_game(
    setup,
    inputs,
    evaluate: Callable,
    *,
    retained_dky,
    pool_dy,
    dividends_dky,
    costs_dky,
    standalone_dky,
) -> Callable[[], CoalitionGame]:
    """A memoised builder of the coalition game of one engine evaluation (for the rule context).

    With one host party (not the partner) the game comes from the evaluation's own flows;
    otherwise from :func:`coalition_values` on the same inputs. Nothing is computed until a rule
    asks for it.
    """
    host = single_host(setup)

    def build() -> CoalitionGame:
        if host is not None:
            shape = np.shape(retained_dky)
            return game_from_flows(
                players=list(setup.party_ids),
                partner=setup.partner_index,
                host=host,
                retained_dky=retained_dky,
                pool_dy=pool_dy,
                dividends_dky=np.broadcast_to(dividends_dky, shape),
                costs_dky=np.broadcast_to(costs_dky, shape),
                standalone_dky=np.broadcast_to(standalone_dky, shape),
                discount_factors_ky=setup.discount_factors_ky,
            )
        return coalition_values(setup, inputs, evaluate)

    return lazy(build)
