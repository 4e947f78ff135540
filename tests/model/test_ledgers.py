"""Stage 7a, ledgers: party sums, the platform company, and the statistics ledger."""

from __future__ import annotations

import numpy as np
import pytest

import benefitshare as bs
from benefitshare.glossary import COST_KINDS
from benefitshare.model import ledgers

# three projects, 2 years: p0 and p2 hosted by party 1 (shanwei), p1 by party 2 (haifeng)
HOST_KP = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
VA = np.array([[[10.0, 20.0], [1.0, 2.0], [100.0, 200.0]]])  # (D=1, P=3, Y=2)


def test_to_parties_sums_projects_by_owner():
    np.testing.assert_allclose(ledgers.to_parties(VA, HOST_KP), [[[0, 0], [110, 220], [1, 2]]])


CREDIT_HOST = ledgers.to_parties(VA, HOST_KP)  # (1, 3, 2)
VA_TOTAL = VA.sum(axis=1)  # (1, 2)
ROLES = ("partner", "host", "host")


def test_platform_dividends_by_hand():
    # capital 100 in year 0 and 50 in year 2; return 10% from year 1 (year 0: -20%, a loss)
    dividends = ledgers.platform_dividends_yuan(
        np.array([100.0, 0.0, 50.0]), np.array([-0.2, 0.1, 0.1]), 0.5, np.array([0.6, 0.4])
    )
    # profit = roc * cumulative capital = -20, 10, 15; dividends = 50% of positive profit
    assert dividends.shape == (1, 2, 3)
    np.testing.assert_allclose(dividends[0], [[0, 3.0, 4.5], [0, 2.0, 3.0]])


def test_platform_dividends_per_draw():
    dividends = ledgers.platform_dividends_yuan(
        np.array([100.0, 0.0]), np.array([[[0.1, 0.1]], [[0.2, 0.0]]]), 1.0, np.array([1.0, 0.0])
    )
    np.testing.assert_allclose(dividends[:, 0], [[10, 10], [20, 0]])


def test_costs_add_land_acquisition_to_the_explicit_costs():
    explicit = np.zeros((len(COST_KINDS), 2, 3))
    explicit[COST_KINDS.index("infrastructure"), 0] = [5.0, 0.0, 0.0]
    acquisition = np.array([[[0.0, 0.0, 0.0], [7.0, 0.0, 1.0]], [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]]])
    costs = ledgers.costs_yuan(explicit, acquisition)
    assert costs.shape == (len(COST_KINDS), 2, 2, 3)
    np.testing.assert_allclose(costs[COST_KINDS.index("infrastructure"), :, 0], [[5, 0, 0]] * 2)
    np.testing.assert_allclose(costs[COST_KINDS.index("land_acquisition")], acquisition)


def test_statistics_all_to_host():
    got = ledgers.statistics_credit_yuan(CREDIT_HOST, VA_TOTAL, method="host", party_roles=ROLES)
    np.testing.assert_allclose(got, [[[0, 0], [110, 220], [1, 2]]])


def test_statistics_by_shares_and_by_equity():
    got = ledgers.statistics_credit_yuan(
        CREDIT_HOST, VA_TOTAL, method="shares", party_roles=ROLES, shares_k=np.array([0.5, 0.5, 0])
    )
    np.testing.assert_allclose(got, [[[55.5, 111], [55.5, 111], [0, 0]]])
    got = ledgers.statistics_credit_yuan(
        CREDIT_HOST,
        VA_TOTAL,
        method="equity",
        party_roles=ROLES,
        equity_k=np.array([0.2, 0.3, 0.5]),
    )
    np.testing.assert_allclose(got[0, :, 0], [22.2, 33.3, 55.5])


