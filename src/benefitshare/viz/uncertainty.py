"""Charts of a run with draws and of sensitivity analyses.

The viz layer. :func:`fan_chart` and :func:`npv_distribution` take a
:class:`~benefitshare.model.result.Result` of a run with ``draws > 1``; :func:`tornado_chart` and
:func:`sobol_chart` take the tables of :func:`benefitshare.tornado` and
:func:`benefitshare.sobol`. Each returns a matplotlib ``Figure``; nothing is
imported from the model or the analyses (the objects are read through their public attributes).
Amounts are shown in 亿元 (100 million yuan); the model stays in yuan. Colours, fonts and labels
come from :mod:`benefitshare.viz.style` (Chinese text is kept only when a font with Chinese glyphs
is installed, see :func:`benefitshare.viz.style.display_text`).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

import numpy as np

from benefitshare.glossary import YUAN_PER_YI
from benefitshare.model.metrics import percentiles
from benefitshare.viz.run import require_finite
from benefitshare.viz.style import (
    PALETTE,
    chart_style,
    display_text,
    money_unit,
    panel_grid,
    party_labels,
    rule_labels,
    to_png,
)

__all__ = ["fan_chart", "npv_distribution", "tornado_chart", "sobol_chart", "uncertainty_charts"]


def _clean(text: str, fallback: str = "") -> str:
    """``display_text`` without the space a dropped Chinese name leaves before ``'s`` or ``:``."""
    return re.sub(r"\s+(['’:,;])", r"\1", display_text(text, fallback))


def _needs_draws(result) -> None:
    if result.n_draws < 2:
        raise ValueError(
            "this chart shows the spread over draws: run with draws > 1 "
            "(e.g. bs.run(scenario, draws=1000, seed=1))"
        )


def _positions(valid: list[str], wanted: Sequence[str] | None, kind: str) -> list[int]:
    """Positions of ``wanted`` among ``valid`` (all by default); unknown names raise."""
    if wanted is None:
        return list(range(len(valid)))
    unknown = [w for w in wanted if w not in valid]
    if unknown:
        raise ValueError(
            f"{kind} not in this result: {', '.join(unknown)}; valid: {', '.join(valid)}"
        )
    return [valid.index(w) for w in wanted]


def _colour(k: int) -> str:
    return PALETTE.party(k)


# ------------------------------------------------------------------------------------ fan chart
def fan_chart(
    result,
    *,
    rules: Sequence[str] | None = None,
    parties: Sequence[str] | None = None,
    ncols: int = 3,
):
    """Annual revenue each party receives, as bands over the draws, one panel per rule.

    Parameters
    ----------
    result : Result
        Of a run with ``draws > 1``.
    rules : sequence of str, optional
        Rules to draw, in this order; all by default.
    parties : sequence of str, optional
        Parties to draw; all by default.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per rule (shared axes) [亿元/year]: for each party the P5–P95 band (light),
        the P25–P75 band (dark) and the median (line) of the revenue received per year (pool
        share, local revenue outside the pool and dividends, as ``Result.annual``), over the
        kept paths.
    """
    require_finite(result, "fan_chart")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    _needs_draws(result)
    ridx = _positions(result.rule_names, rules, "rules")
    kidx = _positions(result.party_ids, parties, "parties")
    revenue = result.revenue_rdky / YUAN_PER_YI  # (R, D, K, Y) kept paths
    q = percentiles(revenue[ridx][:, :, kidx], [5, 25, 50, 75, 95], axis=1)  # (5, R', K', Y)
    years = result.years
    labels, names = rule_labels(result), party_labels(result)
    with chart_style():
        fig, axes, ncols = panel_grid(
            len(ridx), ncols, panel_in=(3.9, 2.6), extra_in=1.0, sharex=True, sharey=True
        )
        for n, ax in enumerate(axes.flat[: len(ridx)]):
            for j, k in enumerate(kidx):
                c = _colour(k)
                ax.fill_between(years, q[0, n, j], q[4, n, j], color=c, alpha=0.18, lw=0)
                ax.fill_between(years, q[1, n, j], q[3, n, j], color=c, alpha=0.38, lw=0)
                ax.plot(years, q[2, n, j], color=c, lw=1.5)
            ax.axhline(0.0, color="0.4", lw=0.6)
            ax.set_title(
                "\n".join(textwrap.wrap(labels[result.rule_names[ridx[n]]], 44)), loc="left"
            )
            ax.set_axisbelow(True)
            ax.grid(axis="y", color="0.9", lw=0.6)
            ax.set_xlim(years[0], years[-1])
            if n + ncols >= len(ridx):
                ax.xaxis.set_tick_params(labelbottom=True)
            if n % ncols == 0:
                ax.set_ylabel(money_unit() + "/year")
        handles = [
            Patch(color=_colour(k), alpha=0.6, label=names[result.party_ids[k]]) for k in kidx
        ]
        handles += [
            Line2D([], [], color="0.3", lw=1.5, label="median"),
            Patch(color="0.3", alpha=0.45, label="P25–P75"),
            Patch(color="0.3", alpha=0.18, label="P5–P95"),
        ]
        fig.legend(
            handles=handles,
            loc="upper right",
            ncol=len(handles),
            frameon=False,
            bbox_to_anchor=(0.99, 1.0),
        )
        kept = revenue.shape[1]
        fig.suptitle(
            f"Annual revenue received by each party under each rule ({kept:,} draws)",
            x=0.01,
            ha="left",
            fontsize=12,
        )
        fig.tight_layout(rect=(0, 0, 1, 1.0 - 0.3 / (2.6 * axes.shape[0] + 1.0)))
    return fig


