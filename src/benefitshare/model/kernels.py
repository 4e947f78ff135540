"""A fused, compiled kernel for stages 2-6 (economy to counterfactual), when numba is installed.

It computes exactly what :func:`benefitshare.model.engine.fiscal_numpy` computes, project by
project and year by year, in one pass with no temporary arrays; the NumPy engine stays the
reference and the tests check that both agree on every rule family. The formulas are documented
in :mod:`benefitshare.model.economy`, :mod:`benefitshare.model.taxes`,
:mod:`benefitshare.model.tiers`, :mod:`benefitshare.model.pool` and
:mod:`benefitshare.model.counterfactual`.

The kernel takes its arguments as named groups (:class:`ProjectInputs`, :class:`ProjectFlags`,
:class:`YearRates`, :class:`PoolArrays`, :class:`Settings`, :class:`Outputs`), each a small
NamedTuple of arrays, so an argument cannot be passed in the wrong place without its name.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import NamedTuple

import numpy as np

from benefitshare.glossary import LOCAL_TIERS, M2_PER_MU, TAXES
from benefitshare.model.economy import growth_index
from benefitshare.model.engine import Fiscal
from benefitshare.model.pool import local_in_pool_fraction
from benefitshare.model.tiers import tier_amounts
from benefitshare.rules import PoolCache

__all__ = [
    "available",
    "fiscal_numba",
    "ProjectInputs",
    "ProjectFlags",
    "YearRates",
    "PoolArrays",
    "Settings",
    "Outputs",
]

#: Whether numba is installed; it is imported (which takes a while) only when the kernel is used.
_HAVE_NUMBA = importlib.util.find_spec("numba") is not None

_T = len(TAXES)
_VAT, _CIT, _PIT, _UMT, _EDU, _LEDU, _PROP, _LU, _STAMP, _LT = range(_T)


def available() -> bool:
    """Whether the compiled kernel can be used."""
    return _HAVE_NUMBA


class ProjectInputs(NamedTuple):
    """Per-draw project inputs, each (D, P) (see :data:`benefitshare.model.inputs.PROJECT_INPUTS`)."""

    investment_yuan: np.ndarray
    start_year: np.ndarray  # int64
    construction_years: np.ndarray  # int64
    ramp_up_years: np.ndarray
    output_per_fixed_asset: np.ndarray
    value_added_rate: np.ndarray
    profit_margin: np.ndarray
    wage_share: np.ndarray
    land_mu: np.ndarray
    building_value_yuan: np.ndarray
    landing: np.ndarray
    rebate_rate: np.ndarray
    rebate_years: np.ndarray  # int64
    county_share: np.ndarray
    land_use_tax_yuan_per_m2: np.ndarray
    land_price_yuan_per_mu: np.ndarray
    land_acquisition_cost_yuan_per_mu: np.ndarray
    additionality: np.ndarray
    pre_move_annual_tax_yuan: np.ndarray


class ProjectFlags(NamedTuple):
    """Per-project constants, each (P,) (``phasing`` is (P, C'))."""

    relocated: np.ndarray  # bool
    slpe: np.ndarray  # bool
    high_tech: np.ndarray  # bool
    host: np.ndarray  # int64, party index
    park: np.ndarray  # int64, park index
    in_pool: np.ndarray  # float 0/1
    phasing: np.ndarray  # (P, C') capex shares


class YearRates(NamedTuple):
    """Rates by year (Y,), by project and year (P, Y), by draw and year (D, Y) or by draw (D,)."""

    cit_standard: np.ndarray
    cit_high_tech: np.ndarray
    cit_slpe: np.ndarray
    slpe_income_threshold_yuan: np.ndarray
    slpe_local_relief: np.ndarray
    edu: np.ndarray
    local_edu: np.ndarray
    property_cost_basis: np.ndarray
    stamp_sales_contract: np.ndarray
    stamp_construction_contract: np.ndarray
    vat_rate_py: np.ndarray
    umt_rate_py: np.ndarray
    growth_index_dy: np.ndarray
    pit_effective_rate_d: np.ndarray
    property_tax_deduction_rate_d: np.ndarray
    depreciation_years_d: np.ndarray


class PoolArrays(NamedTuple):
    """The pool's scope as arrays.

    ``pool_a + pool_b (1 - cs) + pool_c cs`` is the fraction of tax t in year y that the pool
    takes from a project with county share cs (each (T, Y)); ``local_ty`` is the local part;
    ``local_in_pool_dp`` the share of a project's local part in the pool;
    ``rebate_in_pool_dp`` the share of its rebates deducted from the pool (zero when the pool is
    gross of rebates). The subset arrays say which tax subsets, projects and years each formed
    pool covers.
    """

    pool_a: np.ndarray
    pool_b: np.ndarray
    pool_c: np.ndarray
    local_ty: np.ndarray
    pool_tax: np.ndarray  # (T,) bool
    local_in_pool_dp: np.ndarray
    rebate_in_pool_dp: np.ndarray
    subset_mask: np.ndarray  # (S, T) bool
    subset_proj: np.ndarray  # (S, P) bool
    subset_year: np.ndarray  # (S, Y) bool
    only_local: bool


class Settings(NamedTuple):
    """Scalars and the calendar."""

    years: np.ndarray  # (Y,) int64
    partner: int
    loss_carryforward_years: int
    m2_per_mu: float
    stay_share: float
    stamp_on_sales: bool


class Outputs(NamedTuple):
    """Arrays the kernel adds into (all zero on entry)."""

    pool_sdpy: np.ndarray
    retained_dky: np.ndarray
    standalone_dky: np.ndarray
    acquisition_dky: np.ndarray
    value_added_dy: np.ndarray
    credit_host_dky: np.ndarray
    tax_county_dty: np.ndarray
    flows_nty: np.ndarray
    flows_county_nty: np.ndarray
    tax_dty: np.ndarray
    rebates_dy: np.ndarray
    rebates_n2y: np.ndarray


def _kernel(prj, flg, rt, pl, cfg, out):
    inv = prj.investment_yuan
    start = prj.start_year
    cy = prj.construction_years
    ramp = prj.ramp_up_years
    opfa = prj.output_per_fixed_asset
    va_rate = prj.value_added_rate
    margin = prj.profit_margin
    wage = prj.wage_share
    land = prj.land_mu
    bld = prj.building_value_yuan
    landing = prj.landing
    rr = prj.rebate_rate
    ryears = prj.rebate_years
    cs = prj.county_share
    lut = prj.land_use_tax_yuan_per_m2
    lprice = prj.land_price_yuan_per_mu
    lacq = prj.land_acquisition_cost_yuan_per_mu
    add = prj.additionality
    premove = prj.pre_move_annual_tax_yuan
    reloc = flg.relocated
    slpe = flg.slpe
    ht = flg.high_tech
    host = flg.host
    park = flg.park
    in_pool = flg.in_pool
    phasing = flg.phasing
    cit_std = rt.cit_standard
    cit_ht = rt.cit_high_tech
    cit_slpe = rt.cit_slpe
    slpe_thr = rt.slpe_income_threshold_yuan
    slpe_rel = rt.slpe_local_relief
    edu = rt.edu
    ledu = rt.local_edu
    prop_rate = rt.property_cost_basis
    st_sales = rt.stamp_sales_contract
    st_con = rt.stamp_construction_contract
    vat_rate = rt.vat_rate_py
    umt_rate = rt.umt_rate_py
    gidx = rt.growth_index_dy
    pit_rate = rt.pit_effective_rate_d
    ded = rt.property_tax_deduction_rate_d
    dep_years = rt.depreciation_years_d
    pool_a = pl.pool_a
    pool_b = pl.pool_b
    pool_c = pl.pool_c
    lf_all = pl.local_ty
    pool_tax = pl.pool_tax
    local_in_pool = pl.local_in_pool_dp
    rebate_in_pool = pl.rebate_in_pool_dp
    subset_mask = pl.subset_mask
    subset_proj = pl.subset_proj
    subset_year = pl.subset_year
    only_local = pl.only_local
    years = cfg.years
    partner = cfg.partner
    lcf = cfg.loss_carryforward_years
    m2_per_mu = cfg.m2_per_mu
    cf_share = cfg.stay_share
    stamp_on_sales = cfg.stamp_on_sales
    pool_out = out.pool_sdpy
    retained = out.retained_dky
    standalone = out.standalone_dky
    acq = out.acquisition_dky
    va_dy = out.value_added_dy
    credit = out.credit_host_dky
    tax_cs = out.tax_county_dty
    flows = out.flows_nty
    flows_cs = out.flows_county_nty
    tax_dty = out.tax_dty
    reb_dy = out.rebates_dy
    reb_n2y = out.rebates_n2y
    D = inv.shape[0]
    P = inv.shape[1]
    Y = years.shape[0]
    C = phasing.shape[1]
    NT = pool_a.shape[0]
    NSUB = subset_mask.shape[0]
    tax = np.empty(NT)
    ptax = np.empty(NT)
    buf = np.zeros(max(lcf, 1))
    for d in range(D):
        for p in range(P):
            i_inv = inv[d, p]
            i_start = start[d, p]
            i_ops = i_start + cy[d, p]
            i_ramp = ramp[d, p]
            i_l = landing[d, p]
            i_cs = cs[d, p]
            i_in = in_pool[p]
            dep = i_inv / dep_years[d]
            h = host[p]
            k_park = park[p]
            for k in range(lcf):
                buf[k] = 0.0
            has_loss = False
            for y in range(Y):
                year = years[y]
                if year < i_start:
                    # nothing happens in the park before construction starts (outputs start at
                    # zero), but a relocated firm would have kept paying at home
                    if reloc[p]:
                        standalone[d, partner, y] += premove[d, p] * cf_share * i_l * gidx[d, y]
                    continue
                kk = year - i_start
                capex = i_inv * phasing[p, kk] if (kk >= 0 and kk < C) else 0.0
                operating = year >= i_ops
                occupied = year >= i_start
                cap = (year - i_ops + 1) / i_ramp
                cap = 0.0 if cap < 0.0 else (1.0 if cap > 1.0 else cap)
                fs = i_inv * opfa[d, p] * gidx[d, y]
                sales = fs * cap
                va = sales * va_rate[d, p]
                profit = cap * (margin[d, p] * fs + dep) - dep if operating else 0.0
                # loss carry-forward, oldest loss first
                remaining = profit if profit > 0.0 else 0.0
                if lcf > 0 and (has_loss or profit < 0.0):
                    for k in range(lcf - 1, -1, -1):
                        use = remaining if remaining < buf[k] else buf[k]
                        buf[k] -= use
                        remaining -= use
                    for k in range(lcf - 1, 0, -1):
                        buf[k] = buf[k - 1]
                    buf[0] = -profit if profit < 0.0 else 0.0
                    has_loss = False
                    for k in range(lcf):
                        if buf[k] > 0.0:
                            has_loss = True
                taxable = remaining
                rate = cit_std[y]
                if ht[p] and cit_ht[y] < rate:
                    rate = cit_ht[y]
                if slpe[p] and taxable <= slpe_thr[y] and cit_slpe[y] < rate:
                    rate = cit_slpe[y]
                relief = slpe_rel[y] if slpe[p] else 0.0
                val = va * i_l
                vat = val * vat_rate[p, y]
                tax[_VAT] = vat
                tax[_CIT] = rate * taxable * i_l
                tax[_PIT] = pit_rate[d] * (val * wage[d, p])
                tax[_UMT] = umt_rate[p, y] * (1.0 - relief) * vat
                tax[_EDU] = edu[y] * (1.0 - relief) * vat
                tax[_LEDU] = ledu[y] * (1.0 - relief) * vat
                tax[_PROP] = (
                    prop_rate[y] * (1.0 - ded[d]) * (1.0 - relief) * (bld[d, p] * i_l)
                    if operating
                    else 0.0
                )
                tax[_LU] = (
                    (land[d, p] * i_l) * m2_per_mu * lut[d, p] * (1.0 - relief) if occupied else 0.0
                )
                st = st_con[y] * (capex * i_l)
                if stamp_on_sales:
                    st += st_sales[y] * (sales * i_l)
                tax[_STAMP] = st * (1.0 - relief)
                tax[_LT] = (land[d, p] * i_l) * lprice[d, p] if year == i_start else 0.0
                if year == i_start:
                    acq[d, h, y] += (land[d, p] * i_l) * lacq[d, p]
                # tiers: totals and county-weighted totals; the split is formed afterwards
                local = 0.0
                for t in range(NT):
                    amt = tax[t]
                    tax_dty[d, t, y] += amt
                    flows[k_park, t, y] += amt
                    if i_cs != 0.0:
                        tax_cs[d, t, y] += amt * i_cs
                        flows_cs[k_park, t, y] += amt * i_cs
                    local += amt * lf_all[t, y]
                in_window = operating and (year < i_ops + ryears[d, p])
                reb_vat = rr[d, p] * (tax[_VAT] * lf_all[_VAT, y]) if in_window else 0.0
                reb_cit = rr[d, p] * (tax[_CIT] * lf_all[_CIT, y]) if in_window else 0.0
                reb = reb_vat + reb_cit
                local -= reb
                reb_dy[d, y] += reb
                reb_c = reb * i_cs
                reb_n2y[k_park, 0, y] += reb - reb_c
                reb_n2y[k_park, 1, y] += reb_c
                # pool by tax: fraction a + b (1 - cs) + c cs of the tax, less the rebate part
                pool_local = 0.0
                for t in range(NT):
                    if not pool_tax[t]:
                        ptax[t] = 0.0
                        continue
                    amt = tax[t] * (
                        (pool_a[t, y] + pool_b[t, y] * (1.0 - i_cs) + pool_c[t, y] * i_cs) * i_in
                    )
                    if t == _VAT:
                        r_t = reb_vat * rebate_in_pool[d, p]
                    elif t == _CIT:
                        r_t = reb_cit * rebate_in_pool[d, p]
                    else:
                        r_t = 0.0
                    amt -= r_t
                    ptax[t] = amt
                    if only_local:
                        pool_local += amt
                    else:
                        pool_local += tax[t] * (lf_all[t, y] * local_in_pool[d, p]) - r_t
                for j in range(NSUB):
                    if subset_proj[j, p] and subset_year[j, y]:
                        acc = 0.0
                        for t in range(NT):
                            if subset_mask[j, t]:
                                acc += ptax[t]
                        pool_out[j, d, p, y] = acc
                retained[d, h, y] += local - pool_local
                if reloc[p]:
                    standalone[d, partner, y] += premove[d, p] * cf_share * i_l * gidx[d, y]
                else:
                    standalone[d, h, y] += (1.0 - add[d, p]) * local
                va_dy[d, y] += val
                credit[d, h, y] += val


@functools.cache
def _compiled():
    """The kernel compiled by numba (from its on-disk cache after the first time)."""
    import numba

    return numba.njit(cache=True, nogil=True, error_model="numpy")(_kernel)


def _c(a, dtype=np.float64):
    return np.ascontiguousarray(a, dtype=dtype)


def fiscal_numba(setup, inp, n_draws: int, subsets=None) -> Fiscal:
    """Stages 2-5 by the compiled kernel.

    Parameters
    ----------
    setup : ModelSetup
        From :func:`benefitshare.model.inputs.model_setup`.
    inp : mapping of str to ndarray
        Model inputs, as for :func:`benefitshare.model.engine.fiscal_numpy`.
    n_draws : int
    subsets : list of (taxes, projects, years), optional
        Only the pools of the tax subsets the rules need are formed (all pool taxes by default;
        see :func:`benefitshare.rules.tax_subsets`).

    Returns
    -------
    Fiscal
    """
    years = setup.years
    P, Y, D = setup.n_projects, len(years), n_draws
    K, N = setup.n_parties, len(setup.park_ids)
    pool_taxes = list(setup.pool_taxes)
    if subsets is None:
        subsets = [(tuple(sorted(pool_taxes)), None, None)]
    for name in ("vat_rate", "umt_rate"):
        if np.shape(inp[name])[0] != 1:
            raise ValueError(f"{name} cannot vary by draw")

    def dp(name, dtype=np.float64):
        a = np.asarray(inp[name])
        return _c(np.broadcast_to(a.reshape(a.shape[0], a.shape[1]), (D, P)), dtype)

    def dvec(name):
        a = np.asarray(inp[name], dtype=np.float64)
        return _c(np.broadcast_to(a.reshape(a.shape[0]), (D,)))

    def flag(name):
        return _c(np.asarray(inp[name]).reshape(-1)[-P:], np.bool_)

    prj = ProjectInputs(
        investment_yuan=dp("investment_yuan"),
        start_year=dp("start_year", np.int64),
        construction_years=dp("construction_years", np.int64),
        ramp_up_years=dp("ramp_up_years"),
        output_per_fixed_asset=dp("output_per_fixed_asset"),
        value_added_rate=dp("value_added_rate"),
        profit_margin=dp("profit_margin"),
        wage_share=dp("wage_share"),
        land_mu=dp("land_mu"),
        building_value_yuan=dp("building_value_yuan"),
        landing=dp("landing"),
        rebate_rate=dp("rebate_rate"),
        rebate_years=dp("rebate_years", np.int64),
        county_share=dp("county_share"),
        land_use_tax_yuan_per_m2=dp("land_use_tax_yuan_per_m2"),
        land_price_yuan_per_mu=dp("land_price_yuan_per_mu"),
        land_acquisition_cost_yuan_per_mu=dp("land_acquisition_cost_yuan_per_mu"),
        additionality=dp("additionality"),
        pre_move_annual_tax_yuan=dp("pre_move_annual_tax_yuan"),
    )
    flg = ProjectFlags(
        relocated=flag("relocated"),
        slpe=flag("slpe"),
        high_tech=flag("high_tech"),
        host=_c(setup.host_index, np.int64),
        park=_c(setup.park_index, np.int64),
        in_pool=_c(setup.in_pool_p),
        phasing=_c(setup.phasing_pc),
    )
    gidx = growth_index(inp["sales_growth_rate"], years).reshape(-1, Y)
    rt = YearRates(
        **{name: _c(setup.rates[name]) for name in YearRates._fields[:10]},
        vat_rate_py=_c(np.broadcast_to(inp["vat_rate"], (1, P, Y))[0]),
        umt_rate_py=_c(np.broadcast_to(inp["umt_rate"], (1, P, Y))[0]),
        growth_index_dy=_c(np.broadcast_to(gidx, (D, Y))),
        pit_effective_rate_d=dvec("pit_effective_rate"),
        property_tax_deduction_rate_d=dvec("property_tax_deduction_rate"),
        depreciation_years_d=dvec("depreciation_years"),
    )
    central = setup.central_ty
    provincial = (1.0 - central) * setup.provincial_ty
    local = 1.0 - central - provincial
    in_tax = np.array([t in pool_taxes for t in TAXES], dtype=float)[:, None]
    tier_in = {t: float(t in setup.pool_tiers) for t in ("central", "provincial", "city", "county")}
    local_in_pool = _c(
        local_in_pool_fraction(prj.county_share[:, :, None], setup.in_pool_p, setup.pool_tiers)[
            :, :, 0
        ]
    )
    pl = PoolArrays(
        pool_a=_c(in_tax * (tier_in["central"] * central + tier_in["provincial"] * provincial)),
        pool_b=_c(in_tax * tier_in["city"] * local),
        pool_c=_c(in_tax * tier_in["county"] * local),
        local_ty=_c(local),
        pool_tax=np.array([t in pool_taxes for t in TAXES], dtype=np.bool_),
        local_in_pool_dp=local_in_pool,
        rebate_in_pool_dp=local_in_pool if setup.net_of_rebates else np.zeros_like(local_in_pool),
        subset_mask=np.array([[t in sub[0] for t in TAXES] for sub in subsets], dtype=np.bool_),
        subset_proj=np.array(
            [np.ones(P, bool) if sub[1] is None else sub[1] for sub in subsets], dtype=np.bool_
        ),
        subset_year=np.array(
            [np.ones(Y, bool) if sub[2] is None else sub[2] for sub in subsets], dtype=np.bool_
        ),
        only_local=bool(set(setup.pool_tiers) <= set(LOCAL_TIERS)),
    )
    cfg = Settings(
        years=years.astype(np.int64),
        partner=int(setup.partner_index),
        loss_carryforward_years=int(setup.loss_carryforward_years),
        m2_per_mu=float(M2_PER_MU),
        stay_share=float(setup.stay_share),
        stamp_on_sales=bool(setup.stamp_on_sales),
    )
    out = Outputs(
        pool_sdpy=np.zeros((len(subsets), D, P, Y)),
        retained_dky=np.zeros((D, K, Y)),
        standalone_dky=np.zeros((D, K, Y)),
        acquisition_dky=np.zeros((D, K, Y)),
        value_added_dy=np.zeros((D, Y)),
        credit_host_dky=np.zeros((D, K, Y)),
        tax_county_dty=np.zeros((D, _T, Y)),
        flows_nty=np.zeros((N, _T, Y)),
        flows_county_nty=np.zeros((N, _T, Y)),
        tax_dty=np.zeros((D, _T, Y)),
        rebates_dy=np.zeros((D, Y)),
        rebates_n2y=np.zeros((N, 2, Y)),
    )
    _compiled()(prj, flg, rt, pl, cfg, out)
    return Fiscal(
        pool=PoolCache.from_subsets(pool_taxes, subsets, list(out.pool_sdpy)),
        retained_dky=out.retained_dky,
        standalone_dky=out.standalone_dky,
        acquisition_dky=out.acquisition_dky,
        value_added_dy=out.value_added_dy,
        credit_host_dky=out.credit_host_dky,
        tier_dt4y=tier_amounts(out.tax_dty, out.tax_county_dty, central, setup.provincial_ty),
        flows_nt4y=tier_amounts(out.flows_nty, out.flows_county_nty, central, setup.provincial_ty),
        tax_dty=out.tax_dty,
        rebates_dy=out.rebates_dy,
        rebates_n2y=out.rebates_n2y,
    )
