"""Charts of a rule comparison: who gains what, and how money moves between the cities.

The viz layer. Every function takes a :class:`~benefitshare.analysis.compare.Comparison` and
returns a matplotlib ``Figure``; amounts are shown in 亿元 (100 million yuan). The comparison is
read through its public attributes (``table``, ``reference``, ``game``, ``result``,
``surplus_yuan``) and its ``net_transfer_rdy()``; nothing is imported from the analysis layer,
whose plot methods import this module. Colours, fonts and labels come from
:mod:`benefitshare.viz.style`; matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import numpy as np

from benefitshare.glossary import YUAN_PER_YI
from benefitshare.model.metrics import percentiles
from benefitshare.viz.run import require_finite
from benefitshare.viz.style import (
    PALETTE,
    chart_style,
    display_text,
    money_unit,
    party_labels,
    rule_labels,
    to_png,
)

__all__ = ["gains_scatter", "cumulative_transfers", "comparison_charts"]


def _axes(ax, size):
    """The figure and axes to draw on: a new figure of ``size`` inches unless ``ax`` is given."""
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=size)
    return ax.figure, ax


def _sides(comparison):
    """Partner index, the host side's indices and their display names."""
    result = comparison.result
    spec = result.scenario.spec
    partner = spec.party_index("partner")
    others = [k for k in range(len(result.party_ids)) if k != partner]
    names = party_labels(result)
    pid = result.party_ids
    host_name = (
        names[pid[others[0]]]
        if len(others) == 1
        else "host side (" + ", ".join(pid[k] for k in others) + ")"
    )
    return partner, others, names[pid[partner]], host_name


