"""Uncertain inputs: sampling, reproducibility, chunking, zero-width inputs, statistics, errors.

Statistical checks use tolerances scaled to the number of draws: five standard errors of the
estimate (``sd / sqrt(N)`` for a mean), so a correct sampler fails about once in 10^6 runs.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats

import benefitshare as bs
from benefitshare.model.draws import (
    SAMPLERS,
    DrawSource,
    Factor,
    correlation_columns,
    frozen_distribution,
    split_columns,
    uncertain_factors,
)
from benefitshare.scenario.uncertainty import UncertainInput

DRAWS = 256


@pytest.fixture(scope="module")
def seeded_runs(reference):
    """Two runs per sampler with the same seed, and one with another seed."""
    return {
        s: (
            bs.run(reference, draws=DRAWS, seed=11, sampler=s, progress=False),
            bs.run(reference, draws=DRAWS, seed=11, sampler=s, progress=False),
            bs.run(reference, draws=DRAWS, seed=12, sampler=s, progress=False),
        )
        for s in SAMPLERS
    }


# ------------------------------------------------------------------------------------ reproducibility
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_a_seeded_run_is_bit_identical(seeded_runs, sampler):
    a, b, other = seeded_runs[sampler]
    assert a.scalars["npv_rdk"].shape == (len(a.rule_names), DRAWS, len(a.party_ids))
    assert np.array_equal(a.scalars["npv_rdk"], b.scalars["npv_rdk"])
    assert np.array_equal(a.paths["pool_share_rdky"], b.paths["pool_share_rdky"])
    for key in a.means:
        assert np.array_equal(a.means[key], b.means[key]), key
    # and the seed matters
    assert not np.array_equal(a.scalars["npv_rdk"], other.scalars["npv_rdk"])
    assert a.seed == {"entropy": 11, "spawn_key": []} and a.sampler == sampler


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_chunked_and_unchunked_runs_agree(reference, sampler):
    whole = bs.run(reference, draws=300, seed=5, sampler=sampler, chunk_draws=300, progress=False)
    chunked = bs.run(reference, draws=300, seed=5, sampler=sampler, chunk_draws=37, progress=False)
    assert whole.timings["chunk_draws"] == 300 and chunked.timings["chunk_draws"] == 37
    for key in whole.scalars:
        np.testing.assert_array_equal(whole.scalars[key], chunked.scalars[key], err_msg=key)
    for key in whole.means:
        np.testing.assert_allclose(
            chunked.means[key], whole.means[key], rtol=1e-9, atol=1e-6, err_msg=key
        )
    for key in ("npv_below_zero_rk", "gain_below_zero_rk"):
        np.testing.assert_array_equal(whole.counts[key], chunked.counts[key])


def test_draw_source_chunks_concatenate_to_the_whole(reference):
    factors = uncertain_factors(reference)
    d = sum(f.n_dims for f in factors)
    for method in SAMPLERS:
        one = DrawSource(d, 500, 3, method).next(500)
        src = DrawSource(d, 500, 3, method)
        parts = np.concatenate([src.next(n) for n in (1, 99, 256, 144)])
        np.testing.assert_array_equal(one, parts, err_msg=method)


# ------------------------------------------------------------------------------------ percentiles
@pytest.fixture(scope="module")
def mc_result(reference):
    return bs.run(reference, draws=500, seed=2, progress=False)


def test_summary_percentiles_are_ordered_and_bracket_the_median(mc_result):
    s = mc_result.summary()
    assert len(s) == len(mc_result.rule_names) * len(mc_result.party_ids)
    for what in ("npv", "cumulative"):
        p5, p50, p95 = (s[f"{what}_p{q}_yuan"].to_numpy() for q in (5, 50, 95))
        assert np.all(p5 <= p50) and np.all(p50 <= p95), what
        assert np.any(p5 < p95), what  # the inputs do spread the outcome
    npv = mc_result.scalars["npv_rdk"]
    np.testing.assert_allclose(s["npv_p50_yuan"], np.median(npv, axis=1).reshape(-1), rtol=1e-12)
    assert s["prob_net_negative"].between(0, 1).all()


def test_annual_percentiles_are_ordered(mc_result):
    a = mc_result.annual()
    assert {"amount_p5_yuan", "amount_p50_yuan", "amount_p95_yuan"} <= set(a.columns)
    assert (a["amount_p5_yuan"] <= a["amount_p50_yuan"] + 1e-6).all()
    assert (a["amount_p50_yuan"] <= a["amount_p95_yuan"] + 1e-6).all()
    assert (a["amount_p95_yuan"] - a["amount_p5_yuan"]).max() > 0


# ------------------------------------------------------------------------------------ zero width
def _neutral(dist: dict, apply: str) -> dict:
    """A degenerate distribution at the input's central value (1 to multiply, 0 to add)."""
    c = 1.0 if apply == "multiply" else 0.0
    name = dist["name"]
    params = {
        "uniform": {"low": c, "high": c},
        "triangular": {"low": c, "mode": c, "high": c},
        "normal": {"mean": c, "sd": 0.0},
        "truncnormal": {"mean": c, "sd": 0.0, "low": c - 0.5, "high": c + 0.5},
        "lognormal": {"median": 1.0, "sigma": 0.0},
        "beta": {"a": 2.0, "b": 2.0, "low": c, "high": c},
        "discrete": {"values": [c], "probabilities": [1.0]},
    }[name]
    return {"name": name, "params": params}


