"""What a change of inputs does to the results: each party's NPV, receipts and share of the pool,
and the cells that contribute to the change of the pool and of each party's receipts.

Every decomposition here is exact: the contributions of a list sum to the change they explain.

* The pool (docs/model.md §3.5) is the same under every rule. Its change is split by park × tax
  and by year, from :meth:`Result.flows`: the tiers the pool takes of the taxes it takes, in the
  parks it covers, less the rebates it bears (as one ``rebate`` row per park). What the flows do
  not resolve (a pool scoped by project group, or net of the rebates of only one of VAT and
  CIT) is one ``(not by park)`` row per year, so the cells still sum to the change.
* A party's receipts (:meth:`Result.annual`) are its pool share, its revenue outside the pool
  and its dividends. The change of the pool share is split into the *pool size* part (the party's
  old fraction of each year's pool times the change of that year's pool) and the *split* part
  (the rest: a changed rule or a changed fraction). By year the contributions are these four
  components; by park × tax the pool size part is spread over the pool's cells of each year and
  the other three components are a row each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "result_changes",
    "pool_cells",
    "contributor_changes",
    "RESULT_FIELDS",
    "COMPONENTS",
    "NOT_BY_PARK",
]

#: Fields of :meth:`Result.summary` compared for each rule and party.
RESULT_FIELDS: tuple[str, ...] = ("npv_yuan", "cumulative_yuan", "share_of_pool")
#: Fields of :meth:`Result.headline` compared once.
HEADLINE_FIELDS: tuple[str, ...] = ("pool_yuan", "total_tax_yuan", "local_yuan")
#: Components of a party's receipts in the contributions to their change.
COMPONENTS: tuple[str, ...] = (
    "pool size",
    "split of the pool",
    "revenue outside the pool",
    "dividends",
)
#: Park and tax of the part of the pool that the flows do not resolve.
NOT_BY_PARK = "(not by park)"

RESULT_COLUMNS = ["rule", "party", "field", "old", "new", "delta"]
CONTRIBUTOR_COLUMNS = [
    "target",
    "rule",
    "party",
    "by",
    "park",
    "tax",
    "year",
    "component",
    "old_yuan",
    "new_yuan",
    "delta_yuan",
]


def common_rules(res_a, res_b) -> list[str]:
    """Names of the rules of both results, in B's order."""
    return [r for r in res_b.rule_names if r in res_a.rule_names]


