"""Outcomes: strings and keywords, clear errors, values that agree with the run's tables."""

from __future__ import annotations

import pytest

import benefitshare as bs
from benefitshare.analysis.outcomes import Outcome, parse_outcome
from benefitshare.analysis.tornado import tornado

RULE = "fixed_50_50"
OUTCOME = f"npv:shanwei:{RULE}"


# ------------------------------------------------------------------------------------ outcomes
def test_outcome_strings_and_keywords(reference):
    assert parse_outcome(reference, OUTCOME) == Outcome("npv", "shanwei", RULE)
    assert parse_outcome(reference, "gain", party="shenzhen", rule=RULE) == Outcome(
        "gain", "shenzhen", RULE
    )
    assert parse_outcome(reference, "cumulative:shanwei", rule=RULE) == Outcome(
        "cumulative", "shanwei", RULE
    )
    assert parse_outcome(reference, "pool") == Outcome("pool")
    assert str(Outcome("npv", "shanwei", RULE)) == OUTCOME


@pytest.mark.parametrize(
    ("outcome", "kwargs", "match"),
    [
        (
            "nvp:shanwei:fixed_50_50",
            {},
            r"outcome metric = 'nvp': unknown metric; did you mean 'npv'\?",
        ),
        (
            "npv:shanwie:fixed_50_50",
            {},
            r"party = 'shanwie': unknown party; did you mean 'shanwei'\?",
        ),
        (
            "npv:shanwei:fixed_50_5",
            {},
            r"rule = 'fixed_50_5': unknown rule; did you mean 'fixed_50_50",
        ),
        ("npv:shanwei", {}, r"rule: 'npv' needs a rule; valid: host_keeps_all"),
        ("npv", {"rule": RULE}, r"party: 'npv' needs a party; valid: shenzhen, shanwei"),
        ("npv:shanwei:fixed_50_50", {"party": "shenzhen"}, r"the outcome names party 'shanwei'"),
        ("pool", {"party": "shanwei"}, r"'pool' is the whole pool: it takes no party"),
        ("npv:a:b:c", {}, r"write at most metric:party:rule"),
        ("", {}, r"give a metric"),
    ],
)
def test_bad_outcomes_get_clear_errors(reference, outcome, kwargs, match):
    with pytest.raises(bs.ScenarioError, match=match):
        parse_outcome(reference, outcome, **kwargs)


def test_outcome_values_agree_with_the_run_tables(reference):
    det = bs.run(reference)
    summary = det.summary().set_index(["rule", "party"])
    draws = det.draws().set_index(["rule", "party"])
    for rule in ("host_keeps_all", RULE, "relocation_92"):
        for party in det.party_ids:
            row = summary.loc[(rule, party)]
            central = {
                m: tornado(reference, f"{m}:{party}:{rule}").attrs["settings"].central_yuan
                for m in ("npv", "cumulative", "pool_share", "gain")
            }
            assert central["npv"] == pytest.approx(row["npv_yuan"], rel=1e-12)
            assert central["cumulative"] == pytest.approx(row["cumulative_yuan"], rel=1e-12)
            assert central["pool_share"] == pytest.approx(
                row["pool_share_yuan"], rel=1e-12, abs=1e-6
            )
            assert central["gain"] == pytest.approx(
                draws.loc[(rule, party), "gain_yuan"], rel=1e-12, abs=1e-3
            )
    pool = tornado(reference, "pool").attrs["settings"].central_yuan
    assert pool == pytest.approx(det.headline()["pool_yuan"], rel=1e-12)
