"""Wiring of the orchestrator: every shipped rule runs and conserves money on the reference."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_an_overflow_in_the_computation_is_an_input_error_naming_the_largest_amount(
    tiny, monkeypatch
):
    import benefitshare.model.run as run_module

    real = run_module.ledgers.costs_yuan

    def overflowing(*args, **kwargs):
        out = real(*args, **kwargs)
        return out * np.float64(1e308) * np.float64(1e308)  # overflows: trapped, not inf

    monkeypatch.setattr(run_module.ledgers, "costs_yuan", overflowing)
    with pytest.raises(bs.ScenarioError) as info:
        bs.run(tiny)
    msg = str(info.value)
    assert "the computation overflowed" in msg, msg
    # the largest money input of the tiny scenario: project T1's investment
    assert "column investment_yuan" in msg and "largest amount in the inputs" in msg, msg


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_infinite_or_undefined_outputs_are_never_returned(tiny, monkeypatch, bad):
    import benefitshare.model.run as run_module

    real = run_module.evaluate

    def poisoned(*args, **kwargs):
        out = real(*args, **kwargs)
        out.pool_dy[..., -1] = bad
        return out

    monkeypatch.setattr(run_module, "evaluate", poisoned)
    with pytest.raises(bs.ScenarioError) as info:
        bs.run(tiny)
    assert "infinite or undefined amounts (pool_dy)" in str(info.value)
    with pytest.raises(bs.ScenarioError):
        bs.run(tiny, draws=4, seed=1)


def test_an_input_error_from_the_computation_exits_2_and_writes_nothing(
    tmp_path, monkeypatch, capsys
):
    from conftest import DATA

    import benefitshare.model.run as run_module
    from benefitshare import cli

    real = run_module.evaluate

    def poisoned(*args, **kwargs):
        out = real(*args, **kwargs)
        out.retained_dky[...] = np.inf
        return out

    monkeypatch.setattr(run_module, "evaluate", poisoned)
    out = tmp_path / "out"
    status = cli.main(["run", str(DATA / "tiny.toml"), "--out", str(out), "-q", "--no-charts"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "infinite or undefined amounts" in err and "column investment_yuan" in err, err
    assert not out.exists() or not any(out.iterdir())
