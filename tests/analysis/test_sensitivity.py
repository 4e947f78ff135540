"""Sensitivity: analytic Sobol indices, scenario-level tornado and Sobol, outcomes, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import benefitshare as bs
from benefitshare.analysis import sensitivity as S
from benefitshare.cli import main

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


# ------------------------------------------------------------------------------------ analytic cases
def test_linear_function_has_analytic_indices():
    """``y = 1 x1 + 2 x2 + 3 x3`` with uniform inputs: S_i = ST_i = a_i^2 / sum a^2."""
    a = np.array([1.0, 2.0, 3.0])
    df = S.sobol_from_function(
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
    df = S.sobol_from_function(
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

    one = S.sobol_from_function(f, dists, n=256, seed=7, n_resamples=99)
    two = S.sobol_from_function(f, dists, n=256, seed=7, n_resamples=99)
    pd.testing.assert_frame_equal(one, two)  # intervals included: the bootstrap is seeded
    other = S.sobol_from_function(f, dists, n=256, seed=8, n_resamples=99)
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
        return np.concatenate(S._saltelli_2010(f_A[idx], f_B[idx], f_AB[:, idx]), axis=0)

    return statistic


def test_closed_form_jackknife_equals_leaving_each_row_out():
    f_A, f_B, f_AB = _toy_sample()
    stat = _statistic(f_A, f_B, f_AB)
    brute = np.stack([stat(np.delete(np.arange(f_A.size), i)) for i in range(f_A.size)], axis=1)
    np.testing.assert_allclose(S._jackknife_indices(f_A, f_B, f_AB), brute, rtol=1e-10, atol=1e-12)


def test_bca_intervals_equal_scipy_bootstrap_on_the_same_resamples():
    f_A, f_B, f_AB = _toy_sample()
    low, high = S._bca_intervals(
        f_A, f_B, f_AB, 0.9, 499, np.random.default_rng(5), batch_floats=1000
    )
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
    df = S.sobol_from_function(
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

    plain = S.sobol_from_function(f, dists, n=256, seed=3, n_resamples=99)
    grouped = S.sobol_from_function(f, dists, n=256, seed=3, groups=[0, 1, 2], n_resamples=99)
    assert list(plain["input"]) == list(grouped["input"])
    cols = [c for c in plain.columns if c != "input"]
    np.testing.assert_allclose(
        grouped[cols].to_numpy(), plain[cols].to_numpy(), rtol=1e-9, atol=1e-12
    )
    assert grouped.attrs["settings"].groups == (0, 1, 2)


def test_group_indices_of_a_sum_are_the_groups_variance_shares():
    """``y = x1 + x2 + x3 + x4`` (uniform): the group {x1, x2, x3} has 3/4 of the variance."""
    df = S.sobol_from_function(
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
        S.sobol_from_function(lambda x: x[0], [stats.uniform(0, 1)] * 2, n=64, groups=[0, 2])


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
        S.sobol_from_function(lambda x: x[0], [stats.uniform(0, 1)], **args)


# ------------------------------------------------------------------------------------ outcomes
def test_outcome_strings_and_keywords(reference):
    assert S.parse_outcome(reference, OUTCOME) == S.Outcome("npv", "shanwei", RULE)
    assert S.parse_outcome(reference, "gain", party="shenzhen", rule=RULE) == S.Outcome(
        "gain", "shenzhen", RULE
    )
    assert S.parse_outcome(reference, "cumulative:shanwei", rule=RULE) == S.Outcome(
        "cumulative", "shanwei", RULE
    )
    assert S.parse_outcome(reference, "pool") == S.Outcome("pool")
    assert str(S.Outcome("npv", "shanwei", RULE)) == OUTCOME


@pytest.mark.parametrize(
    ("outcome", "kwargs", "match"),
    [
        (
            "nvp:shanwei:fixed_50_50",
            {},
            r"outcome metric = 'nvp': unknown metric; did you mean 'npv'\?",
        ),
        (
            "npv:shanwie:fixed_50_50",
            {},
            r"party = 'shanwie': unknown party; did you mean 'shanwei'\?",
        ),
        (
            "npv:shanwei:fixed_50_5",
            {},
            r"rule = 'fixed_50_5': unknown rule; did you mean 'fixed_50_50",
        ),
        ("npv:shanwei", {}, r"rule: 'npv' needs a rule; valid: host_keeps_all"),
        ("npv", {"rule": RULE}, r"party: 'npv' needs a party; valid: shenzhen, shanwei"),
        ("npv:shanwei:fixed_50_50", {"party": "shenzhen"}, r"the outcome names party 'shanwei'"),
        ("pool", {"party": "shanwei"}, r"'pool' is the whole pool: it takes no party"),
        ("npv:a:b:c", {}, r"write at most metric:party:rule"),
        ("", {}, r"give a metric"),
    ],
)
def test_bad_outcomes_get_clear_errors(reference, outcome, kwargs, match):
    with pytest.raises(bs.ScenarioError, match=match):
        S.parse_outcome(reference, outcome, **kwargs)


def test_outcome_values_agree_with_the_run_tables(reference):
    det = bs.run(reference)
    summary = det.summary().set_index(["rule", "party"])
    draws = det.draws().set_index(["rule", "party"])
    for rule in ("host_keeps_all", RULE, "relocation_92"):
        for party in det.party_ids:
            row = summary.loc[(rule, party)]
            central = {
                m: S.tornado(reference, f"{m}:{party}:{rule}").attrs["settings"].central_yuan
                for m in ("npv", "cumulative", "pool_share", "gain")
            }
            assert central["npv"] == pytest.approx(row["npv_yuan"], rel=1e-12)
            assert central["cumulative"] == pytest.approx(row["cumulative_yuan"], rel=1e-12)
            assert central["pool_share"] == pytest.approx(
                row["pool_share_yuan"], rel=1e-12, abs=1e-6
            )
            assert central["gain"] == pytest.approx(
                draws.loc[(rule, party), "gain_yuan"], rel=1e-12, abs=1e-3
            )
    pool = S.tornado(reference, "pool").attrs["settings"].central_yuan
    assert pool == pytest.approx(det.headline()["pool_yuan"], rel=1e-12)


# ------------------------------------------------------------------------------------ tornado
@pytest.fixture(scope="module")
def ref_tornado(reference):
    return S.tornado(reference, OUTCOME)


def test_tornado_table(reference, ref_tornado):
    df = ref_tornado
    names = [i.name for i in reference.spec.uncertainty.inputs]
    assert sorted(df["input"]) == sorted(names)
    assert list(df.columns[:6]) == [
        "input",
        "target",
        "apply",
        "value_unit",
        "low_value",
        "high_value",
    ]
    assert (np.diff(df["swing_yuan"]) <= 0).all()
    np.testing.assert_allclose(
        df["swing_yuan"], (df["outcome_high_yuan"] - df["outcome_low_yuan"]).abs()
    )
    s = df.attrs["settings"]
    assert (s.outcome, s.low_q, s.high_q, s.scenario) == (OUTCOME, 0.1, 0.9, "reference")
    by = df.set_index("input")
    # quantiles of the declared distributions
    assert by.loc["sales_growth", "low_value"] == pytest.approx(stats.norm(0, 0.01).ppf(0.1))
    assert by.loc["profit_margin", ["low_value", "high_value"]].tolist() == pytest.approx(
        [0.67, 1.23]
    )
    assert by.loc["start_delay", ["low_value", "high_value"]].tolist() == [
        0.0,
        1.0,
    ]  # P90 of {0: .6, 1: .3, 2: .1}
    # landing at P10 of each project's Bernoulli: only projects more than 90% likely land
    p = reference.projects.landing_probability
    assert by.loc["landing", "low_value"] == pytest.approx(np.mean(p > 0.9))
    assert by.loc["landing", "high_value"] == pytest.approx(np.mean(p > 0.1))
    assert (
        by.loc["landing", "outcome_low_yuan"]
        < s.central_yuan
        < by.loc["landing", "outcome_high_yuan"]
    )


def test_tornado_matches_deterministic_runs_with_the_input_moved(reference, ref_tornado):
    """The low and high outcomes are deterministic runs with the file's value moved."""
    by = ref_tornado.set_index("input")
    growth = reference.spec.model.sales_growth_rate[2026]
    for col in ("low", "high"):
        moved = (
            bs.run(
                reference.with_overrides(
                    {"model.sales_growth_rate": growth + by.loc["sales_growth", f"{col}_value"]}
                ),
                rules=[RULE],
            )
            .summary()
            .set_index("party")
            .loc["shanwei", "npv_yuan"]
        )
        assert by.loc["sales_growth", f"outcome_{col}_yuan"] == pytest.approx(moved, rel=1e-12)
        # a multiplier on a park field, mapped onto every project of each park
        k = by.loc["land_price", f"{col}_value"]
        over = {
            f"parks.{p}.land_price_yuan_per_mu": v.land_price_yuan_per_mu * k
            for p, v in reference.spec.parks.items()
        }
        moved = (
            bs.run(reference.with_overrides(over), rules=[RULE])
            .summary()
            .set_index("party")
            .loc["shanwei", "npv_yuan"]
        )
        assert by.loc["land_price", f"outcome_{col}_yuan"] == pytest.approx(moved, rel=1e-12)


