"""Charts of a sweep: a metric over two inputs (heatmap), and a metric against each input.

Both take the tidy table of :func:`benefitshare.load_sweep` (one row per variant, rule and party)
and return a matplotlib ``Figure``. Amounts in yuan are shown in 100 million yuan (亿元); inputs
with many distinct values (Latin hypercube, Sobol designs) are grouped into quantile bins, shown
by their midpoints. matplotlib is imported only when a chart is drawn.

The chart layer of sweeps: it selects rows and groups inputs with
:mod:`benefitshare.analysis.sweep_effects` and never imports the batch layer, whose
:class:`~benefitshare.batch.run.SweepResult` calls it from its plot methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from benefitshare.analysis.sweep_effects import input_columns, input_levels, pick_rows
from benefitshare.glossary import YUAN_PER_YI
from benefitshare.viz.style import PALETTE, chart_style, panel_grid

__all__ = ["heatmap", "metric_by_input", "metric_label"]


#: Display names of the metrics of the results table.
METRIC_NAMES = {
    "npv_yuan": "NPV of net benefit",
    "gain_yuan": "Gain over standalone (NPV)",
    "standalone_npv_yuan": "Standalone NPV",
    "cumulative_yuan": "Revenue over the horizon",
    "pool_share_yuan": "Pool share over the horizon",
    "share_of_pool": "Share of the pool",
    "costs_yuan": "Costs over the horizon",
    "net_benefit_yuan": "Net benefit (undiscounted)",
    "payback_year": "Payback year",
    "prob_net_negative": "P(NPV of net benefit < 0)",
    "revenue_at_risk_yuan": "Revenue at risk",
}


def metric_label(metric: str) -> tuple[float, str, str]:
    """Display scale, name and unit of a metric (amounts in 100 million yuan)."""
    name = METRIC_NAMES.get(metric, metric.removesuffix("_yuan").replace("_", " "))
    if metric.endswith("_yuan"):
        return YUAN_PER_YI, name, "100 million yuan"
    if metric in ("share_of_pool", "prob_net_negative"):
        return 1.0, name, "fraction"
    return 1.0, name, "year" if metric == "payback_year" else ""


def _axis(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit else name


def _tick(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value)


def heatmap(
    frame: pd.DataFrame,
    x: str,
    y: str,
    metric: str = "npv_yuan",
    *,
    rule: str | None = None,
    party: str | None = None,
    labels: Mapping[str, str] | None = None,
    max_levels: int = 8,
    annotate: bool | None = None,
    ax=None,
):
    """Mean of ``metric`` over two inputs, for one rule and party.

    Parameters
    ----------
    frame : DataFrame
        From :func:`benefitshare.load_sweep`.
    x, y : str
        Input columns (levers, uncertainties or ``scenario``) on the horizontal and vertical axes.
    metric : str
        A metric column, e.g. ``npv_yuan``, ``gain_yuan``, ``share_of_pool``.
    rule, party : str, optional
        Which rule's and party's rows; the first in the table by default.
    labels : mapping, optional
        Axis label per input (e.g. with its unit).
    max_levels : int
        Inputs with more distinct values are grouped into this many quantile bins.
    annotate : bool, optional
        Write each cell's value; by default when the grid has at most 12 x 12 cells.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    for name in (x, y):
        if name not in frame.columns:
            raise ValueError(
                f"no input {name!r} in the results; inputs: {', '.join(input_columns(frame))}"
            )
    sub, rule, party = pick_rows(frame, metric, rule, party)
    scale, name, unit = metric_label(metric)
    cells = (
        sub.assign(_x=input_levels(sub[x], max_levels), _y=input_levels(sub[y], max_levels))
        .groupby(["_y", "_x"], observed=True)[metric]
        .mean()
        .unstack("_x")
        / scale
    )
    values = cells.to_numpy(dtype=float)
    labels = dict(labels or {})
    with chart_style():
        if ax is None:
            fig, ax = plt.subplots(
                figsize=(1.6 + 0.8 * max(4, values.shape[1]), 1.3 + 0.55 * max(4, values.shape[0])),
                layout="constrained",
            )
        else:
            fig = ax.figure
        finite = values[np.isfinite(values)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        if lo < 0 < hi:
            lim = max(-lo, hi)
            cmap, vmin, vmax = "RdBu", -lim, lim
        else:
            cmap, vmin, vmax = "viridis", lo, hi
        im = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_xticks(range(values.shape[1]), [_tick(v) for v in cells.columns])
        ax.set_yticks(range(values.shape[0]), [_tick(v) for v in cells.index])
        ax.set_xlabel(labels.get(x, x))
        ax.set_ylabel(labels.get(y, y))
        ax.set_title(
            f"{name}: {party}, rule {rule}\n(mean over the variants in each cell)",
            loc="left",
            fontsize=9.5,
        )
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03)
        bar.set_label(_axis(name, unit), fontsize=8.5)
        if annotate is None:
            annotate = values.shape[0] <= 12 and values.shape[1] <= 12
        if annotate:
            norm = im.norm
            for (i, j), v in np.ndenumerate(values):
                if not np.isfinite(v):
                    ax.text(
                        j, i, "no result", ha="center", va="center", fontsize=7, color="#8c8c8c"
                    )
                    continue
                shade = norm(v)
                dark = shade < 0.25 or shade > 0.75 if cmap == "RdBu" else shade < 0.55
                ax.text(
                    j,
                    i,
                    f"{v:.3g}",
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if dark else "black",
                )
    return fig


