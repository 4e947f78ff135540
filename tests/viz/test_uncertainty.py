"""Charts of runs with draws and of sensitivity analyses: values traced back to their source."""

from __future__ import annotations

import json
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

import benefitshare as bs  # noqa: E402
from benefitshare.analysis.sobol import sobol  # noqa: E402
from benefitshare.analysis.tornado import tornado  # noqa: E402
from benefitshare.cli import main  # noqa: E402
from benefitshare.glossary import YUAN_PER_YI  # noqa: E402
from benefitshare.viz import uncertainty as pu  # noqa: E402

RULES = ["host_keeps_all", "fixed_50_50", "relocation_92"]


@pytest.fixture(scope="module")
def draws_result(reference):
    return bs.run(reference, draws=200, seed=1, rules=RULES, progress=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_fan_chart_draws_percentile_bands_and_median_of_each_party(draws_result):
    fig = pu.fan_chart(draws_result)
    assert len(fig.axes) == len(RULES)
    revenue = draws_result.revenue_rdky / YUAN_PER_YI
    for r, ax in enumerate(fig.axes):
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 2 * len(draws_result.party_ids)  # P5-P95 and P25-P75 per party
        medians = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(draws_result.years)]
        assert len(medians) == len(draws_result.party_ids)
        for k, line in enumerate(medians):
            np.testing.assert_allclose(
                line.get_ydata(), np.median(revenue[r, :, k], axis=0), rtol=1e-12
            )
        # the outer band spans P5..P95 of the kept paths
        top = bands[0].get_paths()[0].vertices[:, 1].max()
        assert top == pytest.approx(np.percentile(revenue[r, :, 0], 95, axis=0).max(), rel=1e-9)
    assert "200 draws" in fig._suptitle.get_text()


def test_fan_chart_subsets_and_errors(draws_result, reference):
    fig = pu.fan_chart(draws_result, rules=["fixed_50_50"], parties=["shanwei"])
    assert len(fig.axes) == 1
    assert len(fig.axes[0].collections) == 2
    with pytest.raises(ValueError, match="rules not in this result: nope"):
        pu.fan_chart(draws_result, rules=["nope"])
    with pytest.raises(ValueError, match="parties not in this result: x; valid: shenzhen, shanwei"):
        pu.fan_chart(draws_result, parties=["x"])
    with pytest.raises(ValueError, match="run with draws > 1"):
        pu.fan_chart(bs.run(reference, rules=RULES))


def test_npv_violins_mark_each_rule_and_partys_median(draws_result):
    fig = pu.npv_distribution(draws_result)
    ax = fig.axes[0]
    bodies = [c for c in ax.collections if isinstance(c, PolyCollection)]
    R, K = len(RULES), len(draws_result.party_ids)
    assert len(bodies) == R * K
    npv = draws_result.scalars["npv_rdk"] / YUAN_PER_YI
    marked = set()
    for coll in ax.collections:
        for seg in getattr(coll, "get_segments", lambda: [])():
            if len(seg) == 2 and seg[0][0] == seg[1][0]:
                marked.add(round(float(seg[0][0]), 9))
    for r in range(R):
        for k in range(K):
            assert round(float(np.median(npv[r, :, k])), 9) in marked
    assert [t.get_text() for t in ax.get_yticklabels()][0].startswith("Host keeps all")
    assert "100 million yuan" in ax.get_xlabel()


def test_npv_box_plots_and_bad_kind(draws_result):
    fig = pu.npv_distribution(draws_result, kind="box", parties=["shanwei"])
    medians = sorted(
        float(line.get_xdata()[0]) for line in fig.axes[0].get_lines() if line.get_color() == "0.15"
    )
    npv = draws_result.scalars["npv_rdk"][:, :, 1] / YUAN_PER_YI
    np.testing.assert_allclose(medians, sorted(np.median(npv, axis=1)), rtol=1e-12)
    with pytest.raises(ValueError, match="kind must be 'violin' or 'box'"):
        pu.npv_distribution(draws_result, kind="bar")


@pytest.fixture(scope="module")
def tornado_df(reference):
    return tornado(reference, "npv:shanwei:fixed_50_50")


def test_tornado_bars_start_at_the_central_value(tornado_df):
    fig = pu.tornado_chart(tornado_df)
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 2 * len(tornado_df)
    centre = tornado_df.attrs["settings"].central_yuan / YUAN_PER_YI
    n = len(tornado_df)
    lows, highs = bars[:n], bars[n:]
    for i, row in tornado_df.iterrows():
        assert lows[i].get_x() == pytest.approx(centre)
        assert lows[i].get_width() == pytest.approx(row["outcome_low_yuan"] / YUAN_PER_YI - centre)
        assert highs[i].get_width() == pytest.approx(
            row["outcome_high_yuan"] / YUAN_PER_YI - centre
        )
    labels = [t.get_text() for t in ax.get_yticklabels()]
    top_label = labels[int(np.argmax(ax.get_yticks()))]
    assert top_label.startswith(tornado_df["input"].iloc[0])  # largest swing on top
    assert "of projects land" in " ".join(labels)
    assert "Shanwei's NPV" in ax.get_title(loc="left")
    top = pu.tornado_chart(tornado_df, max_inputs=3)
    assert len(top.axes[0].patches) == 6


def test_sobol_chart_bars_and_interval_whiskers(reference):
    df = sobol(reference, "npv:shanwei:fixed_50_50", n=32, seed=1, n_resamples=49)
    fig = pu.sobol_chart(df)
    ax = fig.axes[0]
    n = len(df)
    bars = ax.patches
    assert len(bars) == 2 * n
    np.testing.assert_allclose([b.get_width() for b in bars[:n]], df["total_order"])
    np.testing.assert_allclose([b.get_width() for b in bars[n:]], df["first_order"])
    assert "n = 32" in ax.get_title(loc="left")
    bare = df.copy()
    bare.attrs = {}
    with pytest.raises(ValueError, match="has no settings"):
        pu.sobol_chart(bare)


def test_charts_are_pngs_without_missing_glyphs(draws_result, tornado_df):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pngs = pu.uncertainty_charts(draws_result)
        from benefitshare.viz.style import to_png

        pngs["tornado.png"] = to_png(pu.tornado_chart(tornado_df))
    assert set(pngs) == {"fan.png", "npv_distribution.png", "tornado.png"}
    for png in pngs.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == []
    assert plt.get_fignums() == []


def test_cli_run_with_draws_adds_fan_and_npv_charts(reference, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                str(reference.path),
                "--out",
                str(out),
                "--draws",
                "15",
                "--seed",
                "3",
                "--rules",
                "fixed_50_50",
                "-q",
            ]
        )
        == 0
    )
    run = out / "reference"
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    for name in ("fan.png", "npv_distribution.png"):
        assert (run / name).read_bytes().startswith(b"\x89PNG")
        assert name in manifest["outputs_sha256"]
    assert manifest["uncertainty_charts"] == ["fan.png", "npv_distribution.png"]
    # a deterministic run has no spread to draw
    assert (
        main(
            [
                "run",
                str(reference.path),
                "--out",
                str(out),
                "--name",
                "det",
                "--rules",
                "fixed_50_50",
                "-q",
            ]
        )
        == 0
    )
    assert not (out / "det" / "fan.png").exists()