def test_tornado_quantiles_are_checked(reference):
    with pytest.raises(bs.ScenarioError, match=r"low_q = 0\.9: must be below high_q"):
        S.tornado(reference, OUTCOME, low_q=0.9, high_q=0.1)
    with pytest.raises(bs.ScenarioError, match=r"high_q = 1\.0: must be a probability strictly"):
        S.tornado(reference, OUTCOME, high_q=1.0)


def test_a_scenario_without_uncertain_inputs_is_refused(tiny):
    with pytest.raises(bs.ScenarioError, match=r"declares no uncertain inputs"):
        S.tornado(tiny, "npv:shanwei:host")
    with pytest.raises(bs.ScenarioError, match=r"declares no uncertain inputs"):
        S.sobol(tiny, "npv:shanwei:host", n=64)


# ------------------------------------------------------------------------------------ scenario Sobol
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
    df = S.sobol(tiny_uncertain, "npv:shanwei:host", n=256, seed=2, n_resamples=99)
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
    again = S.sobol(
        tiny_uncertain, "npv:shanwei:host", n=256, seed=2, n_resamples=99, chunk_draws=100
    )
    pd.testing.assert_frame_equal(df, again)  # chunking does not change the analysis


def test_grouped_per_project_inputs_follow_the_run(reference):
    """A per-project landing draw analysed per project (as the run draws it) explains less of
    the variance than a landing draw common to all projects, whose failures do not average out."""
    common = S.sobol(reference, OUTCOME, n=128, seed=1, n_resamples=49).set_index("input")
    grouped = S.sobol(reference, OUTCOME, n=128, seed=1, n_resamples=49, per_project="grouped")
    s = grouped.attrs["settings"]
    assert (s.per_project, s.common_draw) == ("grouped", ())
    assert len(s.groups) == sum(f.n_dims for f in S.uncertain_factors(reference))
    assert s.n_evaluations == 128 * (len(grouped) + 2)
    landing = grouped.set_index("input").loc["landing"]
    assert landing["total_order"] < common.loc["landing", "total_order"] / 2
    # the run's own variance split: removing the landing draw removes about its total index
    assert 0 < landing["first_order"] < 0.5
    with pytest.raises(
        bs.ScenarioError, match=r"per_project = 'each': must be 'common' or 'grouped'"
    ):
        S.sobol(reference, OUTCOME, n=32, per_project="each")


