"""The look shared by every chart: one palette, one font setup, the style context, PNG output.

The bottom of the viz layer: the chart modules (:mod:`~benefitshare.viz.run`,
:mod:`~benefitshare.viz.uncertainty`, :mod:`~benefitshare.viz.compare`) draw inside
:func:`chart_style`, take their colours from :data:`PALETTE` and their labels from
:func:`display_text`, :func:`rule_labels` and :func:`party_labels`; :func:`to_png` turns a figure
into the PNG bytes that the io layer (which renders nothing) writes (``docs/model.md``,
section 6 Layout).

Chinese text in labels (party names, rule labels, tax names) is kept when a font with Chinese
glyphs is installed (:func:`cjk_font`); otherwise the Chinese parts are dropped, so no label is
drawn as empty boxes. matplotlib is imported only when a chart is drawn, so
``import benefitshare`` stays light.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from dataclasses import dataclass, field

__all__ = [
    "PALETTE",
    "Palette",
    "CJK_FONTS",
    "cjk_font",
    "display_text",
    "money_unit",
    "chart_style",
    "to_png",
    "panel_grid",
    "rule_labels",
    "party_labels",
]


@dataclass(frozen=True)
class Palette:
    """The colours of every chart, by what they show (matplotlib colour strings).

    Attributes
    ----------
    parties : tuple of str
        One colour per party, in the run's party order (cycled beyond six parties).
    tiers : dict of str to str
        One colour per government tier (``central``, ``provincial``, ``city``, ``county``).
    pool, outside, rebates : str
        The shareable pool, local revenue outside it, and rebates to firms.
    low, high : str
        An input at its low and at its high quantile (tornado bars).
    first_order, total_order : str
        First-order and total Sobol indices.
    shapley, nash : str
        The Shapley and Nash bargaining splits.
    frontier, win_win, zero, note : str
        The Pareto frontier, the win-win quadrant, the zero lines and the point labels of a
        gains chart.
    tax : str
        The tax-type nodes of the flow diagram.
    """

    parties: tuple[str, ...] = ("#2f6db3", "#e08a2c", "#7b5ea7", "#c4495b", "#3c9c9c", "#9a7b3c")
    tiers: dict[str, str] = field(
        default_factory=lambda: {
            "central": "#8c8c8c",
            "provincial": "#b39b77",
            "city": "#4c9a6a",
            "county": "#8fbf6f",
        }
    )
    pool: str = "#5b7fa8"
    outside: str = "#a0a0a0"
    rebates: str = "#c9c9c9"
    low: str = "#c4495b"
    high: str = "#2f6db3"
    first_order: str = "#2f6db3"
    total_order: str = "#9cbfe3"
    shapley: str = "#c4495b"
    nash: str = "#2f6db3"
    frontier: str = "#555555"
    win_win: str = "#e6f2e6"
    zero: str = "#999999"
    note: str = "#333333"
    tax: str = "0.45"

    def party(self, k: int) -> str:
        """Colour of the party at position ``k`` of the run."""
        return self.parties[k % len(self.parties)]

    def rules(self, n: int) -> list:
        """One colour per rule for ``n`` rules: matplotlib's ``tab10``, ``tab20`` beyond ten."""
        import matplotlib as mpl

        cmap = mpl.colormaps["tab20" if n > 10 else "tab10"]
        return [cmap(i % cmap.N) for i in range(n)]


#: The one palette of the package's charts.
PALETTE = Palette()

#: Font families with Chinese glyphs, tried in this order.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Sarasa Gothic SC",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)

_CJK_CHARS = "\u2e80-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_GROUP = re.compile(rf"\s*[(（][^()（）]*[{_CJK_CHARS}][^()（）]*[)）]")


