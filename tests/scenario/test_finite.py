"""Finite everywhere: every amount of money has an upper bound no real park can reach
(MAX_YUAN, 1e15 yuan), named in the JSON Schema and in the message; the issue's inputs that
wrote infinity now exit 2 naming the field and writing nothing."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import DATA  # noqa: E402

import benefitshare as bs  # noqa: E402
from benefitshare import cli  # noqa: E402
from benefitshare.rules import validate_params  # noqa: E402
from benefitshare.rules.spec import MAX_YUAN  # noqa: E402
from benefitshare.scenario.load import json_schema  # noqa: E402

TINY = DATA / "tiny.toml"
TINY_CSV = (DATA / "tiny_projects.csv").read_text("utf-8")


def error_of(overrides: dict) -> str:
    with pytest.raises(bs.ScenarioError) as info:
        bs.load_scenario(TINY, overrides=overrides)
    return str(info.value)


def test_max_yuan_is_1e15():
    assert MAX_YUAN == 1e15


def test_money_fields_have_the_bound_in_the_json_schema():
    defs = json_schema()["$defs"]
    park = defs["Park"]["properties"]
    for field in ("land_price_yuan_per_mu", "land_acquisition_cost_yuan_per_mu"):
        assert park[field]["maximum"] == MAX_YUAN, park[field]
    payments = defs["Cost"]["properties"]["payments_yuan"]["additionalProperties"]
    assert payments["maximum"] == MAX_YUAN
    capital = defs["Platform"]["properties"]["capital_payments_yuan"]["additionalProperties"]
    assert capital["maximum"] == MAX_YUAN


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("parks.coop.land_acquisition_cost_yuan_per_mu", 1e308),
        ("parks.coop.land_price_yuan_per_mu", 1e308),
        ("parks.county.land_price_yuan_per_mu", 2e15),
        ("costs[0].payments_yuan", {"2026": 1e308, "2027": 1e308}),
        ("platform.capital_payments_yuan", {"2026": 1e16}),
    ],
)
def test_an_amount_beyond_any_park_is_refused_naming_the_bound(field, value):
    msg = error_of({field: value})
    assert field.split("[")[0] in msg, msg
    assert "must be at most 1e+15 yuan (MAX_YUAN), more than any park can reach" in msg, msg


def test_amounts_up_to_the_bound_are_accepted():
    scenario = bs.load_scenario(TINY, overrides={"parks.coop.land_price_yuan_per_mu": MAX_YUAN})
    assert scenario.spec.parks["coop"].land_price_yuan_per_mu == MAX_YUAN


@pytest.mark.parametrize(
    ("rule", "params", "field"),
    [
        ("cost_recovery_first", {"shares": {"a": 1.0}, "outlay_yuan": 1e300}, "outlay_yuan"),
        ("fixed_return", {"capital_yuan": 1e300}, "capital_yuan"),
        ("incremental_over_baseline", {"shares": {"a": 1.0}, "base_yuan": 1e16}, "base_yuan"),
        (
            "relocation_cap_sunset",
            {"eligibility_threshold_yuan": 1e300},
            "eligibility_threshold_yuan",
        ),
    ],
)
def test_rule_amounts_are_bounded(rule, params, field):
    issues = validate_params(rule, params)
    assert any(loc == (field,) and "at most 1e+15 yuan" in msg for loc, _, msg in issues), issues


@pytest.mark.parametrize(
    "column", ["investment_yuan", "building_value_yuan", "pre_move_annual_tax_yuan"]
)
def test_project_money_columns_are_bounded(tmp_path, column):
    lines = TINY_CSV.splitlines()
    header = lines[0].split(",")
    assert column in header
    cells = lines[1].split(",")
    cells[header.index(column)] = "1e308"
    lines[1] = ",".join(cells)
    (tmp_path / "tiny_projects.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "tiny.toml").write_text(TINY.read_text("utf-8"), encoding="utf-8")
    with pytest.raises(bs.ScenarioError) as info:
        bs.load_scenario(tmp_path / "tiny.toml")
    msg = str(info.value)
    assert f"column {column} = '1e308': must be at most 1e+15 yuan" in msg, msg


@pytest.mark.parametrize(
    "override",
    [
        "parks.coop.land_acquisition_cost_yuan_per_mu=1e308",
        "parks.coop.land_price_yuan_per_mu=1e308",
        "costs[0].payments_yuan={2026 = 1e308, 2027 = 1e308}",
    ],
)
@pytest.mark.parametrize("charts", [True, False])
def test_the_issues_cases_exit_2_naming_the_field_and_write_nothing(
    tmp_path, capsys, override, charts
):
    out = tmp_path / "out"
    args = ["run", str(TINY), "--out", str(out), "-q", "--set", override]
    status = cli.main(args + ([] if charts else ["--no-charts"]))
    err = capsys.readouterr().err
    assert status == 2, err
    assert override.split("=")[0].split("[")[0] in err and "1e+15" in err, err
    assert not out.exists() or not any(out.iterdir())


@pytest.fixture(scope="module")
def tiny_result():
    return bs.run(bs.load_scenario(TINY), draws=8, seed=1)


def poisoned(result, value):
    means = {k: np.array(v, dtype=float, copy=True) for k, v in result.means.items()}
    key = next(k for k in means if k.startswith("pool_share"))
    means[key].flat[0] = value
    return dataclasses.replace(result, means=means), key


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize(
    "chart",
    ["annual_allocation", "cumulative_share", "flow_diagram", "fan_chart", "npv_distribution"],
)
def test_charts_are_never_drawn_from_non_finite_data(tiny_result, chart, value):
    from benefitshare.viz import run as viz_run
    from benefitshare.viz import uncertainty as viz_unc

    draw = getattr(viz_run, chart, None) or getattr(viz_unc, chart)
    bad, key = poisoned(tiny_result, value)
    if chart == "npv_distribution":
        scalars = dict(tiny_result.scalars)
        scalars["npv_rdk"] = np.full_like(np.asarray(scalars["npv_rdk"], dtype=float), value)
        bad, key = dataclasses.replace(tiny_result, scalars=scalars), "npv_rdk"
    with pytest.raises(ValueError, match=f"cannot draw {chart}: the result's {key} holds infinite"):
        draw(bad)


def test_comparison_charts_refuse_non_finite_data(tiny_result):
    from benefitshare.viz import compare as viz_compare

    bad, _ = poisoned(tiny_result, np.inf)
    comparison = dataclasses.replace(bs.compare_rules(tiny_result), result=bad)
    for chart in (viz_compare.gains_scatter, viz_compare.cumulative_transfers):
        with pytest.raises(ValueError, match="holds infinite or undefined"):
            chart(comparison)
