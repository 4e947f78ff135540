"""Charts: structure, values traced back to the result, PNG output, no missing glyphs."""

from __future__ import annotations

import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import benefitshare as bs  # noqa: E402
from benefitshare.glossary import YUAN_PER_YI  # noqa: E402
from benefitshare.viz import run as plots  # noqa: E402
from benefitshare.viz import style  # noqa: E402


@pytest.fixture(scope="module")
def ref_result(reference):
    return bs.run(reference)


@pytest.fixture(scope="module")
def tiny_result(tiny):
    return bs.run(tiny)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_import_does_not_import_matplotlib():
    code = "import sys, benefitshare; sys.exit(1 if 'matplotlib' in sys.modules else 0)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, "import benefitshare imported matplotlib" + done.stderr


# ------------------------------------------------------------------------------------ annual
@pytest.mark.parametrize("which", ["ref_result", "tiny_result"])
def test_annual_allocation_one_panel_per_rule_stacked_to_the_pool(which, request):
    res = request.getfixturevalue(which)
    fig = plots.annual_allocation(res)
    assert len(fig.axes) == len(res.rule_names)
    summary = res.summary()
    for ax, rule in zip(fig.axes, res.rule_names, strict=True):
        assert len(ax.collections) == len(res.party_ids)  # one stacked area per party
        # the stack's top is the pool, year by year
        top = ax.collections[-1].get_paths()[0].vertices[:, 1].max()
        assert top == pytest.approx(
            res.pool().query("rule == @rule")["amount_yuan"].max() / YUAN_PER_YI, rel=1e-9
        )
        shares = summary[summary["rule"] == rule]["pool_share_yuan"].to_numpy()
        assert shares.sum() == pytest.approx(res.pool_dy.sum(), rel=1e-9)


def test_annual_allocation_for_one_party_draws_its_share_and_the_pool(ref_result):
    fig = plots.annual_allocation(
        ref_result, party="shenzhen", rules=["fixed_50_50", "host_keeps_all"]
    )
    assert len(fig.axes) == 2
    pool_line = fig.axes[0].lines[0]
    np.testing.assert_allclose(pool_line.get_ydata(), ref_result.pool_dy.mean(axis=0) / YUAN_PER_YI)
    assert len(fig.axes[0].collections) == 1
    # host keeps all: the partner's area is flat zero
    zero = fig.axes[1].collections[0].get_paths()[0].vertices[:, 1]
    assert np.allclose(zero, 0.0)


def test_annual_allocation_rejects_unknown_rule_and_party(ref_result):
    with pytest.raises(ValueError, match="no_such_rule"):
        plots.annual_allocation(ref_result, rules=["no_such_rule"])
    with pytest.raises(ValueError, match="unknown party 'beijing'"):
        plots.annual_allocation(ref_result, party="beijing")


# ------------------------------------------------------------------------------------ cumulative
def test_cumulative_share_ends_at_the_summary_share(ref_result):
    fig = plots.cumulative_share(ref_result)
    ax = fig.axes[0]
    assert len(ax.lines) == len(ref_result.rule_names)
    s = ref_result.summary().set_index(["rule", "party"])["share_of_pool"]
    for line, rule in zip(ax.lines, ref_result.rule_names, strict=True):
        assert line.get_ydata()[-1] == pytest.approx(s[(rule, "shenzhen")], abs=1e-12)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "Host keeps all (legal baseline)"  # the scenario's label, not the name


def test_cumulative_share_of_host_is_complement(tiny_result):
    partner = plots.cumulative_share(tiny_result).axes[0].lines
    host = plots.cumulative_share(tiny_result, party="shanwei").axes[0].lines
    for a, b in zip(partner, host, strict=True):
        ya, yb = np.asarray(a.get_ydata()), np.asarray(b.get_ydata())
        ok = np.isfinite(ya)
        np.testing.assert_allclose(ya[ok] + yb[ok], 1.0, atol=1e-9)


def test_cumulative_share_into_given_axes(tiny_result):
    fig, ax = plt.subplots()
    assert plots.cumulative_share(tiny_result, rules=["host"], ax=ax) is fig
    assert len(ax.lines) == 1