def test_the_model_function_maps_each_column_onto_the_inputs(reference):
    """One column of x is one draw: here a model-wide additive input against deterministic runs."""
    scn = reference.with_overrides(
        {
            "uncertainty.inputs": [
                {
                    "name": "growth",
                    "target": "model.sales_growth_rate",
                    "apply": "add",
                    "distribution": {"name": "normal", "params": {"mean": 0.0, "sd": 0.01}},
                },
                {
                    "name": "margin",
                    "target": "projects.profit_margin",
                    "sectors": ["ai"],
                    "distribution": {"name": "uniform", "params": {"low": 1.0, "high": 1.0}},
                },
            ],
            "uncertainty.correlation": None,
        }
    )
    m = S.sensitivity_model(scn, OUTCOME, chunk_draws=2)
    assert m.names == ("growth", "margin")
    x = np.array([[-0.01, 0.0, 0.005, 0.02, -0.003], [1.0] * 5])
    y = m.func(x)
    assert y.shape == (1, 5)
    for j, dg in enumerate(x[0]):
        moved = bs.run(scn.with_overrides({"model.sales_growth_rate": 0.02 + dg}), rules=[RULE])
        assert y[0, j] == pytest.approx(
            moved.summary().set_index("party").loc["shanwei", "npv_yuan"], rel=1e-12
        )


def test_reference_sobol_records_how_per_project_inputs_were_treated(reference):
    df = S.sobol(reference, OUTCOME, n=32, seed=1, n_resamples=49)
    s = df.attrs["settings"]
    assert s.common_draw == ("start_delay", "ramp_up_delay", "landing")
    assert s.ignored_correlation == ("output_new_energy", "output_other")
    assert s.inputs_sha256 == reference.input_files
    assert len(df) == len(reference.spec.uncertainty.inputs)
    assert np.isfinite(df[["first_order", "total_order"]].to_numpy()).all()


# ------------------------------------------------------------------------------------ CLI
def test_cli_tornado_writes_table_chart_and_manifest(reference, tmp_path, capsys):
    status = main(
        [
            "sensitivity",
            str(reference.path),
            "--outcome",
            "npv",
            "--party",
            "shanwei",
            "--rule",
            RULE,
            "--method",
            "tornado",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "landing" in out and "central value" in out
    run = tmp_path / "reference_sensitivity_tornado"
    assert sorted(p.name for p in run.iterdir()) == [
        "manifest.json",
        "sensitivity.csv",
        "tornado.png",
    ]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["outcome"] == OUTCOME and manifest["method"] == "tornado"
    assert set(manifest["outputs_sha256"]) == {"sensitivity.csv", "tornado.png"}
    table = pd.read_csv(run / "sensitivity.csv")
    assert table["swing_yuan"].is_monotonic_decreasing


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


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--outcome", "npv:shanwie:fixed_50_50"], "did you mean 'shanwei'"),
        (["--outcome", OUTCOME, "--n", "64"], "--n = 64: applies only to --method sobol"),
        (["--outcome", OUTCOME, "--method", "sobol", "--n", "100"], "must be a power of two"),
        (
            ["--outcome", OUTCOME, "--method", "sobol", "--low-q", "0.2"],
            "applies only to --method tornado",
        ),
        (["--outcome", OUTCOME, "--name", "../x"], "run name"),
    ],
)
def test_cli_invalid_input_exits_2_and_writes_nothing(reference, tmp_path, capsys, args, match):
    out = tmp_path / "out"
    assert main(["sensitivity", str(reference.path), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
    assert not out.exists()
