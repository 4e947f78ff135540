"""A fused, compiled kernel for stages 2-5 (economy, taxes, tiers, pool), when numba is installed.

It computes exactly what :func:`benefitshare.pipeline.fiscal_numpy` computes, project by project
and year by year, in one pass with no temporary arrays; the NumPy version stays the reference and
the tests check that both agree. The formulas are documented in :mod:`benefitshare.economy`,
:mod:`benefitshare.taxes` and :mod:`benefitshare.tiers`.
"""

from __future__ import annotations

import numpy as np

from benefitshare.glossary import LOCAL_TIERS, M2_PER_MU, TAXES
from benefitshare.model import taxes
from benefitshare.regime import regime_schedule

__all__ = ["available", "fiscal_numba"]

try:  # pragma: no cover - exercised when numba is installed
    import numba

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    _HAVE_NUMBA = False

_T = len(TAXES)
_VAT, _CIT, _PIT, _UMT, _EDU, _LEDU, _PROP, _LU, _STAMP, _LT = range(_T)


def available() -> bool:
    """Whether the compiled kernel can be used."""
    return _HAVE_NUMBA


def _kernel(
    years,
    phasing,
    inv,
    start,
    cy,
    ramp,
    opfa,
    va_rate,
    margin,
    wage,
    land,
    bld,
    landing,
    rr,
    ryears,
    cs,
    lut,
    lprice,
    lacq,
    add,
    reloc,
    slpe,
    ht,
    premove,
    vat_rate,
    umt_rate,
    gidx,
    pit_rate,
    ded,
    dep_years,
    cit_std,
    cit_ht,
    cit_slpe,
    slpe_thr,
    slpe_rel,
    edu,
    ledu,
    prop_rate,
    st_sales,
    st_con,
    stamp_on_sales,
    central,
    prov,
    pool_a,
    pool_b,
    pool_c,
    lf_all,
    in_pool,
    subset_mask,
    subset_proj,
    subset_year,
    pool_tax,
    local_in_pool,
    rebate_in_pool,
    only_local,
    host,
    partner,
    park,
    n_parks,
    n_parties,
    lcf,
    m2_per_mu,
    cf_share,
    pool_out,
    retained,
    standalone,
    acq,
    va_dy,
    credit,
    tax_cs,
    flows,
    flows_cs,
    tax_dty,
    reb_dy,
    reb_n2y,
):
    D = inv.shape[0]
    P = inv.shape[1]
    Y = years.shape[0]
    C = phasing.shape[1]
    NT = central.shape[0]
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


if _HAVE_NUMBA:  # pragma: no cover - compiled when available
    _kernel_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_kernel)
else:  # pragma: no cover
    _kernel_jit = None


def fiscal_numba(scenario, inp, n_draws, subsets=None):
    """Stages 2-5 by the compiled kernel; returns a :class:`benefitshare.pipeline.Fiscal`.

    Only the pools of the tax ``subsets`` the rules need are formed (all pool taxes by default).
    """
    from benefitshare.model.run import Fiscal, _host_kp, _in_pool, _tier_schedules
    from benefitshare.rules import PoolCache

    spec = scenario.spec
    proj = scenario.projects
    years = scenario.years
    P, Y, D = len(proj), len(years), n_draws
    K = len(spec.parties)
    pool_taxes = list(spec.pool.taxes)
    if subsets is None:
        subsets = [(tuple(sorted(pool_taxes)), None, None)]

    def dp(name, dtype=np.float64):
        a = np.asarray(inp[name])
        return np.ascontiguousarray(
            np.broadcast_to(a.reshape(a.shape[0], a.shape[1]), (D, P)), dtype=dtype
        )

    def dvec(name):
        a = np.asarray(inp[name], dtype=np.float64)
        return np.ascontiguousarray(np.broadcast_to(a.reshape(a.shape[0]), (D,)))

    rs = lambda name: np.ascontiguousarray(regime_schedule(name, years), dtype=np.float64)  # noqa: E731
    from benefitshare.model.economy import growth_index

    gidx = np.ascontiguousarray(
        np.broadcast_to(growth_index(inp["sales_growth_rate"], years).reshape(-1, Y), (D, Y))
    )
    central, prov = _tier_schedules(spec, years)
    provincial = (1.0 - central) * prov
    lf_all = 1.0 - central - provincial
    in_tax = np.array([t in pool_taxes for t in TAXES], dtype=float)[:, None]
    flag = {t: float(t in spec.pool.tiers) for t in ("central", "provincial", "city", "county")}
    pool_a = np.ascontiguousarray(
        in_tax * (flag["central"] * central + flag["provincial"] * provincial)
    )
    pool_b = np.ascontiguousarray(in_tax * flag["city"] * lf_all)
    pool_c = np.ascontiguousarray(in_tax * flag["county"] * lf_all)
    in_pool = _in_pool(spec, proj).astype(np.float64)
    cs = dp("county_share")
    rebate_in_pool = np.ascontiguousarray(
        (flag["city"] * (1.0 - cs) + flag["county"] * cs) * in_pool[None, :]
    )
    rebate_in_pool_k = rebate_in_pool if spec.pool.net_of_rebates else np.zeros_like(rebate_in_pool)
    subset_mask = np.array([[t in sub[0] for t in TAXES] for sub in subsets], dtype=np.bool_)
    subset_proj = np.array(
        [np.ones(P, bool) if sub[1] is None else sub[1] for sub in subsets], dtype=np.bool_
    )
    subset_year = np.array(
        [np.ones(Y, bool) if sub[2] is None else sub[2] for sub in subsets], dtype=np.bool_
    )
    host_idx, _ = _host_kp(spec, proj)
    park_ids = list(spec.parks)
    vat_rate = np.ascontiguousarray(
        np.broadcast_to(inp["vat_rate"], (1, P, Y))[0], dtype=np.float64
    )
    umt_rate = np.ascontiguousarray(
        np.broadcast_to(inp["umt_rate"], (1, P, Y))[0], dtype=np.float64
    )
    for name in ("vat_rate", "umt_rate"):
        if np.shape(inp[name])[0] != 1:
            raise ValueError(f"{name} cannot vary by draw")
    cf = spec.counterfactual
    N = len(park_ids)
    pool_out = np.zeros((len(subsets), D, P, Y))
    retained = np.zeros((D, K, Y))
    standalone = np.zeros((D, K, Y))
    acq = np.zeros((D, K, Y))
    va_dy = np.zeros((D, Y))
    credit = np.zeros((D, K, Y))
    tax_cs = np.zeros((D, len(TAXES), Y))
    flows = np.zeros((N, len(TAXES), Y))
    flows_cs = np.zeros((N, len(TAXES), Y))
    tax_dty = np.zeros((D, len(TAXES), Y))
    reb_dy = np.zeros((D, Y))
    reb_n2y = np.zeros((N, 2, Y))
    only_local = bool(set(spec.pool.tiers) <= set(LOCAL_TIERS))
    _kernel_jit(
        years.astype(np.int64),
        np.ascontiguousarray(proj.phasing_matrix()),
        dp("investment_yuan"),
        dp("start_year", np.int64),
        dp("construction_years", np.int64),
        dp("ramp_up_years", np.float64),
        dp("output_per_fixed_asset"),
        dp("value_added_rate"),
        dp("profit_margin"),
        dp("wage_share"),
        dp("land_mu"),
        dp("building_value_yuan"),
        dp("landing"),
        dp("rebate_rate"),
        dp("rebate_years", np.int64),
        cs,
        dp("land_use_tax_yuan_per_m2"),
        dp("land_price_yuan_per_mu"),
        dp("land_acquisition_cost_yuan_per_mu"),
        dp("additionality"),
        np.ascontiguousarray(np.asarray(inp["relocated"]).reshape(-1)[-P:], dtype=np.bool_),
        np.ascontiguousarray(np.asarray(inp["slpe"]).reshape(-1)[-P:], dtype=np.bool_),
        np.ascontiguousarray(np.asarray(inp["high_tech"]).reshape(-1)[-P:], dtype=np.bool_),
        dp("pre_move_annual_tax_yuan"),
        vat_rate,
        umt_rate,
        gidx,
        dvec("pit_effective_rate"),
        dvec("property_tax_deduction_rate"),
        dvec("depreciation_years"),
        rs("rates.cit_standard"),
        rs("rates.cit_high_tech"),
        rs("rates.cit_slpe"),
        rs("rates.slpe_income_threshold_yuan"),
        rs("rates.slpe_local_relief"),
        rs("rates.edu"),
        rs("rates.local_edu"),
        rs("rates.property_cost_basis"),
        rs("rates.stamp_sales_contract"),
        rs("rates.stamp_construction_contract"),
        bool(spec.model.stamp_on_sales),
        np.ascontiguousarray(central),
        np.ascontiguousarray(prov),
        pool_a,
        pool_b,
        pool_c,
        np.ascontiguousarray(lf_all),
        in_pool,
        subset_mask,
        subset_proj,
        subset_year,
        np.array([t in pool_taxes for t in TAXES], dtype=np.bool_),
        rebate_in_pool,
        rebate_in_pool_k,
        only_local,
        host_idx.astype(np.int64),
        int(spec.party_index("partner")),
        np.array([park_ids.index(p) for p in proj.park], dtype=np.int64),
        N,
        K,
        int(spec.model.loss_carryforward_years),
        float(M2_PER_MU),
        float(cf.origin_local_share * cf.stay_probability),
        pool_out,
        retained,
        standalone,
        acq,
        va_dy,
        credit,
        tax_cs,
        flows,
        flows_cs,
        tax_dty,
        reb_dy,
        reb_n2y,
    )
    tier = _split_tiers(tax_dty, tax_cs, central, provincial, lf_all)
    flows_nt4y = _split_tiers(flows, flows_cs, central, provincial, lf_all)
    return Fiscal(
        pool=PoolCache.from_subsets(pool_taxes, subsets, list(pool_out)),
        retained_dky=retained,
        standalone_dky=standalone,
        acquisition_dky=acq,
        value_added_dy=va_dy,
        credit_host_dky=credit,
        tier_dt4y=tier,
        flows_nt4y=flows_nt4y,
        tax_dty=tax_dty,
        rebates_dy=reb_dy,
        rebates_n2y=reb_n2y,
    )


def _split_tiers(total_xty, county_weighted_xty, central_ty, provincial_ty, local_ty):
    """Tier amounts (X, T, 4, Y) from totals and county-weighted totals, as in the NumPy engine."""
    out = np.empty(total_xty.shape[:2] + (4,) + total_xty.shape[2:])
    out[:, :, 0] = central_ty * total_xty
    out[:, :, 1] = provincial_ty * total_xty
    out[:, :, 3] = local_ty * county_weighted_xty
    out[:, :, 2] = total_xty - out[:, :, 0] - out[:, :, 1] - out[:, :, 3]
    return out
