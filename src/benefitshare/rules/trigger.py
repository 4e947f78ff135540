"""Trigger (renegotiation) rules: switch schedule when a realised outcome crosses a threshold."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from benefitshare.errors import percent_hint, unknown_name
from benefitshare.rules.base import SPLIT_RULES, RuleParams, register_rule, validate_params
from benefitshare.rules.spec import Year, doc, outside_horizon

__all__ = ["trigger_switch", "switch_index"]

METRICS = (
    "cumulative_share",
    "annual_share",
    "cumulative_yuan",
    "annual_yuan",
    "pool_yuan",
    "cumulative_pool_yuan",
)


class SubRule(RuleParams):
    """A rule and its parameters, used before or after the switch."""

    rule: str = Field(min_length=1, **doc("A registered split rule", "fixed_ratio"))
    params: dict[str, Any] = Field(
        default_factory=dict,
        **doc("Its parameters", {"shares": {"shenzhen": 0.5, "shanwei": 0.5}}),
    )


class TriggerParams(RuleParams):
    """Parameters of ``trigger_switch``."""

    before: SubRule = Field(
        **doc(
            "Rule in force until the trigger",
            {"rule": "fixed_ratio", "params": {"shares": {"shenzhen": 0.5, "shanwei": 0.5}}},
        )
    )
    after: SubRule = Field(
        **doc(
            "Rule from the switch on",
            {"rule": "fixed_ratio", "params": {"shares": {"shenzhen": 0.2, "shanwei": 0.8}}},
        )
    )
    party: str | None = Field(
        None,
        **doc(
            "Party whose outcome is monitored; the party hosting most projects in scope when "
            "omitted",
            "shanwei",
            "party id",
        ),
    )
    metric: Literal[METRICS] = Field(  # type: ignore[valid-type]
        "cumulative_share",
        **doc(
            "The monitored outcome: the party's share or take, or the pool, annual or cumulative",
            "cumulative_share",
        ),
    )
    condition: Literal["below", "above"] = Field(
        "below", **doc("Switch when the metric is below or above the threshold", "below")
    )
    threshold: float = Field(
        **doc(
            "Threshold of the metric: a share for *_share metrics, yuan otherwise",
            0.6,
            "fraction or yuan",
        )
    )
    review_years: list[Year] | None = Field(
        None,
        **doc("Years the condition is reviewed; every year when omitted", [2035], "list of years"),
    )
    lag_years: Annotated[int, Field(ge=0, le=50)] = Field(
        1, **doc("Years from the triggering review to the new rule (1: the next year)", 1, "years")
    )

    @model_validator(mode="after")
    def _share_threshold(self):
        if self.metric.endswith("share") and not 0.0 <= self.threshold <= 1.0:
            fix = percent_hint(self.threshold)
            raise ValueError(
                f"a threshold on a share must be between 0 and 1, got {self.threshold}"
                + (f": {fix}" if fix else "")
            )
        return self

    def check(self, spec):
        out = []
        for where in ("before", "after"):
            sub = getattr(self, where)
            if sub.rule not in SPLIT_RULES:
                msg = unknown_name("rule", sub.rule, sorted(SPLIT_RULES))
                out.append(((where, "rule"), sub.rule, msg))
                continue
            for loc, value, msg in validate_params(sub.rule, sub.params, spec):
                out.append(((where, "params", *loc), value, msg))
        if spec is not None and self.party is not None and self.party not in spec.parties:
            out.append((("party",), self.party, unknown_name("party", self.party, spec.parties)))
        if spec is not None and self.review_years is not None:
            for i, year in enumerate(self.review_years):
                problem = outside_horizon(year, spec.model.start_year, spec.model.end_year)
                if problem is not None:
                    out.append((("review_years", i), year, problem))
        return out


def _plain(sub):
    return sub.model_dump() if isinstance(sub, SubRule) else dict(sub)


def switch_index(
    metric_dy: np.ndarray, *, condition: str, threshold: float, review_y: np.ndarray, lag_years: int
) -> np.ndarray:
    """Index of the first year of the new schedule per draw, shape (D,); Y where it never switches.

    Parameters
    ----------
    metric_dy : ndarray, shape (D, Y)
        The monitored outcome on the realised path; NaN where it is undefined (never triggers).
    condition : {"below", "above"}
    threshold : float
    review_y : ndarray of bool, shape (Y,)
        Years in which the condition is reviewed.
    lag_years : int
        Years from the review that triggers to the first year of the new schedule.
    """
    defined = np.isfinite(metric_dy)
    value = np.where(defined, metric_dy, 0.0)
    crossed = (value < threshold) if condition == "below" else (value > threshold)
    hit = crossed & defined & review_y[None, :]
    Y = metric_dy.shape[1]
    first = np.where(hit.any(axis=1), np.argmax(hit, axis=1), Y)
    return np.minimum(first + lag_years, Y)


def trigger_switch(
    pool_yuan,
    ctx,
    *,
    before,
    after,
    party=None,
    metric="cumulative_share",
    condition="below",
    threshold,
    review_years=None,
    lag_years=1,
):
    """Trigger / renegotiation: one rule until a realised outcome crosses a threshold, then another.

    At each review year the monitored outcome is computed on the realised path under the rule
    in force (``before``). The first time it is ``below`` (or ``above``) the threshold, the
    ``after`` rule applies from ``lag_years`` later to the end of the horizon; the switch is
    one-way. Each draw has its own path, so the switch year is a per-draw outcome.

    Parameters
    ----------
    before, after : {"rule": str, "params": dict}
        Any registered rules (a trigger may nest another trigger).
    party : str, optional
        Whose outcome is monitored; by default the party hosting most projects in scope.
    metric : str
        ``cumulative_share`` (the party's share of the pool so far), ``annual_share``,
        ``cumulative_yuan`` (its take so far), ``annual_yuan``, ``pool_yuan`` (the year's pool)
        or ``cumulative_pool_yuan``.
    condition : {"below", "above"}
    threshold : float
        [fraction] for shares, [yuan] otherwise.
    review_years : list of int, optional
        Years when the condition is reviewed; every year by default.
    lag_years : int
        Years between the triggering review and the new schedule (1: from the next year).

    Notes
    -----
    ``out = before`` in years before the switch and ``after`` from it on, cell by cell; both
    rules conserve money, so the combination does. Shares are undefined (never trigger) while
    the cumulative pool is zero.

    Examples
    --------
    A review clause: if by the 2035 review the host's cumulative share is below 60%, the
    partner's share drops to 20% from 2036::

        rule = "trigger_switch"
        params.before = { rule = "fixed_ratio", params.shares = { shenzhen = 0.5, shanwei = 0.5 } }
        params.after = { rule = "fixed_ratio", params.shares = { shenzhen = 0.2, shanwei = 0.8 } }
        params.threshold = 0.6
        params.review_years = [2035]

    References
    ----------
    Review and renegotiation clauses of cooperation agreements (``docs/model.md`` §4); a
    modelling device, no Guangdong clause with a numeric trigger was found.
    """
    from benefitshare.rules.mechanism import call_rule

    before, after = SubRule.model_validate(_plain(before)), SubRule.model_validate(_plain(after))
    first = call_rule(before.rule, pool_yuan, ctx, before.params)
    second = call_rule(after.rule, pool_yuan, ctx, after.params)
    if party is None:
        counts = np.bincount(ctx.host_index, minlength=ctx.n_parties)
        k = int(np.argmax(counts))
    else:
        k = ctx.index(party)
    total = first.sum(axis=0)  # (D, Y)
    take = first[k]
    if metric in ("cumulative_share", "cumulative_yuan", "cumulative_pool_yuan"):
        take_m, total_m = np.cumsum(take, axis=-1), np.cumsum(total, axis=-1)
    else:
        take_m, total_m = take, total
    if metric.endswith("share"):
        ok = np.abs(total_m) > 0.0
        value = np.where(ok, take_m / np.where(ok, total_m, 1.0), np.nan)
    elif metric in ("cumulative_yuan", "annual_yuan"):
        value = take_m
    else:
        value = total_m
    years = ctx.years
    review = (
        np.ones(len(years), dtype=bool) if review_years is None else np.isin(years, review_years)
    )
    start = switch_index(
        value, condition=condition, threshold=threshold, review_y=review, lag_years=lag_years
    )
    switched = np.arange(len(years))[None, :] >= start[:, None]  # (D, Y)
    return np.where(switched[None], second, first)


register_rule("trigger_switch", trigger_switch, params=TriggerParams, _builtin=True)