def metric_by_input(
    frame: pd.DataFrame,
    metric: str = "npv_yuan",
    *,
    party: str | None = None,
    rules: Sequence[str] | None = None,
    variables: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    max_levels: int = 8,
    ncols: int = 3,
):
    """``metric`` against each input: one panel per input, one colour per rule.

    Each variant is a dot; the line joins the mean over the variants at each level of the input
    (its distinct values, or quantile bins for inputs with many values).

    Parameters
    ----------
    frame : DataFrame
        From :func:`benefitshare.load_sweep`.
    metric : str
    party : str, optional
        Whose rows; the first party in the table by default.
    rules : sequence of str, optional
        Rules to draw; all by default.
    variables : sequence of str, optional
        Inputs to draw, one panel each; every input column by default.
    labels : mapping, optional
        Axis label per input.

    Returns
    -------
    matplotlib.figure.Figure
    """

    all_rules = list(dict.fromkeys(frame["rule"]))
    rules = list(rules) if rules is not None else all_rules
    _, _, party = pick_rows(frame, metric, rules[0] if rules else None, party)
    names = list(variables) if variables is not None else input_columns(frame)
    if not names:
        raise ValueError("the sweep has no inputs to draw against")
    scale, metric_name, unit = metric_label(metric)
    labels = dict(labels or {})
    with chart_style():
        fig, axes, ncols = panel_grid(
            len(names), ncols, panel_in=(3.3, 2.7), extra_in=0.5, sharey=True
        )
        for ax, name in zip(axes.flat, names, strict=False):
            numeric = pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(
                frame[name]
            )
            categories = list(dict.fromkeys(frame[name])) if not numeric else None
            for rule, colour in zip(rules, PALETTE.rules(len(rules)), strict=True):
                sub, _, _ = pick_rows(frame, metric, rule, party)
                xs = sub[name].map(categories.index) if categories else sub[name]
                ax.scatter(xs, sub[metric] / scale, s=9, alpha=0.35, color=colour, linewidths=0)
                level = input_levels(sub[name], max_levels) if numeric else xs
                means = (sub[metric] / scale).groupby(level, observed=True, sort=True).mean()
                ax.plot(
                    means.index,
                    means.to_numpy(),
                    color=colour,
                    lw=1.6,
                    marker="o",
                    ms=3,
                    label=rule,
                )
            if categories:
                ax.set_xticks(
                    range(len(categories)), [str(c) for c in categories], rotation=20, ha="right"
                )
            ax.set_xlabel(labels.get(name, name))
            ax.axhline(0.0, color=PALETTE.zero, lw=0.6, zorder=0)
            ax.grid(axis="y", color="#e6e6e6", lw=0.6)
        for ax in axes[:, 0]:
            ax.set_ylabel(unit or metric_name)
        handles, texts = axes.flat[0].get_legend_handles_labels()
        fig.suptitle(
            f"{metric_name} of {party}, by input (dots: variants; lines: mean at each level)",
            x=0.01,
            ha="left",
            fontsize=10.5,
        )
        if len(rules) > 1:
            fig.legend(
                handles,
                texts,
                loc="lower center",
                ncol=min(4, len(rules)),
                frameon=False,
                bbox_to_anchor=(0.5, 0.005),
            )
            fig.tight_layout(
                rect=(0, (0.4 + 0.2 * (len(rules) > 4)) / fig.get_figheight(), 1, 0.97)
            )
        else:
            fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig
