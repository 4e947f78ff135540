"""The NumPy engine: stages 2-6 (economy, taxes, tiers, pool, counterfactual) over whole arrays.

The reference implementation: :mod:`benefitshare.model.kernels` computes the same numbers in one
compiled pass, and the tests check that both agree. Each stage is a module of pure functions;
this module calls them in order over ``(draws, projects, years)`` and returns a :class:`Fiscal`
record. See ``docs/model.md`` §3.2-§3.6.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from benefitshare.glossary import TAXES
from benefitshare.model import counterfactual, economy, ledgers, pool, taxes, tiers
from benefitshare.rules import PoolCache

__all__ = ["Fiscal", "fiscal_numpy"]


@dataclasses.dataclass
class Fiscal:
    """What stages 2-5 produce for a chunk of draws (D draws, K parties, T taxes, N parks).

    Attributes
    ----------
    pool : PoolCache
        The shareable pool by tax type (or by the tax subsets the rules need), (D, P, Y) each.
    retained_dky : ndarray, shape (D, K, Y)
        Hosts' local revenue outside the pool [yuan/year].
    standalone_dky : ndarray, shape (D, K, Y)
        Standalone (no-agreement) revenue [yuan/year].
    acquisition_dky : ndarray, shape (D, K, Y)
        Land acquisition borne by the hosts [yuan/year].
    value_added_dy : ndarray, shape (D, Y)
        Value added of all projects, landing-weighted [yuan/year].
    credit_host_dky : ndarray, shape (D, K, Y)
        Value added by host [yuan/year].
    tier_dt4y : ndarray, shape (D, T, 4, Y)
        Tax by type and tier [yuan/year].
    flows_nt4y : ndarray, shape (N, T, 4, Y)
        Tax by park, type and tier, summed over the chunk's draws [yuan/year].
    tax_dty : ndarray, shape (D, T, Y)
        Tax by type, gross of rebates [yuan/year].
    rebates_dy : ndarray, shape (D, Y)
        Rebates to firms [yuan/year].
    rebates_n2y : ndarray, shape (N, 2, Y)
        Rebates by park and local tier (city, county), summed over the chunk's draws.
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


def fiscal_numpy(setup, inp, n_draws: int) -> Fiscal:
    """Stages 2-5 with whole-array NumPy operations.

    Parameters
    ----------
    setup : ModelSetup
        From :func:`benefitshare.model.inputs.model_setup`.
    inp : mapping of str to ndarray
        Model inputs (:func:`benefitshare.model.inputs.central_inputs`, possibly with draws).
    n_draws : int

    Returns
    -------
    Fiscal
    """
    years = setup.years
    y3 = years[None, None, :]
    P, Y = setup.n_projects, len(years)
    full = (n_draws, P, Y)
    landing = inp["landing"]
    rates = setup.rates

    def rs(name):
        return rates[name].reshape(1, 1, -1)

    # Stage 2: economy. Quantities are for a project that lands; taxes are scaled by landing.
    start = inp["start_year"]
    capex = economy.capex_yuan(inp["investment_yuan"], start, setup.phasing_pc, years)
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
        np.broadcast_to(profit, full), setup.loss_carryforward_years
    )

    # Stage 3: taxes (each (D, P, Y), scaled by landing)
    relief = np.where(inp["slpe"], rs("slpe_local_relief"), 0.0)
    rate = taxes.cit_rate(
        taxable,
        standard=rs("cit_standard"),
        high_tech=rs("cit_high_tech"),
        slpe_rate=rs("cit_slpe"),
        slpe_threshold_yuan=rs("slpe_income_threshold_yuan"),
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
        "edu": taxes.surcharge_yuan(vat, rs("edu"), relief),
        "local_edu": taxes.surcharge_yuan(vat, rs("local_edu"), relief),
        "property": taxes.property_tax_yuan(
            inp["building_value_yuan"] * landing,
            deduction_rate=inp["property_tax_deduction_rate"],
            rate=rs("property_cost_basis"),
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
            sales * landing if setup.stamp_on_sales else 0.0,
            capex * landing,
            sales_rate=rs("stamp_sales_contract"),
            construction_rate=rs("stamp_construction_contract"),
            relief=relief,
        ),
        "land_transfer": taxes.land_transfer_yuan(
            inp["land_mu"] * landing, inp["land_price_yuan_per_mu"], start, years
        ),
    }
    tax = {t: np.broadcast_to(tax[t], full) for t in TAXES}

    # Stage 4: tiers, as fractions of each tax; rebates out of the local part
    county_share = inp["county_share"]
    frac = {
        t: tiers.tier_fractions(setup.central_ty[i], setup.provincial_ty[i], county_share)
        for i, t in enumerate(TAXES)
    }
    local_frac = {t: 1.0 - frac[t]["central"] - frac[t]["provincial"] for t in TAXES}
    rebate_window = operating & (y3 < op_start + inp["rebate_years"])
    rebate = {
        t: tiers.rebates_yuan(tax[t] * local_frac[t], inp["rebate_rate"], rebate_window)
        for t in ("vat", "cit")
    }
    local_net = -(rebate["vat"] + rebate["cit"])
    for t in TAXES:
        local_net += tax[t] * local_frac[t]

    # Stage 5: the pool, and what the hosts keep outside it
    pool_by_tax, pool_local = pool.pool_by_tax_yuan(
        tax,
        frac,
        rebate,
        in_pool_p=setup.in_pool_p,
        county_share=county_share,
        pool_taxes=setup.pool_taxes,
        pool_tiers=setup.pool_tiers,
        net_of_rebates=setup.net_of_rebates,
    )
    host_kp = setup.host_matrix()
    retained = ledgers.retained_yuan(local_net, pool_local, host_kp)
    acquisition = taxes.land_transfer_yuan(
        inp["land_mu"] * landing, inp["land_acquisition_cost_yuan_per_mu"], start, years
    )

    # Stage 6: the counterfactual (no agreement)
    relocated = np.broadcast_to(inp["relocated"], (1, P, 1))
    stay_home = counterfactual.stay_home_yuan(
        inp["pre_move_annual_tax_yuan"],
        relocated=relocated,
        stay_share=setup.stay_share,
        landing=landing,
        growth_index=index,
    )
    standalone = counterfactual.standalone_yuan(
        stay_home,
        local_net,
        relocated=relocated,
        additionality=inp["additionality"],
        host_kp=host_kp,
        partner_index=setup.partner_index,
        n_draws=n_draws,
    )

    # Totals per draw and by park (tiers formed from totals by the one tier identity)
    cs = np.broadcast_to(county_share, (np.shape(county_share)[0], P, 1))
    tax_dpty = np.stack([tax[t] for t in TAXES], axis=2)  # (D, P, T, Y)
    tax_dty = tax_dpty.sum(axis=1)
    weighted_dpty = tax_dpty * cs[:, :, :, None]
    park_np = setup.park_matrix()
    tax_nty = np.einsum("np,dpty->nty", park_np, tax_dpty)
    weighted_nty = np.einsum(
        "np,dpty->nty", park_np, np.broadcast_to(weighted_dpty, tax_dpty.shape)
    )
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
        tier_dt4y=tiers.tier_amounts(
            tax_dty, weighted_dpty.sum(axis=1), setup.central_ty, setup.provincial_ty
        ),
        flows_nt4y=tiers.tier_amounts(tax_nty, weighted_nty, setup.central_ty, setup.provincial_ty),
        tax_dty=tax_dty,
        rebates_dy=rebate_total.sum(axis=1),
        rebates_n2y=reb,
    )
