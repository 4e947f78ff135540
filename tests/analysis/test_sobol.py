"""Sobol indices: analytic cases, the Saltelli, jackknife and BCa estimators, scenario Sobol."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import benefitshare as bs
from benefitshare.analysis.sobol import (
    bca_intervals,
    jackknife_indices,
    saltelli_2010_indices,
    sobol,
    sobol_from_function,
)
from benefitshare.cli import main
from benefitshare.model.draws import uncertain_factors

RULE = "fixed_50_50"
OUTCOME = f"npv:shanwei:{RULE}"


def _within_ci(df, truth: dict, col: str, slack: float = 1e-3):
    """Each estimate is within twice its interval's half-width (at least ``slack``) of the truth."""
    for _, row in df.iterrows():
        half = max((row[f"{col}_high"] - row[f"{col}_low"]) / 2, slack)
        assert abs(row[col] - truth[row["input"]]) <= 2 * half, (
            row["input"],
            col,
            row[col],
            truth[row["input"]],
        )


# -------------------------------------------------------------------------------- analytic cases
def test_linear_function_has_analytic_indices():
    """``y = 1 x1 + 2 x2 + 3 x3`` with uniform inputs: S_i = ST_i = a_i^2 / sum a^2."""
    a = np.array([1.0, 2.0, 3.0])
    df = sobol_from_function(
        lambda x: a @ x,
        [stats.uniform(0, 1)] * 3,
        n=2**12,
        seed=3,
        names=["a1", "a2", "a3"],
        n_resamples=199,
    )
    truth = dict(zip(["a1", "a2", "a3"], a**2 / (a**2).sum(), strict=True))
    _within_ci(df, truth, "first_order")
    _within_ci(df, truth, "total_order")
    assert list(df["input"]) == ["a3", "a2", "a1"]  # sorted by total index


def test_ishigami_function_has_its_known_indices():
    """Ishigami (a=7, b=0.1) on [-pi, pi]^3: the standard analytic test of Sobol estimators."""
    a, b = 7.0, 0.1

    def ishigami(x):
        return np.sin(x[0]) + a * np.sin(x[1]) ** 2 + b * x[2] ** 4 * np.sin(x[0])

    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    first = {"x1": v1 / var, "x2": v2 / var, "x3": 0.0}
    total = {"x1": (v1 + v13) / var, "x2": v2 / var, "x3": v13 / var}
    df = sobol_from_function(
        ishigami,
        [stats.uniform(-np.pi, 2 * np.pi)] * 3,
        n=2**13,
        seed=1,
        names=["x1", "x2", "x3"],
        n_resamples=199,
    )
    _within_ci(df, first, "first_order")
    _within_ci(df, total, "total_order")
    s = df.attrs["settings"]
    assert (s.n, s.n_evaluations, s.method, s.n_resamples) == (
        2**13,
        2**13 * 5,
        "saltelli_2010",
        199,
    )


def test_indices_match_scipy_and_intervals_are_reproducible():
    dists = [stats.uniform(0, 1), stats.norm(0, 1)]

    def f(x):
        return x[0] * np.exp(x[1] / 3)

    one = sobol_from_function(f, dists, n=256, seed=7, n_resamples=99)
    two = sobol_from_function(f, dists, n=256, seed=7, n_resamples=99)
    pd.testing.assert_frame_equal(one, two)  # intervals included: the bootstrap is seeded
    other = sobol_from_function(f, dists, n=256, seed=8, n_resamples=99)
    assert not np.allclose(one["first_order"], other["first_order"])
    ref = stats.sobol_indices(
        func=lambda x: f(x)[None],
        n=256,
        dists=dists,
        rng=np.random.default_rng(np.random.SeedSequence(7).spawn(2)[0]),
    )
    by = one.set_index("input")
    np.testing.assert_allclose(by.loc[["x0", "x1"], "first_order"], ref.first_order, rtol=1e-12)
    np.testing.assert_allclose(by.loc[["x0", "x1"], "total_order"], ref.total_order, rtol=1e-12)
    assert (one["first_order_low"] < one["first_order_high"]).all()
    assert (one["total_order_low"] < one["total_order_high"]).all()
    assert one.attrs["settings"].seed == {"entropy": 7, "spawn_key": []}


