"""Stage 4, government tiers: central, provincial, city and county shares, and rebates."""

from __future__ import annotations

import numpy as np
import pytest

from benefitshare.model import tiers


def test_tier_fractions_by_hand():
    # VAT 50% central; province takes 10% of the other half; the county keeps 70% of the rest
    f = tiers.tier_fractions(0.5, 0.1, np.array([0.0, 0.7]).reshape(1, 2, 1))
    assert float(f["central"].squeeze()) == pytest.approx(0.5)
    assert float(f["provincial"].squeeze()) == pytest.approx(0.05)
    np.testing.assert_allclose(np.broadcast_to(f["county"], (1, 2, 1)).ravel(), [0.0, 0.315])
    np.testing.assert_allclose(np.broadcast_to(f["city"], (1, 2, 1)).ravel(), [0.45, 0.135])


def test_tier_fractions_vary_by_year_and_sum_to_one():
    central = np.array([0.75, 0.5, 0.5])
    provincial = np.array([0.0, 0.1, 0.2])
    f = tiers.tier_fractions(central, provincial, np.array([0.3]).reshape(1, 1, 1))
    total = sum(np.broadcast_to(v, (1, 1, 3)) for v in f.values())
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(f["provincial"].ravel(), [0.0, 0.05, 0.1])
    np.testing.assert_allclose(
        np.broadcast_to(f["county"], (1, 1, 3)).ravel(), [0.075, 0.135, 0.12]
    )


def test_tier_amounts_sum_exactly_to_the_tax():
    # one draw, two taxes, three years; county share 0.7 of the local part
    tax = np.array([[[1000.0, 333.33, 0.0], [50.0, 50.0, 50.0]]])
    central = np.array([[0.6, 0.6, 0.6], [0.5, 0.5, 0.5]])
    provincial = np.array([[0.15, 0.15, 0.15], [0.0, 0.0, 0.0]])
    parts = tiers.tier_amounts(tax, 0.7 * tax, central, provincial)
    assert parts.shape == (1, 2, 4, 3)
    np.testing.assert_allclose(parts[0, 0, :, 0], [600.0, 60.0, 0.3 * 340.0, 0.7 * 340.0])
    np.testing.assert_allclose(parts[0, 1, :, 1], [25.0, 0.0, 7.5, 17.5])
    np.testing.assert_array_equal(parts.sum(axis=2), tax)


def test_rebates_only_within_their_window():
    local = np.array([[[100.0, 100.0, 100.0]]])
    window = np.array([[[False, True, True]]])
    np.testing.assert_allclose(tiers.rebates_yuan(local, 0.5, window), [[[0.0, 50.0, 50.0]]])
    np.testing.assert_allclose(tiers.rebates_yuan(local, 0.0, window), 0.0)