# ------------------------------------------------------------------------------- NPV distribution
def npv_distribution(
    result,
    *,
    rules: Sequence[str] | None = None,
    parties: Sequence[str] | None = None,
    kind: str = "violin",
):
    """Distribution of each party's NPV of net benefit under each rule, over the draws.

    Parameters
    ----------
    result : Result
        Of a run with ``draws > 1``; uses ``result.scalars["npv_rdk"]`` (the kept draws).
    rules : sequence of str, optional
        Rules, top to bottom; all by default.
    parties : sequence of str, optional
        Parties; all by default (side by side within each rule).
    kind : {"violin", "box"}
        Violins (with the median and P5/P95 marked) or box plots (box P25–P75, whiskers
        P5–P95).

    Returns
    -------
    matplotlib.figure.Figure
        One row per rule [亿元], a vertical line at zero.
    """
    require_finite(result, "npv_distribution")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    _needs_draws(result)
    if kind not in ("violin", "box"):
        raise ValueError(f"kind must be 'violin' or 'box', got {kind!r}")
    ridx = _positions(result.rule_names, rules, "rules")
    kidx = _positions(result.party_ids, parties, "parties")
    npv = np.asarray(result.scalars["npv_rdk"]) / YUAN_PER_YI  # (R, D, K)
    labels, names = rule_labels(result), party_labels(result)
    K = len(kidx)
    width = 0.8 / K
    with chart_style():
        fig, ax = plt.subplots(figsize=(10.5, 0.62 * len(ridx) * max(K, 2) / 2 + 1.6))
        for j, k in enumerate(kidx):
            pos = np.arange(len(ridx))[::-1] + (K - 1) / 2 * width - j * width
            data = [npv[r, :, k] for r in ridx]
            c = _colour(k)
            if kind == "violin":
                parts = ax.violinplot(
                    data,
                    positions=pos,
                    orientation="horizontal",
                    widths=width * 0.95,
                    showextrema=False,
                    showmedians=True,
                    quantiles=[[0.05, 0.95]] * len(data),
                )
                for body in parts["bodies"]:
                    body.set_facecolor(c)
                    body.set_edgecolor(c)
                    body.set_alpha(0.55)
                parts["cmedians"].set_color("0.15")
                parts["cquantiles"].set_color(c)
                parts["cquantiles"].set_linewidth(1.2)
            else:
                ax.boxplot(
                    data,
                    positions=pos,
                    orientation="horizontal",
                    widths=width * 0.8,
                    whis=(5, 95),
                    showfliers=False,
                    patch_artist=True,
                    boxprops={"facecolor": c, "alpha": 0.6, "edgecolor": c},
                    medianprops={"color": "0.15"},
                    whiskerprops={"color": c},
                    capprops={"color": c},
                )
        ax.axvline(0.0, color="0.35", lw=0.8, ls="--")
        ax.set_yticks(np.arange(len(ridx))[::-1])
        ax.set_yticklabels(
            ["\n".join(textwrap.wrap(labels[result.rule_names[r]], 40)) for r in ridx]
        )
        ax.set_ylim(-0.6, len(ridx) - 0.4)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel(f"NPV of net benefit [{money_unit()}]")
        what = "median and P5/P95 marked" if kind == "violin" else "box P25–P75, whiskers P5–P95"
        fig.suptitle(
            f"NPV of each party's net benefit, by rule ({npv.shape[1]:,} draws; {what})",
            x=0.01,
            ha="left",
            fontsize=11,
        )
        fig.legend(
            handles=[
                Patch(color=_colour(k), alpha=0.6, label=names[result.party_ids[k]]) for k in kidx
            ],
            loc="upper right",
            bbox_to_anchor=(0.99, 1.0),
            ncol=K,
            frameon=False,
        )
        fig.tight_layout(rect=(0, 0, 1, 1.0 - 0.35 / fig.get_figheight()))
    return fig


# ------------------------------------------------------------------------------------ sensitivity
def _settings(df, kind: str):
    s = df.attrs.get("settings")
    if s is None:
        raise ValueError(
            f"the table has no settings: give the DataFrame returned by sensitivity.{kind}()"
        )
    return s


def _value_text(row) -> str:
    lo, hi, unit = row["low_value"], row["high_value"], row["value_unit"]
    if unit == "multiplier":
        return f"×{lo:.3g} … ×{hi:.3g}"
    if unit == "added":
        return f"{lo:+.3g} … {hi:+.3g}"
    if unit == "share landing":
        return f"{lo:.0%} … {hi:.0%} of projects land"
    return f"{lo:.3g} … {hi:.3g}"


