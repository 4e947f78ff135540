"""Comparing rules: standalone values, gains, the win-win test, distances, fairness and timing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import benefitshare as bs
from benefitshare.analysis.compare import CRITERIA, compare_rules, net_transfer_rdy
from benefitshare.glossary import COST_KINDS
from benefitshare.scenario.load import scenario_from_dict

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
MONEY = 0.01  # yuan


@pytest.fixture(scope="module")
def tiny_cmp(tiny):
    return compare_rules(bs.run(tiny))


@pytest.fixture(scope="module")
def ref_cmp(reference):
    return compare_rules(bs.run(reference))


@pytest.fixture(scope="module")
def example():
    return bs.load_scenario(ROOT / "scenarios" / "compare_example.toml")


def _row(cmp, rule):
    return cmp.table.set_index("rule").loc[rule]


# ------------------------------------------------------------ standalone values
def test_partner_standalone_is_the_relocated_firms_tax_at_home_by_hand(tiny, tiny_cmp):
    """Tiny: firm T1 moved from Shenzhen with 25 million yuan a year of pre-move tax; Shenzhen keeps
    45% locally and the firm would surely have stayed (stay probability 1), with no growth; at 5%
    the standalone NPV is 0.45 * 25e6 * sum(1.05 ** -t, t = 0..9)."""
    cf = tiny.spec.counterfactual
    assert (cf.origin_local_share, cf.stay_probability) == (0.45, 1.0)
    by_hand = 0.45 * 25e6 * sum(1.05**-t for t in range(10))
    ref = tiny_cmp.reference.set_index("party")
    assert ref.loc["shenzhen", "standalone_npv_yuan"] == pytest.approx(by_hand, abs=MONEY)


def test_host_standalone_scales_with_one_minus_additionality(tiny):
    """Additionality 0: every non-relocated project comes anyway, so Shanwei's standalone value is
    the local revenue of those projects (its revenue under "host keeps all" with T1 removed is not
    needed: T1 is relocated and counts for Shenzhen only). Additionality a: (1 - a) times that."""

    def standalone(a):
        scn = tiny.with_overrides({"sectors.mfg.additionality": a})
        return compare_rules(bs.run(scn, rules=["host"])).reference.set_index("party")[
            "standalone_npv_yuan"
        ]

    full = standalone(0.0)
    assert full["shanwei"] > 0
    for a in (0.25, 0.5, 1.0):
        assert standalone(a)["shanwei"] == pytest.approx(
            (1 - a) * full["shanwei"], rel=1e-12, abs=MONEY
        )
        assert standalone(a)["shenzhen"] == pytest.approx(full["shenzhen"], abs=MONEY)


def test_host_standalone_is_the_local_revenue_of_projects_that_come_anyway(tiny, tmp_path):
    """With additionality 0 every non-relocated project comes anyway, so Shanwei's standalone value
    is the NPV of their local revenue: what Shanwei receives under "host keeps all" in a run
    without the relocated firm T1 (which would have stayed in Shenzhen)."""
    scn = tiny.with_overrides({"sectors.mfg.additionality": 0.0})
    standalone = compare_rules(bs.run(scn, rules=["host"])).reference.set_index("party")[
        "standalone_npv_yuan"
    ]
    projects = pd.read_csv(DATA / "tiny_projects.csv")
    projects[~projects.relocated].to_csv(tmp_path / "projects.csv", index=False)
    raw = {**scn.raw, "model": {**scn.raw["model"], "projects": "projects.csv"}}
    res = bs.run(scenario_from_dict(raw, base_dir=tmp_path), rules=["host"])
    k = res.party_ids.index("shanwei")
    revenue = res.means["pool_share_rdky"][0, k] + res.means["retained_dky"][k]
    assert standalone["shanwei"] == pytest.approx(
        (revenue * res.discount_factors_ky()[k]).sum(), abs=MONEY
    )


def test_gains_are_npv_minus_standalone(tiny, tiny_cmp):
    res = tiny_cmp.result
    summary = res.summary().set_index(["rule", "party"])
    ref = tiny_cmp.reference.set_index("party")
    for rule in res.rule_names:
        row = _row(tiny_cmp, rule)
        for p in res.party_ids:
            npv = summary.loc[(rule, p), "npv_yuan"]
            assert row[f"npv_{p}_yuan"] == pytest.approx(npv, abs=MONEY)
            assert row[f"gain_{p}_yuan"] == pytest.approx(
                npv - ref.loc[p, "standalone_npv_yuan"], abs=MONEY
            )


# ------------------------------------------------------------ win-win
def test_win_win_flag_follows_the_signs_of_the_gains(ref_cmp):
    t = ref_cmp.table
    both = (t["gain_shenzhen_yuan"] >= 0) & (t["gain_shanwei_yuan"] >= 0)
    assert (t["win_win"] == both).all()
    assert _row(ref_cmp, "fixed_50_50")["win_win"]
    assert not _row(ref_cmp, "host_keeps_all")["win_win"]
    # win-win rules are listed first
    assert list(t["win_win"]) == sorted(t["win_win"], reverse=True)


def test_negative_surplus_means_no_rule_is_win_win(tiny_cmp):
    assert tiny_cmp.surplus_yuan < 0
    assert not tiny_cmp.table["win_win"].any()
    assert any("surplus is negative" in n for n in tiny_cmp.notes)


# ------------------------------------------------------------ bargaining distances
def test_distance_to_shapley_is_the_npv_to_move(ref_cmp):
    ref = ref_cmp.reference.set_index("party")
    phi = ref["shapley_yuan"]
    # two parties, one discount rate: Shapley = standalone + half the surplus = symmetric Nash
    half = ref_cmp.surplus_yuan / 2
    np.testing.assert_allclose(phi, ref["standalone_npv_yuan"] + half, atol=MONEY)
    np.testing.assert_allclose(ref["nash_yuan"], phi, atol=MONEY)
    for _, row in ref_cmp.table.iterrows():
        assert row["to_shapley_yuan"] == pytest.approx(
            abs(row["npv_shenzhen_yuan"] - phi["shenzhen"]), abs=MONEY
        )


def test_bargaining_rules_reach_their_splits(example):
    cmp = compare_rules(bs.run(example))
    for rule in ("shapley_split", "nash_split"):
        row = _row(cmp, rule)
        assert row["to_shapley_yuan"] == pytest.approx(0.0, abs=1.0)
        assert row["win_win"]
    assert list(cmp.table["rule"][:2]) == ["shapley_split", "nash_split"]


def test_weighted_nash_moves_the_nash_split(reference):
    res = bs.run(reference)
    sym = compare_rules(res)
    tilted = compare_rules(res, nash_weights={"shenzhen": 3, "shanwei": 1})
    s, t = sym.reference.set_index("party"), tilted.reference.set_index("party")
    gain = t["nash_yuan"] - t["standalone_npv_yuan"]
    assert gain["shenzhen"] == pytest.approx(0.75 * sym.surplus_yuan, abs=MONEY)
    assert t.loc["shenzhen", "nash_yuan"] > s.loc["shenzhen", "nash_yuan"]


# ------------------------------------------------------------ fairness and timing
def test_fairness_is_share_of_gain_over_share_of_contributions(ref_cmp):
    res = ref_cmp.result
    df = res.discount_factors_ky()
    contrib = sum(
        (res.means["costs_cdky"][COST_KINDS.index(c)] * df).sum(axis=-1)
        for c in ("infrastructure", "land_acquisition", "platform_capital")
    )
    np.testing.assert_allclose(ref_cmp.reference["contribution_yuan"], contrib, atol=MONEY)
    row = _row(ref_cmp, "fixed_50_50")
    g = np.array([row["gain_shenzhen_yuan"], row["gain_shanwei_yuan"]])
    expect = (g / g.sum()) / (contrib / contrib.sum())
    assert row["fairness_shenzhen"] == pytest.approx(expect[0], rel=1e-9)
    assert row["fairness_shanwei"] == pytest.approx(expect[1], rel=1e-9)


def test_gain_gap(ref_cmp):
    for _, row in ref_cmp.table.iterrows():
        assert row["gain_gap_yuan"] == pytest.approx(
            row["gain_shenzhen_yuan"] - row["gain_shanwei_yuan"], abs=MONEY
        )


def test_front_loading_and_payback(ref_cmp):
    res = ref_cmp.result
    annual = res.annual()
    df = res.discount_factors_ky()
    summary = res.summary().set_index(["rule", "party"])
    for rule in ("fixed_50_50_10y", "host_keeps_all"):
        for k, p in enumerate(res.party_ids):
            a = annual[(annual.rule == rule) & (annual.party == p)].sort_values("year")
            disc = a["amount_yuan"].to_numpy() * df[k]
            early = disc[a["year"].to_numpy() < 2036].sum() / disc.sum()
            assert _row(ref_cmp, rule)[f"front_loading_{p}"] == pytest.approx(early, rel=1e-9)
            got = _row(ref_cmp, rule)[f"payback_{p}"]
            want = summary.loc[(rule, p), "payback_year"]
            assert pd.isna(got) == pd.isna(want)
            if not pd.isna(want):
                assert int(got) == int(want)
    # a 10-year term is more front-loaded for the partner than sharing forever
    assert (
        _row(ref_cmp, "fixed_50_50_10y")["front_loading_shenzhen"]
        > _row(ref_cmp, "fixed_50_50")["front_loading_shenzhen"]
    )


def test_transfers_and_their_volatility(ref_cmp):
    res = ref_cmp.result
    mean, paths = net_transfer_rdy(res)
    r = res.rule_names.index("fixed_50_50")
    np.testing.assert_allclose(mean[r], res.means["pool_share_rdky"][r, 0], atol=MONEY)
    assert np.all(mean[res.rule_names.index("host_keeps_all")] == 0)
    assert _row(ref_cmp, "host_keeps_all")["transfer_volatility"] == 0.0
    # a term that ends abruptly is more volatile than a steady ratio
    assert (
        _row(ref_cmp, "fixed_50_50_10y")["transfer_volatility"]
        > 5 * _row(ref_cmp, "fixed_50_50")["transfer_volatility"]
    )
    # the comparison gives the same transfers (its charts read them from it)
    c_mean, c_paths = ref_cmp.net_transfer_rdy()
    np.testing.assert_array_equal(c_mean, mean)
    np.testing.assert_array_equal(c_paths, paths)


# ------------------------------------------------------------ ranking
@pytest.mark.parametrize("by", list(CRITERIA))
def test_ranking_by_each_criterion(ref_cmp, by):
    cmp = compare_rules(ref_cmp.result, by=by, win_win_first=False)
    t = cmp.table
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    if by == "min_gain":
        key = t[["gain_shenzhen_yuan", "gain_shanwei_yuan"]].min(axis=1)
        assert key.is_monotonic_decreasing
    if by == "to_shapley":
        assert t["to_shapley_yuan"].is_monotonic_increasing


def test_bad_arguments(ref_cmp):
    with pytest.raises(ValueError, match="unknown ranking criterion 'best'"):
        compare_rules(ref_cmp.result, by="best")
    with pytest.raises(ValueError, match="loss_threshold"):
        compare_rules(ref_cmp.result, loss_threshold=1.5)
    with pytest.raises(ValueError, match="unknown cost kind"):
        compare_rules(ref_cmp.result, contribution_kinds=["roads"])


# ------------------------------------------------------------ with draws
def test_probability_of_loss_with_draws(example):
    res = bs.run(example, draws=64, seed=11, progress=False)
    cmp = compare_rules(res, loss_threshold=0.2)
    draws = res.draws_table()
    for rule in ("fixed_50_50", "shapley_split", "host_keeps_all"):
        row = _row(cmp, rule)
        for p in res.party_ids:
            d = draws[(draws.rule == rule) & (draws.party == p)]
            assert row[f"p_loss_{p}"] == pytest.approx((d["gain_yuan"] < 0).mean())
            lo, hi = np.percentile(d["gain_yuan"], [5, 95])
            assert row[f"gain_{p}_p5_yuan"] == pytest.approx(lo)
            assert row[f"gain_{p}_p95_yuan"] == pytest.approx(hi)
        gains_ok = row["gain_shenzhen_yuan"] >= 0 and row["gain_shanwei_yuan"] >= 0
        risk_ok = max(row["p_loss_shenzhen"], row["p_loss_shanwei"]) < 0.2
        assert row["win_win"] == (gains_ok and risk_ok)
    assert _row(cmp, "host_keeps_all")["p_loss_shenzhen"] == 1.0
    # a looser threshold can only admit more rules
    loose = compare_rules(res, loss_threshold=1.0)
    assert loose.table["win_win"].sum() >= cmp.table["win_win"].sum()


def test_charts_draw_one_point_per_rule(ref_cmp, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    fig = ref_cmp.plot_gains()
    ax = fig.axes[0]
    labels = [t.get_label() for t in ax.collections]
    assert sum(lbl.split(". ", 1)[0].isdigit() for lbl in labels) == len(ref_cmp.table)
    assert {"standalone (no agreement)", "Shapley split", "Nash bargaining split"} <= set(labels)
    fig2 = ref_cmp.plot_transfers()
    assert len(fig2.axes[0].lines) >= len(ref_cmp.table)
    from benefitshare.viz.compare import comparison_charts

    charts = comparison_charts(ref_cmp)
    assert set(charts) == {"gains.png", "transfers.png"}
    assert all(png.startswith(b"\x89PNG") for png in charts.values())


# ------------------------------------------------------------ command line
def test_cli_compare_writes_the_ranked_table_and_charts(tmp_path, capsys):
    from benefitshare.cli import main

    scenario = ROOT / "tests" / "data" / "tiny.toml"
    status = main(
        ["compare", str(scenario), "--out", str(tmp_path), "--by", "min_gain", "--name", "cmp"]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "ranked by min_gain" in out and "win_win" in out
    folder = tmp_path / "cmp"
    assert {p.name for p in folder.iterdir()} == {
        "comparison.csv",
        "reference_points.csv",
        "gains.png",
        "transfers.png",
        "manifest.json",
    }
    table = pd.read_csv(folder / "comparison.csv")
    expected = compare_rules(bs.run(bs.load_scenario(scenario)), by="min_gain").table
    assert list(table["rule"]) == list(expected["rule"])
    np.testing.assert_allclose(
        table["gain_shenzhen_yuan"], expected["gain_shenzhen_yuan"], rtol=1e-12
    )


@pytest.mark.parametrize(
    "extra",
    [
        ["--loss-threshold", "1.5"],
        ["--by", "best"],
        ["--draws", "0"],
        ["--set", "model.discount_rate=2"],
    ],
)
def test_cli_compare_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra):
    from benefitshare.cli import main

    status = main(
        ["compare", str(ROOT / "tests" / "data" / "tiny.toml"), "--out", str(tmp_path), *extra]
    )
    assert status == 2
    assert not any(tmp_path.iterdir())
    assert "Traceback" not in capsys.readouterr().err