def _zero_width(scenario, *, keep_landing=False):
    """The scenario with every input degenerate; the landing draw removed (or kept alone)."""
    inputs = []
    for raw in copy.deepcopy(scenario.raw["uncertainty"]["inputs"]):
        if raw["target"] == "projects.landing_probability":
            if keep_landing:
                inputs.append(raw)
            continue
        if raw["distribution"]["name"] == "lognormal":
            assert raw.get("apply", "multiply") == "multiply"
        raw["distribution"] = _neutral(raw["distribution"], raw.get("apply", "multiply"))
        inputs.append(raw)
    return scenario.with_overrides({"uncertainty.inputs": inputs})


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_zero_width_inputs_reproduce_the_deterministic_run(reference, sampler):
    """Landing is drawn as 0/1 but the deterministic run uses its probability (an expected
    value), so the landing draw is left out here; every other input is made degenerate."""
    scn = _zero_width(reference)
    assert len(uncertain_factors(scn)) == len(uncertain_factors(reference)) - 1
    det = bs.run(reference)
    res = bs.run(scn, draws=64, seed=1, sampler=sampler, chunk_draws=25, progress=False)
    npv = res.scalars["npv_rdk"]
    np.testing.assert_allclose(
        npv, np.broadcast_to(det.scalars["npv_rdk"], npv.shape), rtol=1e-12, atol=1e-3
    )
    for key in ("pool_share_rdky", "retained_dky", "costs_cdky", "tax_dty", "standalone_dky"):
        np.testing.assert_allclose(
            res.means[key], det.means[key], rtol=1e-12, atol=1e-3, err_msg=key
        )
    s, d = res.summary(), det.summary()
    np.testing.assert_allclose(s["npv_yuan"], d["npv_yuan"], rtol=1e-12)
    np.testing.assert_allclose(s["npv_p5_yuan"], d["npv_yuan"], rtol=1e-12)
    np.testing.assert_allclose(s["npv_p95_yuan"], d["npv_yuan"], rtol=1e-12)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_landing_draws_average_to_the_deterministic_expected_value(reference, sampler):
    """With only landing uncertain, outcomes linear in landing (rules that split each year's
    pool by fixed shares) average to the deterministic run, which uses landing probabilities."""
    scn = _zero_width(reference, keep_landing=True)
    n = 2048
    res = bs.run(
        scn,
        draws=n,
        seed=4,
        sampler=sampler,
        rules=["host_keeps_all", "fixed_50_50"],
        progress=False,
    )
    det = bs.run(scn, rules=["host_keeps_all", "fixed_50_50"])
    npv = res.scalars["npv_rdk"]  # (R, D, K)
    assert npv.std(axis=1).max() > 0  # projects do fail to land in some draws
    tol = 5 * npv.std(axis=1) / np.sqrt(n) + 1e-6
    mean = res.summary()["npv_yuan"].to_numpy().reshape(tol.shape)
    assert np.all(np.abs(mean - det.summary()["npv_yuan"].to_numpy().reshape(tol.shape)) <= tol)


# ------------------------------------------------------------------------------------ sampler moments
_DISTS = [
    {"name": "uniform", "params": {"low": 0.6, "high": 1.3}},
    {"name": "triangular", "params": {"low": 0.7, "mode": 1.0, "high": 1.2}},
    {"name": "normal", "params": {"mean": 0.01, "sd": 0.02}},
    {"name": "truncnormal", "params": {"mean": 1.0, "sd": 0.1, "low": 0.85, "high": 1.25}},
    {"name": "lognormal", "params": {"median": 1.0, "sigma": 0.3}},
    {"name": "beta", "params": {"a": 2.0, "b": 5.0, "low": 0.5, "high": 1.5}},
    {"name": "discrete", "params": {"values": [0, 1, 3], "probabilities": [0.5, 0.3, 0.2]}},
    {"name": "bernoulli", "params": {"p": 0.3}},
]
_TARGET = {
    "discrete": ("projects.start_year", "add"),
    "bernoulli": ("projects.landing_probability", "replace"),
}