def gains_scatter(comparison, *, ax=None, annotate: bool = True):
    """Partner's gain against the host side's gain over standalone, one point per rule.

    The origin is the standalone (no-agreement) point; the shaded quadrant is win-win; the
    dashed line is the Pareto frontier (splits of the whole expected surplus: every rule lies on
    it when the parties share one discount rate); the Shapley and Nash splits are marked. With
    draws, bars span the 5th to 95th percentiles of each gain.

    Parameters
    ----------
    comparison : Comparison
    ax : matplotlib Axes, optional
    annotate : bool
        Write each rule's rank next to its point.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_finite(comparison.result, "gains_scatter")
    import matplotlib.pyplot as plt

    result = comparison.result
    table = comparison.table
    partner, others, partner_name, host_name = _sides(comparison)
    parties = result.party_ids
    x = table[f"gain_{parties[partner]}_yuan"].to_numpy(float) / YUAN_PER_YI
    y = table[[f"gain_{parties[k]}_yuan" for k in others]].sum(axis=1).to_numpy(float) / YUAN_PER_YI
    game = comparison.game
    sa = game.standalone[:, 0]
    shapley = game.shapley()[:, 0] - sa
    nash_vals = comparison.reference["nash_yuan"].to_numpy(float) - sa
    surplus = comparison.surplus_yuan / YUAN_PER_YI
    labels = rule_labels(result)
    colours = PALETTE.rules(len(table))
    with chart_style():
        fig, ax = _axes(ax, (9.5, 6.2))
        pts_x = np.concatenate([x, [0.0, shapley[partner] / YUAN_PER_YI]])
        pts_y = np.concatenate([y, [0.0, shapley[others].sum() / YUAN_PER_YI]])
        if result.n_draws > 1:
            g = result.gains_rdk()  # (R, D, K)
            order = [result.rule_names.index(r) for r in table["rule"]]
            gx = g[order][:, :, partner] / YUAN_PER_YI
            gy = g[order][:, :, others].sum(axis=-1) / YUAN_PER_YI
            qx = percentiles(gx, [5, 95], axis=1)
            qy = percentiles(gy, [5, 95], axis=1)
            pts_x = np.concatenate([pts_x, qx.ravel()])
            pts_y = np.concatenate([pts_y, qy.ravel()])
        span = max(np.ptp(pts_x), np.ptp(pts_y), 1e-9)
        pad = 0.08 * span
        x0, x1 = pts_x.min() - pad, pts_x.max() + pad
        y0, y1 = pts_y.min() - pad, pts_y.max() + pad
        ax.add_patch(
            plt.Rectangle(
                (0, 0),
                max(x1, 0) + abs(x1),
                max(y1, 0) + abs(y1),
                color=PALETTE.win_win,
                zorder=0,
                lw=0,
                label="win-win region (both gain)",
            )
        )
        ax.axhline(0, color=PALETTE.zero, lw=0.8, zorder=1)
        ax.axvline(0, color=PALETTE.zero, lw=0.8, zorder=1)
        line_x = np.array([x0, x1])
        ax.plot(
            line_x,
            surplus - line_x,
            ls="--",
            color=PALETTE.frontier,
            lw=1.0,
            zorder=2,
            label=f"Pareto frontier (expected surplus: {surplus:.1f})",
        )
        if result.n_draws > 1:
            for i in range(len(table)):
                ax.errorbar(
                    x[i],
                    y[i],
                    xerr=[[x[i] - qx[0, i]], [qx[1, i] - x[i]]],
                    yerr=[[y[i] - qy[0, i]], [qy[1, i] - y[i]]],
                    fmt="none",
                    ecolor=colours[i],
                    elinewidth=0.9,
                    alpha=0.6,
                    zorder=3,
                )
        for i, rule in enumerate(table["rule"]):
            ax.scatter(
                x[i],
                y[i],
                s=46,
                color=colours[i],
                edgecolor="white",
                lw=0.6,
                zorder=4,
                label=f"{table['rank'].iloc[i]}. {labels.get(rule, rule)}",
            )
        if annotate:
            for members in _clusters(x, y, 0.012 * span):
                text = ", ".join(str(table["rank"].iloc[i]) for i in members)
                i = members[0]
                ax.annotate(
                    text,
                    (x[i], y[i]),
                    xytext=(6, 5),
                    textcoords="offset points",
                    fontsize=7.5,
                    color=PALETTE.note,
                    zorder=5,
                )
        ax.scatter(
            0, 0, marker="s", s=50, color="black", zorder=5, label="standalone (no agreement)"
        )
        ax.scatter(
            shapley[partner] / YUAN_PER_YI,
            shapley[others].sum() / YUAN_PER_YI,
            marker="*",
            s=230,
            color=PALETTE.shapley,
            edgecolor="white",
            lw=0.6,
            zorder=6,
            label="Shapley split",
        )
        ax.scatter(
            nash_vals[partner] / YUAN_PER_YI,
            nash_vals[others].sum() / YUAN_PER_YI,
            marker="D",
            s=90,
            facecolor="none",
            edgecolor=PALETTE.nash,
            lw=1.6,
            zorder=7,
            label="Nash bargaining split",
        )
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel(f"{partner_name}: gain over standalone, NPV [{money_unit(short=True)}]")
        ax.set_ylabel(f"{host_name}: gain over standalone, NPV [{money_unit(short=True)}]")
        what = (
            "expected gains; bars: 5th–95th percentile"
            if result.n_draws > 1
            else "deterministic run"
        )
        ax.set_title(f"Who gains under each split rule ({what})")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0)
        ax.grid(alpha=0.25, lw=0.5)
    return fig


def _clusters(x, y, tol):
    """Groups of points closer than ``tol`` to the group's first point (for shared labels)."""
    groups: list[list[int]] = []
    for i in range(len(x)):
        for g in groups:
            if abs(x[g[0]] - x[i]) <= tol and abs(y[g[0]] - y[i]) <= tol:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def cumulative_transfers(comparison, *, ax=None, bands: int = 3):
    """Cumulative net transfer from the host side to the partner city over time, by rule.

    The transfer is the partner's share of the pool less the pool of any projects it hosts;
    zero under "host keeps all". With draws, bands span the 5th to 95th percentiles of the kept
    paths for the ``bands`` best-ranked rules (more would hide each other).

    Parameters
    ----------
    comparison : Comparison
        Its ``net_transfer_rdy()`` gives the mean (R, Y) and per-path (R, D, Y) net transfer
        [yuan/year], by rule in the run's order.
    ax : matplotlib Axes, optional
    bands : int
        How many of the best-ranked rules get a percentile band.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_finite(comparison.result, "cumulative_transfers")
    result = comparison.result
    table = comparison.table
    _, _, partner_name, host_name = _sides(comparison)
    mean_ry, paths_rdy = comparison.net_transfer_rdy()
    years = result.years
    labels = rule_labels(result)
    colours = PALETTE.rules(len(table))
    with chart_style():
        fig, ax = _axes(ax, (9.5, 5.4))
        for i, rule in enumerate(table["rule"]):
            r = result.rule_names.index(rule)
            cum = np.cumsum(mean_ry[r]) / YUAN_PER_YI
            ax.plot(
                years,
                cum,
                color=colours[i],
                lw=1.6,
                label=f"{table['rank'].iloc[i]}. {labels.get(rule, rule)}",
            )
            if result.n_draws > 1 and i < bands:
                q = percentiles(np.cumsum(paths_rdy[r], axis=-1), [5, 95], axis=0) / YUAN_PER_YI
                ax.fill_between(years, q[0], q[1], color=colours[i], alpha=0.12, lw=0)
        ax.axhline(0, color=PALETTE.zero, lw=0.8)
        ax.set_xlim(years[0], years[-1])
        ax.set_xlabel("year")
        ax.set_ylabel(
            f"cumulative transfer to {display_text(partner_name)} [{money_unit(short=True)}]"
        )
        ax.set_title(
            f"Money moving from {display_text(host_name)} to {display_text(partner_name)}, "
            "cumulative"
            + (
                f" (mean; bands: 5th–95th percentile, top {bands})"
                if result.n_draws > 1 and bands
                else ""
            )
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0)
        ax.grid(alpha=0.25, lw=0.5)
    return fig


def comparison_charts(comparison) -> dict[str, bytes]:
    """The comparison's charts as PNG bytes by file name (``gains.png``, ``transfers.png``)."""
    return {
        "gains.png": to_png(gains_scatter(comparison)),
        "transfers.png": to_png(cumulative_transfers(comparison)),
    }
