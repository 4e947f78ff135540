"""The compiled engine agrees with the NumPy reference engine, deterministically and per draw."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import benefitshare as bs
from benefitshare.model import draws as unc
from benefitshare.model import run as pipeline
from benefitshare.model.inputs import central_inputs, model_setup

pytestmark = pytest.mark.skipif(not pipeline.kernels_available(), reason="numba is not installed")


def _chunk_inputs(scenario, n, seed=3):
    base = central_inputs(scenario)
    factors = unc.uncertain_factors(scenario)
    source = unc.DrawSource(sum(f.n_dims for f in factors), n, np.random.SeedSequence(seed), "mc")
    return unc.apply_draws(base, factors, unc.split_columns(factors, source.next(n)), scenario)


def _assert_same(a, b):
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        scale = max(1.0, float(np.abs(y).max()))
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12 * scale * 100, err_msg=field.name)


@pytest.mark.parametrize("name", ["tiny", "reference"])
def test_engines_agree_deterministically(name, tiny, reference):
    scenario = {"tiny": tiny, "reference": reference}[name]
    inputs = central_inputs(scenario)
    a = pipeline.evaluate(model_setup(scenario), inputs, scenario.spec.rules, engine="numba")
    b = pipeline.evaluate(model_setup(scenario), inputs, scenario.spec.rules, engine="numpy")
    _assert_same(a, b)


def test_engines_agree_on_sampled_draws(reference):
    inputs = _chunk_inputs(reference, 64)
    a = pipeline.evaluate(model_setup(reference), inputs, reference.spec.rules, engine="numba")
    b = pipeline.evaluate(model_setup(reference), inputs, reference.spec.rules, engine="numpy")
    _assert_same(a, b)


def test_engines_agree_when_the_pool_takes_provincial_revenue_gross_of_rebates(tiny):
    scenario = tiny.with_overrides(
        {
            "pool.tiers": ["provincial", "city"],
            "pool.net_of_rebates": False,
            "pool.parks": ["county"],
        }
    )
    inputs = central_inputs(scenario)
    a = pipeline.evaluate(model_setup(scenario), inputs, scenario.spec.rules, engine="numba")
    b = pipeline.evaluate(model_setup(scenario), inputs, scenario.spec.rules, engine="numpy")
    _assert_same(a, b)


def test_run_rejects_an_unknown_engine(tiny):
    with pytest.raises(bs.ScenarioError, match="engine"):
        bs.run(tiny, engine="fortran")


def test_run_results_do_not_depend_on_the_engine(reference):
    a = bs.run(reference, draws=40, seed=5, engine="numba", progress=False)
    b = bs.run(reference, draws=40, seed=5, engine="numpy", progress=False)
    np.testing.assert_allclose(a.scalars["npv_rdk"], b.scalars["npv_rdk"], rtol=1e-11)


@pytest.mark.parametrize("net_of_rebates", [True, False])
@pytest.mark.parametrize(
    "pool_tiers", [["city", "county"], ["county"], ["provincial", "city"], ["central", "county"]]
)
def test_engines_agree_on_pools_with_rebates(tiny, pool_tiers, net_of_rebates):
    """Every project pays rebates; the pool takes them or not, local tiers only or not.

    This is the case that tells the local-in-pool share (which the hosts' retained revenue uses)
    from the rebate-in-pool share (zero when the pool is gross of rebates): passing one for the
    other changes ``retained_dky`` when the pool is gross of rebates and ``pool`` when it is net.
    """
    scenario = tiny.with_overrides(
        {"pool.tiers": pool_tiers, "pool.net_of_rebates": net_of_rebates}
    )
    inputs = central_inputs(scenario)
    P = len(scenario.projects)
    inputs["rebate_rate"] = np.full((1, P, 1), 0.4)
    inputs["rebate_years"] = np.full((1, P, 1), 5, dtype=np.int64)
    inputs["county_share"] = np.linspace(0.2, 0.8, P).reshape(1, P, 1)
    setup = model_setup(scenario)
    a = pipeline.evaluate(setup, inputs, scenario.spec.rules, engine="numba")
    b = pipeline.evaluate(setup, inputs, scenario.spec.rules, engine="numpy")
    assert b.rebates_dy.sum() > 0
    _assert_same(a, b)
    # money: what the hosts keep outside the pool plus the pool's local part is the local revenue
    assert np.isfinite(a.retained_dky).all()
