"""The vectorised engine against the scalar reference model of ``tests/reference_model.py``.

Every party, rule and year: pool shares, revenue outside the pool, dividends, costs and NPV to
0.01 yuan; tax by type and tier to 1e-6 relative. The scenarios are the tiny and the reference
scenario, and a feature-rich test scenario (three parties, two hosts, every rule with non-default
parameters) under several variants.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, SCENARIOS
from reference_model import (
    COST_KINDS,
    TAXES,
    TIERS,
    npv,
    payback,
    run_reference,
    step_value,
    taxable_after_losses,
)

import benefitshare as bs

MONEY_ATOL_YUAN = 0.01
TIER_RTOL = 1e-6

RICH_VARIANTS = {
    "as_written": {},
    "statistics_double": {"statistics.method": "double"},
    "statistics_equity": {"statistics.method": "equity"},
    "statistics_host": {"statistics.method": "host"},
    "pool_net_of_rebates": {"pool.net_of_rebates": True},
    "pool_all_tiers_all_parks": {
        "pool.tiers": ["central", "provincial", "city", "county"],
        "pool.parks": ["coop", "hf", "rural"],
    },
    "pool_one_group": {
        "pool.groups": ["new"],
        "pool.taxes": ["vat", "cit", "pit", "umt", "property", "land_use", "edu"],
    },
    "no_loss_carryforward": {"model.loss_carryforward_years": 0, "model.stamp_on_sales": True},
    "long_loss_carryforward": {"model.loss_carryforward_years": 8, "model.sales_growth_rate": 0.02},
}


def _load(name: str, overrides=None):
    if name == "tiny":
        return bs.load_scenario(DATA / "tiny.toml", overrides=overrides)
    if name == "reference":
        return bs.load_scenario(SCENARIOS / "reference.toml", overrides=overrides)
    return bs.load_scenario(DATA / "rich.toml", overrides=overrides)


CASES = [("tiny", None), ("reference", None)] + [("rich", variant) for variant in RICH_VARIANTS]


@pytest.fixture(
    scope="module", params=CASES, ids=[c[0] if c[1] is None else f"rich-{c[1]}" for c in CASES]
)
def pair(request):
    name, variant = request.param
    scenario = _load(name, RICH_VARIANTS.get(variant) or None)
    return scenario, bs.run(scenario), run_reference(scenario)


def _assert_money(actual, expected, what):
    np.testing.assert_allclose(
        np.asarray(actual, float),
        np.asarray(expected, float),
        rtol=0,
        atol=MONEY_ATOL_YUAN,
        err_msg=what,
    )


def test_annual_ledger_matches_reference(pair):
    scenario, result, ref = pair
    annual = result.annual().set_index(["rule", "party", "year"]).sort_index()
    for rule in result.rule_names:
        for party in ref.parties:
            rows = annual.loc[(rule, party)]
            assert list(rows.index) == ref.years
            _assert_money(
                rows["pool_share_yuan"], ref.pool_share[rule][party], f"{rule}/{party} pool share"
            )
            _assert_money(rows["retained_yuan"], ref.retained[party], f"{rule}/{party} retained")
            _assert_money(rows["dividends_yuan"], ref.dividends[party], f"{rule}/{party} dividends")
            _assert_money(rows["costs_yuan"], ref.party_costs(party), f"{rule}/{party} costs")
            _assert_money(rows["amount_yuan"], ref.revenue(rule, party), f"{rule}/{party} revenue")
            _assert_money(rows["net_yuan"], ref.net(rule, party), f"{rule}/{party} net")


def test_pool_matches_reference(pair):
    _, result, ref = pair
    pool = result.pool()
    for rule in result.rule_names:
        rows = pool[pool["rule"] == rule].sort_values("year")
        assert rows["year"].tolist() == ref.years
        _assert_money(rows["amount_yuan"], ref.pool, f"pool under {rule}")


def test_costs_by_kind_match_reference(pair):
    _, result, ref = pair
    costs = result.costs().set_index(["party", "kind", "year"]).sort_index()
    for party in ref.parties:
        for kind in COST_KINDS:
            _assert_money(
                costs.loc[(party, kind), "amount_yuan"], ref.costs[kind][party], f"{party}/{kind}"
            )


def test_statistics_ledger_matches_reference(pair):
    _, result, ref = pair
    stats = result.statistics().set_index(["party", "year"]).sort_index()
    for party in ref.parties:
        _assert_money(
            stats.loc[party, "value_added_yuan"], ref.statistics[party], f"value added of {party}"
        )
    assert result.headline()["value_added_yuan"] == pytest.approx(sum(ref.value_added), rel=1e-9)


def test_taxes_by_type_and_tier_match_reference(pair):
    _, result, ref = pair
    flows = result.flows()
    taxes = flows[flows["kind"] == "tax"].groupby(["tax", "tier", "year"])["amount_yuan"].sum()
    for tax in TAXES:
        for tier in TIERS:
            np.testing.assert_allclose(
                taxes.loc[(tax, tier)].to_numpy(),
                ref.tier[tax][tier],
                rtol=TIER_RTOL,
                atol=1e-6,
                err_msg=f"{tax}/{tier}",
            )
    rebates = flows[flows["kind"] == "rebate"].groupby("year")["amount_yuan"].sum()
    _assert_money(-rebates.to_numpy(), ref.rebates, "rebates")
    head = result.headline()
    taxes_only = [t for t in TAXES if t != "land_transfer"]
    assert head["total_tax_yuan"] == pytest.approx(
        sum(sum(ref.tax[t]) for t in taxes_only), rel=TIER_RTOL
    )
    assert head["land_transfer_yuan"] == pytest.approx(
        sum(ref.tax["land_transfer"]), rel=TIER_RTOL, abs=1e-6
    )
    for tier in TIERS:
        expected = sum(sum(ref.tier[t][tier]) for t in taxes_only)
        assert head[f"{tier}_yuan"] == pytest.approx(expected, rel=TIER_RTOL, abs=1e-6)


def test_summary_matches_reference(pair):
    _, result, ref = pair
    summary = result.summary().set_index(["rule", "party"])
    pool_total = sum(ref.pool)
    for rule in result.rule_names:
        for party in ref.parties:
            row = summary.loc[(rule, party)]
            assert row["npv_yuan"] == pytest.approx(ref.npv(rule, party), abs=MONEY_ATOL_YUAN)
            assert row["cumulative_yuan"] == pytest.approx(
                sum(ref.revenue(rule, party)), abs=MONEY_ATOL_YUAN
            )
            assert row["pool_share_yuan"] == pytest.approx(
                sum(ref.pool_share[rule][party]), abs=MONEY_ATOL_YUAN
            )
            assert row["share_of_pool"] == pytest.approx(
                sum(ref.pool_share[rule][party]) / pool_total, abs=1e-9
            )
            expected_payback = ref.payback_year(rule, party)
            if math.isnan(expected_payback):
                assert pd.isna(row["payback_year"]), (rule, party)
            else:
                assert row["payback_year"] == expected_payback, (rule, party)


def test_the_scenarios_exercise_what_they_claim():
    """The rich scenario really has expiring losses, SLPE firms on both sides of the threshold,
    a binding relocation cap and an aggregate rule that gives some party nothing in some years:
    otherwise the comparison above would prove less than it seems."""
    scenario = _load("rich")
    ref = run_reference(scenario)
    rows = {r.project_id: r for r in scenario.projects.rows}
    # L1 loses money for its whole five-year ramp-up; with a 2-year carry-forward some expires
    l1 = rows["L1"]
    op = l1.start_year + l1.construction_years
    dep = l1.investment_yuan / scenario.spec.model.depreciation_years
    profits = []
    for y in ref.years:
        cap = min(1.0, max(0.0, (y - op + 1) / l1.ramp_up_years))
        full = l1.investment_yuan * l1.output_per_fixed_asset  # index does not matter for the sign
        profits.append(cap * (l1.profit_margin * full + dep) - dep if y >= op else 0.0)
    short = taxable_after_losses(profits, 2)
    long = taxable_after_losses(profits, 20)
    assert sum(short) > sum(long) + 1.0
    # relocated R1 sits exactly at the default threshold, and its cap binds under relocation_custom
    assert rows["R1"].pre_move_annual_tax_yuan == 20_000_000.0
    custom = ref.pool_share["relocation_custom"]["shenzhen"]
    assert 0 < sum(custom) <= 0.5 * 20_000_000 + 0.5 * 6_000_000 + 1e-6
    # tiered3 uses all three brackets in some year
    assert max(ref.pool) > 6_000_000


# ------------------------------------------------------------------------------------------
# the reference model's own building blocks, checked by hand


def test_reference_step_value_carries_forward():
    steps = {2026: 0.5, 2031: 0.4}
    assert [step_value(steps, y) for y in (2026, 2030, 2031, 2040)] == [0.5, 0.5, 0.4, 0.4]
    assert step_value(0.3, 1999) == 0.3
    with pytest.raises(ValueError):
        step_value(steps, 2025)


def test_reference_loss_carryforward_by_hand():
    # a loss of 100 in year 0 may be used in years 1 and 2 only (N = 2)
    assert taxable_after_losses([-100.0, 30.0, 30.0, 80.0], 2) == [0.0, 0.0, 0.0, 80.0]
    assert taxable_after_losses([-100.0, 30.0, 30.0, 80.0], 3) == [0.0, 0.0, 0.0, 40.0]
    # oldest loss first (N = 2): year 2 uses all of year 0's loss and 10 of year 1's; year 3 uses
    # the 40 left of year 1's; newest first would have let 40 of year 0's loss expire instead
    assert taxable_after_losses([-50.0, -50.0, 60.0, 60.0], 2) == [0.0, 0.0, 0.0, 20.0]
    assert taxable_after_losses([-50.0, 20.0], 0) == [0.0, 20.0]


def test_reference_npv_and_payback_by_hand():
    assert npv([100.0, 110.0, 121.0], 0.1) == pytest.approx(300.0)
    assert payback([-10.0, 5.0, 5.0, 1.0], [2026, 2027, 2028, 2029]) == 2028
    assert math.isnan(payback([-10.0, 5.0, 4.0], [2026, 2027, 2028]))
    assert payback([0.0, 1.0], [2026, 2027]) == 2026


def test_cost_recovery_of_land_acquisition_matches_reference():
    scenario = _load("rich", {"rules[recovery_custom].params.cost_kinds": ["land_acquisition"]})
    result, ref = bs.run(scenario, rules=["recovery_custom"]), run_reference(scenario)
    annual = result.annual().set_index(["party", "year"]).sort_index()
    for party in ref.parties:
        _assert_money(
            annual.loc[party, "pool_share_yuan"], ref.pool_share["recovery_custom"][party], party
        )


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("name", ["tiny", "reference", "rich"])
def test_each_fiscal_engine_matches_reference(name, engine):
    """``bs.run`` picks a compiled kernel when it can; the plain NumPy path must agree too."""
    from benefitshare.model import run as pipeline
    from benefitshare.model.inputs import central_inputs, model_setup

    if engine == "numba":
        pytest.importorskip("numba")
    scenario = _load(name)
    out = pipeline.evaluate(
        model_setup(scenario), central_inputs(scenario), list(scenario.spec.rules), engine=engine
    )
    ref = run_reference(scenario)
    for r, rule in enumerate(scenario.rule_names):
        for k, party in enumerate(ref.parties):
            _assert_money(
                out.pool_share_rdky[r, 0, k],
                ref.pool_share[rule][party],
                f"{engine} {rule}/{party}",
            )
    for k, party in enumerate(ref.parties):
        _assert_money(out.retained_dky[0, k], ref.retained[party], f"{engine} retained {party}")
        _assert_money(
            out.costs_cdky[:, 0, k].sum(axis=0), ref.party_costs(party), f"{engine} costs {party}"
        )
    for t, tax in enumerate(TAXES):
        for j, tier in enumerate(TIERS):
            np.testing.assert_allclose(
                out.tier_dt4y[0, t, j],
                ref.tier[tax][tier],
                rtol=TIER_RTOL,
                atol=1e-6,
                err_msg=f"{engine} {tax}/{tier}",
            )