def result_changes(res_a, res_b) -> pd.DataFrame:
    """Change of each party's NPV, cumulative receipts and share of the pool, per common rule.

    Parameters
    ----------
    res_a, res_b : Result
        The old and the new run.

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``party``, ``field``, ``old``, ``new``, ``delta = new - old``. First the
        headline totals (``pool_yuan``, ``total_tax_yuan``, ``local_yuan``; rule and party
        empty), then for each rule in both runs and each party in B the fields of
        :data:`RESULT_FIELDS` from :meth:`Result.summary` (a party of only one run is 0 in
        the other).
    """
    rows = []
    head_a, head_b = res_a.headline(), res_b.headline()
    for field in HEADLINE_FIELDS:
        old, new = head_a[field], head_b[field]
        rows.append(("", "", field, old, new, new - old))
    sum_a = res_a.summary().set_index(["rule", "party"])
    sum_b = res_b.summary().set_index(["rule", "party"])
    parties = [*res_b.party_ids, *(k for k in res_a.party_ids if k not in res_b.party_ids)]
    for rule in common_rules(res_a, res_b):
        for party in parties:
            for field in RESULT_FIELDS:
                old = float(sum_a[field].get((rule, party), 0.0))
                new = float(sum_b[field].get((rule, party), 0.0))
                rows.append((rule, party, field, old, new, new - old))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def pool_cells(result) -> pd.DataFrame:
    """The pool by park, tax and year [yuan] (mean over draws), from :meth:`Result.flows`.

    Rebates the pool bears are the rows with tax ``rebate``; what the flows do not resolve is a
    ``(not by park)`` row per year (see the module docstring), so that for every year the rows
    sum to the pool of :attr:`Result.means` ``["pool_dy"]``.

    Returns
    -------
    pandas.DataFrame
        ``park``, ``tax``, ``year``, ``amount_yuan``.
    """
    pool = result.scenario.spec.pool
    flows = result.flows()
    parks = pool.parks if pool.parks is not None else list(result.park_ids)
    in_pool = flows["park"].isin(parks) & flows["tier"].isin(pool.tiers)
    taxed = flows[in_pool & (flows["kind"] == "tax") & flows["tax"].isin(pool.taxes)]
    parts = [taxed]
    if pool.net_of_rebates and {"vat", "cit"} <= set(pool.taxes):
        parts.append(flows[in_pool & (flows["kind"] == "rebate")])
    cells = (
        pd.concat(parts, ignore_index=True)
        .groupby(["park", "tax", "year"], sort=False, as_index=False)["amount_yuan"]
        .sum()
    )
    years = np.asarray(result.years, dtype=int)
    by_year = cells.groupby("year")["amount_yuan"].sum().reindex(years, fill_value=0.0)
    rest = np.asarray(result.means["pool_dy"], dtype=float) - by_year.to_numpy()
    scale = max(1.0, float(np.abs(result.means["pool_dy"]).max(initial=0.0)))
    if pool.groups is not None or np.abs(rest).max(initial=0.0) > 1e-9 * scale:
        extra = pd.DataFrame(
            {"park": NOT_BY_PARK, "tax": NOT_BY_PARK, "year": years, "amount_yuan": rest}
        )
        cells = pd.concat([cells, extra], ignore_index=True)
    cells["year"] = cells["year"].astype(int)
    return cells