# ------------------------------------------------------------------------------------ fonts
@functools.cache
def cjk_font() -> str | None:
    """Name of an installed font family with Chinese glyphs (the first of :data:`CJK_FONTS`)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def display_text(text: str, fallback: str = "") -> str:
    """``text`` as it can be drawn: unchanged with a Chinese font, else without Chinese parts.

    A parenthesised group containing Chinese is dropped whole (``"rule (财预〔2015〕92号)"`` ->
    ``"rule"``), a document number ``92号`` becomes ``No. 92``, and other Chinese characters are
    removed. ``fallback`` is returned when nothing is left.
    """
    if cjk_font() is not None or not _CJK.search(text):
        return text
    out = _CJK_GROUP.sub("", text)
    out = re.sub(r"(\d+)\s*号", r"No. \1", out)
    out = _CJK.sub("", out)
    out = re.sub(r"\s+", " ", out).strip(" ;,:")
    return out or fallback


def money_unit(*, short: bool = False) -> str:
    """The display unit of money in charts, 亿元 (100 million yuan).

    Parameters
    ----------
    short : bool
        ``"亿元"`` rather than ``"亿元 (100 million yuan)"`` (with a Chinese font).

    Returns
    -------
    str
        Without a Chinese font, ``"100 million yuan"`` either way.
    """
    if not cjk_font():
        return "100 million yuan"
    return "亿元" if short else "亿元 (100 million yuan)"


@contextlib.contextmanager
def chart_style():
    """rcParams for every chart (a context manager): a Chinese-capable font first when installed.

    Interactive mode is kept as the body leaves it: in Jupyter the inline backend switches it on
    when the session's first figure is created, and restoring it on leaving the ``rc_context``
    would stop later figures from being shown.
    """
    import matplotlib as mpl

    families = [cjk_font()] if cjk_font() else []
    with mpl.rc_context(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [*families, "DejaVu Sans"],
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 9.5,
            "axes.labelsize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8.5,
            "figure.dpi": 100,
            "savefig.dpi": 120,
            "savefig.bbox": "tight",
        }
    ):
        try:
            yield
        finally:
            interactive = mpl.is_interactive()
    mpl.interactive(interactive)


def to_png(fig, *, dpi: int = 120) -> bytes:
    """Render a figure to PNG bytes and close it (so a loop of charts does not pile up).

    The figure is saved inside :func:`chart_style`: fonts are looked up when text is drawn, so
    Chinese labels render with the Chinese font (when one is installed) wherever this is called.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int
        Resolution [dots per inch].

    Returns
    -------
    bytes
        The PNG file, without a ``Software`` entry in its metadata.
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        with chart_style():
            fig.savefig(
                buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None}
            )
    finally:
        plt.close(fig)
    return buf.getvalue()


# ------------------------------------------------------------------------------------ labels
def panel_grid(n: int, ncols: int, *, panel_in: tuple[float, float], extra_in: float, **kw):
    """A figure of ``n`` panels in rows of ``ncols`` (call inside :func:`chart_style`).

    Parameters
    ----------
    n : int
        Number of panels.
    ncols : int
        Panels per row at most.
    panel_in : (float, float)
        Width and height of one panel [inches].
    extra_in : float
        Height added for titles and the legend [inches].
    **kw
        Passed to :func:`matplotlib.pyplot.subplots` (``sharex``, ``sharey``, ``layout``).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of Axes, shape (rows, columns)
        The grid; the cells past the ``n``-th are removed from the figure.
    ncols : int
        The columns used (``ncols``, or fewer when ``n`` is smaller).
    """
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    width, height = panel_in
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows + extra_in), squeeze=False, **kw
    )
    for ax in axes.flat[n:]:
        ax.remove()
    return fig, axes, ncols


def rule_labels(result) -> dict[str, str]:
    """Display label of each rule of a run: the scenario's ``label``, else its name.

    Parameters
    ----------
    result : Result
        Read through ``rule_names`` and ``scenario.spec.rules``.
    """
    specs = {r.name: r for r in result.scenario.spec.rules}
    return {
        name: display_text(specs[name].label, name) if name in specs and specs[name].label else name
        for name in result.rule_names
    }


def party_labels(result) -> dict[str, str]:
    """Display name of each party of a run (the scenario's ``name``, else the id).

    Parameters
    ----------
    result : Result
        Read through ``party_ids`` and ``scenario.spec.parties``.
    """
    parties = result.scenario.spec.parties
    return {pid: display_text(parties[pid].name, pid) for pid in result.party_ids}
