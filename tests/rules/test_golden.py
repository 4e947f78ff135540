"""Golden cases: every built-in rule on a small hand-checked case, and the tiny scenario.

Each case computes what the parties receive and compares it with ``tests/golden/<case>.csv``
(columns ``rule``, ``party``, ``year``, ``amount_yuan``), to 0.01 yuan. How every expected value
was derived is written in ``tests/golden/README.md``. The cases run through the checked call
(:func:`benefitshare.rules.mechanism.call_rule`), so their output is also checked for shape,
finiteness and conservation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rule_helpers import make_context, pool_of

import benefitshare as bs
from benefitshare.rules import apply_mechanism
from benefitshare.rules.mechanism import call_rule
from benefitshare.rules.spec import RuleSpec

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
MONEY_ATOL_YUAN = 0.01

# The common case: two projects, p0 hosted by Shanwei, p1 by Haifeng, 2026-2030.
POOL = pool_of([100, 200, 300, 400, 500], [10, 20, 30, 40, 50])
HOSTS = ("shanwei", "haifeng")


def _long(rule: str, out: np.ndarray, ctx) -> pd.DataFrame:
    """Party totals (K, 1, Y) of draw 0 as rows rule, party, year, amount_yuan."""
    return pd.DataFrame(
        [
            {"rule": rule, "party": party, "year": int(year), "amount_yuan": float(out[k, 0, y])}
            for k, party in enumerate(ctx.party_ids)
            for y, year in enumerate(ctx.years)
        ]
    )


def _rule_case(
    rule: str, *, label: str | None = None, pool=POOL, ctx=None, **params
) -> pd.DataFrame:
    ctx = ctx or make_context(hosts=HOSTS)
    return _long(label or rule, call_rule(rule, pool, ctx, params), ctx)


def case_host_keeps_all():
    return _rule_case("host_keeps_all")


def case_fixed_ratio():
    return _rule_case("fixed_ratio", shares={"shenzhen": 0.5, "shanwei": 0.3, "haifeng": 0.2})


def case_fixed_ratio_term():
    return _rule_case(
        "fixed_ratio",
        label="fixed_ratio_term",
        shares={"shenzhen": 0.5, "shanwei": 0.5},
        term_years=2,
        start_year=2027,
    )


def case_phased_schedule():
    return _rule_case(
        "phased_schedule",
        schedule={
            2026: {"shenzhen": 0.6, "shanwei": 0.4},
            2028: {"shenzhen": 0.2, "shanwei": 0.7, "haifeng": 0.1},
        },
    )


def case_equity_proportional():
    ctx = make_context(hosts=HOSTS, equity={"shenzhen": 0.51, "shanwei": 0.49})
    return pd.concat(
        [
            _rule_case("equity_proportional", label="equity_platform", ctx=ctx),
            _rule_case(
                "equity_proportional",
                label="equity_given",
                ctx=ctx,
                equity={"shenzhen": 0.25, "haifeng": 0.75},
            ),
        ]
    )


def case_relocation_cap_sunset():
    # A at the threshold (extension), B capped in its first extension year (hosted by Haifeng),
    # C just below the threshold, D not relocated, E capped inside the base window
    ctx = make_context(
        years=range(2026, 2036),
        hosts=("shanwei", "haifeng", "shanwei", "shanwei", "shanwei"),
        relocated=[True, True, True, False, True],
        pre_move_annual_tax_yuan=[20e6, 25e6, 19_999_999.0, 0.0, 30e6],
        full_production_year=[2027, 2026, 2026, 2026, 2026],
    )
    pool = pool_of([10e6] * 10, [40e6] * 10, [8e6] * 10, [5e6] * 10, [70e6] * 10)
    return _rule_case("relocation_cap_sunset", pool=pool, ctx=ctx)


def case_incremental_over_baseline():
    return pd.concat(
        [
            _rule_case(
                "incremental_over_baseline",
                label="incremental_base_year",
                shares={"shenzhen": 0.5, "shanwei": 0.5},
                base_year=2027,
            ),
            _rule_case(
                "incremental_over_baseline",
                label="incremental_base_yuan",
                shares={"shenzhen": 0.5, "shanwei": 0.5},
                base_yuan=330.0,
            ),
        ]
    )


def case_tiered():
    return _rule_case(
        "tiered",
        brackets=[
            {"up_to_yuan": 150.0, "shares": {"shenzhen": 0.4, "shanwei": 0.6}},
            {"up_to_yuan": 400.0, "shares": {"shenzhen": 0.2, "shanwei": 0.8}},
            {"shares": {"shenzhen": 0.1, "shanwei": 0.6, "haifeng": 0.3}},
        ],
    )


def case_cost_recovery_first():
    ctx = make_context(
        hosts=HOSTS, costs={"infrastructure": {"shenzhen": {2026: 300.0, 2027: 200.0}}}
    )
    return pd.concat(
        [
            _rule_case(
                "cost_recovery_first",
                label="recovery_of_costs",
                ctx=ctx,
                shares={"shenzhen": 0.3, "shanwei": 0.7},
                recovery_rate=0.5,
            ),
            _rule_case(
                "cost_recovery_first",
                label="recovery_of_outlay",
                ctx=ctx,
                shares={"shenzhen": 0.5, "shanwei": 0.5},
                recovering_party="haifeng",
                outlay_yuan=100.0,
            ),
        ]
    )


def case_fixed_return():
    # one project hosted by Shanwei; Shenzhen invested 1000 in 2026: 10% a year for 3 years
    ctx = make_context(costs={"infrastructure": {"shenzhen": {2026: 1000.0}}})
    pool = pool_of([150, 40, 120, 300, 300])
    params = {"return_rate": 0.1, "guarantee_years": 3, "shares": {"shenzhen": 0.5, "shanwei": 0.5}}
    return pd.concat(
        [
            _rule_case("fixed_return", label="fixed_return_carry", pool=pool, ctx=ctx, **params),
            _rule_case(
                "fixed_return",
                label="fixed_return_lapse",
                pool=pool,
                ctx=ctx,
                carry_shortfall=False,
                **params,
            ),
        ]
    )


def case_trigger_switch():
    before = {"rule": "fixed_ratio", "params": {"shares": {"shenzhen": 0.5, "shanwei": 0.5}}}
    after = {"rule": "fixed_ratio", "params": {"shares": {"shenzhen": 0.2, "shanwei": 0.8}}}
    return pd.concat(
        [
            _rule_case(
                "trigger_switch",
                label="trigger_review",
                before=before,
                after=after,
                party="shanwei",
                metric="cumulative_share",
                condition="below",
                threshold=0.6,
                review_years=[2028],
            ),
            _rule_case(
                "trigger_switch",
                label="trigger_never",
                before=before,
                after=after,
                party="shanwei",
                metric="cumulative_share",
                condition="below",
                threshold=0.4,
                review_years=[2028],
            ),
            _rule_case(
                "trigger_switch",
                label="trigger_pool",
                before=before,
                after=after,
                metric="pool_yuan",
                condition="above",
                threshold=300.0,
                lag_years=0,
            ),
        ]
    )


def case_mechanism():
    ctx = make_context(hosts=HOSTS, parks=["coop", "county"])
    spec = RuleSpec(
        name="mechanism",
        clauses=[
            {
                "rule": "fixed_ratio",
                "params": {"shares": {"shenzhen": 0.5, "shanwei": 0.5}},
                "scope": {"parks": ["coop"], "taxes": ["vat"]},
                "to_year": 2027,
            },
            {
                "rule": "tiered",
                "params": {
                    "brackets": [
                        {"up_to_yuan": 50.0, "shares": {"shenzhen": 1.0}},
                        {"shares": {"haifeng": 1.0}},
                    ]
                },
                "scope": {"taxes": ["cit"]},
                "from_year": 2029,
            },
        ],
    )
    pool = {"vat": pool_of([100] * 5, [40] * 5), "cit": pool_of([20] * 5, [60] * 5)}
    out = apply_mechanism(spec, pool, ctx)
    return _long("mechanism", out, ctx)


def case_tiny_scenario(tiny):
    annual = bs.run(tiny).annual()
    return annual[["rule", "party", "year", "pool_share_yuan"]].rename(
        columns={"pool_share_yuan": "amount_yuan"}
    )


CASES = {
    name.removeprefix("case_"): fn
    for name, fn in dict(globals()).items()
    if name.startswith("case_")
}


def test_every_golden_file_has_a_case_and_a_derivation():
    files = {p.stem for p in GOLDEN.glob("*.csv")}
    assert files == set(CASES)
    readme = (GOLDEN / "README.md").read_text("utf-8")
    for name in files:
        assert f"`{name}.csv`" in readme, f"README.md does not explain {name}.csv"


def test_every_builtin_share_rule_of_the_catalogue_has_a_golden_case():
    covered = set()
    for name in CASES:
        table = pd.read_csv(GOLDEN / f"{name}.csv")
        covered |= set(table["rule"])
    for rule in (
        "host_keeps_all",
        "fixed_ratio",
        "phased_schedule",
        "relocation_cap_sunset",
        "tiered",
    ):
        assert rule in covered
    assert {
        "equity_platform",
        "equity_given",
        "incremental_base_year",
        "incremental_base_yuan",
        "recovery_of_costs",
        "recovery_of_outlay",
        "fixed_ratio_term",
        "mechanism",
        "fixed_return_carry",
        "fixed_return_lapse",
        "trigger_review",
        "trigger_never",
        "trigger_pool",
    } <= covered


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_case(name, request):
    fn = CASES[name]
    actual = fn(request.getfixturevalue("tiny")) if name == "tiny_scenario" else fn()
    expected = pd.read_csv(GOLDEN / f"{name}.csv")
    merged = expected.merge(
        actual, on=["rule", "party", "year"], how="left", suffixes=("_expected", "")
    )
    missing = merged[merged["amount_yuan"].isna()]
    assert missing.empty, f"rows missing from the computed case:\n{missing}"
    np.testing.assert_allclose(
        merged["amount_yuan"],
        merged["amount_yuan_expected"],
        rtol=0,
        atol=MONEY_ATOL_YUAN,
        err_msg=merged.to_string(),
    )
    if name != "tiny_scenario":  # rule cases list every party and year
        assert len(expected) == len(actual)
