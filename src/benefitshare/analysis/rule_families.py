"""Families of split rules the solver tunes: their parameters and the rule each value gives.

Part of the analysis layer (``docs/model.md``, section 3.8 for the rules): a *family* is a rule
written with a few free parameters (a fixed ratio, a taper's end points, a cap, a term);
:func:`family_rule` writes the rule of one choice of them as it would appear in a scenario file.
:func:`~benefitshare.analysis.solver.solve_rule` searches these parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FAMILIES", "family_rule"]

#: Rule families the solver can tune: family -> parameter names.
FAMILIES: dict[str, tuple[str, ...]] = {
    "fixed_ratio": ("partner_share",),
    "taper": ("start_share", "end_share"),
    "cap": ("cap_yuan",),
    "term": ("term_years",),
}


def family_rule(
    family: str,
    params: Mapping[str, float],
    *,
    partner: str,
    host: str,
    years,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """The rule of a family at given parameters, as in a scenario file.

    Parameters
    ----------
    family : {"fixed_ratio", "taper", "cap", "term"}
        See :data:`FAMILIES` and :func:`~benefitshare.analysis.solver.solve_rule`.
    params : dict
        The family's parameters (shares [fraction], ``cap_yuan`` [yuan], ``term_years``
        [years]).
    partner, host : str
        Party ids of the partner city and of the host side.
    years : ndarray of int, shape (Y,)
        The scenario's model years.
    options : dict
        Family options: ``partner_share``, ``term_years``, ``start_year``, ``from_year``,
        ``taper_years``.

    Returns
    -------
    dict
        ``{"rule": ..., "params": {...}}``.
    """
    p, h, o = partner, host, options
    if family == "fixed_ratio":
        s = float(params["partner_share"])
        out = {"shares": {p: s, h: 1.0 - s}}
        for key in ("term_years", "start_year"):
            if o.get(key) is not None:
                out[key] = o[key]
        return {"rule": "fixed_ratio", "params": out}
    if family == "term":
        s = float(o.get("partner_share", 0.5))
        out = {"shares": {p: s, h: 1.0 - s}, "term_years": int(round(params["term_years"]))}
        if o.get("start_year") is not None:
            out["start_year"] = o["start_year"]
        return {"rule": "fixed_ratio", "params": out}
    if family == "cap":
        return {
            "rule": "cost_recovery_first",
            "params": {
                "shares": {h: 1.0},
                "recovering_party": p,
                "outlay_yuan": max(float(params["cap_yuan"]), 0.0),
                "recovery_rate": float(o.get("partner_share", 0.5)),
            },
        }
    if family == "taper":
        first = int(o.get("from_year", years[0]))
        n = int(o.get("taper_years", 15))
        a, b = float(params["start_share"]), float(params["end_share"])
        schedule = {}
        for i in range(n):
            if first + i > years[-1]:  # steps after the horizon would never apply
                break
            s = a + (b - a) * (i / (n - 1) if n > 1 else 1.0)
            schedule[str(first + i)] = {p: s, h: 1.0 - s}
        if first > years[0]:
            schedule = {str(years[0]): {p: a, h: 1.0 - a}, **schedule}
        return {"rule": "phased_schedule", "params": {"schedule": schedule}}
    raise AssertionError(family)
