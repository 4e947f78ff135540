"""Relocation cap-and-sunset: the Beijing-Tianjin-Hebei rule for firms moved from the partner city."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from benefitshare.errors import unknown_name
from benefitshare.rules.base import RuleParams, host_totals, register_rule
from benefitshare.rules.spec import Fraction, Yuan, doc

__all__ = ["relocation_cap_sunset"]


class RelocationParams(RuleParams):
    """Parameters of ``relocation_cap_sunset``."""

    origin: str | None = Field(
        None,
        **doc("Party that the firms moved from; the partner when omitted", "shenzhen", "party id"),
    )
    origin_share: Fraction = Field(
        0.5, **doc("Origin's share within the window (财预〔2015〕92号: 50%)", 0.5, "fraction")
    )
    base_years: Annotated[int, Field(ge=0, le=30)] = Field(
        3, **doc("Window after the firm reaches full production", 3, "years")
    )
    extension_years: Annotated[int, Field(ge=0, le=30)] = Field(
        2, **doc("Extra years when the cap is not reached in the base window", 2, "years")
    )
    cap_years_of_pre_move_tax: Annotated[float, Field(ge=0.0, le=30.0)] = Field(
        3.0,
        **doc(
            "Cap on the origin's cumulative take, in years of the firm's pre-move annual tax",
            3.0,
            "years of tax",
        ),
    )
    eligibility_threshold_yuan: Yuan = Field(
        20_000_000.0,
        **doc("Least pre-move annual tax of a firm for the rule to apply", 20000000.0, "yuan/year"),
    )

    def check(self, spec):
        if self.origin is not None and spec is not None and self.origin not in spec.parties:
            return [(("origin",), self.origin, unknown_name("party", self.origin, spec.parties))]
        return []


def relocation_cap_sunset(
    pool_yuan,
    ctx,
    *,
    origin=None,
    origin_share=0.5,
    base_years=3,
    extension_years=2,
    cap_years_of_pre_move_tax=3.0,
    eligibility_threshold_yuan=20_000_000.0,
):
    """Relocation cap-and-sunset: origin and destination share a moved firm's local tax for a while.

    For a firm relocated from the origin city whose average tax before the move was at least the
    eligibility threshold, the origin receives ``origin_share`` of the pool (scope the clause to
    the local parts of VAT and CIT) for ``base_years`` from the year the firm reaches full
    production, and for ``extension_years`` more if its cumulative take has not reached the cap by
    then. The origin's cumulative take is capped at ``cap_years_of_pre_move_tax`` times the firm's
    pre-move annual tax; after the cap or the window, the destination (host) keeps all. Firms that
    did not move, or fall below the threshold, stay with the host.

    Parameters
    ----------
    origin : str, optional
        Party the firms moved from; the partner city by default.
    origin_share : float
        Origin's share within the window [fraction] (50% in 财预〔2015〕92号).
    base_years, extension_years : int
        Window after full production [years] (3, plus 2 if the cap is not reached).
    cap_years_of_pre_move_tax : float
        Cap on the origin's cumulative take, in years of the firm's pre-move annual tax (3).
    eligibility_threshold_yuan : float
        Minimum pre-move annual tax of the three taxes [yuan/year] (20 million).

    Notes
    -----
    Per draw and project: ``raw_t = share * pool_t`` inside the window; the origin receives
    ``diff(min(cumsum(raw), cap))``. The extension applies where the cumulative raw take after the
    base window is below the cap.

    References
    ----------
    财政部 国家税务总局, 京津冀协同发展产业转移对接企业税收收入分享办法, 财预〔2015〕92号,
    2015-06-24.
    """
    k_origin = ctx.partner_index if origin is None else ctx.index(origin)
    out = host_totals(pool_yuan, ctx)
    eligible_p = np.broadcast_to(
        ctx.relocated & (ctx.pre_move_annual_tax_yuan >= eligibility_threshold_yuan),
        (1, pool_yuan.shape[1], 1),
    ).any(axis=(0, 2))
    if not eligible_p.any():
        return out
    # only the eligible firms need per-firm work
    sel = np.flatnonzero(eligible_p)
    pool_yuan = pool_yuan[:, sel]
    years = ctx.years[None, None, :]
    start = np.broadcast_to(
        ctx.full_production_year, (ctx.full_production_year.shape[0], eligible_p.size, 1)
    )[:, sel]
    pre_move = np.broadcast_to(
        ctx.pre_move_annual_tax_yuan, (ctx.pre_move_annual_tax_yuan.shape[0], eligible_p.size, 1)
    )[:, sel]
    eligible = pre_move >= eligibility_threshold_yuan
    in_base = eligible & (years >= start) & (years < start + base_years)
    cap = cap_years_of_pre_move_tax * pre_move  # (D or 1, P_sel, 1)
    raw_base = np.where(in_base, origin_share * pool_yuan, 0.0)
    extended = raw_base.sum(axis=-1, keepdims=True) < cap
    in_ext = (
        eligible
        & extended
        & (years >= start + base_years)
        & (years < start + base_years + extension_years)
    )
    raw = np.where(in_base | in_ext, origin_share * pool_yuan, 0.0)
    capped = np.minimum(np.cumsum(raw, axis=-1), cap)
    origin_take = np.diff(capped, axis=-1, prepend=0.0)  # (D, P_sel, Y)
    host_of = ctx.host_index[sel]
    for k in np.unique(host_of):
        out[k] -= origin_take[:, host_of == k].sum(axis=1)
    out[k_origin] += origin_take.sum(axis=1)
    return out


register_rule(
    "relocation_cap_sunset", relocation_cap_sunset, params=RelocationParams, _builtin=True
)
