"""The conservation check scales with the amounts: rounding passes, a real leak is caught."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_helpers import make_context

import benefitshare as bs
from benefitshare.errors import RuleError
from benefitshare.rules.base import host_totals
from benefitshare.rules.mechanism import (
    CONSERVATION_RTOL,
    call_rule,
    conservation_tolerance_yuan,
)

LEAKY = "test_leaky_split"


def leaky_split(pool_yuan, ctx, *, leak_yuan=0.0):
    """Host keeps all but ``leak_yuan`` vanishes from the partner's share in every cell."""
    out = host_totals(pool_yuan, ctx).copy()
    out[ctx.partner_index] -= leak_yuan
    return out


def thirds_split(pool_yuan, ctx):
    """A third to the partner, two thirds to the host: shares that round in float64."""
    total = host_totals(pool_yuan, ctx)
    out = total * (2.0 / 3.0)
    out[ctx.partner_index] += total.sum(axis=0) / 3.0
    return out


bs.register_rule(LEAKY, leaky_split, replace=True)
bs.register_rule("test_thirds_split", thirds_split, replace=True)


def _pool(amount_yuan, n_projects=3, years=5):
    rng = np.random.default_rng(0)
    return amount_yuan * rng.uniform(0.5, 1.5, (1, n_projects, years))


def test_the_tolerance_is_absolute_near_zero_and_relative_for_large_pools():
    assert conservation_tolerance_yuan(0.0) == pytest.approx(1e-6)
    assert conservation_tolerance_yuan(1e12) == pytest.approx(1e-6 + CONSERVATION_RTOL * 1e12)
    assert conservation_tolerance_yuan(1e12) < 1.0  # a leak of 1 yuan in 1e12 is caught


@pytest.mark.parametrize("amount", [1e4, 1e10, 1e12, 1e14])
def test_a_leak_of_one_yuan_in_a_trillion_is_caught(amount):
    ctx = make_context(hosts=("shanwei",) * 3)
    pool = _pool(amount)
    call_rule(LEAKY, pool, ctx, {"leak_yuan": 0.0})
    leak = max(1.0, 1e-12 * amount)
    with pytest.raises(RuleError, match=r"does not conserve money.*internal error.*report"):
        call_rule(LEAKY, pool, ctx, {"leak_yuan": leak})


@settings(max_examples=60, deadline=None)
@given(exponent=st.floats(0, 15), n_projects=st.integers(1, 40))
def test_rounding_of_large_pools_is_never_taken_for_a_leak(exponent, n_projects):
    ctx = make_context(hosts=("shanwei", "haifeng") * n_projects)
    pool = _pool(10.0**exponent, n_projects=2 * n_projects)
    out = call_rule("test_thirds_split", pool, ctx, {})
    np.testing.assert_allclose(out.sum(axis=0), pool.sum(axis=1), rtol=1e-13)


def test_a_long_horizon_with_large_pools_runs(reference):
    """Pools of about 1e10 yuan a year used to fail a 1e-6 yuan absolute check."""
    scn = reference.with_overrides({"model.sales_growth_rate": 0.04, "model.end_year": 2125})
    result = bs.run(scn)
    assert result.means["pool_dy"].max() > 1e10
    shares = result.means["pool_share_rdky"].sum(axis=1)
    pool = result.means["pool_dy"][None]
    assert (np.abs(shares - pool) <= conservation_tolerance_yuan(np.abs(pool) * 2)).all()
