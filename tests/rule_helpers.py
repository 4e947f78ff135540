"""Rule contexts and pools built without a scenario, shared by the rule and property tests."""

from __future__ import annotations

import numpy as np

from benefitshare.glossary import COST_KINDS
from benefitshare.rules import RuleContext

PARTIES = ("shenzhen", "shanwei", "haifeng")


def make_context(
    years=range(2026, 2031),
    *,
    parties=PARTIES,
    hosts=("shanwei",),
    partner="shenzhen",
    relocated=None,
    pre_move_annual_tax_yuan=None,
    full_production_year=None,
    parks=None,
    groups=None,
    equity=None,
    costs=None,
) -> RuleContext:
    """A rule context for projects hosted by ``hosts`` (one party id per project).

    ``costs`` maps a cost kind to ``{party: {year: yuan}}``; per-project arrays default to "not
    relocated", no pre-move tax, full production in the first year, park ``p<i>``, group
    ``default``.
    """
    years = np.arange(years.start, years.stop) if isinstance(years, range) else np.asarray(years)
    parties = tuple(parties)
    P = len(hosts)

    def per_project(values, default, dtype):
        values = [default] * P if values is None else list(values)
        return np.asarray(values, dtype=dtype).reshape(1, P, 1)

    cost_arrays = {kind: np.zeros((len(parties), len(years))) for kind in COST_KINDS}
    for kind, by_party in (costs or {}).items():
        for party, payments in by_party.items():
            for year, amount in payments.items():
                cost_arrays[kind][parties.index(party), list(years).index(year)] += amount
    return RuleContext(
        years=years,
        party_ids=parties,
        host_index=np.array([parties.index(h) for h in hosts]),
        partner_index=parties.index(partner),
        relocated=per_project(relocated, False, bool),
        pre_move_annual_tax_yuan=per_project(pre_move_annual_tax_yuan, 0.0, float),
        full_production_year=per_project(full_production_year, int(years[0]), np.int64),
        park=tuple(parks or [f"p{i}" for i in range(P)]),
        group=tuple(groups or ["default"] * P),
        equity=equity,
        costs_yuan=cost_arrays,
    )


def pool_of(*rows) -> np.ndarray:
    """A one-draw pool (1, P, Y) from one list of yearly amounts per project."""
    return np.asarray(rows, dtype=float)[None]
