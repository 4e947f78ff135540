"""Explaining a receipt: the rows add up to annual.csv, clauses exact, attribution pro rata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import benefitshare as bs
from benefitshare.analysis.explain import EXPLAIN_COLUMNS, PARTS, explain, explain_scenario
from benefitshare.glossary import LOCAL_TIERS

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DATA = Path(__file__).resolve().parents[1] / "data"
MULTI = "coop_park_50_50_then_relocation"
COOP_PARKS = {"shenshan_coop_park", "shenshan_building"}


@pytest.fixture(scope="module")
def example():
    """The reference flows with every rule family (multi-clause, Shapley, Nash, trigger)."""
    return bs.run(bs.load_scenario(SCENARIOS / "compare_example.toml"))


def annual_amount(result, rule, party, year, column="amount_yuan"):
    ann = result.annual()
    sel = ann[(ann["rule"] == rule) & (ann["party"] == party)]
    if year != "all":
        sel = sel[sel["year"] == year]
    return float(sel[column].sum())


@pytest.mark.parametrize(
    "rule",
    [
        "fixed_50_50",
        MULTI,
        "shapley_split",
        "nash_split",
        "relocation_92",
        "tiered_40_20",
        "recovery_with_2035_review",
        "fixed_return_10pct_5y",
    ],
)
@pytest.mark.parametrize("party", ["shenzhen", "shanwei"])
@pytest.mark.parametrize("year", [2035, 2026, 2055, "all"])
def test_rows_sum_to_annual_amount(example, rule, party, year):
    frame = explain(example, rule=rule, party=party, year=year)
    assert list(frame.columns) == EXPLAIN_COLUMNS
    want = annual_amount(example, rule, party, year)
    assert frame["amount_yuan"].sum() == pytest.approx(want, abs=0.01)
    assert frame.attrs["amount_yuan"] == pytest.approx(want, abs=0.01)
    # and each part sums to its column of annual.csv
    for part, column in zip(
        PARTS, ["pool_share_yuan", "retained_yuan", "dividends_yuan"], strict=True
    ):
        got = frame.loc[frame["part"] == part, "amount_yuan"].sum()
        assert got == pytest.approx(annual_amount(example, rule, party, year, column), abs=0.01)


def test_multi_clause_amounts_are_exact(example):
    """Clause 1 (50:50 of the cooperation parks to 2035) gives each city half of those cells."""
    host = explain(example, rule="host_keeps_all", party="shanwei", year=2035)
    pool = host[host["part"] == "pool_share"]
    coop_pool = pool.loc[pool["park"].isin(COOP_PARKS), "amount_yuan"].sum()
    assert coop_pool > 1e6
    for party in ("shenzhen", "shanwei"):
        frame = explain(example, rule=MULTI, party=party, year=2035)
        clause1 = frame[(frame["part"] == "pool_share") & (frame["clause"] == 1)]
        assert clause1["amount_yuan"].sum() == pytest.approx(0.5 * coop_pool, rel=1e-9)
        assert set(clause1["park"]) <= COOP_PARKS
        assert "fixed_ratio" in clause1["clause_label"].iloc[0]
    # after 2035 clause 1 no longer applies
    later = explain(example, rule=MULTI, party="shenzhen", year=2036)
    assert not ((later["part"] == "pool_share") & (later["clause"] == 1)).any()


def test_uncovered_cells_stay_with_the_host(example):
    """Cells no clause covers (clause 0) go to the host whole: county parks' other taxes."""
    sz = explain(example, rule=MULTI, party="shenzhen", year=2035)
    assert not (sz["clause"] == 0).any()
    sw = explain(example, rule=MULTI, party="shanwei", year=2035)
    rest = sw[sw["clause"] == 0]
    assert len(rest) > 0
    assert not set(rest["park"]) & COOP_PARKS
    assert not set(rest["tax"]) & {"vat", "cit"}
    host = explain(example, rule="host_keeps_all", party="shanwei", year=2035)
    key = ["project", "tax", "tier"]
    merged = rest.merge(host[host["part"] == "pool_share"], on=key, suffixes=("", "_host"))
    assert len(merged) == len(rest)
    np.testing.assert_allclose(merged["amount_yuan"], merged["amount_yuan_host"], rtol=1e-12)


def test_attribution_is_pro_rata(example):
    """Under 50:50 every cell of Shenzhen's share is half of that cell of the pool."""
    half = explain(example, rule="fixed_50_50", party="shenzhen", year=2040)
    whole = explain(example, rule="host_keeps_all", party="shanwei", year=2040)
    key = ["project", "tax", "tier"]
    merged = half.merge(whole[whole["part"] == "pool_share"], on=key, suffixes=("", "_all"))
    merged = merged[merged["part"] == "pool_share"]
    assert len(merged) == (half["part"] == "pool_share").sum() > 100
    np.testing.assert_allclose(merged["amount_yuan"], 0.5 * merged["amount_yuan_all"], rtol=1e-9)
    assert "pro rata" in half.attrs["note"] and "not a legal allocation" in half.attrs["note"]


