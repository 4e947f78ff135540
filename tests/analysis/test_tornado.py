"""Tornado: the table, agreement with deterministic runs, checked quantiles, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import benefitshare as bs
from benefitshare.analysis.tornado import tornado
from benefitshare.cli import main

RULE = "fixed_50_50"
OUTCOME = f"npv:shanwei:{RULE}"


# ------------------------------------------------------------------------------------ tornado
@pytest.fixture(scope="module")
def ref_tornado(reference):
    return tornado(reference, OUTCOME)


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
        tornado(reference, OUTCOME, low_q=0.9, high_q=0.1)
    with pytest.raises(bs.ScenarioError, match=r"high_q = 1\.0: must be a probability strictly"):
        tornado(reference, OUTCOME, high_q=1.0)


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
