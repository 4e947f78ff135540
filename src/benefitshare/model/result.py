"""Results of a run as tidy pandas tables, with charts on request.

A :class:`Result` holds per-draw arrays of what each party receives and pays under each rule,
and the tax flows by park, tax type and government tier. Every table is long (tidy): one row per
rule, party and year, with units in the column names.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from benefitshare.glossary import COST_KINDS, LOCAL_TIERS, TAXES, TIERS, YUAN_PER_YI
from benefitshare.model.metrics import (
    gain_yuan,
    net_benefit_yuan,
    npv_yuan,
    payback_year,
    percentiles,
    revenue_yuan,
)

__all__ = ["Result"]


#: Per-draw arrays of a chunk kept as paths (first ``keep_paths`` draws), with their draws axis.
_PATH_FIELDS = {
    "pool_dy": 0,
    "pool_share_rdky": 1,
    "retained_dky": 0,
    "dividends_dky": 0,
    "costs_cdky": 1,
    "value_added_credit_dky": 0,
    "tax_dty": 0,
    "tier_dt4y": 0,
    "rebates_dy": 0,
    "value_added_dy": 0,
    "standalone_dky": 0,
}


def _median_year(years) -> float:
    """Median payback year over draws that pay back (a year that occurs; NaN if none do)."""
    finite = np.asarray(years, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(np.quantile(finite, 0.5, method="inverted_cdf")) if finite.size else np.nan


class Accumulator:
    """Streams chunks of draws into a :class:`Result` with memory that does not grow with draws.

    Means and probabilities are exact over all draws; per-draw scalars (NPV, cumulative revenue,
    payback) are kept for the first ``keep_draws`` draws and whole yearly paths for the first
    ``keep_paths`` draws, from which percentiles are computed exactly.
    """

    def __init__(self, setup, rule_names, *, keep_draws=100_000, keep_paths=2_000, n_draws=None):
        self.party_ids = list(setup.party_ids)
        self.park_ids = list(setup.park_ids)
        self.years = setup.years
        self.rule_names = list(rule_names)
        cap = int(n_draws) if n_draws is not None else None
        self.keep_draws = int(keep_draws) if cap is None else min(int(keep_draws), cap)
        self.keep_paths = int(keep_paths) if cap is None else min(int(keep_paths), cap)
        self.n = 0
        self.sums: dict[str, np.ndarray] = {}
        self.paths: dict[str, np.ndarray] = {}
        self.scalars: dict[str, list] = {
            k: []
            for k in (
                "npv_rdk",
                "revenue_rdk",
                "pool_share_total_rdk",
                "payback_rdk",
                "standalone_npv_dk",
                "costs_total_dk",
                "pool_total_d",
            )
        }
        self.counts: dict[str, np.ndarray] = {}
        self.factors_ky = setup.discount_factors_ky

    def add(self, c) -> None:
        """Fold in one :class:`~benefitshare.model.run.ChunkOutput`."""
        d = c.pool_dy.shape[0]
        for name, axis in _PATH_FIELDS.items():
            arr = getattr(c, name)
            total = arr.sum(axis=axis)
            self.sums[name] = total if name not in self.sums else self.sums[name] + total
        self.sums["flows_nt4y"] = (
            c.flows_nt4y
            if "flows_nt4y" not in self.sums
            else self.sums["flows_nt4y"] + c.flows_nt4y
        )
        self.sums["rebates_n2y"] = (
            c.rebates_n2y
            if "rebates_n2y" not in self.sums
            else self.sums["rebates_n2y"] + c.rebates_n2y
        )
        # per-draw scalars
        revenue = revenue_yuan(c.pool_share_rdky, c.retained_dky[None], c.dividends_dky[None])
        costs = c.costs_cdky.sum(axis=0)
        net = net_benefit_yuan(revenue, costs[None])
        npv = npv_yuan(net, self.factors_ky[None, None])
        standalone_npv = npv_yuan(c.standalone_dky, self.factors_ky[None])
        below = (npv < 0).sum(axis=1)
        loss = (gain_yuan(npv, standalone_npv[None]) < 0).sum(axis=1)
        self.counts["npv_below_zero_rk"] = below + self.counts.get("npv_below_zero_rk", 0)
        self.counts["gain_below_zero_rk"] = loss + self.counts.get("gain_below_zero_rk", 0)
        room = self.keep_draws - self.n
        if room > 0:
            m = min(room, d)
            self.scalars["npv_rdk"].append(npv[:, :m])
            self.scalars["revenue_rdk"].append(revenue[:, :m].sum(axis=-1))
            self.scalars["pool_share_total_rdk"].append(c.pool_share_rdky[:, :m].sum(axis=-1))
            self.scalars["payback_rdk"].append(
                payback_year(net[:, :m], self.years).astype(np.float32)
            )
            self.scalars["standalone_npv_dk"].append(standalone_npv[:m])
            self.scalars["costs_total_dk"].append(costs[:m].sum(axis=-1))
            self.scalars["pool_total_d"].append(c.pool_dy[:m].sum(axis=-1))
        room = self.keep_paths - self.n
        if room > 0:
            m = min(room, d)
            for name, axis in _PATH_FIELDS.items():
                arr = getattr(c, name)
                if name not in self.paths:
                    shape = list(arr.shape)
                    shape[axis] = self.keep_paths
                    self.paths[name] = np.empty(shape)
                dest = self.paths[name]
                index = [slice(None)] * arr.ndim
                index[axis] = slice(self.n, self.n + m)
                src = [slice(None)] * arr.ndim
                src[axis] = slice(0, m)
                dest[tuple(index)] = arr[tuple(src)]
        self.n += d

    def finish(self, scenario, *, draws, seed, sampler, timings, factors=None):
        """The :class:`Result` of everything added, for the run of ``scenario``."""
        n = self.n
        kept = min(self.n, self.keep_paths)
        paths = {}
        for k, axis in _PATH_FIELDS.items():
            index = [slice(None)] * self.paths[k].ndim
            index[axis] = slice(0, kept)
            paths[k] = self.paths[k][tuple(index)]
        scal = {
            k: np.concatenate(v, axis=1 if k.endswith("_rdk") else 0)
            for k, v in self.scalars.items()
        }
        return Result(
            scenario=scenario,
            rule_names=self.rule_names,
            party_ids=self.party_ids,
            park_ids=self.park_ids,
            years=self.years,
            discount_ky=self.factors_ky,
            n_draws=draws,
            seed=seed,
            sampler=sampler,
            means={k: v / n for k, v in self.sums.items()},
            scalars=scal,
            counts={k: np.asarray(v) for k, v in self.counts.items()},
            paths=paths,
            factors=factors or [],
            timings=dict(timings),
        )


@dataclasses.dataclass(frozen=True)
class Result:
    """What a run produced.

    Attributes
    ----------
    scenario : Scenario
        The scenario that was run (for reports; the model itself never reads it back).
    rule_names : list of str
    party_ids : list of str
    park_ids : list of str
    years : ndarray of int, shape (Y,)
    discount_ky : ndarray, shape (K, Y)
        Each party's discount factors to the first model year.
    n_draws : int
        Number of draws (1 for a deterministic run).
    seed : object
        The seed the run was given (``None`` for a deterministic run).
    sampler : str or None
    means : dict of str to ndarray
        Means over all draws of each per-draw quantity, without its draws axis (e.g.
        ``means["pool_share_rdky"]`` is (R, K, Y)), and of ``flows_nt4y``, ``rebates_n2y``.
    scalars : dict of str to ndarray
        Per-draw scalars for the kept draws: ``npv_rdk``, ``revenue_rdk``,
        ``pool_share_total_rdk``, ``payback_rdk``, ``standalone_npv_dk``, ``costs_total_dk``,
        ``pool_total_d``.
    counts : dict of str to ndarray
        Over all draws: ``npv_below_zero_rk`` (NPV of net benefit < 0) and ``gain_below_zero_rk``
        (NPV below the standalone value).
    paths : dict of str to ndarray
        Whole yearly paths of the kept paths (see the attributes of the same names).
    factors : list of dict
        The uncertain inputs sampled (empty for a deterministic run).
    timings : dict
    """

    scenario: object
    rule_names: list[str]
    party_ids: list[str]
    park_ids: list[str]
    years: np.ndarray
    discount_ky: np.ndarray
    n_draws: int
    seed: object
    sampler: str | None
    means: dict
    scalars: dict
    counts: dict
    paths: dict
    factors: list
    timings: dict

    # ---------------------------------------------------------------- kept paths, by name
    pool_dy = property(
        lambda self: self.paths["pool_dy"], doc="Pool per kept path, (D, Y) [yuan/year]."
    )
    pool_share_rdky = property(
        lambda self: self.paths["pool_share_rdky"], doc="(R, D, K, Y) share of the pool."
    )
    retained_dky = property(
        lambda self: self.paths["retained_dky"], doc="(D, K, Y) local revenue outside the pool."
    )
    dividends_dky = property(
        lambda self: self.paths["dividends_dky"], doc="(D, K, Y) platform dividends."
    )
    costs_cdky = property(lambda self: self.paths["costs_cdky"], doc="(C, D, K, Y) costs by kind.")
    value_added_credit_dky = property(
        lambda self: self.paths["value_added_credit_dky"], doc="(D, K, Y) GDP credit."
    )
    tax_dty = property(lambda self: self.paths["tax_dty"], doc="(D, T, Y) tax by type.")
    tier_dt4y = property(
        lambda self: self.paths["tier_dt4y"], doc="(D, T, 4, Y) tax by type and tier."
    )
    rebates_dy = property(lambda self: self.paths["rebates_dy"], doc="(D, Y) rebates to firms.")
    value_added_dy = property(lambda self: self.paths["value_added_dy"], doc="(D, Y) value added.")
    standalone_dky = property(
        lambda self: self.paths["standalone_dky"], doc="(D, K, Y) standalone revenue."
    )
    flows_mean_nt4y = property(
        lambda self: self.means["flows_nt4y"], doc="(N, T, 4, Y) mean tax by park/type/tier."
    )
    rebates_mean_n2y = property(
        lambda self: self.means["rebates_n2y"], doc="(N, 2, Y) mean rebates by park/tier."
    )

    # ---------------------------------------------------------------- derived per-draw arrays
    @property
    def revenue_rdky(self) -> np.ndarray:
        """Revenue each party receives: pool share + local revenue outside the pool + dividends."""
        return revenue_yuan(self.pool_share_rdky, self.retained_dky[None], self.dividends_dky[None])

    @property
    def costs_dky(self) -> np.ndarray:
        return self.costs_cdky.sum(axis=0)

    def discount_factors_ky(self) -> np.ndarray:
        """Each party's discount factors to the first model year, shape (K, Y)."""
        return self.discount_ky

    def npv_rdk(self) -> np.ndarray:
        """NPV of each party's net benefit per rule and kept draw [yuan], at its discount rate."""
        return self.scalars["npv_rdk"]

    def standalone_npv_dk(self) -> np.ndarray:
        """NPV of each party's standalone (no-agreement) revenue per kept draw [yuan], (D, K)."""
        return self.scalars["standalone_npv_dk"]

    def standalone_npv_mean_k(self) -> np.ndarray:
        """Mean NPV of each party's standalone (no-agreement) revenue over all draws [yuan], (K,)."""
        return npv_yuan(self.means["standalone_dky"], self.discount_ky)

    def gain_mean_rk(self) -> np.ndarray:
        """Mean NPV gain of each party over its standalone value per rule [yuan], shape (R, K)."""
        return gain_yuan(self.npv_mean_rk(), self.standalone_npv_mean_k()[None])

    def gains_rdk(self) -> np.ndarray:
        """NPV gain of each party over its standalone value, per rule and draw [yuan]."""
        return gain_yuan(self.npv_rdk(), self.standalone_npv_dk()[None])

    # ---------------------------------------------------------------- tables
    def summary(self) -> pd.DataFrame:
        """One row per rule and party.

        Columns: ``rule``, ``party``, ``npv_yuan`` (mean NPV of net benefit, at the party's
        discount rate), ``cumulative_yuan`` (mean revenue received over the horizon),
        ``pool_share_yuan``, ``share_of_pool`` (0 when the pool is empty), ``costs_yuan``, ``net_benefit_yuan``,
        ``payback_year`` (median over the kept draws that pay back, a year that occurs; missing
        where none does).
        With draws > 1 also ``npv_p5_yuan``, ``npv_p50_yuan``, ``npv_p95_yuan``,
        ``cumulative_p5_yuan``, ``cumulative_p50_yuan``, ``cumulative_p95_yuan``,
        ``prob_net_negative`` (P(NPV of net benefit < 0), over all draws) and
        ``revenue_at_risk_yuan`` (mean minus P5 of cumulative revenue).
        """
        m = self.means
        share_ry = m["pool_share_rdky"]  # (R, K, Y)
        revenue = revenue_yuan(share_ry, m["retained_dky"][None], m["dividends_dky"][None])
        costs_k = m["costs_cdky"].sum(axis=0).sum(axis=-1)  # (K,)
        pool_total = m["pool_dy"].sum()
        npv_mean = self.npv_mean_rk()
        sc = self.scalars
        payback = sc["payback_rdk"]
        rows = []
        for r, rule in enumerate(self.rule_names):
            for k, party in enumerate(self.party_ids):
                pb = payback[r, :, k]
                share = share_ry[r, k].sum()
                row = {
                    "rule": rule,
                    "party": party,
                    "npv_yuan": npv_mean[r, k],
                    "cumulative_yuan": revenue[r, k].sum(),
                    "pool_share_yuan": share,
                    "share_of_pool": share / pool_total if pool_total else 0.0,
                    "costs_yuan": costs_k[k],
                    "net_benefit_yuan": net_benefit_yuan(revenue[r, k].sum(), costs_k[k]),
                    "payback_year": _median_year(pb),
                }
                if self.n_draws > 1:
                    npv = sc["npv_rdk"][r, :, k]
                    cum = sc["revenue_rdk"][r, :, k]
                    p5, p50, p95 = percentiles(npv, [5, 50, 95])
                    c5, c50, c95 = percentiles(cum, [5, 50, 95])
                    row.update(
                        npv_p5_yuan=p5,
                        npv_p50_yuan=p50,
                        npv_p95_yuan=p95,
                        cumulative_p5_yuan=c5,
                        cumulative_p50_yuan=c50,
                        cumulative_p95_yuan=c95,
                        prob_net_negative=self.counts["npv_below_zero_rk"][r, k] / self.n_draws,
                        revenue_at_risk_yuan=row["cumulative_yuan"] - c5,
                    )
                rows.append(row)
        df = pd.DataFrame(rows)
        df["payback_year"] = df["payback_year"].astype("Int64")
        return df

    def npv_mean_rk(self) -> np.ndarray:
        """Mean NPV of each party's net benefit per rule over all draws [yuan], shape (R, K).

        NPV is linear, so this is the NPV of the mean path, at each party's discount rate.
        """
        m = self.means
        revenue = revenue_yuan(
            m["pool_share_rdky"], m["retained_dky"][None], m["dividends_dky"][None]
        )
        net = net_benefit_yuan(revenue, m["costs_cdky"].sum(axis=0)[None])
        return npv_yuan(net, self.discount_ky[None])

    def annual(self) -> pd.DataFrame:
        """One row per rule, party and year (means over all draws).

        ``amount_yuan`` is revenue received (pool share + retained outside the pool + dividends);
        the components, ``costs_yuan`` and ``net_yuan`` follow. With draws > 1, ``amount_p5_yuan``,
        ``amount_p50_yuan`` and ``amount_p95_yuan`` give percentiles of the revenue over the kept
        paths.
        """
        m = self.means
        share = m["pool_share_rdky"]
        retained = m["retained_dky"]
        dividends = m["dividends_dky"]
        costs = m["costs_cdky"].sum(axis=0)
        R, K, Y = share.shape
        idx = pd.MultiIndex.from_product(
            [self.rule_names, self.party_ids, self.years], names=["rule", "party", "year"]
        )
        revenue = revenue_yuan(share, retained[None], dividends[None])
        cols = {
            "amount_yuan": revenue.reshape(-1),
            "pool_share_yuan": share.reshape(-1),
            "retained_yuan": np.broadcast_to(retained, (R, K, Y)).reshape(-1),
            "dividends_yuan": np.broadcast_to(dividends, (R, K, Y)).reshape(-1),
            "costs_yuan": np.broadcast_to(costs, (R, K, Y)).reshape(-1),
            "net_yuan": net_benefit_yuan(revenue, costs[None]).reshape(-1),
        }
        if self.n_draws > 1:
            q = percentiles(self.revenue_rdky, [5, 50, 95], axis=1)  # (3, R, K, Y)
            cols["amount_p5_yuan"] = q[0].reshape(-1)
            cols["amount_p50_yuan"] = q[1].reshape(-1)
            cols["amount_p95_yuan"] = q[2].reshape(-1)
        df = pd.DataFrame(cols, index=idx).reset_index()
        df["year"] = df["year"].astype(int)
        return df

    def pool(self) -> pd.DataFrame:
        """The shareable pool by rule and year (``rule``, ``year``, ``amount_yuan``; mean over draws)."""
        mean = self.means["pool_dy"]
        return pd.DataFrame(
            {
                "rule": np.repeat(self.rule_names, len(self.years)),
                "year": np.tile(self.years, len(self.rule_names)).astype(int),
                "amount_yuan": np.tile(mean, len(self.rule_names)),
            }
        )

    def draws_table(self) -> pd.DataFrame:
        """Per-draw results for the kept draws: ``draw``, ``rule``, ``party``, ``npv_yuan``,
        ``cumulative_yuan``, ``standalone_npv_yuan``, ``gain_yuan``."""
        npv = self.scalars["npv_rdk"]
        R, D, K = npv.shape
        idx = pd.MultiIndex.from_product(
            [self.rule_names, range(D), self.party_ids], names=["rule", "draw", "party"]
        )
        stand = np.broadcast_to(self.scalars["standalone_npv_dk"][None], (R, D, K))
        df = pd.DataFrame(
            {
                "npv_yuan": npv.reshape(-1),
                "cumulative_yuan": self.scalars["revenue_rdk"].reshape(-1),
                "standalone_npv_yuan": stand.reshape(-1),
                "gain_yuan": gain_yuan(npv, stand).reshape(-1),
            },
            index=idx,
        ).reset_index()
        return df[
            [
                "draw",
                "rule",
                "party",
                "npv_yuan",
                "cumulative_yuan",
                "standalone_npv_yuan",
                "gain_yuan",
            ]
        ]

    def draws(self) -> pd.DataFrame:
        """Per-draw NPV by rule and party, for your own analysis (see :meth:`draws_table`)."""
        return self.draws_table()

    def flows(self) -> pd.DataFrame:
        """Tax by year, park, tax type and tier, and rebates (mean over draws).

        Columns: ``year``, ``park``, ``tax``, ``tier``, ``kind`` (``tax`` or ``rebate``; rebates
        are negative), ``amount_yuan``. For each year, park and tax the four tiers of kind ``tax``
        sum to the tax.
        """
        parks = self.park_ids
        idx = pd.MultiIndex.from_product(
            [parks, TAXES, TIERS, self.years], names=["park", "tax", "tier", "year"]
        )
        tax = pd.DataFrame(
            {"amount_yuan": self.flows_mean_nt4y.reshape(-1)}, index=idx
        ).reset_index()
        tax["kind"] = "tax"
        idx_r = pd.MultiIndex.from_product(
            [parks, LOCAL_TIERS, self.years], names=["park", "tier", "year"]
        )
        reb = pd.DataFrame(
            {"amount_yuan": -self.rebates_mean_n2y.reshape(-1)}, index=idx_r
        ).reset_index()
        reb["tax"] = "rebate"
        reb["kind"] = "rebate"
        df = pd.concat([tax, reb], ignore_index=True)[
            ["year", "park", "tax", "tier", "kind", "amount_yuan"]
        ]
        df["year"] = df["year"].astype(int)
        return df.sort_values(["year", "park", "kind", "tax", "tier"], kind="stable").reset_index(
            drop=True
        )

    def statistics(self) -> pd.DataFrame:
        """Value-added (GDP) credit by party and year (``party``, ``year``, ``value_added_yuan``)."""
        mean = self.means["value_added_credit_dky"]
        idx = pd.MultiIndex.from_product([self.party_ids, self.years], names=["party", "year"])
        df = pd.DataFrame({"value_added_yuan": mean.reshape(-1)}, index=idx).reset_index()
        df["year"] = df["year"].astype(int)
        return df

    def costs(self) -> pd.DataFrame:
        """Costs by party, kind and year (``party``, ``kind``, ``year``, ``amount_yuan``)."""
        mean = self.means["costs_cdky"]  # (C, K, Y)
        idx = pd.MultiIndex.from_product(
            [COST_KINDS, self.party_ids, self.years], names=["kind", "party", "year"]
        )
        df = pd.DataFrame({"amount_yuan": mean.reshape(-1)}, index=idx).reset_index()
        return df[["party", "kind", "year", "amount_yuan"]].astype({"year": int})

    def headline(self) -> dict[str, float]:
        """Horizon totals (means over draws) [yuan]: tax by tier, rebates, pool, value added."""
        m = self.means
        tiers = m["tier_dt4y"].sum(axis=-1)  # (T, 4)
        taxes_only = [i for i, t in enumerate(TAXES) if t != "land_transfer"]
        out = {
            "total_tax_yuan": float(m["tax_dty"][taxes_only].sum()),
            "land_transfer_yuan": float(m["tax_dty"][TAXES.index("land_transfer")].sum()),
            "rebates_yuan": float(m["rebates_dy"].sum()),
            "pool_yuan": float(m["pool_dy"].sum()),
            "value_added_yuan": float(m["value_added_dy"].sum()),
        }
        for j, tier in enumerate(TIERS):
            out[f"{tier}_yuan"] = float(tiers[taxes_only, j].sum())
        out["local_yuan"] = out["city_yuan"] + out["county_yuan"]
        return out

    def comparison(self) -> pd.DataFrame:
        """A compact comparison table: one row per rule, a column pair per party (亿元 = 1e8 yuan)."""
        s = self.summary()
        wide = s.pivot(index="rule", columns="party", values=["npv_yuan", "share_of_pool"])
        out = pd.DataFrame(index=pd.Index(self.rule_names, name="rule"))
        for party in self.party_ids:
            out[f"{party} NPV (亿元)"] = wide[("npv_yuan", party)] / YUAN_PER_YI
            out[f"{party} share of pool"] = wide[("share_of_pool", party)]
        return out

    # ---------------------------------------------------------------- charts (lazy imports)
    def plot_annual(self, **kwargs):
        """Annual pool share by party for each rule (a matplotlib Figure)."""
        from benefitshare.viz import run as plots

        return plots.annual_allocation(self, **kwargs)

    def plot_cumulative_share(self, **kwargs):
        """Partner's cumulative share of the pool over time, one line per rule."""
        from benefitshare.viz import run as plots

        return plots.cumulative_share(self, **kwargs)

    def plot_flows(self, **kwargs):
        """Horizon totals from tax types through tiers to parties."""
        from benefitshare.viz import run as plots

        return plots.flow_diagram(self, **kwargs)