def _changes(cells_a: pd.DataFrame, cells_b: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Outer join of two tables of ``amount_yuan`` on ``keys``: old, new and delta (0 if absent)."""
    a = cells_a.groupby(keys, sort=False)["amount_yuan"].sum().rename("old_yuan")
    b = cells_b.groupby(keys, sort=False)["amount_yuan"].sum().rename("new_yuan")
    out = pd.concat([a, b], axis=1).fillna(0.0).reset_index()
    out["delta_yuan"] = out["new_yuan"] - out["old_yuan"]
    return out


def _fraction_of_pool(share_y: np.ndarray, pool_y: np.ndarray) -> np.ndarray:
    """A party's fraction of each year's pool (0 where the pool is 0)."""
    return np.divide(share_y, pool_y, out=np.zeros_like(share_y), where=pool_y != 0)


def contributor_changes(res_a, res_b) -> pd.DataFrame:
    """Every contribution to the change of the pool and of each party's receipts per common rule.

    Parameters
    ----------
    res_a, res_b : Result
        The old and the new run.

    Returns
    -------
    pandas.DataFrame
        ``target`` (``pool`` or ``receipts``), ``rule`` and ``party`` (empty for the pool, which
        is the same under every rule), ``by`` (``park × tax`` or ``year``), ``park``, ``tax``,
        ``year``, ``component`` (None where not applicable), ``old_yuan``, ``new_yuan`` (NaN
        for the pool size and split parts, which are not amounts of either run) and
        ``delta_yuan``. For each target, rule, party and ``by``, ``delta_yuan`` sums to the
        change over the horizon: of the pool (:meth:`Result.headline` ``pool_yuan``) or of the
        party's cumulative receipts (:meth:`Result.summary` ``cumulative_yuan``).
    """
    cells_a, cells_b = pool_cells(res_a), pool_cells(res_b)
    pool_tax = _changes(cells_a, cells_b, ["park", "tax"])
    pool_year = _changes(cells_a, cells_b, ["year"])
    frames = [
        pool_tax.assign(target="pool", rule="", party="", by="park × tax"),
        pool_year.assign(target="pool", rule="", party="", by="year"),
    ]
    years = sorted(set(res_a.years.tolist()) | set(res_b.years.tolist()))
    pool_a = _on_years(res_a.means["pool_dy"], res_a.years, years)
    pool_b = _on_years(res_b.means["pool_dy"], res_b.years, years)
    cell_years = _changes(cells_a, cells_b, ["park", "tax", "year"])
    ann_a = res_a.annual().set_index(["rule", "party", "year"]).sort_index()
    ann_b = res_b.annual().set_index(["rule", "party", "year"]).sort_index()
    parties = [*res_b.party_ids, *(k for k in res_a.party_ids if k not in res_b.party_ids)]
    for rule in common_rules(res_a, res_b):
        for party in parties:
            a = _annual_of(ann_a, rule, party, years)
            b = _annual_of(ann_b, rule, party, years)
            frac_a = _fraction_of_pool(a["pool_share_yuan"], pool_a)
            size = frac_a * (pool_b - pool_a)
            split = b["pool_share_yuan"] - a["pool_share_yuan"] - size
            by_year = []
            for component, old, new, delta in (
                ("pool size", None, None, size),
                ("split of the pool", None, None, split),
                (
                    "revenue outside the pool",
                    a["retained_yuan"],
                    b["retained_yuan"],
                    b["retained_yuan"] - a["retained_yuan"],
                ),
                ("dividends", a["dividends_yuan"], b["dividends_yuan"], None),
            ):
                if delta is None:
                    delta = new - old
                by_year.append(
                    pd.DataFrame(
                        {
                            "year": years,
                            "component": component,
                            "old_yuan": np.nan if old is None else old,
                            "new_yuan": np.nan if new is None else new,
                            "delta_yuan": delta,
                        }
                    )
                )
            year_frame = pd.concat(by_year, ignore_index=True)
            # the pool size part spread over the pool's cells of each year
            weight = dict(zip(years, frac_a, strict=True))
            cells = cell_years.assign(
                delta_yuan=cell_years["delta_yuan"] * cell_years["year"].map(weight).fillna(0.0)
            )
            tax_frame = (
                cells.groupby(["park", "tax"], sort=False, as_index=False)["delta_yuan"]
                .sum()
                .assign(component="pool size", old_yuan=np.nan, new_yuan=np.nan)
            )
            others = (
                year_frame[year_frame["component"] != "pool size"]
                .groupby("component", sort=False, as_index=False)[
                    ["old_yuan", "new_yuan", "delta_yuan"]
                ]
                .sum(min_count=1)
            )
            frames.append(
                pd.concat([tax_frame, others], ignore_index=True).assign(
                    target="receipts", rule=rule, party=party, by="park × tax"
                )
            )
            frames.append(year_frame.assign(target="receipts", rule=rule, party=party, by="year"))
    out = pd.concat(frames, ignore_index=True)
    for column in CONTRIBUTOR_COLUMNS:
        if column not in out:
            out[column] = None
    out = out[CONTRIBUTOR_COLUMNS]
    out["year"] = out["year"].astype("Int64")
    return out


def _on_years(values, years_of, years: list[int]) -> np.ndarray:
    """A (Y,) array of ``years_of`` placed on ``years`` (0 outside its horizon)."""
    lookup = dict(zip(np.asarray(years_of).tolist(), np.asarray(values, dtype=float), strict=True))
    return np.array([lookup.get(y, 0.0) for y in years])


def _annual_of(annual: pd.DataFrame, rule: str, party: str, years: list[int]) -> dict:
    """The party's columns of :meth:`Result.annual` under ``rule`` on ``years`` (0 if absent)."""
    columns = ("pool_share_yuan", "retained_yuan", "dividends_yuan")
    try:
        rows = annual.loc[(rule, party)]
    except KeyError:
        return {c: np.zeros(len(years)) for c in columns}
    return {c: rows[c].reindex(years, fill_value=0.0).to_numpy(dtype=float) for c in columns}