def _toy_sample(n=64, d=3):
    rng = np.random.default_rng(0)
    f_A, f_B = rng.normal(size=n), rng.normal(size=n)
    f_AB = f_A + 0.5 * rng.normal(size=(d, n)) * np.arange(1, d + 1)[:, None]
    mean = np.mean([f_A, f_B])
    return f_A - mean, f_B - mean, f_AB - mean


def _statistic(f_A, f_B, f_AB):
    def statistic(idx, axis=-1):
        idx = np.asarray(idx)
        return np.concatenate(saltelli_2010_indices(f_A[idx], f_B[idx], f_AB[:, idx]), axis=0)

    return statistic


def test_closed_form_jackknife_equals_leaving_each_row_out():
    f_A, f_B, f_AB = _toy_sample()
    stat = _statistic(f_A, f_B, f_AB)
    brute = np.stack([stat(np.delete(np.arange(f_A.size), i)) for i in range(f_A.size)], axis=1)
    np.testing.assert_allclose(jackknife_indices(f_A, f_B, f_AB), brute, rtol=1e-10, atol=1e-12)


def test_bca_intervals_equal_scipy_bootstrap_on_the_same_resamples():
    f_A, f_B, f_AB = _toy_sample()
    low, high = bca_intervals(f_A, f_B, f_AB, 0.9, 499, np.random.default_rng(5), batch_floats=1000)
    ref = stats.bootstrap(
        [np.arange(f_A.size)],
        _statistic(f_A, f_B, f_AB),
        n_resamples=499,
        vectorized=True,
        method="BCa",
        confidence_level=0.9,
        rng=np.random.default_rng(5),
    )
    np.testing.assert_allclose(low, ref.confidence_interval.low, rtol=1e-12)
    np.testing.assert_allclose(high, ref.confidence_interval.high, rtol=1e-12)


def test_an_input_the_function_ignores_gets_zero_indices_and_interval():
    df = sobol_from_function(
        lambda x: x[0] ** 2,
        [stats.uniform(0, 1), stats.uniform(0, 1)],
        n=128,
        seed=1,
        names=["used", "ignored"],
        n_resamples=99,
    )
    row = df.set_index("input").loc["ignored"]
    assert row["first_order"] == 0 and row["total_order"] == 0
    assert row["total_order_low"] == 0 and row["total_order_high"] == 0


def test_groups_of_one_row_give_the_ungrouped_analysis():
    dists = [stats.uniform(0, 1), stats.norm(0, 1), stats.uniform(0, 0.5)]

    def f(x):
        return x[0] * np.exp(x[1] / 3) + x[2]

    plain = sobol_from_function(f, dists, n=256, seed=3, n_resamples=99)
    grouped = sobol_from_function(f, dists, n=256, seed=3, groups=[0, 1, 2], n_resamples=99)
    assert list(plain["input"]) == list(grouped["input"])
    cols = [c for c in plain.columns if c != "input"]
    np.testing.assert_allclose(
        grouped[cols].to_numpy(), plain[cols].to_numpy(), rtol=1e-9, atol=1e-12
    )
    assert grouped.attrs["settings"].groups == (0, 1, 2)


def test_group_indices_of_a_sum_are_the_groups_variance_shares():
    """``y = x1 + x2 + x3 + x4`` (uniform): the group {x1, x2, x3} has 3/4 of the variance."""
    df = sobol_from_function(
        lambda x: x.sum(axis=0),
        [stats.uniform(0, 1)] * 4,
        n=2**11,
        seed=1,
        groups=[0, 0, 0, 1],
        names=["three", "one"],
        n_resamples=199,
    )
    truth = {"three": 0.75, "one": 0.25}
    _within_ci(df, truth, "first_order")
    _within_ci(df, truth, "total_order")
    assert df.attrs["settings"].n_evaluations == 2**11 * 4
    with pytest.raises(
        bs.ScenarioError, match=r"groups = \[0, 2\]: give each distribution's group"
    ):
        sobol_from_function(lambda x: x[0], [stats.uniform(0, 1)] * 2, n=64, groups=[0, 2])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 1000}, r"n = 1000: must be a power of two"),
        ({"n": 1}, r"n = 1"),
        ({"seed": -3}, r"seed = -3"),
        ({"confidence_level": 1.5}, r"confidence_level = 1\.5"),
        ({"n_resamples": 0}, r"n_resamples = 0"),
    ],
)
def test_sobol_arguments_are_checked(kwargs, match):
    args = {"n": 64, "seed": 1} | kwargs
    with pytest.raises(bs.ScenarioError, match=match):
        sobol_from_function(lambda x: x[0], [stats.uniform(0, 1)], **args)


