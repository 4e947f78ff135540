"""The look shared by the charts: one palette, one font setup, PNG output inside the style."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

import benefitshare as bs  # noqa: E402
from benefitshare.viz import compare as viz_compare  # noqa: E402
from benefitshare.viz import run as viz_run  # noqa: E402
from benefitshare.viz import style  # noqa: E402
from benefitshare.viz import uncertainty as viz_uncertainty  # noqa: E402

CHART_MODULES = (viz_run, viz_uncertainty, viz_compare)


@pytest.fixture(scope="module")
def tiny_result(tiny):
    return bs.run(tiny)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_the_chart_modules_define_no_colours_of_their_own():
    """No hex colour, colour table or colormap outside the style module."""
    for module in CHART_MODULES:
        text = Path(module.__file__).read_text(encoding="utf-8")
        assert not re.findall(r"#[0-9a-fA-F]{6}\b", text), module.__name__
        assert "colormaps" not in text and "get_cmap" not in text, module.__name__
        names = {  # module-level names
            t.id
            for node in ast.parse(text).body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        assert not {n for n in names if "COLOUR" in n.upper() or "COLOR" in n.upper()}


def test_the_chart_modules_share_the_style_module():
    """Each chart module imports the palette, fonts and PNG output from viz.style (no copies)."""
    for module in CHART_MODULES:
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "benefitshare.viz.style"
            for alias in node.names
        }
        assert {"PALETTE", "chart_style"} <= imported, module.__name__
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert not defined & {"to_png", "chart_style", "cjk_font", "display_text", "money_unit"}
    assert isinstance(style.PALETTE, style.Palette)


def test_run_charts_take_party_colours_from_the_palette(tiny_result):
    fig = viz_run.annual_allocation(tiny_result)
    colours = [to_hex(c.get_facecolor()[0]) for c in fig.axes[0].collections]
    assert colours == [style.PALETTE.party(k) for k in range(len(tiny_result.party_ids))]


def test_flow_diagram_takes_tier_colours_from_the_palette(tiny_result):
    from matplotlib.patches import Rectangle

    ax = viz_run.flow_diagram(tiny_result).axes[0]
    nodes = {p.get_gid(): to_hex(p.get_facecolor()) for p in ax.patches if isinstance(p, Rectangle)}
    assert nodes["tier:central"] == style.PALETTE.tiers["central"]
    assert nodes["pool"] == style.PALETTE.pool
    drawn = [k for k, pid in enumerate(tiny_result.party_ids) if f"party:{pid}" in nodes]
    assert drawn
    for k in drawn:
        assert nodes[f"party:{tiny_result.party_ids[k]}"] == style.PALETTE.party(k)


def test_uncertainty_charts_take_party_colours_from_the_palette(tiny):
    result = bs.run(tiny, draws=20, seed=1, progress=False)
    fig = viz_uncertainty.fan_chart(result, parties=[result.party_ids[1]])
    band = fig.axes[0].collections[0]
    assert to_hex(band.get_facecolor()[0]) == style.PALETTE.party(1)


def test_comparison_chart_takes_its_markers_from_the_palette(tiny_result):
    cmp = bs.compare_rules(tiny_result)
    ax = viz_compare.gains_scatter(cmp).axes[0]
    by_label = {c.get_label(): c for c in ax.collections}
    assert to_hex(by_label["Shapley split"].get_facecolor()[0]) == style.PALETTE.shapley
    assert to_hex(by_label["Nash bargaining split"].get_edgecolor()[0]) == style.PALETTE.nash
    rules = [c for label, c in by_label.items() if label.split(". ", 1)[0].isdigit()]
    expected = [to_hex(c) for c in style.PALETTE.rules(len(rules))]
    assert [to_hex(c.get_facecolor()[0]) for c in rules] == expected


def test_to_png_draws_inside_the_style_with_the_chinese_font_first(monkeypatch):
    monkeypatch.setattr(style, "cjk_font", lambda: "Some CJK Font")
    fig, ax = plt.subplots()
    ax.set_title("Shenzhen")
    seen = []
    fig.canvas.mpl_connect("draw_event", lambda e: seen.append(mpl.rcParams["font.sans-serif"]))
    before = list(mpl.rcParams["font.sans-serif"])
    png = style.to_png(fig)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert seen and all(fonts[0] == "Some CJK Font" for fonts in seen)
    assert list(mpl.rcParams["font.sans-serif"]) == before  # the style is left again
    assert fig.number not in plt.get_fignums()


def test_money_unit_long_and_short(monkeypatch):
    monkeypatch.setattr(style, "cjk_font", lambda: None)
    assert style.money_unit() == style.money_unit(short=True) == "100 million yuan"
    monkeypatch.setattr(style, "cjk_font", lambda: "Noto Sans CJK SC")
    assert style.money_unit() == "亿元 (100 million yuan)"
    assert style.money_unit(short=True) == "亿元"
