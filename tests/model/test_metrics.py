"""Stage 7b, metrics: discount factors, NPV and payback year."""

from __future__ import annotations

import numpy as np
import pytest

from benefitshare.model import metrics

YEARS = np.arange(2026, 2031)


def test_discount_factors_start_at_one_in_the_first_year():
    np.testing.assert_allclose(metrics.discount_factors(0.1, YEARS[:3]), [1.0, 1 / 1.1, 1 / 1.21])
    np.testing.assert_allclose(
        metrics.discount_factors(0.1, YEARS[:2], base_year=2025), [1 / 1.1, 1 / 1.21]
    )


def test_discount_factors_per_party():
    f = metrics.discount_factors(np.array([0.0, 0.05]), YEARS[:3])
    assert f.shape == (2, 3)
    np.testing.assert_allclose(f[0], 1.0)
    np.testing.assert_allclose(f[1], [1.0, 1 / 1.05, 1 / 1.05**2])


def test_npv_by_hand():
    flows = np.array([-100.0, 55.0, 60.5])
    assert metrics.npv_yuan(flows, metrics.discount_factors(0.1, YEARS[:3])) == pytest.approx(
        0.0, abs=1e-9
    )
    flows = np.array([[100.0, 110.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        metrics.npv_yuan(flows, metrics.discount_factors(0.1, YEARS[:2])), [200.0, 0.0]
    )


def test_payback_year_is_when_cumulative_net_turns_non_negative_for_good():
    assert metrics.payback_year(np.array([-10.0, 4.0, 6.0, 1.0, 1.0]), YEARS) == 2028
    # dips below zero again later: payback is after the last negative year
    assert metrics.payback_year(np.array([-10.0, 20.0, -15.0, 5.0, 1.0]), YEARS) == 2029
    # never negative: paid back from the start
    assert metrics.payback_year(np.array([0.0, 1.0, 0.0, 0.0, 0.0]), YEARS) == 2026


def test_payback_never_reached_is_nan():
    got = metrics.payback_year(
        np.array([[-10.0, 1.0, 1.0, 1.0, 1.0], [-1.0, 1.0, 0.0, 0.0, 0.0]]), YEARS
    )
    assert np.isnan(got[0])
    assert got[1] == 2027


def test_payback_ignores_rounding_noise_below_a_micro_yuan():
    assert metrics.payback_year(np.array([5.0, -5.0 - 1e-9, 0.0, 0.0, 0.0]), YEARS) == 2026
