"""Analysis of sweep results: which variants do best and worst, and how much each input matters.

Sits in the analysis layer, above the model: it reads the tidy results table of a sweep (one row
per variant, rule and party, as :func:`benefitshare.load_sweep` returns it) and never runs the
model. :mod:`benefitshare.batch.run` calls it for the summary printed at the end of a sweep, and
the sweep charts (:mod:`benefitshare.viz.sweep`) use its row selection and input levels.

- :data:`SUMMARY_METRICS`, :data:`RESERVED_COLUMNS`: the metric columns of the results table, and
  every column name a sweep input may not take;
- :func:`pick_rows`, :func:`input_columns`, :func:`input_levels`: one rule's and party's rows, the
  input columns, and inputs grouped into levels;
- :func:`best_worst`, :func:`lever_effects`: rankings and the effect of each input;
- :func:`report_text`: the printed summary of a sweep.

Amounts are in yuan; the printed summary shows them in 亿元 (100 million yuan).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from benefitshare.glossary import YUAN_PER_YI

__all__ = [
    "SUMMARY_METRICS",
    "RESERVED_COLUMNS",
    "pick_rows",
    "input_columns",
    "input_levels",
    "best_worst",
    "lever_effects",
    "report_text",
]

#: Metrics of the results table (one row per variant, rule and party) a report can rank by.
SUMMARY_METRICS = (
    "npv_yuan",
    "gain_yuan",
    "standalone_npv_yuan",
    "cumulative_yuan",
    "pool_share_yuan",
    "share_of_pool",
    "costs_yuan",
    "net_benefit_yuan",
    "payback_year",
    "npv_p5_yuan",
    "npv_p50_yuan",
    "npv_p95_yuan",
    "cumulative_p5_yuan",
    "cumulative_p50_yuan",
    "cumulative_p95_yuan",
    "prob_net_negative",
    "revenue_at_risk_yuan",
)

#: Column names of the results table that a sweep input may not take.
RESERVED_COLUMNS = frozenset(
    {
        "variant",
        "scenario",
        "lever_point",
        "uncertainty_point",
        "rule",
        "party",
        "draws",
        "seed",
        "seed_child",
        *SUMMARY_METRICS,
    }
)


def pick_rows(
    frame: pd.DataFrame, metric: str, rule: str | None, party: str | None
) -> tuple[pd.DataFrame, str, str]:
    """One rule's and one party's rows of the results table, checking that ``metric`` is there.

    Parameters
    ----------
    frame : pandas.DataFrame
        The results table of a sweep.
    metric : str
        A metric column, e.g. ``npv_yuan`` [yuan] or ``share_of_pool`` [fraction].
    rule, party : str or None
        Which rows; the first rule and party in the table when None.

    Returns
    -------
    rows : pandas.DataFrame
    rule, party : str
        The rule and party chosen.

    Raises
    ------
    ValueError
        No such metric column, rule or party in the results.
    """
    if metric not in frame.columns:
        raise ValueError(
            f"no column {metric!r} in the results; metrics: "
            f"{', '.join(c for c in SUMMARY_METRICS if c in frame.columns)}"
        )
    rules = list(dict.fromkeys(frame["rule"]))
    parties = list(dict.fromkeys(frame["party"]))
    rule = rule if rule is not None else rules[0]
    party = party if party is not None else parties[0]
    if rule not in rules:
        raise ValueError(f"no rule {rule!r} in the results; rules: {', '.join(rules)}")
    if party not in parties:
        raise ValueError(f"no party {party!r} in the results; parties: {', '.join(parties)}")
    sub = frame[(frame["rule"] == rule) & (frame["party"] == party)]
    return sub, rule, party


def best_worst(
    frame: pd.DataFrame,
    metric: str = "npv_yuan",
    *,
    rule: str | None = None,
    party: str | None = None,
    top: int = 3,
    variables: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``top`` highest and lowest variants on ``metric`` for one rule and party.

    Returns a table with ``rank`` (``best 1``, ..., ``worst 1``, ...), ``variant``, the inputs'
    values and the metric. Rule and party default to the first in the results.
    """
    sub, _, _ = pick_rows(frame, metric, rule, party)
    sub = sub[sub[metric].notna()]
    cols = ["variant", *(input_columns(frame) if variables is None else variables), metric]
    ranked = sub.sort_values([metric, "variant"], ascending=[False, True], kind="stable")
    best = ranked.head(top).assign(rank=[f"best {i + 1}" for i in range(min(top, len(ranked)))])
    worst = ranked.iloc[::-1].head(top)
    worst = worst.assign(rank=[f"worst {i + 1}" for i in range(len(worst))])
    return pd.concat([best, worst])[["rank", *cols]].reset_index(drop=True)


def input_columns(frame: pd.DataFrame) -> list[str]:
    """The input columns of a results table: levers and uncertainties (and ``scenario``, first,
    when the sweep has more than one base scenario)."""
    known = set(RESERVED_COLUMNS)
    cols = [c for c in frame.columns if c not in known]
    if frame["scenario"].nunique() > 1:
        cols.insert(0, "scenario")
    return cols