def _factor(tiny, dist: dict) -> Factor:
    target, apply = _TARGET.get(dist["name"], ("model.sales_growth_rate", "add"))
    return Factor(UncertainInput(name="x", target=target, apply=apply, distribution=dist), tiny)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("dist", _DISTS, ids=[d["name"] for d in _DISTS])
def test_sampler_moments_match_the_distribution(tiny, dist, sampler):
    n = 4096
    f = _factor(tiny, dist)
    x = f.values(DrawSource(1, n, 9, sampler).next(n))[:, 0]
    ref = frozen_distribution(f.spec.distribution)
    mean, var, kurt = (float(v) for v in ref.stats(moments="mvk"))
    mu4 = (kurt + 3.0) * var**2
    assert abs(x.mean() - mean) <= 5 * np.sqrt(var / n)
    assert abs(x.var() - var) <= 5 * np.sqrt((mu4 - var**2) / n) + 1e-12
    # every draw lies in the support
    lo, hi = ref.support()
    assert x.min() >= lo and x.max() <= hi


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_per_project_landing_draws_land_with_each_projects_probability(reference, sampler):
    n = 4096
    f = next(
        f for f in uncertain_factors(reference) if f.spec.target == "projects.landing_probability"
    )
    assert f.landing_p is not None and f.n_dims == len(reference.projects)
    x = f.values(DrawSource(f.n_dims, n, 21, sampler).next(n))
    p = f.landing_p
    assert set(np.unique(x)) <= {0.0, 1.0}
    assert np.all(np.abs(x.mean(axis=0) - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12)


def test_latin_hypercube_has_one_point_per_stratum_in_every_dimension():
    n, d = 1000, 6
    src = DrawSource(d, n, 8, "lhs")
    u = np.concatenate([src.next(k) for k in (333, 333, 334)])
    strata = np.floor(u * n).astype(int)
    for j in range(d):
        assert np.array_equal(np.sort(strata[:, j]), np.arange(n)), j
    # the dimensions are permuted independently
    assert abs(stats.spearmanr(u[:, 0], u[:, 1]).statistic) < 5 / np.sqrt(n)


def test_sobol_points_are_balanced():
    n, d = 1024, 4
    u = DrawSource(d, n, 8, "sobol").next(n)
    for j in range(d):  # one point in each interval [k/n, (k+1)/n)
        assert np.array_equal(np.sort(np.floor(u[:, j] * n).astype(int)), np.arange(n)), j
    # the first two dimensions form a (0, 10, 2)-net: one point in each 32 x 32 box
    boxes = np.floor(u[:, 0] * 32).astype(int) * 32 + np.floor(u[:, 1] * 32).astype(int)
    assert np.array_equal(np.sort(boxes), np.arange(n))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_correlated_inputs_have_the_target_rank_correlation(reference, sampler):
    n = 16384
    factors = uncertain_factors(reference)
    corr = reference.spec.uncertainty.correlation
    assert corr is not None and corr.names == ["output_new_energy", "output_other"]
    target = corr.matrix[0][1]
    d = sum(f.n_dims for f in factors)
    u = DrawSource(d, n, 13, sampler, correlation_columns(factors, corr)).next(n)
    values = dict(zip([f.name for f in factors], split_columns(factors, u), strict=True))
    tol = 5 / np.sqrt(n - 3)
    rho = stats.spearmanr(values["output_new_energy"][:, 0], values["output_other"][:, 0]).statistic
    assert abs(rho - target) <= tol
    # inputs outside the correlation block stay independent
    rho0 = stats.spearmanr(
        values["output_new_energy"][:, 0], values["profit_margin"][:, 0]
    ).statistic
    assert abs(rho0) <= tol


# ------------------------------------------------------------------------------------ conservation
def test_parties_shares_sum_to_the_pool_in_every_draw(seeded_runs):
    for sampler, (res, _, _) in seeded_runs.items():
        shares = res.paths["pool_share_rdky"]  # (R, D, K, Y)
        pool = res.paths["pool_dy"]  # (D, Y)
        assert shares.shape[1] == DRAWS
        gap = np.abs(shares.sum(axis=2) - pool[None])
        assert gap.max() <= 1e-6, (sampler, res.rule_names[int(np.argmax(gap.max(axis=(1, 2))))])
        # the per-draw pool totals kept as scalars agree with the paths
        np.testing.assert_allclose(res.scalars["pool_total_d"], pool.sum(axis=-1), rtol=1e-12)
        np.testing.assert_allclose(
            res.scalars["pool_share_total_rdk"].sum(axis=-1),
            np.broadcast_to(pool.sum(axis=-1), shares.shape[:2]),
            rtol=1e-9,
            atol=1e-6,
        )


# ------------------------------------------------------------------------------------ errors
def _with(reference, overrides):
    return lambda: bs.load_scenario(reference.path, overrides=overrides)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (
            {
                "uncertainty.inputs[sales_growth].distribution": {
                    "name": "normal",
                    "params": {"mean": 0.0, "sd": -0.1},
                }
            },
            r"uncertainty\.inputs\[4\]\.distribution: sd must be >= 0, got -0\.1",
        ),
        (
            {
                "uncertainty.inputs[profit_margin].distribution": {
                    "name": "uniform",
                    "params": {"low": 1.3, "high": 0.6},
                }
            },
            r"uncertainty\.inputs\[2\]\.distribution: low \(1\.3\) must not exceed high \(0\.6\)",
        ),
        (
            {"uncertainty.inputs[start_delay].distribution.params.probabilities": [0.5, 0.3, 0.1]},
            r"inputs\[6\]\.distribution: probabilities must be non-negative and sum to 1 \(they sum to 0\.9\)",
        ),
        (
            {"uncertainty.inputs[profit_margin].distribution.params": {"low": 0.5}},
            r"uniform needs parameters \['high', 'low'\]; missing \['high'\]",
        ),
        (
            {"uncertainty.inputs[landing].distribution.params": {"p": 1.5}},
            r"p must be between 0 and 1, got 1\.5",
        ),
        (
            {
                "uncertainty.inputs[land_price].distribution": {
                    "name": "lognormal",
                    "params": {"median": 0.0, "sigma": 0.2},
                }
            },
            r"lognormal needs median > 0",
        ),
        (
            {"uncertainty.inputs[profit_margin].distribution.name": "gamma"},
            r"inputs\[2\]\.distribution\.name = 'gamma': Input should be 'uniform'",
        ),
        (
            {"uncertainty.inputs[profit_margin].target": "projects.profit_margn"},
            r"unknown target 'projects\.profit_margn'; did you mean 'projects\.profit_margin'\?",
        ),
        (
            {"uncertainty.inputs[output_new_energy].sectors": ["new_energi"]},
            r"inputs\[0\]\.sectors\[0\] = 'new_energi': unknown sector; did you mean 'new_energy'\?",
        ),
        (
            {"uncertainty.inputs[land_price].parks": ["haifeng_prk"]},
            r"inputs\[5\]\.parks\[0\] = 'haifeng_prk': unknown park; did you mean 'haifeng_park'\?",
        ),
        (
            {
                "uncertainty.correlation": {
                    "names": ["output_new_energy", "output_other", "profit_margin"],
                    "matrix": [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]],
                }
            },
            r"uncertainty\.correlation: matrix is not positive semi-definite",
        ),
        (
            {"uncertainty.correlation.names": ["output_new_energy", "output_othr"]},
            r"correlation names unknown input 'output_othr'",
        ),
        ({"uncertainty.correlation.matrix": [[1.0, 0.6], [0.5, 1.0]]}, r"matrix must be symmetric"),
        (
            {"uncertainty.inputs[sales_growth].sectors": ["ai"]},
            r"model\.sales_growth_rate is scenario wide",
        ),
    ],
    ids=[
        "sd<0",
        "low>high",
        "probabilities",
        "missing-param",
        "bernoulli-p",
        "lognormal-median",
        "unknown-name",
        "unknown-target",
        "unknown-sector",
        "unknown-park",
        "not-psd",
        "correlation-unknown-input",
        "asymmetric",
        "filter-on-model-input",
    ],
)
def test_invalid_uncertainty_gets_a_clear_error(reference, overrides, match):
    with pytest.raises(bs.ScenarioError, match=match):
        _with(reference, overrides)()


def test_every_problem_is_reported_at_once(reference):
    with pytest.raises(bs.ScenarioError) as info:
        bs.load_scenario(
            reference.path,
            overrides={
                "uncertainty.inputs[output_new_energy].sectors": ["new_energi"],
                "uncertainty.inputs[land_price].parks": ["haifeng_prk"],
            },
        )
    assert len(info.value.problems) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"draws": 0}, r"draws = 0: must be a whole number >= 1"),
        ({"draws": 2.5}, r"draws = 2\.5: must be a whole number >= 1"),
        ({"draws": True}, r"draws = True"),
        ({"draws": 10, "seed": -1}, r"seed = -1: must be a non-negative whole number"),
        ({"draws": 10, "seed": 1.5}, r"seed = 1\.5"),
        ({"draws": 10, "sampler": "foo"}, r"sampler = 'foo': must be one of mc, lhs, sobol"),
        ({"draws": 10, "chunk_draws": 0}, r"chunk_draws = 0"),
    ],
)
def test_run_arguments_are_checked(tiny, kwargs, match):
    with pytest.raises(bs.ScenarioError, match=match):
        bs.run(tiny, **kwargs)