def tornado_chart(df, *, ax=None, max_inputs: int | None = None):
    """Bars of the outcome with each input at its low and high quantile, largest swing on top.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`benefitshare.tornado` (with its ``attrs["settings"]``).
    ax : matplotlib Axes, optional
    max_inputs : int, optional
        Draw only the inputs with the largest swings.

    Returns
    -------
    matplotlib.figure.Figure
        Bars start at the central outcome [亿元]; each input's label gives the values it was
        moved between.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    s = _settings(df, "tornado")
    rows = df.head(max_inputs) if max_inputs else df
    centre = s.central_yuan / YUAN_PER_YI
    lo = rows["outcome_low_yuan"].to_numpy() / YUAN_PER_YI
    hi = rows["outcome_high_yuan"].to_numpy() / YUAN_PER_YI
    y = np.arange(len(rows))[::-1]
    p_lo, p_hi = f"P{100 * s.low_q:g}", f"P{100 * s.high_q:g}"
    with chart_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(9.5, 0.5 * len(rows) + 1.7))
        fig = ax.figure
        ax.barh(y, lo - centre, left=centre, height=0.6, color=PALETTE.low, alpha=0.85)
        ax.barh(y, hi - centre, left=centre, height=0.6, color=PALETTE.high, alpha=0.85)
        ax.axvline(centre, color="0.2", lw=1.0)
        ax.set_yticks(y)
        ax.set_yticklabels(
            [f"{r['input']}\n{_value_text(r)}" for _, r in rows.iterrows()], fontsize=8
        )
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel(
            f"{s.outcome} [{money_unit()}]; vertical line: all inputs central ({centre:,.2f})"
        )
        desc = _clean(s.outcome_description, s.outcome)
        title = "\n".join(textwrap.wrap(f"What moves {desc}", 85))
        ax.set_title(
            f"{title}\neach input at its {p_lo} and {p_hi}, the others at their central values",
            loc="left",
            fontsize=10,
        )
        ax.legend(
            handles=[
                Patch(color=PALETTE.low, alpha=0.85, label=f"input at its {p_lo}"),
                Patch(color=PALETTE.high, alpha=0.85, label=f"input at its {p_hi}"),
            ],
            loc="lower right",
            frameon=True,
            framealpha=0.9,
        )
        fig.tight_layout()
    return fig


def sobol_chart(df, *, ax=None):
    """First-order and total Sobol indices per input, with their confidence intervals.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`benefitshare.sobol` (or ``sobol_from_function``), with its
        ``attrs["settings"]``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Horizontal bars, largest total index on top; error bars are the bootstrap intervals.
    """
    import matplotlib.pyplot as plt

    s = _settings(df, "sobol")
    y = np.arange(len(df))[::-1]
    h = 0.38

    def err(col):
        v = df[col].to_numpy()
        return np.vstack([v - df[f"{col}_low"].to_numpy(), df[f"{col}_high"].to_numpy() - v]).clip(
            0
        )

    with chart_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(9.5, 0.5 * len(df) + 1.9))
        fig = ax.figure
        for col, offset, colour, label in (
            ("total_order", h / 2, PALETTE.total_order, "total (with interactions)"),
            ("first_order", -h / 2, PALETTE.first_order, "first order (alone)"),
        ):
            ax.barh(
                y + offset,
                df[col],
                height=h,
                color=colour,
                label=label,
                xerr=err(col),
                error_kw={"ecolor": "0.3", "elinewidth": 0.9, "capsize": 2},
            )
        ax.axvline(0.0, color="0.4", lw=0.6)
        ax.set_yticks(y)
        ax.set_yticklabels(df["input"])
        ax.set_ylim(-0.7, len(df) - 0.3)
        top = float(np.nanmax(df[["total_order_high", "first_order_high"]].to_numpy(), initial=0.0))
        ax.set_xlim(
            min(0.0, float(np.nanmin(df["first_order_low"])) - 0.02),
            max(0.2, min(1.05, top + 0.05)),
        )
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel(
            f"Sobol index [share of the outcome's variance]; bars: {100 * s.confidence_level:g}% "
            f"bootstrap intervals"
        )
        desc = _clean(s.outcome_description, s.outcome) if s.outcome_description else "the output"
        title = "\n".join(textwrap.wrap(f"Sobol indices of {desc}", 85))
        ax.set_title(
            f"{title}\nn = {s.n:,} ({s.n_evaluations:,} model evaluations)", loc="left", fontsize=10
        )
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
        fig.tight_layout()
    return fig


def uncertainty_charts(result) -> dict[str, bytes]:
    """The charts of a run with draws as PNG bytes: ``fan.png`` and ``npv_distribution.png``."""
    return {
        "fan.png": to_png(fan_chart(result)),
        "npv_distribution.png": to_png(npv_distribution(result)),
    }
