"""The orchestrator: calls the stages in order. No arithmetic of its own beyond wiring.

``run(scenario)`` builds the model inputs from the scenario (central values), evaluates the
stages over arrays shaped ``(draws, projects, years)`` and returns a :class:`~benefitshare.result.Result`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

import numpy as np

from benefitshare.errors import Problem, ScenarioError
from benefitshare.glossary import COST_KINDS, LOCAL_TIERS, TAXES, TIERS
from benefitshare.model import coalitions as bargaining
from benefitshare.model import economy, ledgers, taxes, tiers
from benefitshare.model.draws import apply_draws
from benefitshare.regime import VAT_CATEGORY_RATE, regime_schedule
from benefitshare.rules import PoolCache, RuleContext, apply_mechanism, tax_subsets
from benefitshare.schedules import expand_payments, expand_steps

__all__ = ["central_inputs", "evaluate", "ChunkOutput", "run", "normalise_seed", "INPUT_NAMES"]

#: Per-project model inputs (each (D or 1, P, 1)) and scenario-wide ones (each (D or 1, 1, 1)).
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
SCENARIO_INPUTS = (
    "sales_growth_rate",
    "pit_effective_rate",
    "property_tax_deduction_rate",
    "depreciation_years",
    "return_on_capital_rate",
)
INPUT_NAMES = PROJECT_INPUTS + SCENARIO_INPUTS


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
    out = {
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
            expand_steps(spec.platform.return_on_capital_rate, years)
            if spec.platform
            else np.zeros(len(years))
        ).reshape(1, 1, -1),
    }
    return out


@dataclasses.dataclass
class ChunkOutput:
    """Everything one evaluation produces for a chunk of draws (arrays over the chunk's draws).

    Attributes (shapes: D draws, K parties, R rules, T taxes, N parks, Y years)
    ----------
    pool_dy : (D, Y) shareable pool [yuan/year]
    pool_share_rdky : (R, D, K, Y) each party's share of the pool under each rule
    retained_dky : (D, K, Y) local revenue outside the pool, kept by the host
    dividends_dky : (D, K, Y) platform-company dividends
    costs_cdky : (C, D, K, Y) costs by kind (order of :data:`~benefitshare.glossary.COST_KINDS`)
    value_added_credit_dky : (D, K, Y) statistics ledger
    tax_dty : (D, T, Y) tax by type, summed over projects (gross of rebates)
    tier_dty4 : (D, T, 4, Y) tax by type and tier
    rebates_dy : (D, Y) local rebates returned to firms
    flows_ntly : (N, T, 4, Y) tax by park, type and tier, summed over the chunk's draws
    rebates_nly : (N, 2, Y) rebates by park and local tier, summed over the chunk's draws
    value_added_dy : (D, Y) value added of all projects
    standalone_dky : (D, K, Y) each party's revenue without the agreement (product.md §3.3)
    """

    pool_dy: np.ndarray
    pool_share_rdky: np.ndarray
    retained_dky: np.ndarray
    dividends_dky: np.ndarray
    costs_cdky: np.ndarray
    value_added_credit_dky: np.ndarray
    tax_dty: np.ndarray
    tier_dt4y: np.ndarray
    rebates_dy: np.ndarray
    flows_nt4y: np.ndarray
    rebates_n2y: np.ndarray
    value_added_dy: np.ndarray
    standalone_dky: np.ndarray


def _rule_context(scenario, inputs, host_idx, costs_cdky) -> RuleContext:
    spec = scenario.spec
    proj = scenario.projects
    years = scenario.years
    party_ids = tuple(spec.parties)
    full_prod = inputs["start_year"] + inputs["construction_years"] + inputs["ramp_up_years"] - 1
    equity = dict(spec.platform.equity) if spec.platform else None
    return RuleContext(
        years=years,
        party_ids=party_ids,
        host_index=host_idx,
        partner_index=spec.party_index("partner"),
        relocated=np.broadcast_to(inputs["relocated"], (1, len(proj), 1)),
        pre_move_annual_tax_yuan=inputs["pre_move_annual_tax_yuan"],
        full_production_year=full_prod,
        park=tuple(proj.park),
        group=tuple(proj.group),
        equity=equity,
        costs_yuan={k: costs_cdky[i] for i, k in enumerate(COST_KINDS)},
    )


def _explicit_costs(spec, years) -> np.ndarray:
    """Scenario costs and platform capital, (C, K, Y)."""
    parties = list(spec.parties)
    out = np.zeros((len(COST_KINDS), len(parties), len(years)))
    for cost in spec.costs:
        out[COST_KINDS.index(cost.kind), parties.index(cost.party)] += expand_payments(
            cost.payments_yuan, years
        )
    if spec.platform is not None:
        equity = np.array([spec.platform.equity.get(p, 0.0) for p in parties])
        capital = expand_payments(spec.platform.capital_payments_yuan, years)
        out[COST_KINDS.index("platform_capital")] += equity[:, None] * capital[None, :]
    return out


@dataclasses.dataclass
class Fiscal:
    """What stages 2-5 produce for a chunk (the engine-specific part of an evaluation).

    pool : PoolCache of the shareable pool by tax type (or by the tax subsets the rules need)
    retained_dky : (D, K, Y) hosts' local revenue outside the pool
    standalone_dky : (D, K, Y) standalone (no-agreement) revenue
    acquisition_dky : (D, K, Y) land acquisition borne by the hosts
    value_added_dy, credit_host_dky : value added in total and by host
    tier_dt4y, flows_nt4y, tax_dty, rebates_dy, rebates_n2y : as in :class:`ChunkOutput`
    """

    pool: PoolCache
    retained_dky: np.ndarray
    standalone_dky: np.ndarray
    acquisition_dky: np.ndarray
    value_added_dy: np.ndarray
    credit_host_dky: np.ndarray
    tier_dt4y: np.ndarray
    flows_nt4y: np.ndarray
    tax_dty: np.ndarray
    rebates_dy: np.ndarray
    rebates_n2y: np.ndarray


def _host_kp(spec, proj) -> tuple[np.ndarray, np.ndarray]:
    party_ids = list(spec.parties)
    host_idx = np.array([party_ids.index(spec.parks[p].host) for p in proj.park])
    host_kp = np.zeros((len(party_ids), len(proj)))
    host_kp[host_idx, np.arange(len(proj))] = 1.0
    return host_idx, host_kp


def _park_matrix(spec, proj) -> np.ndarray:
    park_ids = list(spec.parks)
    park_np = np.zeros((len(park_ids), len(proj)))
    park_np[[park_ids.index(p) for p in proj.park], np.arange(len(proj))] = 1.0
    return park_np


def _tier_schedules(spec, years) -> tuple[np.ndarray, np.ndarray]:
    """Central share and provincial share of the local part, each (T, Y)."""
    central = np.stack([regime_schedule(f"central_share.{t}", years) for t in TAXES])
    provincial = np.stack(
        [
            expand_steps(spec.tiers.provincial_share[t], years)
            if t in spec.tiers.provincial_share
            else np.zeros(len(years))
            for t in TAXES
        ]
    )
    return central, provincial


def _in_pool(spec, proj) -> np.ndarray:
    in_pool = np.ones(len(proj), dtype=bool)
    if spec.pool.parks is not None:
        in_pool &= np.isin(np.asarray(proj.park), spec.pool.parks)
    if spec.pool.groups is not None:
        in_pool &= np.isin(np.asarray(proj.group), spec.pool.groups)
    return in_pool


def fiscal_numpy(scenario, inp: Mapping[str, np.ndarray], n_draws: int, subsets=None) -> Fiscal:
    """Stages 2-5 (economy, taxes, tiers, pool) with whole-array NumPy operations."""
    spec = scenario.spec
    proj = scenario.projects
    years = scenario.years
    y3 = years[None, None, :]
    P, Y = len(proj), len(years)
    full = (n_draws, P, Y)
    landing = inp["landing"]

    # Stage 2: economy. Quantities are for a project that lands; taxes are scaled by landing.
    start = inp["start_year"]
    capex = economy.capex_yuan(inp["investment_yuan"], start, proj.phasing_matrix(), years)
    op_start = economy.operation_start_year(start, inp["construction_years"])
    operating = y3 >= op_start
    occupied = y3 >= start
    capacity = economy.capacity_fraction(op_start, inp["ramp_up_years"], years)
    index = economy.growth_index(inp["sales_growth_rate"], years)
    full_sales = economy.full_capacity_sales_yuan(
        inp["investment_yuan"], inp["output_per_fixed_asset"], index
    )
    sales = np.broadcast_to(full_sales * capacity, full)
    value_added = sales * inp["value_added_rate"]
    depreciation = inp["investment_yuan"] / inp["depreciation_years"]
    profit = economy.profit_before_tax_yuan(
        full_sales, capacity, inp["profit_margin"], depreciation, operating
    )
    taxable = economy.taxable_income_yuan(
        np.broadcast_to(profit, full), spec.model.loss_carryforward_years
    )

    # Stage 3: taxes (each (D, P, Y), scaled by landing)
    rs = lambda name: regime_schedule(name, years).reshape(1, 1, -1)  # noqa: E731
    relief = np.where(inp["slpe"], rs("rates.slpe_local_relief"), 0.0)
    rate = taxes.cit_rate(
        taxable,
        standard=rs("rates.cit_standard"),
        high_tech=rs("rates.cit_high_tech"),
        slpe_rate=rs("rates.cit_slpe"),
        slpe_threshold_yuan=rs("rates.slpe_income_threshold_yuan"),
        is_high_tech=inp["high_tech"],
        is_slpe=inp["slpe"],
    )
    value_added_l = np.broadcast_to(value_added * landing, full)
    vat = taxes.vat_yuan(value_added_l, inp["vat_rate"])
    tax = {
        "vat": vat,
        "cit": taxes.cit_yuan(taxable, rate) * landing,
        "pit": taxes.pit_yuan(value_added_l * inp["wage_share"], inp["pit_effective_rate"]),
        "umt": taxes.surcharge_yuan(vat, inp["umt_rate"], relief),
        "edu": taxes.surcharge_yuan(vat, rs("rates.edu"), relief),
        "local_edu": taxes.surcharge_yuan(vat, rs("rates.local_edu"), relief),
        "property": taxes.property_tax_yuan(
            inp["building_value_yuan"] * landing,
            deduction_rate=inp["property_tax_deduction_rate"],
            rate=rs("rates.property_cost_basis"),
            in_use=operating,
            relief=relief,
        ),
        "land_use": taxes.land_use_tax_yuan(
            inp["land_mu"] * landing,
            rate_yuan_per_m2=inp["land_use_tax_yuan_per_m2"],
            occupied=occupied,
            relief=relief,
        ),
        "stamp": taxes.stamp_duty_yuan(
            sales * landing if spec.model.stamp_on_sales else 0.0,
            capex * landing,
            sales_rate=rs("rates.stamp_sales_contract"),
            construction_rate=rs("rates.stamp_construction_contract"),
            relief=relief,
        ),
        "land_transfer": taxes.land_transfer_yuan(
            inp["land_mu"] * landing, inp["land_price_yuan_per_mu"], start, years
        ),
    }
    tax = {t: np.broadcast_to(tax[t], full) for t in TAXES}

    # Stage 4: tiers, as fractions of each tax (the amounts are formed only where needed)
    county_share = inp["county_share"]
    central_ty, provincial_ty = _tier_schedules(spec, years)
    frac = {
        t: tiers.tier_fractions(central_ty[i], provincial_ty[i], county_share)
        for i, t in enumerate(TAXES)
    }
    local_frac = {t: 1.0 - frac[t]["central"] - frac[t]["provincial"] for t in TAXES}  # (1, 1, Y)
    rebate_window = operating & (y3 < op_start + inp["rebate_years"])
    rebate = {
        t: tiers.rebates_yuan(tax[t] * local_frac[t], inp["rebate_rate"], rebate_window)
        for t in ("vat", "cit")
    }

    # Stage 5: shareable pool, by tax
    pool_spec = spec.pool
    in_pool3 = _in_pool(spec, proj)[None, :, None].astype(float)
    local_tiers = [tier for tier in pool_spec.tiers if tier in LOCAL_TIERS]
    # share of a local amount (e.g. a rebate) that falls in the pool's local tiers
    local_in_pool = (
        sum(
            ((1.0 - county_share) if tier == "city" else county_share for tier in local_tiers),
            np.zeros((1, P, 1)),
        )
        * in_pool3
    )
    pool_by_tax = {}
    pool_local_total = np.zeros(full)
    only_local = set(pool_spec.tiers) <= set(LOCAL_TIERS)
    for t in pool_spec.taxes:
        f = sum(frac[t][tier] for tier in pool_spec.tiers) * in_pool3
        amount = tax[t] * f
        if pool_spec.net_of_rebates and t in rebate:
            amount -= rebate[t] * local_in_pool
        pool_by_tax[t] = amount
        if only_local:
            pool_local_total += amount
        else:
            part = tax[t] * (local_frac[t] * local_in_pool)
            if pool_spec.net_of_rebates and t in rebate:
                part -= rebate[t] * local_in_pool
            pool_local_total += part

    # Host's local revenue that is not in the pool (net of the rebates it pays)
    local_net = -(rebate["vat"] + rebate["cit"])
    for t in TAXES:
        local_net += tax[t] * local_frac[t]
    _, host_kp = _host_kp(spec, proj)
    retained = ledgers.to_parties(local_net - pool_local_total, host_kp)
    acquisition = taxes.land_transfer_yuan(
        inp["land_mu"] * landing, inp["land_acquisition_cost_yuan_per_mu"], start, years
    )

    # Counterfactual: no agreement (product.md §3.3). A relocated firm stays in the partner city
    # (with the stay probability) and pays its pre-move tax there; any other project comes to its
    # host anyway with probability 1 - additionality; nobody bears cooperation costs.
    K = len(spec.parties)
    relocated = np.broadcast_to(inp["relocated"], (1, P, 1))
    stay_home = np.where(
        relocated,
        inp["pre_move_annual_tax_yuan"]
        * spec.counterfactual.origin_local_share
        * spec.counterfactual.stay_probability
        * landing
        * index,
        0.0,
    )
    partner_kp = np.zeros((K, P))
    partner_kp[spec.party_index("partner")] = 1.0
    comes_anyway = np.where(relocated, 0.0, 1.0 - inp["additionality"]) * local_net
    standalone = ledgers.to_parties(
        np.broadcast_to(stay_home, full), partner_kp
    ) + ledgers.to_parties(comes_anyway, host_kp)

    # Tier totals per draw, and flows by park summed over the chunk's draws
    per_draw_cs = np.shape(county_share)[0] > 1
    cs_vec = np.broadcast_to(county_share, (1, P, 1))[0, :, 0]
    park_np = _park_matrix(spec, proj)
    tier_dt4y = np.empty((n_draws, len(TAXES), len(TIERS), Y))
    flows = np.empty((park_np.shape[0], len(TAXES), len(TIERS), Y))
    tax_dty = np.empty((n_draws, len(TAXES), Y))
    for i, t in enumerate(TAXES):
        f = frac[t]
        s1 = tax[t].sum(axis=1)  # (D, Y)
        by_py = tax[t].sum(axis=0)  # (P, Y)
        if per_draw_cs:
            weighted = tax[t] * county_share
            s2, cs_sum = weighted.sum(axis=1), weighted.sum(axis=0)
        else:
            s2 = np.einsum("dpy,p->dy", tax[t], cs_vec)
            cs_sum = by_py * cs_vec[:, None]
        lf = local_frac[t][0]  # (1, Y)
        tax_dty[:, i] = s1
        tier_dt4y[:, i, 0] = f["central"][0] * s1
        tier_dt4y[:, i, 1] = f["provincial"][0] * s1
        tier_dt4y[:, i, 3] = lf * s2
        tier_dt4y[:, i, 2] = s1 - tier_dt4y[:, i, 0] - tier_dt4y[:, i, 1] - tier_dt4y[:, i, 3]
        flows[:, i, 0] = park_np @ (by_py * f["central"][0])
        flows[:, i, 1] = park_np @ (by_py * f["provincial"][0])
        flows[:, i, 3] = park_np @ (cs_sum * lf)
        flows[:, i, 2] = park_np @ by_py - flows[:, i, 0] - flows[:, i, 1] - flows[:, i, 3]
    rebate_total = rebate["vat"] + rebate["cit"]
    reb_county = (rebate_total * county_share).sum(axis=0)
    reb = np.stack(
        [park_np @ (rebate_total.sum(axis=0) - reb_county), park_np @ reb_county], axis=1
    )
    return Fiscal(
        pool=PoolCache(pool_by_tax),
        retained_dky=retained,
        standalone_dky=standalone,
        acquisition_dky=ledgers.to_parties(np.broadcast_to(acquisition, full), host_kp),
        value_added_dy=value_added_l.sum(axis=1),
        credit_host_dky=ledgers.to_parties(value_added_l, host_kp),
        tier_dt4y=tier_dt4y,
        flows_nt4y=flows,
        tax_dty=tax_dty,
        rebates_dy=rebate_total.sum(axis=1),
        rebates_n2y=reb,
    )


#: Engines for stages 2-5. "numba" is a fused compiled kernel (optional dependency); "numpy" the
#: whole-array reference. Both give the same numbers to rounding.
ENGINES = ("auto", "numpy", "numba")


def _kernels_available() -> bool:
    """Whether the compiled engine can run here."""
    from benefitshare.model import kernels as _kernels

    return _kernels.available()


def _fiscal(scenario, inp, n_draws, engine, subsets):
    if engine not in ENGINES:
        raise ScenarioError(
            [Problem("<arguments>", "engine", f"must be one of {', '.join(ENGINES)}", engine)]
        )
    if engine in ("auto", "numba"):
        from benefitshare.model import kernels as _kernels

        if _kernels.available():
            return _kernels.fiscal_numba(scenario, inp, n_draws, subsets)
        if engine == "numba":
            raise RuntimeError(
                "engine='numba' needs the numba package: pip install 'benefitshare[fast]'"
            )
    return fiscal_numpy(scenario, inp, n_draws, subsets)


def evaluate(
    scenario, inputs: Mapping[str, np.ndarray], rule_specs: Sequence, *, engine: str = "auto"
) -> ChunkOutput:
    """Evaluate every stage for one chunk of draws.

    Parameters
    ----------
    scenario : Scenario
    inputs : mapping of str to ndarray
        As from :func:`central_inputs`, with any input replaced by an array with a leading draws
        axis (D, P, 1) or (D, 1, 1) (or (D, 1, Y) for year schedules).
    rule_specs : sequence of RuleSpec
        The mechanisms to evaluate, all on the same draws.
    engine : {"auto", "numpy", "numba"}
        How stages 2-5 are computed; ``auto`` uses the compiled kernel when numba is installed.

    Returns
    -------
    ChunkOutput
    """
    spec = scenario.spec
    proj = scenario.projects
    years = scenario.years
    inp = dict(inputs)
    n_draws = max(np.shape(v)[0] for v in inp.values())
    party_ids = list(spec.parties)
    K, Y = len(party_ids), len(years)
    subsets = tax_subsets(
        rule_specs, spec.pool.taxes, parks=proj.park, groups=proj.group, years=years
    )
    fiscal = _fiscal(scenario, inp, n_draws, engine, subsets)
    host_idx, host_kp = _host_kp(spec, proj)

    # Stage 7a: costs (the rules may need them), platform, statistics
    costs = np.broadcast_to(
        _explicit_costs(spec, years)[:, None], (len(COST_KINDS), n_draws, K, Y)
    ).copy()
    costs[COST_KINDS.index("land_acquisition")] += fiscal.acquisition_dky
    if spec.platform is not None:
        equity = np.array([spec.platform.equity.get(p, 0.0) for p in party_ids])
        _, dividends = ledgers.platform_flows_yuan(
            expand_payments(spec.platform.capital_payments_yuan, years),
            inp["return_on_capital_rate"],
            spec.platform.payout_rate,
            equity,
        )
        dividends = np.broadcast_to(dividends, (n_draws, K, Y))
    else:
        equity = None
        dividends = np.zeros((n_draws, K, Y))
    st = spec.statistics
    if st.method == "host":
        credit = fiscal.credit_host_dky
    elif st.method == "double":
        # Kunming's key enclave parks: each host counts its own projects in full, and every
        # partner counts the whole of them too
        partner = np.array([p.role == "partner" for p in spec.parties.values()])
        credit = np.where(
            partner[None, :, None], fiscal.value_added_dy[:, None, :], fiscal.credit_host_dky
        )
    else:
        credit = ledgers.statistics_credit_yuan(
            fiscal.value_added_dy[:, None, :],
            np.ones((K, 1)),
            method=st.method,
            shares_k=None
            if st.shares is None
            else np.array([st.shares.get(p, 0.0) for p in party_ids]),
            equity_k=equity,
        )
    retained = fiscal.retained_dky
    standalone = fiscal.standalone_dky

    # Stage 6: split rules, all on the same pools. Rules may use the standalone values, each
    # party's flows outside the pool and the coalition game (bargaining rules).
    cache = fiscal.pool
    pool_dy = cache.total(tuple(spec.pool.taxes)).sum(axis=1)
    outside_net = retained + dividends - costs.sum(axis=0)
    ctx = dataclasses.replace(
        _rule_context(scenario, inp, host_idx, costs),
        standalone_dky=standalone,
        outside_pool_net_dky=outside_net,
        pool_total_dy=pool_dy,
        discount_factors_ky=bargaining.party_discount_factors(spec, years),
        coalition_game=bargaining.context_game(
            scenario,
            inp,
            retained_dky=retained,
            pool_dy=pool_dy,
            dividends_dky=dividends,
            costs_dky=costs.sum(axis=0),
            standalone_dky=standalone,
        ),
    )
    pool_share = np.stack([apply_mechanism(r, cache, ctx).transpose(1, 0, 2) for r in rule_specs])
    return ChunkOutput(
        pool_dy=pool_dy,
        pool_share_rdky=pool_share,
        retained_dky=retained,
        dividends_dky=np.asarray(dividends),
        costs_cdky=costs,
        value_added_credit_dky=credit,
        tax_dty=fiscal.tax_dty,
        tier_dt4y=fiscal.tier_dt4y,
        rebates_dy=fiscal.rebates_dy,
        flows_nt4y=fiscal.flows_nt4y,
        rebates_n2y=fiscal.rebates_n2y,
        value_added_dy=fiscal.value_added_dy,
        standalone_dky=standalone,
    )


def select_rules(scenario, rules: Sequence[str] | None):
    """The scenario's rule specs, or those named in ``rules`` (in that order)."""
    specs = list(scenario.spec.rules)
    if rules is None:
        return specs
    by_name = {r.name: r for r in specs}
    unknown = [r for r in rules if r not in by_name]
    if unknown:
        import difflib

        probs = []
        for name in unknown:
            hint = difflib.get_close_matches(name, list(by_name), n=1)
            msg = "no rule of that name in the scenario" + (
                f"; did you mean {hint[0]!r}?" if hint else f"; valid: {', '.join(by_name)}"
            )
            probs.append(Problem("<arguments>", "rules", msg, name))
        raise ScenarioError(probs)
    return [by_name[r] for r in rules]


def normalise_seed(seed) -> np.random.SeedSequence:
    """One seed argument, normalised once: int, SeedSequence, Generator or None.

    ``None`` draws fresh entropy, which is recorded (``SeedSequence.entropy``) so that the run can
    be repeated. A Generator is used to draw the entropy of a new SeedSequence.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ScenarioError(
            [
                Problem(
                    "<arguments>",
                    "seed",
                    "must be a non-negative whole number, a "
                    "numpy Generator or SeedSequence, or None",
                    seed,
                )
            ]
        )
    return np.random.SeedSequence(int(seed))


def run(
    scenario,
    *,
    draws: int = 1,
    seed=None,
    rules: Sequence[str] | None = None,
    sampler: str | None = None,
    chunk_draws: int | None = None,
    progress: bool | None = None,
    engine: str = "auto",
):
    """Run a scenario: every stage, every rule, on the same draws.

    Parameters
    ----------
    scenario : Scenario
        From :func:`~benefitshare.scenario.load_scenario`.
    draws : int
        Number of draws. 1 is the deterministic run at the values written in the scenario
        (landing at its probability, so results are expected values); more samples the
        scenario's ``[uncertainty]`` inputs.
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        One seed for all sampling; the same seed gives bit-identical results. ``None`` uses fresh
        entropy, recorded in ``Result.seed``.
    rules : sequence of str, optional
        Names of the scenario's rules to evaluate; all by default.
    sampler : {"mc", "lhs", "sobol"}, optional
        Monte Carlo, Latin hypercube or scrambled Sobol; the scenario's choice by default.
    chunk_draws : int, optional
        Draws evaluated at once; memory stays flat in the number of draws.
    progress : bool, optional
        Show a progress bar; by default shown in a terminal or notebook for runs longer than about
        a second, silent otherwise.
    engine : {"auto", "numpy", "numba"}
        How stages 2-5 are computed (see :func:`evaluate`).

    Returns
    -------
    Result
    """
    from benefitshare.model.draws import (
        SAMPLERS,
        DrawSource,
        correlation_columns,
        describe,
        split_columns,
        uncertain_factors,
    )
    from benefitshare.model.result import Accumulator

    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ScenarioError([Problem("<arguments>", "draws", "must be a whole number >= 1", draws)])
    unc = scenario.spec.uncertainty
    sampler = sampler or unc.sampler
    if sampler not in SAMPLERS:
        raise ScenarioError(
            [Problem("<arguments>", "sampler", f"must be one of {', '.join(SAMPLERS)}", sampler)]
        )
    if chunk_draws is not None and (
        isinstance(chunk_draws, bool)
        or not isinstance(chunk_draws, (int, np.integer))
        or chunk_draws < 1
    ):
        raise ScenarioError(
            [Problem("<arguments>", "chunk_draws", "must be a whole number >= 1", chunk_draws)]
        )
    specs = select_rules(scenario, rules)
    names = [r.name for r in specs]
    ss = normalise_seed(seed)  # validated even when a deterministic run does not use it
    t0 = time.perf_counter()
    base = central_inputs(scenario)
    if draws == 1:
        acc = Accumulator(scenario, names, keep_draws=1, keep_paths=1)
        acc.add(evaluate(scenario, base, specs, engine=engine))
        return acc.finish(
            draws=1, seed=None, sampler=None, timings={"evaluate_s": time.perf_counter() - t0}
        )

    factors = uncertain_factors(scenario)
    n_dims = sum(f.n_dims for f in factors)
    source = DrawSource(n_dims, draws, ss, sampler, correlation_columns(factors, unc.correlation))
    chunk = int(chunk_draws or unc.chunk_draws)
    acc = Accumulator(
        scenario, names, keep_draws=unc.keep_draws, keep_paths=unc.keep_paths, n_draws=draws
    )
    from tqdm.auto import tqdm

    bar = tqdm(
        total=draws,
        desc=f"{scenario.name}",
        unit="draw",
        delay=1.0,
        disable=(not progress) if progress is not None else None,
        leave=False,
    )
    sample_s = eval_s = 0.0
    try:
        done = 0
        while done < draws:
            n = min(chunk, draws - done)
            t1 = time.perf_counter()
            u = source.next(n)
            inputs = apply_draws(base, factors, split_columns(factors, u), scenario)
            t2 = time.perf_counter()
            acc.add(evaluate(scenario, inputs, specs, engine=engine))
            t3 = time.perf_counter()
            sample_s += t2 - t1
            eval_s += t3 - t2
            done += n
            bar.update(n)
    finally:
        bar.close()
    seed_record = {"entropy": ss.entropy, "spawn_key": list(ss.spawn_key)}
    return acc.finish(
        draws=draws,
        seed=seed_record,
        sampler=sampler,
        timings={
            "sample_s": sample_s,
            "evaluate_s": eval_s,
            "total_s": time.perf_counter() - t0,
            "chunk_draws": chunk,
        },
        factors=describe(factors),
    )
