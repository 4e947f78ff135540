"""Outcomes: the numbers the analyses measure, read from evaluated chunks and from results.

The analysis layer (above the model, below batches and charts) measures a few outcomes of a
run: a party's NPV of net benefit, its revenue received, its gain over its standalone
(no-agreement) value, its share of the pool, or the whole shareable pool (``docs/model.md``,
section 3.9). This module is the one place that turns the model's output into them:

* :func:`outcome_values` reads an :class:`Outcome` (named ``"metric:party:rule"``, e.g.
  ``"npv:shanwei:fixed_50_50"``, and checked by :func:`parse_outcome`) from one evaluated chunk
  of draws, for the tornado and Sobol analyses;
* :func:`expected_npv_rk`, :func:`expected_standalone_npv_k` and :func:`expected_gain_rk` give
  each party's expected NPV, standalone NPV and gain per rule of a
  :class:`~benefitshare.model.result.Result`, for the comparison of rules and the rule solver.

Every formula is one of :mod:`benefitshare.model.metrics` (net benefit, NPV, gain, discount
factors at each party's rate).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from benefitshare.errors import Problem, ScenarioError, unknown_name
from benefitshare.model.inputs import model_setup
from benefitshare.model.metrics import (
    gain_yuan,
    net_benefit_yuan,
    npv_yuan,
    party_discount_factors,
    revenue_yuan,
)
from benefitshare.model.run import evaluate, select_rules

__all__ = [
    "METRICS",
    "Outcome",
    "parse_outcome",
    "outcome_values",
    "outcome_evaluator",
    "expected_npv_rk",
    "expected_standalone_npv_k",
    "expected_gain_rk",
]

#: Outcome metrics -> (needs a party and a rule, short label, description). All in yuan.
METRICS: dict[str, tuple[bool, str, str]] = {
    "npv": (
        True,
        "NPV of net benefit",
        "NPV of net benefit (revenue received less costs borne), at the party's discount rate",
    ),
    "cumulative": (
        True,
        "cumulative revenue",
        "revenue received over the horizon (pool share, local revenue outside the pool, dividends)",
    ),
    "gain": (
        True,
        "NPV gain over standalone",
        "NPV of net benefit less the NPV of the standalone (no-agreement) revenue",
    ),
    "pool_share": (
        True,
        "share of the pool",
        "share of the shareable pool received over the horizon",
    ),
    "pool": (
        False,
        "shareable pool",
        "the whole shareable pool over the horizon (the same under every rule)",
    ),
}

_ARG = "<arguments>"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a sensitivity analysis measures: one number per draw [yuan].

    Attributes
    ----------
    metric : str
        One of :data:`METRICS`.
    party : str or None
        Party id (``None`` for ``pool``).
    rule : str or None
        Rule name (``None`` for ``pool``).
    """

    metric: str
    party: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        if self.party is None:
            return self.metric
        return f"{self.metric}:{self.party}:{self.rule}"

    def describe(self, scenario=None) -> str:
        """A short description, with the party's and rule's names when a scenario is given."""
        label = METRICS[self.metric][1]
        if self.party is None:
            return f"the {label}"
        party, rule = self.party, self.rule
        if scenario is not None:
            party = scenario.spec.parties[self.party].name
            spec = {r.name: r for r in scenario.spec.rules}[self.rule]
            rule = spec.label or spec.name
        return f"{party}'s {label} under {rule}"