# -------------------------------------------------------------------------------- scenario Sobol
@pytest.fixture(scope="module")
def tiny_uncertain(tiny):
    """Tiny scenario: a wide output input, a narrow margin input, and a zero-width land price."""
    return tiny.with_overrides(
        {
            "uncertainty.inputs": [
                {
                    "name": "output",
                    "target": "projects.output_per_fixed_asset",
                    "distribution": {"name": "uniform", "params": {"low": 0.5, "high": 1.5}},
                },
                {
                    "name": "margin",
                    "target": "projects.profit_margin",
                    "distribution": {"name": "uniform", "params": {"low": 0.95, "high": 1.05}},
                },
                {
                    "name": "land_price",
                    "target": "parks.land_price_yuan_per_mu",
                    "distribution": {"name": "uniform", "params": {"low": 1.0, "high": 1.0}},
                },
            ]
        }
    )


def test_scenario_sobol_ranks_the_dominant_input_first_and_a_fixed_one_at_zero(tiny_uncertain):
    df = sobol(tiny_uncertain, "npv:shanwei:host", n=256, seed=2, n_resamples=99)
    by = df.set_index("input")
    assert df["input"].iloc[0] == "output"
    assert by.loc["output", "first_order"] > 0.8
    assert by.loc["output", "first_order"] > by.loc["margin", "total_order"]
    assert by.loc["land_price", ["first_order", "total_order"]].abs().max() < 1e-9
    s = df.attrs["settings"]
    assert (s.n, s.n_evaluations, s.outcome, s.scenario) == (
        256,
        256 * 5,
        "npv:shanwei:host",
        tiny_uncertain.name,
    )
    assert (
        s.inputs == ("output", "margin", "land_price")
        and s.common_draw == ()
        and s.ignored_correlation == ()
    )
    again = sobol(
        tiny_uncertain, "npv:shanwei:host", n=256, seed=2, n_resamples=99, chunk_draws=100
    )
    pd.testing.assert_frame_equal(df, again)  # chunking does not change the analysis


def test_grouped_per_project_inputs_follow_the_run(reference):
    """A per-project landing draw analysed per project (as the run draws it) explains less of
    the variance than a landing draw common to all projects, whose failures do not average out."""
    common = sobol(reference, OUTCOME, n=128, seed=1, n_resamples=49).set_index("input")
    grouped = sobol(reference, OUTCOME, n=128, seed=1, n_resamples=49, per_project="grouped")
    s = grouped.attrs["settings"]
    assert (s.per_project, s.common_draw) == ("grouped", ())
    assert len(s.groups) == sum(f.n_dims for f in uncertain_factors(reference))
    assert s.n_evaluations == 128 * (len(grouped) + 2)
    landing = grouped.set_index("input").loc["landing"]
    assert landing["total_order"] < common.loc["landing", "total_order"] / 2
    # the run's own variance split: removing the landing draw removes about its total index
    assert 0 < landing["first_order"] < 0.5
    with pytest.raises(
        bs.ScenarioError, match=r"per_project = 'each': must be 'common' or 'grouped'"
    ):
        sobol(reference, OUTCOME, n=32, per_project="each")


def test_reference_sobol_records_how_per_project_inputs_were_treated(reference):
    df = sobol(reference, OUTCOME, n=32, seed=1, n_resamples=49)
    s = df.attrs["settings"]
    assert s.common_draw == ("start_delay", "ramp_up_delay", "landing")
    assert s.ignored_correlation == ("output_new_energy", "output_other")
    assert s.inputs_sha256 == reference.input_files
    assert len(df) == len(reference.spec.uncertainty.inputs)
    assert np.isfinite(df[["first_order", "total_order"]].to_numpy()).all()


def test_cli_sobol_records_the_sample_settings(reference, tmp_path):
    status = main(
        [
            "sensitivity",
            str(reference.path),
            "--outcome",
            OUTCOME,
            "--method",
            "sobol",
            "--n",
            "32",
            "--seed",
            "5",
            "--resamples",
            "49",
            "--out",
            str(tmp_path),
            "--name",
            "s",
            "-q",
        ]
    )
    assert status == 0
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["settings"]["n"] == 32 and manifest["settings"]["seed"]["entropy"] == 5
    assert manifest["settings"]["n_resamples"] == 49
    assert (tmp_path / "s" / "sobol.png").stat().st_size > 0
