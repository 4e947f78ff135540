"""Stage 1, model inputs: where the scenario stops.

Two things are built once per run from a :class:`~benefitshare.scenario.schema.Scenario`, and
every later stage takes them instead of the scenario (``docs/model.md`` §3.1):

* :func:`central_inputs`: the arrays that uncertainty may vary, at their central values. Project
  columns are ``(1, P, 1)``, year schedules ``(1, 1, Y)`` and scenario-wide values ``(1, 1, 1)``;
  a sampled input gets a leading draws axis ``(D, ...)``.
* :func:`model_setup`: a :class:`ModelSetup` record of everything else: years, parties and their
  indices, parks, the pool's scope, tier schedules, regime rates, explicit costs, the platform
  company, the statistics rule and discount factors. It holds arrays and small values only.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from benefitshare.glossary import COST_KINDS, TAXES
from benefitshare.model.metrics import party_discount_factors
from benefitshare.regime import VAT_CATEGORY_RATE, regime_schedule
from benefitshare.schedules import expand_payments, expand_steps

__all__ = [
    "PROJECT_INPUTS",
    "SCENARIO_INPUTS",
    "INPUT_NAMES",
    "REGIME_RATES",
    "ModelSetup",
    "Platform",
    "central_inputs",
    "model_setup",
]

#: Per-project model inputs, each (D or 1, P, 1) (``vat_rate`` and ``umt_rate`` are (1, P, Y)).
PROJECT_INPUTS = (
    "investment_yuan",
    "start_year",
    "construction_years",
    "ramp_up_years",
    "output_per_fixed_asset",
    "value_added_rate",
    "profit_margin",
    "wage_share",
    "land_mu",
    "building_value_yuan",
    "landing",
    "rebate_rate",
    "rebate_years",
    "pre_move_annual_tax_yuan",
    "relocated",
    "high_tech",
    "slpe",
    "vat_rate",
    "umt_rate",
    "county_share",
    "land_use_tax_yuan_per_m2",
    "land_price_yuan_per_mu",
    "land_acquisition_cost_yuan_per_mu",
    "additionality",
)
#: Scenario-wide model inputs, each (D or 1, 1, 1) or a year schedule (D or 1, 1, Y).
SCENARIO_INPUTS = (
    "sales_growth_rate",
    "pit_effective_rate",
    "property_tax_deduction_rate",
    "depreciation_years",
    "return_on_capital_rate",
)
INPUT_NAMES = PROJECT_INPUTS + SCENARIO_INPUTS

#: Packaged regime rates the tax stage reads, by their name in the regime (``rates.<name>``).
REGIME_RATES = (
    "cit_standard",
    "cit_high_tech",
    "cit_slpe",
    "slpe_income_threshold_yuan",
    "slpe_local_relief",
    "edu",
    "local_edu",
    "property_cost_basis",
    "stamp_sales_contract",
    "stamp_construction_contract",
)


@dataclasses.dataclass(frozen=True)
class Platform:
    """The platform company: paid-in capital, payout and equity (``docs/model.md`` §3.7).

    Attributes
    ----------
    capital_y : ndarray, shape (Y,)
        Paid-in capital by year [yuan/year].
    payout_rate : float
        Share of profit paid out as dividends [fraction].
    equity_k : ndarray, shape (K,)
        Each party's equity [fraction].
    """

    capital_y: np.ndarray
    payout_rate: float
    equity_k: np.ndarray


@dataclasses.dataclass(frozen=True)
class ModelSetup:
    """Everything a run needs besides the input arrays, built once per run.

    Attributes (P projects, K parties, T taxes, C cost kinds, Y years)
    ----------
    years : ndarray of int, shape (Y,)
    party_ids, party_roles : tuple of str, length K
    partner_index : int
        The partner city (the first party with role ``partner``).
    host_index : ndarray of int, shape (P,)
        The party that hosts each project's park.
    park_ids : tuple of str
        The scenario's parks, in order (the rows of park tables).
    park_index : ndarray of int, shape (P,)
        Each project's park, as an index into ``park_ids``.
    project_park, project_group : tuple of str, length P
    phasing_pc : ndarray, shape (P, C')
        Capex share by construction year, zero-padded [fraction].
    in_pool_p : ndarray of bool, shape (P,)
        Projects whose parks and groups are in the pool.
    pool_taxes, pool_tiers : tuple of str
        The taxes and government tiers the pool takes.
    net_of_rebates : bool
        Whether rebates to firms are deducted from the pool.
    central_ty, provincial_ty : ndarray, shape (T, Y)
        Central share of each tax, and the province's share of what the centre leaves [fraction].
    rates : dict of str to ndarray, shape (Y,)
        Regime rates by name (:data:`REGIME_RATES`).
    stamp_on_sales : bool
    loss_carryforward_years : int
    stay_share : float
        Probability a relocated firm stays home without the agreement times the origin's local
        share of its tax (``docs/model.md`` §3.6) [fraction].
    explicit_costs_cky : ndarray, shape (C, K, Y)
        The scenario's costs and platform capital by kind and party [yuan/year].
    platform : Platform or None
    statistics_method : str
        ``host``, ``shares``, ``equity`` or ``double`` (``docs/model.md`` §3.7).
    statistics_shares_k : ndarray, shape (K,), or None
    discount_factors_ky : ndarray, shape (K, Y)
        Each party's discount factors to the first model year.
    """

    years: np.ndarray
    party_ids: tuple[str, ...]
    party_roles: tuple[str, ...]
    partner_index: int
    host_index: np.ndarray
    park_ids: tuple[str, ...]
    park_index: np.ndarray
    project_park: tuple[str, ...]
    project_group: tuple[str, ...]
    phasing_pc: np.ndarray
    in_pool_p: np.ndarray
    pool_taxes: tuple[str, ...]
    pool_tiers: tuple[str, ...]
    net_of_rebates: bool
    central_ty: np.ndarray
    provincial_ty: np.ndarray
    rates: dict
    stamp_on_sales: bool
    loss_carryforward_years: int
    stay_share: float
    explicit_costs_cky: np.ndarray
    platform: Platform | None
    statistics_method: str
    statistics_shares_k: np.ndarray | None
    discount_factors_ky: np.ndarray

    @property
    def n_parties(self) -> int:
        return len(self.party_ids)

    @property
    def n_projects(self) -> int:
        return len(self.project_park)

    @property
    def equity(self) -> dict[str, float] | None:
        """Platform equity by party id, or ``None`` without a platform company."""
        if self.platform is None:
            return None
        return {p: float(e) for p, e in zip(self.party_ids, self.platform.equity_k, strict=True)}

    def host_matrix(self) -> np.ndarray:
        """One-hot host of each project, shape (K, P)."""
        out = np.zeros((self.n_parties, self.n_projects))
        out[self.host_index, np.arange(self.n_projects)] = 1.0
        return out

    def park_matrix(self) -> np.ndarray:
        """One-hot park of each project, shape (N, P)."""
        out = np.zeros((len(self.park_ids), self.n_projects))
        out[self.park_index, np.arange(self.n_projects)] = 1.0
        return out


def central_inputs(scenario) -> dict[str, np.ndarray]:
    """Model inputs at their central values, one draw.

    Project columns are (1, P, 1); park settings are mapped onto the park's projects;
    ``sales_growth_rate`` and ``return_on_capital_rate`` are (1, 1, Y); other scenario-wide
    values are (1, 1, 1). ``landing`` is the landing probability, so a deterministic run gives
    expected values.
    """
    spec = scenario.spec
    proj = scenario.projects
    years = scenario.years
    regime_rates = {
        cat: regime_schedule(f"rates.{name}", years) for cat, name in VAT_CATEGORY_RATE.items()
    }

    def col(values, dtype=float):
        return np.asarray(values, dtype=dtype).reshape(1, -1, 1)

    parks = [spec.parks[p] for p in proj.park]
    sectors = [spec.sectors[s] for s in proj.sector]
    umt = {c: regime_schedule(f"rates.umt_{c}", years) for c in ("city", "county_town", "other")}
    add = [
        r.additionality if r.additionality is not None else s.additionality
        for r, s in zip(proj.rows, sectors, strict=True)
    ]
    platform = spec.platform
    return {
        "investment_yuan": col(proj.investment_yuan),
        "start_year": col(proj.start_year, np.int64),
        "construction_years": col(proj.construction_years, np.int64),
        "ramp_up_years": col(proj.ramp_up_years, np.int64),
        "output_per_fixed_asset": col(proj.output_per_fixed_asset),
        "value_added_rate": col(proj.value_added_rate),
        "profit_margin": col(proj.profit_margin),
        "wage_share": col(proj.wage_share),
        "land_mu": col(proj.land_mu),
        "building_value_yuan": col(proj.building_value_yuan),
        "landing": col(proj.landing_probability),
        "rebate_rate": col(proj.rebate_rate),
        "rebate_years": col(proj.rebate_years, np.int64),
        "pre_move_annual_tax_yuan": col(proj.pre_move_annual_tax_yuan),
        "relocated": col(proj.relocated, bool),
        "high_tech": col(proj.high_tech, bool),
        "slpe": col(proj.slpe, bool),
        "vat_rate": np.stack([regime_rates[c] for c in proj.vat_category])[None],
        "umt_rate": np.stack([umt[p.location_class] for p in parks])[None],
        "county_share": col([p.county_share for p in parks]),
        "land_use_tax_yuan_per_m2": col([p.land_use_tax_yuan_per_m2 for p in parks]),
        "land_price_yuan_per_mu": col([p.land_price_yuan_per_mu for p in parks]),
        "land_acquisition_cost_yuan_per_mu": col(
            [p.land_acquisition_cost_yuan_per_mu for p in parks]
        ),
        "additionality": col(add),
        "sales_growth_rate": expand_steps(spec.model.sales_growth_rate, years).reshape(1, 1, -1),
        "pit_effective_rate": np.full((1, 1, 1), spec.model.pit_effective_rate),
        "property_tax_deduction_rate": np.full((1, 1, 1), spec.model.property_tax_deduction_rate),
        "depreciation_years": np.full((1, 1, 1), float(spec.model.depreciation_years)),
        "return_on_capital_rate": (
            expand_steps(platform.return_on_capital_rate, years)
            if platform
            else np.zeros(len(years))
        ).reshape(1, 1, -1),
    }


def model_setup(scenario) -> ModelSetup:
    """The :class:`ModelSetup` of a scenario: everything but the input arrays.

    Parameters
    ----------
    scenario : Scenario
        From :func:`benefitshare.load_scenario`.
    """
    spec = scenario.spec
    proj = scenario.projects
    years = np.asarray(scenario.years)
    party_ids = tuple(spec.parties)
    park_ids = tuple(spec.parks)
    in_pool = np.ones(len(proj), dtype=bool)
    if spec.pool.parks is not None:
        in_pool &= np.isin(np.asarray(proj.park), spec.pool.parks)
    if spec.pool.groups is not None:
        in_pool &= np.isin(np.asarray(proj.group), spec.pool.groups)
    central = np.stack([regime_schedule(f"central_share.{t}", years) for t in TAXES])
    provincial = np.stack(
        [
            expand_steps(spec.tiers.provincial_share[t], years)
            if t in spec.tiers.provincial_share
            else np.zeros(len(years))
            for t in TAXES
        ]
    )
    costs = np.zeros((len(COST_KINDS), len(party_ids), len(years)))
    for cost in spec.costs:
        costs[COST_KINDS.index(cost.kind), party_ids.index(cost.party)] += expand_payments(
            cost.payments_yuan, years
        )
    platform = None
    if spec.platform is not None:
        equity = np.array([spec.platform.equity.get(p, 0.0) for p in party_ids])
        capital = expand_payments(spec.platform.capital_payments_yuan, years)
        costs[COST_KINDS.index("platform_capital")] += equity[:, None] * capital[None, :]
        platform = Platform(capital, float(spec.platform.payout_rate), equity)
    st = spec.statistics
    cf = spec.counterfactual
    return ModelSetup(
        years=years,
        party_ids=party_ids,
        party_roles=tuple(p.role for p in spec.parties.values()),
        partner_index=int(spec.party_index("partner")),
        host_index=np.array([party_ids.index(spec.parks[p].host) for p in proj.park], dtype=int),
        park_ids=park_ids,
        park_index=np.array([park_ids.index(p) for p in proj.park], dtype=int),
        project_park=tuple(proj.park),
        project_group=tuple(proj.group),
        phasing_pc=np.ascontiguousarray(proj.phasing_matrix()),
        in_pool_p=in_pool,
        pool_taxes=tuple(spec.pool.taxes),
        pool_tiers=tuple(spec.pool.tiers),
        net_of_rebates=bool(spec.pool.net_of_rebates),
        central_ty=central,
        provincial_ty=provincial,
        rates={name: regime_schedule(f"rates.{name}", years) for name in REGIME_RATES},
        stamp_on_sales=bool(spec.model.stamp_on_sales),
        loss_carryforward_years=int(spec.model.loss_carryforward_years),
        stay_share=float(cf.origin_local_share * cf.stay_probability),
        explicit_costs_cky=costs,
        platform=platform,
        statistics_method=st.method,
        statistics_shares_k=(
            None if st.shares is None else np.array([st.shares.get(p, 0.0) for p in party_ids])
        ),
        discount_factors_ky=party_discount_factors(spec, years),
    )
