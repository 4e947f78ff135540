"""Strict types: a boolean is not a number, a number in a string is not a number, and a string
is not a boolean. TOML already gives every value its type, so nothing is converted; a TOML
integer is still accepted where a number is asked for."""

from __future__ import annotations

import pytest
from conftest import DATA

import benefitshare as bs
from benefitshare.rules import validate_params

TINY = DATA / "tiny.toml"


def error_of(overrides: dict) -> str:
    with pytest.raises(bs.ScenarioError) as info:
        bs.load_scenario(TINY, overrides=overrides)
    return str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("parks.county.county_share", True),
        ("parks.county.county_share", False),
        ("model.discount_rate", "0.05"),
        ("model.discount_rate", True),
        ("model.pit_effective_rate", "0.03"),
        ("parks.coop.land_price_yuan_per_mu", "200000"),
        ("model.depreciation_years", True),
        ("model.depreciation_years", "10"),
        ("model.start_year", "2026"),
        ("sectors.mfg.additionality", True),
        ("platform.payout_rate", False),
    ],
)
def test_a_boolean_or_a_number_in_a_string_is_not_a_number(field, value):
    msg = error_of({field: value})
    assert field in msg, msg
    assert "valid number" in msg or "valid integer" in msg, msg


@pytest.mark.parametrize("field", ["model.stamp_on_sales", "pool.net_of_rebates"])
@pytest.mark.parametrize("value", ["yes", "true", 1, 0])
def test_a_string_or_a_number_is_not_a_boolean(field, value):
    msg = error_of({field: value})
    assert field in msg and "valid boolean" in msg, msg


def test_boolean_shares_do_not_sum_to_one():
    msg = error_of({"rules[1].params.shares": {"shenzhen": True, "shanwei": False}})
    assert "rules[1].params.shares.shenzhen" in msg and "valid number" in msg, msg
    assert "rules[1].params.shares.shanwei" in msg, msg


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("platform.equity", {"shenzhen": True, "shanwei": False}),
        ("platform.capital_payments_yuan", {"2026": "10000000"}),
        ("costs[0].payments_yuan", {"2026": True}),
        ("tiers.provincial_share.vat", {"2026": "0.1"}),
        ("model.sales_growth_rate", "0.02"),
    ],
)
def test_strict_inside_tables(field, value):
    msg = error_of({field: value})
    assert "valid number" in msg or "wrong type" in msg, msg


@pytest.mark.parametrize(
    ("rule", "params", "where"),
    [
        ("fixed_ratio", {"shares": {"a": True, "b": False}}, ("shares", "a")),
        ("fixed_ratio", {"shares": {"a": 0.5, "b": 0.5}, "term_years": "10"}, ("term_years",)),
        ("fixed_ratio", {"shares": {"a": 0.5, "b": 0.5}, "start_year": "2030"}, ("start_year",)),
        ("fixed_return", {"carry_shortfall": "yes"}, ("carry_shortfall",)),
        ("fixed_return", {"return_rate": "0.1"}, ("return_rate",)),
        ("cost_recovery_first", {"shares": {"a": 1.0}, "outlay_yuan": True}, ("outlay_yuan",)),
    ],
)
def test_rule_parameters_are_strict(rule, params, where):
    issues = validate_params(rule, params)
    assert any(tuple(loc) == where for loc, _, _ in issues), issues


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model.discount_rate", 0),
        ("parks.county.county_share", 1),
        ("parks.coop.land_price_yuan_per_mu", 200000),
        ("model.sales_growth_rate", {"2026": 0, "2030": 0.01}),
        ("rules[1].params.shares", {"shenzhen": 1, "shanwei": 0}),
        ("platform.capital_payments_yuan", {"2026": 10000000}),
    ],
)
def test_toml_integers_are_numbers(field, value):
    scenario = bs.load_scenario(TINY, overrides={field: value})
    assert scenario.spec is not None


def test_year_steps_keep_their_years_as_keys():
    scenario = bs.load_scenario(TINY)
    assert scenario.spec.platform.return_on_capital_rate == {2026: 0.0, 2028: 0.1}
    assert list(scenario.spec.costs[0].payments_yuan) == [2026]


# --- One rule for years outside the horizon (2026..2035 in the tiny scenario) -------------

