"""Stage 2, economy: capex phasing, capacity ramp-up, sales, profit and loss carry-forward."""

from __future__ import annotations

import numpy as np
import pytest

from benefitshare.model import economy

YEARS = np.arange(2026, 2034)


def test_capex_follows_phasing_from_the_start_year():
    phasing = np.array([[0.4, 0.6, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    capex = economy.capex_yuan(
        np.array([100.0, 90.0]).reshape(1, 2, 1),
        np.array([2027, 2026]).reshape(1, 2, 1),
        phasing,
        YEARS,
    )
    assert capex.shape == (1, 2, len(YEARS))
    np.testing.assert_allclose(capex[0, 0], [0, 40, 60, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(capex[0, 1], [30, 30, 30, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(economy.fixed_assets_yuan(capex)[0, 0, -1], 100.0)


def test_capex_after_the_horizon_is_dropped_and_draws_broadcast():
    phasing = np.array([[0.5, 0.5]])
    start = np.array([2033, 2032]).reshape(2, 1, 1)  # two draws of the start year
    capex = economy.capex_yuan(np.full((1, 1, 1), 10.0), start, phasing, YEARS)
    assert capex.shape == (2, 1, len(YEARS))
    np.testing.assert_allclose(capex[0, 0], [0] * 7 + [5])
    np.testing.assert_allclose(capex[1, 0], [0] * 6 + [5, 5])


def test_capacity_ramps_up_linearly_and_reaches_one_in_the_last_ramp_year():
    cap = economy.capacity_fraction(
        np.array(2028).reshape(1, 1, 1), np.array(4).reshape(1, 1, 1), YEARS
    )
    np.testing.assert_allclose(cap[0, 0], [0, 0, 0.25, 0.5, 0.75, 1, 1, 1])
    cap = economy.capacity_fraction(
        np.array(2026).reshape(1, 1, 1), np.array(1).reshape(1, 1, 1), YEARS
    )
    np.testing.assert_allclose(cap[0, 0], 1.0)
    assert economy.operation_start_year(2026, 2) == 2028


def test_growth_index_starts_at_one_and_compounds_from_the_second_year():
    g = np.array([0.5, 0.1, 0.1, -0.5])  # the first year's rate is ignored: index is relative to it
    np.testing.assert_allclose(economy.growth_index(g, np.arange(4)), [1.0, 1.1, 1.21, 0.605])
    np.testing.assert_allclose(economy.growth_index(0.02, np.arange(3)), [1.0, 1.02, 1.0404])
    np.testing.assert_allclose(
        economy.growth_index(np.zeros((1, 1, 3)), np.arange(3)), np.ones((1, 1, 3))
    )


def test_full_capacity_sales_scale_with_investment_output_and_index():
    sales = economy.full_capacity_sales_yuan(
        np.full((1, 2, 1), 100.0),
        np.array([2.0, 0.5]).reshape(1, 2, 1),
        np.array([1.0, 1.1]).reshape(1, 1, 2),
    )
    np.testing.assert_allclose(sales[0], [[200, 220], [50, 55]])


def test_profit_carries_the_full_fixed_cost_during_ramp_up():
    # full sales 1000, margin 10%, depreciation 60: capacity 0.5 gives 0.5 * (100 + 60) - 60 = 20
    cap = np.array([0.0, 0.25, 0.5, 1.0]).reshape(1, 1, 4)
    operating = np.array([False, True, True, True]).reshape(1, 1, 4)
    profit = economy.profit_before_tax_yuan(np.full((1, 1, 4), 1000.0), cap, 0.1, 60.0, operating)
    np.testing.assert_allclose(profit[0, 0], [0, -20, 20, 100])


def test_losses_expire_after_five_years():
    # a loss of 100 in 2026 (year 0); small profits of 10 in 2027-2031 use 50 of it; in 2032 the
    # remaining 50 has expired (it was deductible in 2027..2031 only), so the full 80 is taxable
    profit = np.array([-100.0, 10, 10, 10, 10, 10, 80, 80]).reshape(1, 1, 8)
    taxable = economy.taxable_income_yuan(profit, 5)
    np.testing.assert_allclose(taxable[0, 0], [0, 0, 0, 0, 0, 0, 80, 80])
    # with a six-year carry-forward the remaining 50 is used in 2032
    taxable = economy.taxable_income_yuan(profit, 6)
    np.testing.assert_allclose(taxable[0, 0], [0, 0, 0, 0, 0, 0, 30, 80])


def test_losses_are_used_oldest_first():
    # N = 2: 2028 uses all of 2026's loss and 10 of 2027's; in 2029 the 40 left of 2027's is used.
    # Newest-first would let 40 of 2026's loss expire and tax 60 in 2029.
    profit = np.array([-50.0, -50.0, 60.0, 60.0]).reshape(1, 1, 4)
    np.testing.assert_allclose(economy.taxable_income_yuan(profit, 2)[0, 0], [0, 0, 0, 20])


def test_no_carry_forward_taxes_every_profit_and_leaves_inputs_unchanged():
    profit = np.array([[[-10.0, 5.0, 7.0]], [[3.0, -1.0, 2.0]]])
    before = profit.copy()
    np.testing.assert_allclose(economy.taxable_income_yuan(profit, 0), np.maximum(profit, 0))
    np.testing.assert_allclose(economy.taxable_income_yuan(profit, 1), [[[0, 0, 7]], [[3, 0, 1]]])
    np.testing.assert_array_equal(profit, before)


@pytest.mark.parametrize("shape", [(8,), (1, 8), (1, 1, 8)], ids=["1d", "2d", "3d"])
def test_loss_carryforward_does_not_depend_on_the_number_of_leading_axes(shape):
    profit = np.array([-100.0, 10, 10, 10, 10, 10, 80, 80]).reshape(shape)
    taxable = economy.taxable_income_yuan(profit, 5)
    assert taxable.shape == shape
    np.testing.assert_allclose(taxable.reshape(-1), [0, 0, 0, 0, 0, 0, 80, 80])


def test_losses_of_one_project_or_draw_do_not_offset_another():
    profit = np.array([[[-100.0, 50.0], [0.0, 50.0]], [[0.0, 50.0], [-20.0, 50.0]]])
    np.testing.assert_allclose(
        economy.taxable_income_yuan(profit, 5), [[[0, 0], [0, 50]], [[0, 50], [0, 30]]]
    )
