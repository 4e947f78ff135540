"""Stage 3, taxes: each tax formula, the incentive rules and the packaged tax regime."""

from __future__ import annotations

import copy
import csv

import numpy as np
import pytest

import benefitshare as bs
from benefitshare.glossary import M2_PER_MU, TAXES
from benefitshare.model import taxes
from benefitshare.regime import VAT_CATEGORY_RATE, load_tax_regime, regime_schedule
from benefitshare.scenario.load import scenario_from_dict

YEARS = np.arange(2026, 2031)


# ------------------------------------------------------------------------------------ the regime


def test_every_regime_value_carries_a_reference_and_a_confidence_label():
    regime = load_tax_regime()
    for name, param in regime.items():
        assert param.reference.strip(), name
        assert param.confidence in {
            "CONFIRMED",
            "SECONDARY",
            "UNVERIFIED",
            "DERIVED",
            "INFERRED",
        }, name
        assert param.unit and param.description, name
        assert param.values, name
    assert {f"central_share.{t}" for t in TAXES} <= set(regime)


def test_regime_holds_the_statutory_central_shares_and_rates():
    assert list(regime_schedule("central_share.vat", np.array([2015, 2016, 2030]))) == [
        0.75,
        0.5,
        0.5,
    ]
    # the 2002 income-tax reform: 50:50 in 2002, 60:40 from 2003
    assert list(regime_schedule("central_share.cit", np.array([2002, 2003, 2004]))) == [
        0.5,
        0.6,
        0.6,
    ]
    assert list(regime_schedule("central_share.pit", np.array([2002, 2003]))) == [0.5, 0.6]
    assert regime_schedule("rates.vat_goods", YEARS)[0] == 0.13
    assert regime_schedule("rates.cit_standard", YEARS)[0] == 0.25
    assert regime_schedule("rates.cit_high_tech", YEARS)[0] == 0.15


def test_slpe_rate_is_five_percent_until_2027_and_twenty_from_2028():
    years = np.arange(2026, 2030)
    np.testing.assert_allclose(regime_schedule("rates.cit_slpe", years), [0.05, 0.05, 0.2, 0.2])
    np.testing.assert_allclose(
        regime_schedule("rates.slpe_local_relief", years), [0.5, 0.5, 0.0, 0.0]
    )


def test_a_regime_schedule_that_starts_after_the_model_raises():
    with pytest.raises(ValueError, match="schedule starts in 2023 but the model starts in 2020"):
        regime_schedule("rates.slpe_income_threshold_yuan", np.arange(2020, 2025))


# ------------------------------------------------------------------------------------ formulas


def test_vat_is_the_rate_times_value_added():
    va = np.array([[[100.0, 200.0]]])
    np.testing.assert_allclose(taxes.vat_yuan(va, 0.13), [[[13.0, 26.0]]])
    np.testing.assert_allclose(
        taxes.vat_yuan(va, np.array([0.13, 0.06]).reshape(1, 1, 2)), [[[13.0, 12.0]]]
    )


def _rate(taxable, **flags):
    kw = dict(
        standard=0.25,
        high_tech=0.15,
        slpe_rate=0.05,
        slpe_threshold_yuan=3e6,
        is_high_tech=False,
        is_slpe=False,
    )
    kw.update(flags)
    return taxes.cit_rate(np.asarray(taxable, dtype=float), **kw)


def test_cit_rate_standard_high_tech_and_slpe():
    assert _rate([1e6]) == pytest.approx(0.25)
    assert _rate([1e6], is_high_tech=True) == pytest.approx(0.15)
    assert _rate([1e6], is_slpe=True) == pytest.approx(0.05)
    assert _rate([3e6], is_slpe=True) == pytest.approx(0.05)  # the threshold itself qualifies
    assert _rate([3e6 + 1], is_slpe=True) == pytest.approx(0.25)  # above it: the standard rate
    assert _rate([4e6], is_slpe=True, is_high_tech=True) == pytest.approx(0.15)
    assert _rate([1e6], is_slpe=True, is_high_tech=True, slpe_rate=0.2) == pytest.approx(
        0.15
    )  # lower wins


def test_cit_rate_flags_and_rates_broadcast_per_project_and_year():
    taxable = np.array([[[1e6, 5e6], [1e6, 5e6]]])
    rate = taxes.cit_rate(
        taxable,
        standard=0.25,
        high_tech=0.15,
        slpe_rate=np.array([0.05, 0.2]).reshape(1, 1, 2),
        slpe_threshold_yuan=3e6,
        is_high_tech=np.array([False, True]).reshape(1, 2, 1),
        is_slpe=np.array([True, False]).reshape(1, 2, 1),
    )
    np.testing.assert_allclose(rate, [[[0.05, 0.25], [0.15, 0.15]]])


def test_cit_is_never_negative():
    np.testing.assert_allclose(taxes.cit_yuan(np.array([-5.0, 0.0, 100.0]), 0.25), [0.0, 0.0, 25.0])