AFTER = "year 2070 is after the model's end_year 2035: give a year within the horizon 2026..2035"
BEFORE = "year 2020 is before the model's start_year 2026: give a year within the horizon"


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("costs[0].payments_yuan", {"2070": 1.0}, "costs[0].payments_yuan.2070"),
        ("platform.capital_payments_yuan", {"2070": 1.0}, "platform.capital_payments_yuan.2070"),
        ("rules[1].params.start_year", 2070, "rules[1].params.start_year"),
        ("rules[5].params.base_year", 2070, "rules[5].params.base_year"),
        ("rules[8].clauses[0].to_year", 2070, "rules[8].clauses[0].to_year"),
        ("rules[8].clauses[0].from_year", 2070, "rules[8].clauses[0].from_year"),
        ("model.sales_growth_rate", {"2026": 0.0, "2070": 0.1}, "model.sales_growth_rate.2070"),
        ("platform.return_on_capital_rate", {"2026": 0.0, "2070": 0.1}, "return_on_capital_rate"),
        ("tiers.provincial_share.vat", {"2026": 0.1, "2070": 0.2}, "provincial_share.vat.2070"),
        (
            "rules[2].params.schedule",
            {"2026": {"shenzhen": 1.0}, "2070": {"shanwei": 1.0}},
            "rules[2].params.schedule",
        ),
    ],
)
def test_a_year_after_the_horizon_is_refused_with_one_message(field, value, where):
    msg = error_of({field: value})
    assert where in msg and AFTER in msg, msg
    assert "or set model.end_year to 2070 or later" in msg, msg


def test_a_fixed_ratio_starting_after_the_horizon_is_refused_not_host_keeps_all():
    msg = error_of({"rules[1].params.start_year": 2100})
    assert "rules[1].params.start_year = 2100: year 2100 is after the model's end_year" in msg


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("costs[0].payments_yuan", {"2020": 1.0}),
        ("platform.capital_payments_yuan", {"2020": 1.0}),
        ("rules[5].params.base_year", 2020),
        ("rules[8].clauses[0].from_year", 2020),
    ],
)
def test_a_year_before_the_horizon_is_refused_with_one_message(field, value):
    msg = error_of({field: value})
    assert BEFORE in msg and "or set model.start_year to 2020 or earlier" in msg, msg


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # steps carry forward: the 2020 value applies from 2026 until the next step
        ("model.sales_growth_rate", {"2020": 0.01, "2030": 0.02}),
        ("tiers.provincial_share.vat", {"2020": 0.1}),
        ("rules[2].params.schedule", {"2020": {"shenzhen": 0.5, "shanwei": 0.5}}),
        # a term or guarantee that began before the model runs on for its remaining years
        ("rules[1].params.start_year", 2020),
    ],
)
def test_steps_and_terms_that_began_before_the_horizon_are_allowed(field, value):
    assert bs.load_scenario(TINY, overrides={field: value}).spec is not None


def test_a_term_that_began_before_the_horizon_runs_on_for_its_remaining_years():
    scenario = bs.load_scenario(
        TINY,
        overrides={"rules[1].params.start_year": 2023, "rules[1].params.term_years": 5},
    )
    res = bs.run(scenario, rules=["fixed_50_5y", "host"])
    shares = res.pool_share_rdky[0, 0]  # (K, Y)
    host = res.pool_share_rdky[1, 0]
    years = list(scenario.years)
    assert (shares[:, years.index(2028)] == host[:, years.index(2028)]).all()  # term over
    assert shares[0, years.index(2026)] > 0  # partner shares in 2026 and 2027


# --- Shares that do not sum to 1 show the sum and the tolerance ----------------------------


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("rules[1].params.shares", {"shenzhen": 0.5, "shanwei": 0.49999999}, "0.99999999"),
        ("platform.equity", {"shenzhen": 0.6, "shanwei": 0.40000001}, "1.00000001"),
        (
            "statistics",
            {"method": "shares", "shares": {"shenzhen": 0.5, "shanwei": 0.49999999}},
            "0.99999999",
        ),
    ],
)
def test_shares_off_by_1e8_show_the_sum_and_the_tolerance(field, value, shown):
    msg = error_of({field: value})
    assert f"shares must sum to 1 (they sum to {shown}): " in msg, msg
    assert "they may differ from 1 by at most 1e-09" in msg, msg