def parse_outcome(
    scenario, outcome: str | Outcome, *, rule: str | None = None, party: str | None = None
) -> Outcome:
    """Read and check an outcome against a scenario.

    Parameters
    ----------
    scenario : Scenario
    outcome : str or Outcome
        ``"metric"``, ``"metric:party"`` or ``"metric:party:rule"``; the metric is one of
        :data:`METRICS`.
    rule, party : str, optional
        Given separately; each must agree with the string when both name it. A rule may be
        omitted when the scenario has exactly one.

    Returns
    -------
    Outcome

    Raises
    ------
    ScenarioError
        Naming every problem: an unknown metric, party or rule (with the nearest valid name), a
        party or rule given twice with different values, or missing.
    """
    problems: list[Problem] = []
    if isinstance(outcome, Outcome):
        parts = [outcome.metric, outcome.party or "", outcome.rule or ""]
    elif isinstance(outcome, str) and outcome.strip():
        parts = [p.strip() for p in outcome.split(":")]
    else:
        raise ScenarioError(
            Problem(_ARG, "outcome", "give a metric such as 'npv:shanwei:fixed_50_50'", outcome)
        )
    if len(parts) > 3:
        raise ScenarioError(Problem(_ARG, "outcome", "write at most metric:party:rule", outcome))
    parts += [""] * (3 - len(parts))
    metric, s_party, s_rule = parts
    for field, from_str, given in (("party", s_party, party), ("rule", s_rule, rule)):
        if from_str and given is not None and from_str != given:
            problems.append(
                Problem(_ARG, field, f"the outcome names {field} {from_str!r}; give it once", given)
            )
    party = party if party is not None else (s_party or None)
    rule = rule if rule is not None else (s_rule or None)
    if metric not in METRICS:
        problems.append(
            Problem(_ARG, "outcome metric", unknown_name("metric", metric, METRICS), metric)
        )
        raise ScenarioError(problems)
    needs = METRICS[metric][0]
    parties = list(scenario.spec.parties)
    rules = scenario.rule_names
    if not needs:
        for field, value in (("party", party), ("rule", rule)):
            if value is not None:
                problems.append(
                    Problem(
                        _ARG, field, f"{metric!r} is the whole pool: it takes no {field}", value
                    )
                )
    else:
        if party is None:
            problems.append(
                Problem(_ARG, "party", f"{metric!r} needs a party; valid: {', '.join(parties)}")
            )
        elif party not in parties:
            problems.append(Problem(_ARG, "party", unknown_name("party", party, parties), party))
        if rule is None:
            if len(rules) == 1:
                rule = rules[0]
            else:
                problems.append(
                    Problem(_ARG, "rule", f"{metric!r} needs a rule; valid: {', '.join(rules)}")
                )
        elif rule not in rules:
            problems.append(Problem(_ARG, "rule", unknown_name("rule", rule, rules), rule))
    if problems:
        raise ScenarioError(problems)
    return Outcome(metric, party, rule) if needs else Outcome(metric)


def outcome_values(scenario, chunk, outcome: Outcome, rule_index: int = 0) -> np.ndarray:
    """The outcome for every draw of one evaluated chunk.

    Parameters
    ----------
    scenario : Scenario
    chunk : ChunkOutput
        From :func:`~benefitshare.model.run.evaluate`.
    outcome : Outcome
    rule_index : int
        Position of ``outcome.rule`` among the rules the chunk was evaluated with.

    Returns
    -------
    ndarray, shape (D,)
        [yuan]. NPVs use each party's discount rate, as in :meth:`Result.summary`.

    Notes
    -----
    ``revenue = pool share + retained + dividends``; ``npv = sum_y (revenue - costs)_y d_y``;
    ``gain = npv - sum_y standalone_y d_y``; ``pool_share`` and ``pool`` are horizon sums.
    """
    if outcome.metric == "pool":
        return chunk.pool_dy.sum(axis=-1)
    spec = scenario.spec
    k = list(spec.parties).index(outcome.party)
    factors_y = party_discount_factors(spec, scenario.years)[k]
    share = chunk.pool_share_rdky[rule_index, :, k]  # (D, Y)
    if outcome.metric == "pool_share":
        return share.sum(axis=-1)
    revenue = revenue_yuan(share, chunk.retained_dky[:, k], chunk.dividends_dky[:, k])
    if outcome.metric == "cumulative":
        return revenue.sum(axis=-1)
    npv = npv_yuan(net_benefit_yuan(revenue, chunk.costs_cdky[:, :, k].sum(axis=0)), factors_y)
    if outcome.metric == "npv":
        return npv
    return gain_yuan(npv, npv_yuan(chunk.standalone_dky[:, k], factors_y))


def outcome_evaluator(scenario, outcome: Outcome):
    """``f(inputs) -> (D,)``: the outcome of the model inputs, one value per draw [yuan].

    Only the outcome's rule is evaluated (the scenario's first rule for ``pool``, which is the
    same under every rule).
    """
    specs = (
        select_rules(scenario, [outcome.rule]) if outcome.rule else list(scenario.spec.rules)[:1]
    )
    setup = model_setup(scenario)
    return lambda inputs: outcome_values(scenario, evaluate(setup, inputs, specs), outcome)


# ------------------------------------------------------------------------------------ results
def expected_npv_rk(result) -> np.ndarray:
    """Expected NPV of each party's net benefit per rule [yuan], shape (R, K).

    The mean over all draws of the run, at each party's discount rate
    (:meth:`~benefitshare.model.result.Result.npv_mean_rk`).
    """
    return result.npv_mean_rk()


def expected_standalone_npv_k(result) -> np.ndarray:
    """Expected NPV of each party's standalone (no-agreement) revenue [yuan], shape (K,)."""
    return result.standalone_npv_mean_k()


def expected_gain_rk(result) -> np.ndarray:
    """Expected NPV gain of each party over its standalone value per rule [yuan], (R, K)."""
    return result.gain_mean_rk()
