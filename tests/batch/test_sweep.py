"""Sweeps: the sweep-file schema, designs, validation before running, resume, failure isolation.

The runs use a small scenario written next to each test: the tiny test scenario plus one uncertain
input (the land-use tax rate), so every variant's draws, and so its results, depend on its own
random stream.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_helpers import DATA, PLUGIN, sweep_dict, write_scenario, write_sweep_file

import benefitshare as bs
from benefitshare.analysis.sweep_effects import best_worst, lever_effects
from benefitshare.batch import store
from benefitshare.batch.plan import design_points, plan_variants, variant_overrides
from benefitshare.batch.spec import SweepError, SweepResumeError, load_sweep_spec


def cli(
    *args: str, env_extra: dict | None = None, cwd: Path | None = None, **popen
) -> subprocess.Popen:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "benefitshare.cli", "sweep", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


# ------------------------------------------------------------------------------------ schema
def test_sweep_file_errors_name_the_file_and_field(tmp_path):
    scenario = write_scenario(tmp_path)
    path = write_sweep_file(tmp_path, scenario)
    text = (
        path.read_text()
        .replace("values = [0.0, 0.02]", "vaules = [0.0, 0.02]")
        .replace("draws = 6", "draws = 0")
    )
    path.write_text(text)
    with pytest.raises(SweepError) as info:
        load_sweep_spec(path)
    message = str(info.value)
    assert "grid.toml: sweep.draws = 0" in message
    assert "uncertainties.inputs[0].vaules" in message and "unknown field" in message
    assert "problems in the sweep" in message


@pytest.mark.parametrize(
    ("group", "match"),
    [
        (
            {
                "design": "grid",
                "inputs": [{"name": "x", "path": "model.discount_rate", "low": 0.0, "high": 1.0}],
            },
            "design 'grid' takes values",
        ),
        (
            {
                "design": "lhs",
                "inputs": [{"name": "x", "path": "model.discount_rate", "low": 0.0, "high": 1.0}],
            },
            "needs samples",
        ),
        (
            {
                "design": "sobol",
                "samples": 12,
                "inputs": [{"name": "x", "path": "a", "low": 0.0, "high": 1.0}],
            },
            "power of two points: use samples = 8 or 16",
        ),
        (
            {"design": "list", "inputs": [{"name": "x", "path": "a"}], "points": [{"y": 1}]},
            "unknown inputs",
        ),
        (
            {
                "design": "grid",
                "inputs": [{"name": "x", "path": "a", "values": ["a"], "apply": "add"}],
            },
            "needs numeric values",
        ),
        (
            {"design": "grid", "inputs": [{"name": "npv_yuan", "path": "a", "values": [1]}]},
            "columns of the results",
        ),
        (
            {"design": "grid", "inputs": [{"name": "x", "path": "a", "values": [1, "b"]}]},
            "all numbers, all text",
        ),
        (
            {
                "design": "lhs",
                "samples": 4,
                "inputs": [{"name": "x", "path": "a", "low": 0.5, "high": 2.5, "integer": True}],
            },
            r"levers\.inputs\[0\]: integer = true",
        ),
    ],
)
def test_group_schema_errors(group, match):
    spec = {"sweep": {"scenarios": ["x.toml"], "seed": 1}, "levers": group}
    with pytest.raises(SweepError, match=match):
        load_sweep_spec(spec)


def test_a_sweep_needs_a_seed():
    with pytest.raises(SweepError, match=r"sweep\.seed: is required"):
        load_sweep_spec({"sweep": {"scenarios": ["x.toml"]}})


# ------------------------------------------------------------------------------------ designs
def test_grid_variants_cross_scenarios_levers_and_uncertainties_in_order(tmp_path):
    scenario = write_scenario(tmp_path)
    spec = sweep_dict(scenario, shares=(0.2, 0.8), growth=(0.0, 0.01, 0.02), seed=5)
    spec["sweep"]["scenarios"] = [str(scenario), str(DATA / "tiny.toml")]
    tasks, inputs = plan_variants(load_sweep_spec(spec))
    assert len(tasks) == 2 * 2 * 3
    assert [t.index for t in tasks] == list(range(12))
    assert [
        (t.scenario == str(scenario), t.values["partner_share"], t.values["growth"])
        for t in tasks[:6]
    ] == [
        (True, 0.2, 0.0),
        (True, 0.2, 0.01),
        (True, 0.2, 0.02),
        (True, 0.8, 0.0),
        (True, 0.8, 0.01),
        (True, 0.8, 0.02),
    ]
    assert all(t.scenario == str(DATA / "tiny.toml") for t in tasks[6:])
    assert tasks[4].overrides == {
        "rules[fixed_50_5y].params.shares.shenzhen": 0.8,
        "rules[fixed_50_5y].params.shares.shanwei": pytest.approx(0.2),
        "model.sales_growth_rate": 0.01,
    }
    # variant i's stream is child i of the sweep seed
    children = np.random.SeedSequence(5).spawn(12)
    for t in tasks:
        ss = np.random.SeedSequence(t.seed, spawn_key=t.spawn_key)
        assert np.array_equal(ss.generate_state(4), children[t.index].generate_state(4))
    assert len({t.fingerprint for t in tasks}) == 12
    assert any(name.endswith("tiny_projects.csv") for name in inputs)


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_sampled_designs_fill_their_box_and_repeat_with_the_seed(design):
    group = {
        "design": design,
        "samples": 16,
        "inputs": [
            {"name": "a", "path": "p", "low": 0.2, "high": 0.6},
            {"name": "k", "path": "q", "low": 0, "high": 3, "integer": True},
        ],
    }
    spec = load_sweep_spec({"sweep": {"scenarios": ["x.toml"], "seed": 3}, "levers": group}).spec
    points = design_points(spec.levers, 3, 0)
    a = np.array([p["a"] for _, p in points])
    k = np.array([p["k"] for _, p in points])
    assert len(points) == 16
    assert ((a >= 0.2) & (a <= 0.6)).all()
    # one point in each sixteenth of the range (true of Latin hypercube and of Sobol's first 16 points)
    assert sorted(np.floor((a - 0.2) / 0.4 * 16).astype(int)) == list(range(16))
    assert sorted(set(k.tolist())) == [0, 1, 2, 3] and all(isinstance(x, int) for x in k.tolist())
    assert [p for _, p in design_points(spec.levers, 3, 0)] == [p for _, p in points]
    assert [p for _, p in design_points(spec.levers, 4, 0)] != [p for _, p in points]
    assert [p for _, p in design_points(spec.levers, 3, 1)] != [p for _, p in points]


def test_list_design_takes_named_points(tmp_path):
    scenario = write_scenario(tmp_path)
    spec = sweep_dict(scenario)
    spec["levers"] = {
        "design": "list",
        "inputs": [
            {
                "name": "partner_share",
                "path": "rules[fixed_50_5y].params.shares.shenzhen",
                "complement": "rules[fixed_50_5y].params.shares.shanwei",
            },
            {"name": "term_years", "path": "rules[fixed_50_5y].params.term_years"},
        ],
        "points": [
            {"name": "liaoning", "partner_share": 0.5, "term_years": 10},
            {"partner_share": 0.3, "term_years": 3},
        ],
    }
    tasks, _ = plan_variants(load_sweep_spec(spec))
    assert [
        (t.lever_point, t.values["partner_share"], t.values["term_years"]) for t in tasks[::2]
    ] == [("liaoning", 0.5, 10), ("point 1", 0.3, 3)]
    assert tasks[2].overrides["rules[fixed_50_5y].params.term_years"] == 3


def test_add_and_multiply_act_on_every_number_at_the_path():
    spec = load_sweep_spec(
        {
            "sweep": {"scenarios": ["x.toml"], "seed": 1},
            "levers": {
                "design": "grid",
                "inputs": [
                    {"name": "shift", "path": "u.values", "apply": "add", "values": [2]},
                    {
                        "name": "scale",
                        "path": ["model.growth", "u.params"],
                        "apply": "multiply",
                        "values": [0.5],
                    },
                ],
            },
        }
    ).spec
    raw = {
        "model": {"growth": {"2026": 0.02, "2031": 0.04}},
        "u": {"values": [0, 1, 2], "params": {"low": 1.0, "ok": True}},
    }
    out = variant_overrides(spec.variables, {"shift": 2, "scale": 0.5}, raw)
    assert out == {
        "u.values": [2, 3, 4],
        "model.growth": {"2026": 0.01, "2031": 0.02},
        "u.params": {"low": 0.5, "ok": True},
    }
    assert raw["u"]["values"] == [0, 1, 2]  # the base is not changed
    with pytest.raises(KeyError, match="the base scenario has no value at 'values'"):
        variant_overrides(spec.variables[:1], {"shift": 1}, {"u": {}})


# ------------------------------------------------------------------------------------ validation
def test_every_invalid_variant_is_reported_before_anything_runs(tmp_path):
    scenario = write_scenario(tmp_path)
    path = write_sweep_file(
        tmp_path,
        scenario,
        shares=(0.5, 1.3),
        growth=(0.05, 0.9),
        uncertainty=("discount", "model.discount_rate"),
    )
    out = tmp_path / "out"
    with pytest.raises(SweepError) as info:
        bs.sweep(path, out=out, progress=False)
    message = str(info.value)
    # a discount rate of 0.9 breaks two variants (listed together), a share of 1.3 another
    assert message.startswith("3 problems in the sweep:")
    assert (
        "grid.toml: variant 1 (partner_share=0.5, discount=0.9); variant 3 (partner_share=1.3, discount=0.9): "
        "model.discount_rate = 0.9: Input should be less than or equal to 0.5" in message
    )
    assert (
        "grid.toml: variant 2 (partner_share=1.3, discount=0.05): rules[1].params.shares.shenzhen = 1.3"
        in message
    )
    assert "variant 0 " not in message
    assert not out.exists()


def test_a_path_that_names_no_field_is_reported(tmp_path):
    scenario = write_scenario(tmp_path)
    spec = sweep_dict(scenario)
    spec["levers"]["inputs"][0]["path"] = "rules[fixed_50_5].params.shares.shenzhen"
    with pytest.raises(
        SweepError,
        match=r"rules\[fixed_50_5\]\.params\.shares\.shenzhen = 0\.2: no item named "
        r"'fixed_50_5'; did you mean 'fixed_50_5y'\?",
    ):
        plan_variants(load_sweep_spec(spec))


def test_unknown_rule_and_report_party_are_reported(tmp_path):
    spec = sweep_dict(write_scenario(tmp_path))
    spec["sweep"]["rules"] = ["host", "fixd_50_5y"]
    spec["report"] = {"party": "beijing"}
    with pytest.raises(SweepError) as info:
        plan_variants(load_sweep_spec(spec))
    assert "did you mean 'fixed_50_5y'?" in str(info.value)
    assert "report.party = 'beijing'" in str(info.value)


# ------------------------------------------------------------------------------------ running
def test_sweep_results_match_single_runs(tmp_path):
    scenario = write_scenario(tmp_path)
    res = bs.sweep(sweep_dict(scenario, draws=5), out=tmp_path / "out", progress=False)
    assert res.ok and res.n_variants == 6 and res.n_failed == 0
    frame = res.frame
    assert len(frame) == 6 * 3 * 2
    assert list(frame.columns[:4]) == ["variant", "scenario", "partner_share", "growth"]
    # variant 4 = partner share 0.8, growth 0: the same as a direct run with its seed
    scn = bs.load_scenario(
        scenario,
        overrides={
            "rules[fixed_50_5y].params.shares.shenzhen": 0.8,
            "rules[fixed_50_5y].params.shares.shanwei": 0.2,
            "model.sales_growth_rate": 0.0,
        },
    )
    direct = bs.run(
        scn,
        draws=5,
        seed=np.random.SeedSequence(11).spawn(6)[4],
        rules=["host", "fixed_50_5y", "equity"],
    )
    mine = frame[frame["variant"] == 4].reset_index(drop=True)
    expected = direct.summary()
    for col in ("rule", "party", "npv_yuan", "npv_p5_yuan", "share_of_pool", "payback_year"):
        pd.testing.assert_series_equal(
            mine[col], expected[col], check_dtype=False, check_names=False
        )
    assert (mine["seed_child"] == 4).all() and (mine["seed"] == 11).all()
    assert np.allclose(mine["gain_yuan"], mine["npv_yuan"] - mine["standalone_npv_yuan"])
    # another child's stream gives other draws, so another spread of the same variant's results
    other = bs.run(
        scn,
        draws=5,
        seed=np.random.SeedSequence(11).spawn(6)[3],
        rules=["host", "fixed_50_5y", "equity"],
    )
    assert not np.array_equal(other.summary()["npv_p5_yuan"], mine["npv_p5_yuan"])


def test_resume_skips_finished_variants_and_reruns_missing_ones(tmp_path):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    first = bs.sweep(sweep_dict(scenario), out=out, progress=False)
    for index in (1, 4):
        store.variant_file(out, index).unlink()
    again = bs.sweep(sweep_dict(scenario), out=out, progress=False)
    assert again.n_skipped == 4 and again.n_done == 6
    pd.testing.assert_frame_equal(again.frame, first.frame, check_exact=True)
    manifest = store.read_manifest(out)
    assert [r["skipped"] for r in manifest["runs"]] == [0, 4]
    assert all(r["status"] == "done" and r["worker"] for r in manifest["variants"])


def test_a_changed_sweep_file_refuses_to_resume_unless_forced(tmp_path):
    scenario = write_scenario(tmp_path)
    path = write_sweep_file(tmp_path, scenario, growth=(0.0, 0.02))
    out = tmp_path / "out"
    first = bs.sweep(path, out=out, progress=False)
    path.write_text(path.read_text().replace("values = [0.0, 0.02]", "values = [0.0, 0.01]"))
    with pytest.raises(SweepResumeError, match=r"grid\.toml changed .*\n.*--force"):
        bs.sweep(path, out=out, progress=False)
    proc = cli(str(path), "--out", str(out), "--no-progress")
    _, err = proc.communicate(timeout=120)
    assert (
        proc.returncode == 2
        and "holds the results of a different sweep" in err
        and "Traceback" not in err
    )
    forced = bs.sweep(path, out=out, progress=False, resume="force")
    # growth 0 variants (0, 2, 4) are unchanged and kept; the growth 0.01 ones are new
    assert forced.n_skipped == 3 and forced.ok
    kept = forced.frame[forced.frame["growth"] == 0.0].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        kept, first.frame[first.frame["growth"] == 0.0].reset_index(drop=True)
    )
    fresh = bs.sweep(path, out=tmp_path / "fresh", progress=False)
    pd.testing.assert_frame_equal(forced.frame, fresh.frame, check_exact=True)


def test_a_changed_scenario_file_refuses_to_resume(tmp_path):
    scenario = write_scenario(tmp_path)
    path = write_sweep_file(tmp_path, scenario)
    bs.sweep(path, out=tmp_path / "out", progress=False)
    scenario.write_text(scenario.read_text().replace("high = 1.2", "high = 1.3"))
    with pytest.raises(SweepResumeError, match=r"tiny_uncertain\.toml changed since that run"):
        bs.sweep(path, out=tmp_path / "out", progress=False)


def test_failing_variants_are_recorded_and_the_rest_complete(tmp_path, monkeypatch):
    (tmp_path / "sweep_test_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    scenario = write_scenario(tmp_path, fragile=True)
    path = tmp_path / "fragile_sweep.toml"
    path.write_text(
        textwrap.dedent(f'''
        [sweep]
        scenarios = ["{scenario.name}"]
        rules = ["host", "fragile"]
        draws = 4
        seed = 2
        [levers]
        [[levers.inputs]]
        name = "break_at"
        path = "rules[fragile].params.break_at"
        values = [0.2, 0.6, 0.4, 0.9]
    ''')
    )
    res = bs.sweep(path, out=tmp_path / "api", progress=False, imports=["sweep_test_plugin"])
    assert (res.n_done, res.n_failed) == (2, 2)
    failed = res.status[res.status["status"] == "failed"]
    assert failed["variant"].tolist() == [1, 3]
    assert (
        failed["error"]
        .str.contains("RuntimeError: fragile_split cannot split at break_at=0.9")
        .any()
    )
    assert sorted(res.frame["variant"].unique()) == [0, 2]
    assert "2 failed" in res.report_text()
    # the command line: exit status 1 and a summary that says how many failed
    proc = cli(
        str(path),
        "--out",
        str(tmp_path / "cli"),
        "--import",
        "sweep_test_plugin",
        "--no-progress",
        env_extra={
            "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
        },
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "4 variants: 2 done" in out and "2 failed" in out and "variant 3: RuntimeError" in out
    assert "2 variants failed" in err
    pd.testing.assert_frame_equal(bs.load_sweep(tmp_path / "cli"), res.frame, check_exact=True)


def test_kill_9_at_any_moment_then_resume_gives_the_uninterrupted_result(tmp_path):
    scenario = write_scenario(tmp_path)
    path = write_sweep_file(
        tmp_path, scenario, draws=2500, shares=(0.1, 0.3, 0.5, 0.7, 0.9), growth=(0.0, 0.02)
    )
    out = tmp_path / "killed"
    args = (str(path), "--out", str(out), "--no-progress")
    variants = out / "variants"
    n_files = lambda: len(list(variants.glob("v*.parquet"))) if variants.is_dir() else 0  # noqa: E731
    for stop_at in (2, 5):  # kill twice, at different points of the run
        proc = cli(*args)
        deadline = time.monotonic() + 120
        while n_files() < stop_at and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        assert n_files() < 10, "the sweep finished before it could be killed; give it more work"
    before = n_files()
    proc = cli(*args)
    stdout, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"10 variants: 10 done ({before} from an earlier run)" in stdout
    resumed = bs.load_sweep(out)
    uninterrupted = bs.sweep(path, out=tmp_path / "whole", progress=False).frame
    pd.testing.assert_frame_equal(resumed, uninterrupted, check_exact=True)
    assert not list(out.rglob("*.part"))
    assert resumed.groupby(["variant", "rule", "party"]).size().eq(1).all()


# ------------------------------------------------------------------------------------ reporting
def _frame() -> pd.DataFrame:
    """A results table with a known structure: npv = 10 * a - b for rule r1, party p."""
    rows = []
    for i, (a, b) in enumerate([(a, b) for a in (1, 2, 3) for b in (0.0, 5.0)]):
        rows.append(
            {
                "variant": i,
                "scenario": "s",
                "a": a,
                "b": b,
                "rule": "r1",
                "party": "p",
                "npv_yuan": 10.0 * a - b,
            }
        )
        rows.append(
            {
                "variant": i,
                "scenario": "s",
                "a": a,
                "b": b,
                "rule": "r2",
                "party": "p",
                "npv_yuan": 0.0,
            }
        )
    return pd.DataFrame(rows)


def test_lever_effects_and_best_worst():
    frame = _frame()
    eff = lever_effects(
        frame, "npv_yuan", rule="r1", party="p", variables={"a": "lever", "b": "uncertainty"}
    )
    assert eff["input"].tolist() == ["a", "b"]  # sorted by spread
    a, b = eff.iloc[0], eff.iloc[1]
    assert (a["kind"], a["levels"], a["low"], a["high"]) == ("lever", 3, 1, 3)
    assert (
        a["effect"] == pytest.approx(20.0)
        and a["spread"] == pytest.approx(20.0)
        and a["spearman"]
        == pytest.approx(
            frame.query("rule == 'r1'")["a"]
            .rank()
            .corr(frame.query("rule == 'r1'")["npv_yuan"].rank())
        )
    )
    assert b["effect"] == pytest.approx(-5.0) and b["mean_at_low"] == pytest.approx(20.0)
    bw = best_worst(frame, "npv_yuan", rule="r1", party="p", top=2)
    assert bw["rank"].tolist() == ["best 1", "best 2", "worst 1", "worst 2"]
    assert bw["variant"].tolist() == [4, 5, 1, 0]
    with pytest.raises(ValueError, match="no rule 'r3'"):
        best_worst(frame, rule="r3")


@pytest.mark.parametrize("name", ["ratio_by_rampup", "economy_lhs"])
def test_example_sweeps_validate(name):
    path = Path(__file__).resolve().parents[2] / "scenarios" / "sweeps" / f"{name}.toml"
    loaded = load_sweep_spec(path)
    tasks, _ = plan_variants(loaded)
    sizes = {"ratio_by_rampup": (5 * 4, 1000), "economy_lhs": (40, 500)}
    assert (len(tasks), loaded.spec.sweep.draws) == sizes[name]
    assert loaded.spec.sweep.title and all(v.description for v in loaded.spec.variables)


def test_charts_draw_the_mean_of_each_cell_and_one_panel_per_input():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benefitshare.viz import sweep as plots_sweep

    frame = _frame()
    fig = plots_sweep.heatmap(frame, "a", "b", "npv_yuan", rule="r1", party="p")
    cells = np.asarray(fig.axes[0].images[0].get_array())
    assert np.allclose(
        cells, np.array([[10.0, 20.0, 30.0], [5.0, 15.0, 25.0]]) / 1e8
    )  # rows b, columns a
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["1", "2", "3"]
    fig2 = plots_sweep.metric_by_input(frame, "npv_yuan", party="p", variables=["a", "b"])
    panels = [ax for ax in fig2.axes if ax.get_visible()]
    assert len(panels) == 2 and [len(ax.get_lines()) for ax in panels] == [
        3,
        3,
    ]  # 2 rules + the zero line
    assert np.allclose(panels[0].get_lines()[0].get_ydata(), np.array([7.5, 17.5, 27.5]) / 1e8)
    plt.close("all")
    with pytest.raises(ValueError, match="no input 'c'"):
        plots_sweep.heatmap(frame, "a", "c")


def test_chart_style_keeps_interactive_mode_switched_on_inside_it():
    # In Jupyter the inline backend switches interactive mode on with the first figure; leaving
    # the style context must not switch it off again, or later figures are not shown.
    import matplotlib as mpl

    from benefitshare.viz import sweep as plots_sweep

    was = mpl.is_interactive()
    mpl.interactive(False)
    try:
        with plots_sweep.chart_style():
            mpl.interactive(True)
        assert mpl.is_interactive()
    finally:
        mpl.interactive(was)


def test_a_worker_with_other_source_files_fails_its_variant(tmp_path):
    import dataclasses

    from benefitshare.batch.plan import code_sha256
    from benefitshare.batch.worker import run_variant

    tasks, _ = plan_variants(load_sweep_spec(sweep_dict(write_scenario(tmp_path), draws=2)))
    assert tasks[0].code_sha256 == code_sha256()
    assert run_variant(tasks[0]).status == "done"
    stale = run_variant(dataclasses.replace(tasks[0], code_sha256="0" * 64))
    assert stale.status == "failed" and "other benefitshare source files" in stale.error