def test_pit_and_surcharges():
    np.testing.assert_allclose(taxes.pit_yuan(np.array([1000.0]), 0.03), [30.0])
    vat = np.array([100.0])
    np.testing.assert_allclose(taxes.surcharge_yuan(vat, 0.07), [7.0])
    np.testing.assert_allclose(taxes.surcharge_yuan(vat, 0.07, relief=0.5), [3.5])
    umt = {c: regime_schedule(f"rates.umt_{c}", YEARS)[0] for c in ("city", "county_town", "other")}
    assert umt == {"city": 0.07, "county_town": 0.05, "other": 0.01}
    assert regime_schedule("rates.edu", YEARS)[0] == 0.03
    assert regime_schedule("rates.local_edu", YEARS)[0] == 0.02


def test_property_tax_on_the_cost_basis_while_in_use():
    in_use = np.array([False, True, True])
    got = taxes.property_tax_yuan(1_000_000.0, deduction_rate=0.3, rate=0.012, in_use=in_use)
    np.testing.assert_allclose(got, [0.0, 8400.0, 8400.0])  # 0.012 * 0.7 * 1,000,000
    got = taxes.property_tax_yuan(
        1_000_000.0, deduction_rate=0.3, rate=0.012, in_use=in_use, relief=0.5
    )
    np.testing.assert_allclose(got, [0.0, 4200.0, 4200.0])


def test_land_use_tax_converts_mu_to_square_metres():
    assert M2_PER_MU == pytest.approx(666.6667, rel=1e-6)
    got = taxes.land_use_tax_yuan(15.0, rate_yuan_per_m2=6.0, occupied=np.array([False, True]))
    np.testing.assert_allclose(got, [0.0, 60000.0])  # 15 mu = 10,000 m2


def test_stamp_duty_on_sales_and_construction_contracts():
    got = taxes.stamp_duty_yuan(
        np.array([1e6, 0.0]), np.array([0.0, 2e6]), sales_rate=0.0003, construction_rate=0.0003
    )
    np.testing.assert_allclose(got, [300.0, 600.0])
    np.testing.assert_allclose(
        taxes.stamp_duty_yuan(1e6, 0.0, sales_rate=0.0003, construction_rate=0.0003, relief=0.5),
        150.0,
    )


def test_land_transfer_is_paid_once_in_the_start_year():
    got = taxes.land_transfer_yuan(
        np.full((1, 2, 1), 10.0), 200000.0, np.array([2026, 2028]).reshape(1, 2, 1), YEARS
    )
    np.testing.assert_allclose(got[0], [[2e6, 0, 0, 0, 0], [0, 0, 2e6, 0, 0]])


def test_vat_category_rates_map_to_the_regime():
    assert {regime_schedule(f"rates.{v}", YEARS)[0] for v in VAT_CATEGORY_RATE.values()} == {
        0.13,
        0.09,
        0.06,
    }
    assert VAT_CATEGORY_RATE["services"] == "vat_services"


# ------------------------------------------------------------------------------------ end to end


def _one_project(tiny, tmp_path, **row):
    """The tiny scenario with a single project in the cooperation park (city UMT, 7%)."""
    base = {
        "project_id": "X",
        "park": "coop",
        "sector": "mfg",
        "investment_yuan": 10_000_000,
        "start_year": 2026,
        "construction_years": 1,
        "ramp_up_years": 1,
        "output_per_fixed_asset": 1.0,
        "value_added_rate": 0.3,
        "profit_margin": 0.1,
        "wage_share": 0.4,
        "land_mu": 0,
        "building_value_yuan": 0,
        "slpe": "true",
    }
    base.update(row)
    path = tmp_path / "one.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(base))
        writer.writeheader()
        writer.writerow(base)
    raw = copy.deepcopy(tiny.raw)
    raw["model"]["projects"] = str(path)
    return scenario_from_dict(raw)


def _tax_by_year(result, tax):
    flows = result.flows()
    rows = flows[(flows["tax"] == tax) & (flows["kind"] == "tax")]
    return rows.groupby("year")["amount_yuan"].sum().to_numpy()


def test_slpe_below_the_threshold_pays_five_percent_to_2027_and_twenty_percent_after(
    tiny, tmp_path
):
    # taxable income 0.1 * 10 M = 1 M a year from 2027; VAT 0.13 * 3 M = 390,000
    result = bs.run(_one_project(tiny, tmp_path))
    cit = _tax_by_year(result, "cit")
    np.testing.assert_allclose(cit[:4], [0.0, 50_000.0, 200_000.0, 200_000.0])
    umt = _tax_by_year(result, "umt")
    np.testing.assert_allclose(umt[:4], [0.0, 0.07 * 390_000 * 0.5, 0.07 * 390_000, 0.07 * 390_000])


def test_slpe_above_the_threshold_pays_the_standard_rate(tiny, tmp_path):
    # taxable income 0.4 * 10 M = 4 M > 3 M: 25%; the local-tax relief does not depend on income
    result = bs.run(_one_project(tiny, tmp_path, profit_margin=0.4))
    np.testing.assert_allclose(_tax_by_year(result, "cit")[1:3], [1_000_000.0, 1_000_000.0])
    np.testing.assert_allclose(_tax_by_year(result, "umt")[1], 0.07 * 390_000 * 0.5)


def test_high_tech_pays_fifteen_percent(tiny, tmp_path):
    result = bs.run(_one_project(tiny, tmp_path, slpe="false", high_tech="true", profit_margin=0.4))
    np.testing.assert_allclose(_tax_by_year(result, "cit")[1:3], [600_000.0, 600_000.0])
