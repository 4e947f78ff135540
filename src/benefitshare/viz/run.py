"""Charts of a run: how each rule divides the pool, and where the tax goes.

The viz layer. Every function takes a :class:`~benefitshare.model.result.Result` (read through its
public attributes, never imported) and returns a matplotlib ``Figure``; :func:`run_charts` gives
the charts of a run folder as PNG bytes, which the caller hands to
:func:`benefitshare.io.run_folder.write_run`. Amounts are shown in 亿元 (100 million yuan); the
model itself stays in yuan. Colours, fonts and labels come from :mod:`benefitshare.viz.style`;
matplotlib is imported only when a chart is drawn, so ``import benefitshare`` stays light.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from benefitshare.glossary import LOCAL_TIERS, TAX_LABELS, TAXES, TIERS, YUAN_PER_YI
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

__all__ = [
    "require_finite",
    "annual_allocation",
    "cumulative_share",
    "flow_diagram",
    "run_charts",
    "default_flow_rule",
]


def require_finite(result, chart: str) -> None:
    """Refuse to draw ``chart`` from a result holding infinite or undefined (NaN) amounts.

    A chart is never drawn from such numbers: its scale, stacking and labels would be
    meaningless. Payback years are skipped, since NaN there means "does not pay back within the
    horizon" (documented in :mod:`benefitshare.model.metrics`).

    Raises
    ------
    ValueError
        Naming the chart and the quantity that is not finite.
    """
    for group in ("means", "scalars", "paths"):
        for key, value in (getattr(result, group, None) or {}).items():
            if key.startswith("payback"):
                continue
            array = np.asarray(value)
            if array.dtype.kind in "fc" and not np.isfinite(array).all():
                raise ValueError(
                    f"cannot draw {chart}: the result's {key} holds infinite or undefined (NaN) "
                    "amounts, and charts are never drawn from them; check the inputs (amounts "
                    "of money are at most 1e15 yuan) and run again"
                )


_TIER_LABELS = {
    "central": "Central",
    "provincial": "Provincial",
    "city": "City",
    "county": "County / zone",
}


def _party_colours(result) -> dict[str, str]:
    return {pid: PALETTE.party(k) for k, pid in enumerate(result.party_ids)}


def _rule_indices(result, rules: Sequence[str] | None) -> list[int]:
    if rules is None:
        return list(range(len(result.rule_names)))
    unknown = [r for r in rules if r not in result.rule_names]
    if unknown:
        raise ValueError(
            f"rules not in this result: {', '.join(unknown)}; valid: {', '.join(result.rule_names)}"
        )
    return [result.rule_names.index(r) for r in rules]


def _party_index(result, party: str | None) -> int:
    if party is None:
        return result.scenario.spec.party_index("partner")
    if party not in result.party_ids:
        raise ValueError(f"unknown party {party!r}; valid: {', '.join(result.party_ids)}")
    return result.party_ids.index(party)


def _horizon(result) -> str:
    """The model years, plus how many draws the means are over when there are several."""
    span = f"{int(result.years[0])}–{int(result.years[-1])}"
    return span if result.n_draws == 1 else f"{span}, mean of {result.n_draws:,} draws"


# ------------------------------------------------------------------------------------ charts
def annual_allocation(
    result, party: str | None = None, *, rules: Sequence[str] | None = None, ncols: int = 3
):
    """Each party's share of the pool per year, one panel per rule.

    Parameters
    ----------
    result : Result
    party : str, optional
        Draw only this party's share (with the whole pool as a grey line); by default every
        party's share, stacked, so that the stack's top is the pool.
    rules : sequence of str, optional
        Rules to draw, in this order; all by default.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per rule, sharing both axes [亿元/year]. Means over draws.
    """
    require_finite(result, "annual_allocation")

    idx = _rule_indices(result, rules)
    shares = result.means["pool_share_rdky"] / YUAN_PER_YI  # (R, K, Y)
    pool = result.means["pool_dy"] / YUAN_PER_YI
    labels, names, colours = rule_labels(result), party_labels(result), _party_colours(result)
    k_only = None if party is None else _party_index(result, party)
    years = result.years
    with chart_style():
        fig, axes, ncols = panel_grid(
            len(idx),
            ncols,
            panel_in=(3.9, 2.55),
            extra_in=0.9,
            sharex=True,
            sharey=True,
            layout="constrained",
        )
        for n, ax in enumerate(axes.flat[: len(idx)]):
            r = idx[n]
            name = result.rule_names[r]
            if k_only is None:
                ax.stackplot(
                    years,
                    shares[r],
                    colors=[colours[p] for p in result.party_ids],
                    labels=[names[p] for p in result.party_ids],
                    alpha=0.9,
                    linewidth=0,
                )
            else:
                pid = result.party_ids[k_only]
                ax.plot(years, pool, color="0.55", lw=1.0, ls="--", label="whole pool")
                ax.fill_between(
                    years, shares[r, k_only], color=colours[pid], alpha=0.85, lw=0, label=names[pid]
                )
            ax.set_title("\n".join(textwrap.wrap(labels[name], 42)), loc="left")
            ax.set_axisbelow(True)
            ax.grid(axis="y", color="0.9", lw=0.6)
            if n + ncols >= len(idx):  # nothing below this panel: show its year labels
                ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlim(years[0], years[-1])
            ax.margins(y=0.02)
            if n % ncols == 0:
                ax.set_ylabel(money_unit() + "/year")
        handles, leg_labels = axes.flat[0].get_legend_handles_labels()
        who = "each party's" if k_only is None else f"{names[result.party_ids[k_only]]}'s"
        fig.suptitle(
            f"Annual pool revenue: {who} share under each rule, {_horizon(result)}",
            x=0.01,
            ha="left",
            fontsize=12,
        )
        fig.legend(
            handles, leg_labels, loc="outside lower center", ncol=len(handles), frameon=False
        )
    return fig


def cumulative_share(
    result, party: str | None = None, *, rules: Sequence[str] | None = None, ax=None
):
    """A party's cumulative share of the pool over time, one line per rule.

    Parameters
    ----------
    result : Result
    party : str, optional
        The party; the partner city (role ``partner``) by default.
    rules : sequence of str, optional
        Rules to draw; all by default.
    ax : matplotlib Axes, optional
        Draw into this axes; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    ``share_y = sum_{t<=y} share_t / sum_{t<=y} pool_t`` from the mean amounts over draws;
    years before the pool is first positive are left blank.
    """
    require_finite(result, "cumulative_share")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    idx = _rule_indices(result, rules)
    k = _party_index(result, party)
    pid = result.party_ids[k]
    cum_share = np.cumsum(result.means["pool_share_rdky"][:, k], axis=-1)  # (R, Y)
    cum_pool = np.cumsum(result.means["pool_dy"])
    ratio = np.divide(cum_share, cum_pool, out=np.full_like(cum_share, np.nan), where=cum_pool > 0)
    labels = rule_labels(result)
    styles = ("-", "--", "-.", ":")
    with chart_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(11, 5.2))
        fig = ax.figure
        colours = PALETTE.rules(len(idx))
        for n, r in enumerate(idx):
            ax.plot(
                result.years,
                ratio[r],
                color=colours[n],
                ls=styles[(n // 10) % 4] if n >= 10 else "-",
                lw=1.8,
                label="\n".join(textwrap.wrap(labels[result.rule_names[r]], 48)),
            )
        top = np.nanmax(ratio[idx], initial=0.0)
        ax.set_ylim(-0.01, min(1.0, np.ceil((top + 0.05) * 10) / 10))
        ax.set_xlim(result.years[0], result.years[-1])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(color="0.9", lw=0.6)
        ax.set_xlabel("year")
        ax.set_ylabel("cumulative share of the pool")
        name = party_labels(result)[pid]
        ax.set_title(
            f"{name}'s cumulative share of the shareable pool, by rule ({_horizon(result)})",
            loc="left",
            fontsize=12,
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, labelspacing=0.7)
        fig.tight_layout()
    return fig


def flow_diagram(result, rule: str | None = None, *, ax=None):
    """Horizon totals from tax types through government tiers to the parties, under one rule.

    Four columns: tax types (and land-transfer revenue); the central, provincial, city and
    county tiers; the local tiers' revenue divided into the shareable pool, local revenue
    outside the pool and rebates to firms; and what each party receives under ``rule``.

    Parameters
    ----------
    result : Result
    rule : str, optional
        The rule whose split is drawn; the first rule of the run by default.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Node sizes are exact horizon totals (means over draws), and so are the bands from tax types
    to tiers, from the local tiers to the rebates, and into the parties. The result does not
    keep the pool by tier, so the bands from the city and county tiers into the pool and into
    the outside part are apportioned in proportion to each tier's revenue net of rebates.
    Platform dividends are not tax and are not drawn.
    """
    require_finite(result, "flow_diagram")
    import matplotlib.pyplot as plt

    r = 0 if rule is None else _rule_indices(result, [rule])[0]
    tier_tl = result.means["tier_dt4y"].sum(axis=-1) / YUAN_PER_YI  # (T, 4)
    share_k = result.means["pool_share_rdky"][r].sum(axis=-1) / YUAN_PER_YI  # (K,)
    retained_k = result.means["retained_dky"].sum(axis=-1) / YUAN_PER_YI
    rebates = float(result.means["rebates_dy"].sum()) / YUAN_PER_YI
    pool = float(share_k.sum())
    outside = float(retained_k.sum())
    names, colours = party_labels(result), _party_colours(result)

    # nodes: (column, key, label, value, colour)
    nodes: list[tuple[int, str, str, float, str]] = []
    for t, tax in enumerate(TAXES):
        if tier_tl[t].sum() > 0:
            label = display_text(TAX_LABELS[tax], tax)
            nodes.append((0, f"tax:{tax}", label, float(tier_tl[t].sum()), PALETTE.tax))
    tier_tot = tier_tl.sum(axis=0)
    for j, tier in enumerate(TIERS):
        nodes.append(
            (1, f"tier:{tier}", _TIER_LABELS[tier], float(tier_tot[j]), PALETTE.tiers[tier])
        )
    nodes += [
        (2, "pool", "Shareable pool", pool, PALETTE.pool),
        (2, "outside", "Local revenue outside the pool", outside, PALETTE.outside),
        (2, "rebates", "Rebates to firms", rebates, PALETTE.rebates),
    ]
    for k, pid in enumerate(result.party_ids):
        nodes.append(
            (3, f"party:{pid}", names[pid], float(share_k[k] + retained_k[k]), colours[pid])
        )

    links: list[tuple[str, str, float, str]] = []
    for t, tax in enumerate(TAXES):
        for j, tier in enumerate(TIERS):
            links.append((f"tax:{tax}", f"tier:{tier}", float(tier_tl[t, j]), PALETTE.tiers[tier]))
    # local tiers (and any other tier the pool draws on) into pool / outside / rebates
    local = float(sum(tier_tot[TIERS.index(t)] for t in LOCAL_TIERS))
    beyond_local = max(pool + outside + rebates - local, 0.0)
    pool_tiers = [t for t in result.scenario.spec.pool.tiers if t not in LOCAL_TIERS]
    rebates_l = result.means["rebates_n2y"].sum(axis=(0, 2)) / YUAN_PER_YI  # (2,) by local tier
    net_local = local - float(rebates_l.sum())
    for j, tier in enumerate(LOCAL_TIERS):
        w = (tier_tot[TIERS.index(tier)] - rebates_l[j]) / net_local if net_local > 0 else 0.0
        for key, amount in (("pool", pool - beyond_local), ("outside", outside)):
            links.append((f"tier:{tier}", key, float(w * amount), PALETTE.tiers[tier]))
        links.append((f"tier:{tier}", "rebates", float(rebates_l[j]), PALETTE.tiers[tier]))
    other = float(sum(tier_tot[TIERS.index(t)] for t in pool_tiers))
    for tier in pool_tiers:
        w = tier_tot[TIERS.index(tier)] / other if other > 0 else 0.0
        links.append((f"tier:{tier}", "pool", float(w * beyond_local), PALETTE.tiers[tier]))
    for k, pid in enumerate(result.party_ids):
        links.append(("pool", f"party:{pid}", float(share_k[k]), colours[pid]))
        links.append(("outside", f"party:{pid}", float(retained_k[k]), colours[pid]))

    with chart_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(12.5, 7.2))
        fig = ax.figure
        _draw_sankey(ax, nodes, links)
        label = rule_labels(result)[result.rule_names[r]]
        ax.set_title(
            f"Where the tax goes, {_horizon(result)} totals [{money_unit()}]\n"
            f"split of the pool under: {label}",
            loc="left",
            fontsize=12,
        )
        for x, head in enumerate(("Tax type", "Government tier", "Local revenue", "Received by")):
            ax.text(
                _COL_X[x] + _NODE_W / 2,
                1.03,
                head,
                ha="center",
                va="bottom",
                fontsize=9,
                fontweight="bold",
                color="0.3",
            )
        fig.tight_layout()
    return fig


def default_flow_rule(result) -> str:
    """The first rule of the run that gives the partner part of the pool (else the first rule)."""
    k = result.scenario.spec.party_index("partner")
    partner = result.means["pool_share_rdky"][:, k].sum(axis=-1)
    return next(
        (n for n, v in zip(result.rule_names, partner, strict=True) if v > 0), result.rule_names[0]
    )


def run_charts(result, *, flow_rule: str | None = None) -> dict[str, bytes]:
    """The charts of a run folder as PNG bytes, by file name.

    ``annual_allocation.png`` (:func:`annual_allocation`), ``cumulative_share.png``
    (:func:`cumulative_share` of the partner) and ``flows.png`` (:func:`flow_diagram` under
    ``flow_rule``, by default :func:`default_flow_rule`).
    """
    flow_rule = flow_rule or default_flow_rule(result)
    return {
        "annual_allocation.png": to_png(annual_allocation(result)),
        "cumulative_share.png": to_png(cumulative_share(result)),
        "flows.png": to_png(flow_diagram(result, flow_rule)),
    }


_COL_X = (0.0, 1.0, 2.0, 3.0)
_NODE_W = 0.06
_GAP = 0.025


def _draw_sankey(ax, nodes, links) -> None:
    """Draw nodes as bars and links as bands whose widths are the amounts."""
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path as MPath

    nodes = [n for n in nodes if n[3] > 1e-9]
    keys = {n[1] for n in nodes}
    links = [lk for lk in links if lk[2] > 1e-9 and lk[0] in keys and lk[1] in keys]
    columns = sorted({n[0] for n in nodes})
    per_col = {c: [n for n in nodes if n[0] == c] for c in columns}
    span = max(sum(n[3] for n in col) for col in per_col.values())
    most = max(len(col) for col in per_col.values())
    scale = (1.0 - _GAP * (most - 1)) / span
    box: dict[str, list[float]] = {}  # key -> [x, bottom, top]
    for c, col in per_col.items():
        height = sum(n[3] for n in col) * scale + _GAP * (len(col) - 1)
        top = 0.5 + height / 2
        for _, key, _, value, _ in col:
            box[key] = [_COL_X[c], top - value * scale, top]
            top -= value * scale + _GAP

    out_cursor = {k: b[2] for k, b in box.items()}
    in_cursor = {k: b[2] for k, b in box.items()}
    for src, dst, value, colour in links:
        h = value * scale
        x0, x1 = box[src][0] + _NODE_W, box[dst][0]
        y0, y1 = out_cursor[src], in_cursor[dst]
        out_cursor[src] -= h
        in_cursor[dst] -= h
        xm = (x0 + x1) / 2
        verts = [
            (x0, y0),
            (xm, y0),
            (xm, y1),
            (x1, y1),
            (x1, y1 - h),
            (xm, y1 - h),
            (xm, y0 - h),
            (x0, y0 - h),
            (x0, y0),
        ]
        codes = [
            MPath.MOVETO,
            MPath.CURVE4,
            MPath.CURVE4,
            MPath.CURVE4,
            MPath.LINETO,
            MPath.CURVE4,
            MPath.CURVE4,
            MPath.CURVE4,
            MPath.CLOSEPOLY,
        ]
        ax.add_patch(
            PathPatch(
                MPath(verts, codes),
                facecolor=colour,
                edgecolor="none",
                alpha=0.4,
                gid=f"{src}->{dst}",
            )
        )

    label_y: dict[str, float] = {}
    for col in per_col.values():
        centres = [(box[key][1] + box[key][2]) / 2 for _, key, *_ in col]
        for (_, key, *_), y in zip(col, _spread(centres, 0.032), strict=True):
            label_y[key] = y
    for c, key, label, value, colour in nodes:
        x, bottom, top = box[key]
        ax.add_patch(
            Rectangle(
                (x, bottom), _NODE_W, top - bottom, facecolor=colour, edgecolor="none", gid=key
            )
        )
        text = f"{label}  {value:,.1f}"
        if c == 0:
            ax.text(x - 0.02, label_y[key], text, ha="right", va="center", fontsize=8.5)
        else:
            ax.text(
                x + _NODE_W + 0.02,
                label_y[key],
                text,
                ha="left",
                va="center",
                fontsize=8.5,
                bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1.0},
            )
    ax.set_xlim(-0.9, 3.75)
    ax.set_ylim(-0.02, 1.06)
    ax.axis("off")


def _spread(centres: list[float], min_gap: float) -> list[float]:
    """Move label positions (top to bottom) apart to at least ``min_gap``, keeping their mean."""
    ys = list(centres)
    for _ in range(50):
        moved = False
        for i in range(1, len(ys)):
            overlap = min_gap - (ys[i - 1] - ys[i])
            if overlap > 1e-12:
                ys[i - 1] += overlap / 2
                ys[i] -= overlap / 2
                moved = True
        if not moved:
            break
    return ys