# ------------------------------------------------------------------------------------ flows
def test_flow_diagram_nodes_carry_the_totals(ref_result):
    fig = plots.flow_diagram(ref_result, "fixed_50_50")
    ax = fig.axes[0]
    texts = " ".join(t.get_text() for t in ax.texts)
    head = ref_result.headline()
    for key in ("central_yuan", "provincial_yuan", "pool_yuan"):
        assert f"{head[key] / YUAN_PER_YI:,.1f}" in texts
    s = ref_result.summary().set_index(["rule", "party"])
    retained = ref_result.retained_dky.sum(axis=(0, 2))
    for k, party in enumerate(ref_result.party_ids):
        received = s.loc[("fixed_50_50", party), "pool_share_yuan"] + retained[k]
        assert f"{received / YUAN_PER_YI:,.1f}" in texts
    assert "Zhongshan" in ax.get_title(loc="left")


def test_flow_diagram_bands_conserve_money(ref_result):
    """Each node's bands in and out add up to the node (drawn sizes, in axis units)."""
    from matplotlib.patches import PathPatch, Rectangle

    ax = plots.flow_diagram(ref_result, "taper_60_to_20").axes[0]
    nodes = {p.get_gid(): p.get_height() for p in ax.patches if isinstance(p, Rectangle)}
    bands = [
        (p.get_gid().split("->"), p.get_path().vertices)
        for p in ax.patches
        if isinstance(p, PathPatch)
    ]
    width = {tuple(ends): v[0, 1] - v[7, 1] for ends, v in bands}
    assert {"tier:central", "pool", "outside", "rebates", "party:shenzhen", "party:shanwei"} <= set(
        nodes
    )
    for key, height in nodes.items():
        into = sum(w for (src, dst), w in width.items() if dst == key)
        out = sum(w for (src, dst), w in width.items() if src == key)
        if key.startswith("tax:"):
            assert out == pytest.approx(height, rel=1e-9)
        elif key in ("tier:city", "tier:county", "pool", "outside"):
            assert into == pytest.approx(height, rel=1e-9) and out == pytest.approx(
                height, rel=1e-9
            )
        else:  # central, provincial, rebates and the parties end there
            assert into == pytest.approx(height, rel=1e-9) and out == 0


def test_flow_diagram_unknown_rule(ref_result):
    with pytest.raises(ValueError, match="rules not in this result"):
        plots.flow_diagram(ref_result, "nope")


def test_default_flow_rule_is_first_that_pays_the_partner(ref_result):
    s = ref_result.summary()
    partner = s[(s["party"] == "shenzhen") & (s["pool_share_yuan"] > 0)]["rule"]
    assert plots.default_flow_rule(ref_result) == partner.iloc[0]


# ------------------------------------------------------------------------------------ output
def test_run_charts_are_pngs_without_missing_glyphs(ref_result):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts = plots.run_charts(ref_result)
    assert set(charts) == {"annual_allocation.png", "cumulative_share.png", "flows.png"}
    for png in charts.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == []
    assert plt.get_fignums() == []  # every figure was closed


def test_to_png_closes_figure_and_saves(tmp_path, tiny_result):
    fig = plots.annual_allocation(tiny_result)
    fig.savefig(tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")
    style.to_png(fig)
    assert fig.number not in plt.get_fignums()


def test_result_methods_call_the_charts(tiny_result):
    assert len(tiny_result.plot_annual().axes) == len(tiny_result.rule_names)
    assert len(tiny_result.plot_cumulative_share().axes[0].lines) == len(tiny_result.rule_names)
    assert tiny_result.plot_flows(rule="fixed_50_5y").axes[0].patches


# ------------------------------------------------------------------------------------ labels
def test_display_text_without_a_chinese_font(monkeypatch):
    monkeypatch.setattr(style, "cjk_font", lambda: None)
    assert (
        style.display_text("Relocated firms, 3+2 years (财预〔2015〕92号)")
        == "Relocated firms, 3+2 years"
    )
    assert style.display_text("relocated firms under 92号") == "relocated firms under No. 92"
    assert style.display_text("Shenzhen 深圳") == "Shenzhen"
    assert style.display_text("深圳", "shenzhen") == "shenzhen"
    assert style.display_text("Taper 60% → 20%") == "Taper 60% → 20%"


def test_display_text_with_a_chinese_font_keeps_everything(monkeypatch):
    monkeypatch.setattr(style, "cjk_font", lambda: "Noto Sans CJK SC")
    assert style.display_text("Shenzhen 深圳") == "Shenzhen 深圳"
