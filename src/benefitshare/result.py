"""Results of a run as tidy pandas tables, with charts on request.

A :class:`Result` holds per-draw arrays of what each party receives and pays under each rule,
and the tax flows by park, tax type and government tier. Every table is long (tidy): one row per
rule, party and year, with units in the column names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .glossary import COST_KINDS, LOCAL_TIERS, TAXES, TIERS
from .metrics import discount_factors, npv_yuan, payback_year

__all__ = ["Result"]


@dataclasses.dataclass(frozen=True)
class Result:
    """What a run produced.

    Attributes
    ----------
    scenario : Scenario
    rule_names : list of str
    party_ids : list of str
    years : ndarray of int, shape (Y,)
    draws : int
    seed : object
    sampler : str or None
    pool_dy : ndarray (D, Y)
    pool_share_rdky : ndarray (R, D, K, Y)
    retained_dky, dividends_dky : ndarray (D, K, Y)
    costs_cdky : ndarray (C, D, K, Y)
    value_added_credit_dky : ndarray (D, K, Y)
    tax_dty : ndarray (D, T, Y)
    tier_dt4y : ndarray (D, T, 4, Y)
    rebates_dy : ndarray (D, Y)
    flows_mean_nt4y : ndarray (N, T, 4, Y)
        Mean over draws of tax by park, type and tier.
    rebates_mean_n2y : ndarray (N, 2, Y)
    value_added_dy : ndarray (D, Y)
    timings : dict
    """

    scenario: object
    rule_names: list[str]
    party_ids: list[str]
    years: np.ndarray
    draws: int
    seed: object
    sampler: str | None
    pool_dy: np.ndarray
    pool_share_rdky: np.ndarray
    retained_dky: np.ndarray
    dividends_dky: np.ndarray
    costs_cdky: np.ndarray
    value_added_credit_dky: np.ndarray
    tax_dty: np.ndarray
    tier_dt4y: np.ndarray
    rebates_dy: np.ndarray
    flows_mean_nt4y: np.ndarray
    rebates_mean_n2y: np.ndarray
    value_added_dy: np.ndarray
    standalone_dky: np.ndarray
    timings: dict

    @classmethod
    def from_chunks(cls, scenario, rule_names: Sequence[str], chunks, *, draws, seed, sampler, timings):
        """Assemble a result from the outputs of :func:`~benefitshare.pipeline.evaluate`."""
        cat = lambda name, axis=0: np.concatenate([getattr(c, name) for c in chunks], axis=axis)  # noqa: E731
        n = sum(c.pool_dy.shape[0] for c in chunks)
        return cls(
            scenario=scenario,
            rule_names=list(rule_names),
            party_ids=list(scenario.spec.parties),
            years=scenario.years,
            draws=draws,
            seed=seed,
            sampler=sampler,
            pool_dy=cat("pool_dy"),
            pool_share_rdky=cat("pool_share_rdky", axis=1),
            retained_dky=cat("retained_dky"),
            dividends_dky=cat("dividends_dky"),
            costs_cdky=cat("costs_cdky", axis=1),
            value_added_credit_dky=cat("value_added_credit_dky"),
            tax_dty=cat("tax_dty"),
            tier_dt4y=cat("tier_dt4y"),
            rebates_dy=cat("rebates_dy"),
            flows_mean_nt4y=sum(c.flows_nt4y for c in chunks) / n,
            rebates_mean_n2y=sum(c.rebates_n2y for c in chunks) / n,
            value_added_dy=cat("value_added_dy"),
            standalone_dky=cat("standalone_dky"),
            timings=dict(timings),
        )

    # ---------------------------------------------------------------- derived per-draw arrays
    @property
    def revenue_rdky(self) -> np.ndarray:
        """Revenue each party receives: pool share + local revenue outside the pool + dividends."""
        return self.pool_share_rdky + (self.retained_dky + self.dividends_dky)[None]

    @property
    def costs_dky(self) -> np.ndarray:
        return self.costs_cdky.sum(axis=0)

    @property
    def net_rdky(self) -> np.ndarray:
        """Net benefit: revenue less costs [yuan/year]."""
        return self.revenue_rdky - self.costs_dky[None]

    def discount_factors_ky(self) -> np.ndarray:
        spec = self.scenario.spec
        rates = [p.discount_rate if p.discount_rate is not None else spec.model.discount_rate for p in spec.parties.values()]
        return discount_factors(np.array(rates), self.years)

    def npv_rdk(self) -> np.ndarray:
        """NPV of each party's net benefit per rule and draw [yuan], at the party's discount rate."""
        return npv_yuan(self.net_rdky, self.discount_factors_ky()[None, None])

    def standalone_npv_dk(self) -> np.ndarray:
        """NPV of each party's standalone (no-agreement) revenue per draw [yuan], shape (D, K)."""
        return npv_yuan(self.standalone_dky, self.discount_factors_ky()[None])

    def gains_rdk(self) -> np.ndarray:
        """NPV gain of each party over its standalone value, per rule and draw [yuan]."""
        return self.npv_rdk() - self.standalone_npv_dk()[None]

    # ---------------------------------------------------------------- tables
    def summary(self) -> pd.DataFrame:
        """One row per rule and party.

        Columns: ``rule``, ``party``, ``npv_yuan`` (NPV of net benefit), ``cumulative_yuan``
        (revenue received over the horizon), ``pool_share_yuan``, ``share_of_pool``,
        ``costs_yuan``, ``net_benefit_yuan``, ``payback_year``; means over draws.
        """
        npv = self.npv_rdk()
        revenue = self.revenue_rdky.sum(axis=-1)
        share = self.pool_share_rdky.sum(axis=-1)
        costs = self.costs_dky.sum(axis=-1)
        net = self.net_rdky.sum(axis=-1)
        payback = payback_year(self.net_rdky, self.years)
        pool_total = self.pool_dy.sum(axis=-1).mean()
        rows = []
        for r, rule in enumerate(self.rule_names):
            for k, party in enumerate(self.party_ids):
                pb = payback[r, :, k]
                rows.append(
                    {
                        "rule": rule,
                        "party": party,
                        "npv_yuan": npv[r, :, k].mean(),
                        "cumulative_yuan": revenue[r, :, k].mean(),
                        "pool_share_yuan": share[r, :, k].mean(),
                        "share_of_pool": share[r, :, k].mean() / pool_total if pool_total else np.nan,
                        "costs_yuan": costs[:, k].mean(),
                        "net_benefit_yuan": net[r, :, k].mean(),
                        "payback_year": float(np.nanmedian(pb)) if np.isfinite(pb).any() else np.nan,
                    }
                )
        df = pd.DataFrame(rows)
        df["payback_year"] = df["payback_year"].astype("Int64")
        return df

    def annual(self) -> pd.DataFrame:
        """One row per rule, party and year (means over draws).

        ``amount_yuan`` is revenue received (pool share + retained outside the pool + dividends);
        the components, ``costs_yuan`` and ``net_yuan`` follow.
        """
        share = self.pool_share_rdky.mean(axis=1)
        retained = self.retained_dky.mean(axis=0)
        dividends = self.dividends_dky.mean(axis=0)
        costs = self.costs_dky.mean(axis=0)
        R, K, Y = share.shape
        idx = pd.MultiIndex.from_product([self.rule_names, self.party_ids, self.years], names=["rule", "party", "year"])
        revenue = share + (retained + dividends)[None]
        df = pd.DataFrame(
            {
                "amount_yuan": revenue.reshape(-1),
                "pool_share_yuan": share.reshape(-1),
                "retained_yuan": np.broadcast_to(retained, (R, K, Y)).reshape(-1),
                "dividends_yuan": np.broadcast_to(dividends, (R, K, Y)).reshape(-1),
                "costs_yuan": np.broadcast_to(costs, (R, K, Y)).reshape(-1),
                "net_yuan": (revenue - costs[None]).reshape(-1),
            },
            index=idx,
        ).reset_index()
        df["year"] = df["year"].astype(int)
        return df

    def pool(self) -> pd.DataFrame:
        """The shareable pool by rule and year (``rule``, ``year``, ``amount_yuan``; mean over draws)."""
        mean = self.pool_dy.mean(axis=0)
        return pd.DataFrame(
            {
                "rule": np.repeat(self.rule_names, len(self.years)),
                "year": np.tile(self.years, len(self.rule_names)).astype(int),
                "amount_yuan": np.tile(mean, len(self.rule_names)),
            }
        )

    def flows(self) -> pd.DataFrame:
        """Tax by year, park, tax type and tier, and rebates (mean over draws).

        Columns: ``year``, ``park``, ``tax``, ``tier``, ``kind`` (``tax`` or ``rebate``; rebates
        are negative), ``amount_yuan``. For each year, park and tax the four tiers of kind ``tax``
        sum to the tax.
        """
        parks = list(self.scenario.spec.parks)
        N, T, L, Y = self.flows_mean_nt4y.shape
        idx = pd.MultiIndex.from_product([parks, TAXES, TIERS, self.years], names=["park", "tax", "tier", "year"])
        tax = pd.DataFrame({"amount_yuan": self.flows_mean_nt4y.reshape(-1)}, index=idx).reset_index()
        tax["kind"] = "tax"
        idx_r = pd.MultiIndex.from_product([parks, LOCAL_TIERS, self.years], names=["park", "tier", "year"])
        reb = pd.DataFrame({"amount_yuan": -self.rebates_mean_n2y.reshape(-1)}, index=idx_r).reset_index()
        reb["tax"] = "rebate"
        reb["kind"] = "rebate"
        df = pd.concat([tax, reb], ignore_index=True)[["year", "park", "tax", "tier", "kind", "amount_yuan"]]
        df["year"] = df["year"].astype(int)
        return df.sort_values(["year", "park", "kind", "tax", "tier"], kind="stable").reset_index(drop=True)

    def statistics(self) -> pd.DataFrame:
        """Value-added (GDP) credit by party and year (``party``, ``year``, ``value_added_yuan``)."""
        mean = self.value_added_credit_dky.mean(axis=0)
        idx = pd.MultiIndex.from_product([self.party_ids, self.years], names=["party", "year"])
        df = pd.DataFrame({"value_added_yuan": mean.reshape(-1)}, index=idx).reset_index()
        df["year"] = df["year"].astype(int)
        return df

    def costs(self) -> pd.DataFrame:
        """Costs by party, kind and year (``party``, ``kind``, ``year``, ``amount_yuan``)."""
        mean = self.costs_cdky.mean(axis=1)  # (C, K, Y)
        idx = pd.MultiIndex.from_product([COST_KINDS, self.party_ids, self.years], names=["kind", "party", "year"])
        df = pd.DataFrame({"amount_yuan": mean.reshape(-1)}, index=idx).reset_index()
        return df[["party", "kind", "year", "amount_yuan"]].astype({"year": int})

    def headline(self) -> dict[str, float]:
        """Horizon totals (means over draws) [yuan]: tax by tier, rebates, pool, value added."""
        tiers = self.tier_dt4y.sum(axis=-1).mean(axis=0)  # (T, 4)
        taxes_only = [i for i, t in enumerate(TAXES) if t != "land_transfer"]
        out = {
            "total_tax_yuan": float(self.tax_dty[:, taxes_only].sum(axis=(1, 2)).mean()),
            "land_transfer_yuan": float(self.tax_dty[:, TAXES.index("land_transfer")].sum(axis=-1).mean()),
            "rebates_yuan": float(self.rebates_dy.sum(axis=-1).mean()),
            "pool_yuan": float(self.pool_dy.sum(axis=-1).mean()),
            "value_added_yuan": float(self.value_added_dy.sum(axis=-1).mean()),
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
            out[f"{party} NPV (亿元)"] = wide[("npv_yuan", party)] / 1e8
            out[f"{party} share of pool"] = wide[("share_of_pool", party)]
        return out

    # ---------------------------------------------------------------- charts (lazy imports)
    def plot_annual(self, **kwargs):
        """Annual pool share by party for each rule (a matplotlib Figure)."""
        from . import plots

        return plots.annual_allocation(self, **kwargs)

    def plot_cumulative_share(self, **kwargs):
        """Partner's cumulative share of the pool over time, one line per rule."""
        from . import plots

        return plots.cumulative_share(self, **kwargs)

    def plot_flows(self, **kwargs):
        """Horizon totals from tax types through tiers to parties."""
        from . import plots

        return plots.flow_diagram(self, **kwargs)