def test_statistics_double_counts_in_full_for_host_and_partner_only():
    # the partner is credited with all value added; each host only with its own projects:
    # Haifeng is not credited with Shanwei's projects
    got = ledgers.statistics_credit_yuan(CREDIT_HOST, VA_TOTAL, method="double", party_roles=ROLES)
    np.testing.assert_allclose(got, [[[111, 222], [110, 220], [1, 2]]])
    assert got.sum() > VA.sum()  # by design


def test_statistics_double_gives_a_party_with_role_other_only_what_it_hosts():
    # a fourth party with role "other" that hosts nothing gets no credit; as a host of the
    # projects it would get just those
    credit = np.concatenate([CREDIT_HOST, np.zeros((1, 1, 2))], axis=1)
    roles = (*ROLES, "other")
    got = ledgers.statistics_credit_yuan(credit, VA_TOTAL, method="double", party_roles=roles)
    np.testing.assert_allclose(got[0, 3], [0, 0])
    np.testing.assert_allclose(got[0, 0], [111, 222])
    other_hosts = ("partner", "host", "other")
    got = ledgers.statistics_credit_yuan(
        CREDIT_HOST, VA_TOTAL, method="double", party_roles=other_hosts
    )
    np.testing.assert_allclose(got[0, 2], [1, 2])


def test_unknown_statistics_method():
    with pytest.raises(
        ValueError, match="unknown statistics method 'gdp'; valid: host, shares, equity, double"
    ):
        ledgers.statistics_credit_yuan(CREDIT_HOST, VA_TOTAL, method="gdp", party_roles=ROLES)


def test_a_run_under_double_credits_an_observer_with_role_other_with_nothing(tiny):
    scn = tiny.with_overrides(
        {
            "statistics.method": "double",
            "parties.observer": {"name": "Observer", "role": "other"},
        }
    )
    result = bs.run(scn)
    stats = result.statistics().pivot(index="year", columns="party", values="value_added_yuan")
    total = result.value_added_dy[0]
    np.testing.assert_allclose(stats["observer"], 0.0)
    np.testing.assert_allclose(stats["shenzhen"], total)
    np.testing.assert_allclose(stats["shanwei"], total)


@pytest.mark.parametrize("method", ["host", "double", "equity"])
def test_statistics_in_a_run_of_the_tiny_scenario(tiny, method):
    result = bs.run(tiny.with_overrides({"statistics.method": method}))
    stats = result.statistics().pivot(index="year", columns="party", values="value_added_yuan")
    total = result.value_added_dy[0]
    if method == "host":  # both parks are Shanwei's
        np.testing.assert_allclose(stats["shanwei"], total)
        np.testing.assert_allclose(stats["shenzhen"], 0.0)
    elif method == "double":
        np.testing.assert_allclose(stats["shanwei"], total)
        np.testing.assert_allclose(stats["shenzhen"], total)
    else:
        np.testing.assert_allclose(stats["shenzhen"], 0.6 * total)
        np.testing.assert_allclose(stats["shanwei"], 0.4 * total)


def test_costs_in_a_run_land_acquisition_and_platform_capital(tiny):
    costs = bs.run(tiny).costs().set_index(["party", "kind", "year"])["amount_yuan"]
    # land acquisition by the host: T1 20 mu * 150,000 (2026); T2 10 mu * 80,000 (2026);
    # T3 5 mu * 150,000 * landing 0.5 (2028)
    assert costs[("shanwei", "land_acquisition", 2026)] == pytest.approx(3_000_000 + 800_000)
    assert costs[("shanwei", "land_acquisition", 2028)] == pytest.approx(375_000)
    assert costs[("shenzhen", "land_acquisition", 2026)] == 0.0
    # platform capital 10 M in 2026, by equity 60:40
    assert costs[("shenzhen", "platform_capital", 2026)] == pytest.approx(6_000_000)
    assert costs[("shanwei", "platform_capital", 2026)] == pytest.approx(4_000_000)
    assert costs[("shenzhen", "infrastructure", 2026)] == pytest.approx(10_000_000)
