"""Wiring of the orchestrator: every shipped rule runs and conserves money on the reference."""

from __future__ import annotations

import numpy as np

import benefitshare as bs


def test_reference_runs_all_rules(reference):
    res = bs.run(reference)
    assert res.rule_names == reference.rule_names
    s = res.summary()
    assert len(s) == len(reference.rule_names) * len(reference.spec.parties)
    assert np.isfinite(s["npv_yuan"]).all()


def test_parties_shares_sum_to_pool(reference):
    res = bs.run(reference)
    total = res.pool_share_rdky.sum(axis=2)  # (R, D, Y)
    np.testing.assert_allclose(total, np.broadcast_to(res.pool_dy, total.shape), rtol=0, atol=1e-6)


def test_tiers_sum_to_tax(tiny):
    res = bs.run(tiny)
    np.testing.assert_allclose(res.tier_dt4y.sum(axis=2), res.tax_dty, rtol=0, atol=1e-6)


def test_share_of_pool_is_zero_not_nan_when_the_pool_is_empty(tiny):
    empty = tiny.with_overrides({"pool.parks": ["county"], "pool.groups": ["relocated"]})
    summary = bs.run(empty).summary()
    assert summary["pool_share_yuan"].abs().max() == 0.0
    assert (summary["share_of_pool"] == 0.0).all()
