"""The compiled engine agrees with the NumPy reference engine, deterministically and per draw."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import benefitshare as bs
from benefitshare.model import draws as unc
from benefitshare.model import run as pipeline

pytestmark = pytest.mark.skipif(not pipeline._kernels_available(), reason="numba is not installed")


def _chunk_inputs(scenario, n, seed=3):
    base = pipeline.central_inputs(scenario)
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
    inputs = pipeline.central_inputs(scenario)
    a = pipeline.evaluate(scenario, inputs, scenario.spec.rules, engine="numba")
    b = pipeline.evaluate(scenario, inputs, scenario.spec.rules, engine="numpy")
    _assert_same(a, b)


def test_engines_agree_on_sampled_draws(reference):
    inputs = _chunk_inputs(reference, 64)
    a = pipeline.evaluate(reference, inputs, reference.spec.rules, engine="numba")
    b = pipeline.evaluate(reference, inputs, reference.spec.rules, engine="numpy")
    _assert_same(a, b)


def test_engines_agree_when_the_pool_takes_provincial_revenue_gross_of_rebates(tiny):
    scenario = tiny.with_overrides(
        {
            "pool.tiers": ["provincial", "city"],
            "pool.net_of_rebates": False,
            "pool.parks": ["county"],
        }
    )
    inputs = pipeline.central_inputs(scenario)
    a = pipeline.evaluate(scenario, inputs, scenario.spec.rules, engine="numba")
    b = pipeline.evaluate(scenario, inputs, scenario.spec.rules, engine="numpy")
    _assert_same(a, b)


def test_run_rejects_an_unknown_engine(tiny):
    with pytest.raises(bs.ScenarioError, match="engine"):
        bs.run(tiny, engine="fortran")


def test_run_results_do_not_depend_on_the_engine(reference):
    a = bs.run(reference, draws=40, seed=5, engine="numba", progress=False)
    b = bs.run(reference, draws=40, seed=5, engine="numpy", progress=False)
    np.testing.assert_allclose(a.scalars["npv_rdk"], b.scalars["npv_rdk"], rtol=1e-11)