def lever_effects(
    frame: pd.DataFrame,
    metric: str = "npv_yuan",
    *,
    rule: str | None = None,
    party: str | None = None,
    variables: Mapping[str, str] | Sequence[str] | None = None,
    max_levels: int = 6,
) -> pd.DataFrame:
    """How the mean of ``metric`` moves with each input, for one rule and party.

    Each input's values are grouped into levels (its distinct values, or ``max_levels``
    quantile bins when it has more); the table has one row per input: ``input``, ``kind``
    (lever or uncertainty), ``levels``, ``low`` and ``high`` (the lowest and highest level's
    value, or bin midpoint), ``mean_at_low``, ``mean_at_high``, ``effect`` (``mean_at_high -
    mean_at_low``), ``spread`` (largest minus smallest mean over the levels) and ``spearman``
    (rank correlation of the input with the metric over the variants; NaN for text inputs).
    Rows are sorted by ``spread``, largest first.
    """
    sub, _, _ = pick_rows(frame, metric, rule, party)
    names = list(variables) if variables is not None else input_columns(frame)
    kinds = dict(variables) if isinstance(variables, Mapping) else {}
    rows = []
    for name in names:
        levels = input_levels(sub[name], max_levels)
        means = sub.groupby(levels, observed=True, sort=True)[metric].mean()
        if means.empty:
            continue
        numeric = pd.api.types.is_numeric_dtype(sub[name]) and not pd.api.types.is_bool_dtype(
            sub[name]
        )
        rho = (
            sub[name].rank().corr(sub[metric].rank())
            if numeric and sub[name].nunique() > 1 and sub[metric].nunique() > 1
            else np.nan
        )
        rows.append(
            {
                "input": name,
                "kind": kinds.get(name, "scenario" if name == "scenario" else ""),
                "levels": len(means),
                "low": means.index[0],
                "high": means.index[-1],
                "mean_at_low": float(means.iloc[0]),
                "mean_at_high": float(means.iloc[-1]),
                "effect": float(means.iloc[-1] - means.iloc[0]),
                "spread": float(means.max() - means.min()),
                "spearman": float(rho),
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "input",
            "kind",
            "levels",
            "low",
            "high",
            "mean_at_low",
            "mean_at_high",
            "effect",
            "spread",
            "spearman",
        ],
    )
    return out.sort_values("spread", ascending=False, kind="stable").reset_index(drop=True)


def input_levels(values: pd.Series, max_levels: int) -> pd.Series:
    """Group labels for an input: its value, or the midpoint of its quantile bin.

    Numeric inputs with more than ``max_levels`` distinct values (Latin hypercube and Sobol
    designs) are grouped into ``max_levels`` quantile bins, each labelled by its midpoint; other
    inputs are their own labels.
    """
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric or values.nunique() <= max_levels:
        return values
    bins = pd.qcut(values, q=max_levels, duplicates="drop")
    return bins.map(lambda iv: float(iv.mid)).astype(float)


def report_text(
    result,
    metric: str | None = None,
    *,
    rule: str | None = None,
    party: str | None = None,
) -> str:
    """The summary printed at the end of a sweep: counts, best and worst variants, lever effects.

    Parameters
    ----------
    result : benefitshare.batch.run.SweepResult
        Read through its attributes ``frame``, ``status``, ``report``, ``variables``, the counts
        ``n_variants``, ``n_done``, ``n_failed``, ``n_skipped``, ``wall_s`` [s] and ``executor``.
    metric, rule, party : str, optional
        What to rank by, for which rule and party; the sweep file's ``[report]`` by default.

    Returns
    -------
    str
        Amounts in 亿元 (100 million yuan).
    """
    rep = result.report
    metric = metric or rep.metric
    rule = rule or rep.rule
    party = party or rep.party
    lines = [
        f"{result.n_variants} variants: {result.n_done} done ({result.n_skipped} from an earlier run), "
        f"{result.n_failed} failed, {result.n_variants - result.n_done - result.n_failed} not run; "
        f"{result.wall_s:.1f} s on {result.executor.get('name', '?')} "
        f"({result.executor.get('workers', '?')} worker{'s' if result.executor.get('workers') != 1 else ''})",
    ]
    if result.n_failed:
        failed = result.status[result.status["status"] == "failed"]
        lines.append("failed variants:")
        for _, row in failed.head(10).iterrows():
            lines.append(f"  variant {row['variant']}: {row['error']}")
        if len(failed) > 10:
            lines.append(f"  ... and {len(failed) - 10} more (see sweep.json)")
    frame = result.frame
    if frame.empty:
        return "\n".join(lines)
    if party is None:
        party = next(iter(dict.fromkeys(frame["party"])))
    sub, rule, party = pick_rows(frame, metric, rule, party)
    scale, unit = (
        (YUAN_PER_YI, " [亿元 = 100 million yuan]") if metric.endswith("_yuan") else (1.0, "")
    )
    variables = list(result.variables)
    bw = best_worst(frame, metric, rule=rule, party=party, top=rep.top, variables=variables)
    bw[metric] = bw[metric] / scale
    lines += [
        "",
        f"best and worst variants by {metric} of {party} under {rule}{unit}:",
        _indent(bw.to_string(index=False, float_format=lambda x: f"{x:,.4g}")),
    ]
    if variables and len(sub) > 1:
        eff = lever_effects(frame, metric, rule=rule, party=party, variables=result.variables)
        for col in ("mean_at_low", "mean_at_high", "effect", "spread"):
            eff[col] = eff[col] / scale
        lines += [
            "",
            f"effect of each input on the mean {metric} of {party} under {rule}{unit}:",
            _indent(eff.to_string(index=False, float_format=lambda x: f"{x:,.4g}")),
        ]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