def test_shapley_clause_split_by_tax_and_tier(example):
    frame = explain(example, rule="shapley_split", party="shenzhen", year=2035)
    pool = frame[frame["part"] == "pool_share"]
    assert set(pool["clause"]) == {1}
    assert set(pool["tier"]) == {"city", "county"}
    assert {"vat", "cit", "pit"} <= set(pool["tax"])
    by_tax = pool.groupby("tax")["amount_yuan"].sum()
    assert by_tax.sum() == pytest.approx(
        annual_amount(example, "shapley_split", "shenzhen", 2035, "pool_share_yuan"), abs=0.01
    )


def test_retained_by_project_tax_and_tier(example):
    """The host keeps the land transfer (outside the pool) and the partner keeps nothing."""
    sw = explain(example, rule="fixed_50_50", party="shanwei", year="all")
    kept = sw[sw["part"] == "retained"]
    assert set(kept["tier"]) <= set(LOCAL_TIERS)
    assert "land_transfer" in set(kept["tax"])
    assert kept["amount_yuan"].sum() == pytest.approx(
        annual_amount(example, "fixed_50_50", "shanwei", "all", "retained_yuan"), abs=0.01
    )
    sz = explain(example, rule="fixed_50_50", party="shenzhen", year="all")
    assert not (sz["part"] == "retained").any()


@pytest.mark.parametrize(
    "overrides",
    [
        {"pool.net_of_rebates": False},
        {"pool.tiers": ["provincial", "city", "county"]},
        {"pool.taxes": ["vat", "cit"], "pool.tiers": ["county"]},
    ],
)
def test_other_pools_add_up(overrides):
    """Pools net or gross of rebates, with a provincial tier or fewer taxes: still exact."""
    scenario = bs.load_scenario(DATA / "tiny.toml", overrides=overrides)
    result = bs.run(scenario)
    for rule in ("fixed_50_5y", "coop_only", "relocation"):
        for party in ("shenzhen", "shanwei"):
            for year in (2027, 2030, "all"):
                frame = explain(result, rule=rule, party=party, year=year)
                want = annual_amount(result, rule, party, year)
                assert frame["amount_yuan"].sum() == pytest.approx(want, abs=0.01)
                got = frame.loc[frame["part"] == "retained", "amount_yuan"].sum()
                want = annual_amount(result, rule, party, year, "retained_yuan")
                assert got == pytest.approx(want, abs=0.01)


def test_mean_over_draws_matches_the_run(reference):
    result = bs.run(reference, draws=5, seed=11, chunk_draws=2)
    for rule, party, year in [(MULTI, "shanwei", 2035), ("tiered_40_20", "shenzhen", "all")]:
        frame = explain(result, rule=rule, party=party, year=year)
        assert frame.attrs["n_draws"] == 5
        want = annual_amount(result, rule, party, year)
        assert frame["amount_yuan"].sum() == pytest.approx(want, abs=0.01)


def test_draws_need_a_seed(reference):
    with pytest.raises(bs.ScenarioError, match="seed"):
        explain_scenario(reference, rule="fixed_50_50", party="shenzhen", year=2035, draws=3)


def test_bad_input_is_named(example):
    with pytest.raises(bs.ScenarioError, match="did you mean 'fixed_50_50'"):
        explain(example, rule="fixed_5050", party="shenzhen", year=2035)
    with pytest.raises(bs.ScenarioError, match="did you mean 'shenzhen'"):
        explain(example, rule="fixed_50_50", party="shenzen", year=2035)
    with pytest.raises(bs.ScenarioError, match="outside the horizon.*2026-2055"):
        explain(example, rule="fixed_50_50", party="shenzhen", year=2070)
    with pytest.raises(bs.ScenarioError, match="or 'all'"):
        explain(example, rule="fixed_50_50", party="shenzhen", year="next")


def test_public_entry_point(example):
    frame = bs.explain(example, rule="fixed_50_50", party="shenzhen", year="all")
    assert frame.attrs["year"] == "all"
    assert (frame.attrs["first_year"], frame.attrs["last_year"]) == (2026, 2055)
    assert not hasattr(bs.Result, "explain")


@pytest.mark.parametrize("name", ["rich.toml", "tiny_counties.toml"])
def test_several_hosts_add_up(name):
    """Three parties, parks with different hosts: every rule and party adds up."""
    result = bs.run(bs.load_scenario(DATA / name))
    year = int(result.years[len(result.years) // 2])
    for rule in result.rule_names:
        for party in result.party_ids:
            for y in (year, "all"):
                frame = explain(result, rule=rule, party=party, year=y)
                want = annual_amount(result, rule, party, y)
                assert frame["amount_yuan"].sum() == pytest.approx(want, abs=0.01)
