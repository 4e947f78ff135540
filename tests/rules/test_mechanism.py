"""Split rules: the registry, parameter validation, the output checks, and each rule's behaviour.

Hand-checked amounts per rule are in ``test_golden.py``; conservation over generated pools for
every registered rule is in ``test_properties.py``. :func:`make_context` builds a rule context
without a scenario and is shared by those modules.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from rule_helpers import make_context, pool_of

import benefitshare as bs
from benefitshare.errors import RuleError
from benefitshare.rules import RuleContext, apply_mechanism, get_rule, validate_params
from benefitshare.rules.mechanism import call_rule, clause_masks
from benefitshare.rules.spec import Clause, RuleSpec


def split(rule: str, pool: np.ndarray, ctx: RuleContext, **params) -> dict[str, np.ndarray]:
    """Run a rule through the checked call and return party -> (Y,) amounts of draw 0."""
    out = call_rule(rule, pool, ctx, params)
    assert out.shape == (ctx.n_parties, pool.shape[0], pool.shape[2])
    return {p: out[k, 0] for k, p in enumerate(ctx.party_ids)}


# ------------------------------------------------------------------------------------ registry


def test_builtin_rules_are_registered_with_a_precedent_in_their_docstring():
    names = {n for n, r in bs.SPLIT_RULES.items() if r.builtin}
    assert {
        "host_keeps_all",
        "fixed_ratio",
        "phased_schedule",
        "equity_proportional",
        "relocation_cap_sunset",
        "incremental_over_baseline",
        "tiered",
        "cost_recovery_first",
    } <= names
    for name in names:
        doc = bs.SPLIT_RULES[name].fn.__doc__ or ""
        assert "References" in doc, f"{name} cites no precedent"
        assert bs.SPLIT_RULES[name].summary


def test_unknown_rule_suggests_the_nearest_name():
    with pytest.raises(
        RuleError, match=r"unknown rule 'fixed_ratoi'; did you mean 'fixed_ratio'\?"
    ):
        get_rule("fixed_ratoi")
    with pytest.raises(RuleError, match=r"valid: .*host_keeps_all"):
        get_rule("zzzz")


def test_register_rule_refuses_duplicates_and_non_callables():
    with pytest.raises(RuleError, match="already registered"):
        bs.register_rule("fixed_ratio", lambda pool, ctx: pool)
    with pytest.raises(RuleError, match="expected a function"):
        bs.register_rule("test_not_callable", 42)
    with pytest.raises(RuleError, match="non-empty name"):
        bs.register_rule("", lambda pool, ctx: pool)
    assert "test_not_callable" not in bs.SPLIT_RULES


def test_a_user_rule_can_be_registered_and_used_in_a_mechanism():
    def all_to_partner(pool_yuan, ctx):
        """All to the partner (a test rule)."""
        out = np.zeros((ctx.n_parties, pool_yuan.shape[0], pool_yuan.shape[2]))
        out[ctx.partner_index] = pool_yuan.sum(axis=1)
        return out

    bs.register_rule("test_all_to_partner", all_to_partner, replace=True)
    try:
        ctx = make_context(hosts=("shanwei", "haifeng"))
        got = split("test_all_to_partner", pool_of([1, 2, 3, 4, 5], [10, 0, 0, 0, 0]), ctx)
        np.testing.assert_array_equal(got["shenzhen"], [11, 2, 3, 4, 5])
        np.testing.assert_array_equal(got["shanwei"], 0)
        assert bs.SPLIT_RULES["test_all_to_partner"].summary == "All to the partner (a test rule)."
        assert validate_params("test_all_to_partner", {"anything": 1}) == []
    finally:
        del bs.SPLIT_RULES["test_all_to_partner"]


# ------------------------------------------------------------------------------------ call checks


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (
            lambda pool, ctx: np.zeros((ctx.n_parties, *pool.shape)),
            r"returned shape .* expected \(parties, draws, years\)",
        ),
        (
            lambda pool, ctx: np.full((ctx.n_parties, pool.shape[0], pool.shape[2]), np.nan),
            "NaN or infinite",
        ),
        (
            lambda pool, ctx: np.zeros((ctx.n_parties, pool.shape[0], pool.shape[2])),
            r"does not conserve money: in draw 0, year 2026",
        ),
    ],
    ids=["shape", "nan", "conservation"],
)
def test_call_rule_rejects_bad_rule_output(fn, match):
    bs.register_rule("test_bad_rule", fn, replace=True)
    try:
        with pytest.raises(RuleError, match=match):
            call_rule("test_bad_rule", pool_of([1.0, 0, 0, 0, 0]), make_context(), {})
    finally:
        del bs.SPLIT_RULES["test_bad_rule"]


# ------------------------------------------------------------------------------------ params


@pytest.mark.parametrize(
    ("rule", "params", "loc", "match"),
    [
        (
            "fixed_ratio",
            {"shares": {"shenzhen": 0.5, "shanwei": 0.5}, "term_year": 5},
            ("term_year",),
            r"unknown parameter; did you mean 'term_years'\?",
        ),
        (
            "fixed_ratio",
            {"shares": {"shenzhen": 1.5}},
            ("shares", "shenzhen"),
            "less than or equal to 1",
        ),
        (
            "fixed_ratio",
            {"shares": {"shenzhen": float("nan"), "shanwei": 0.5}},
            ("shares", "shenzhen"),
            "finite number",
        ),
        ("fixed_ratio", {}, ("shares",), "required"),
        (
            "fixed_ratio",
            {"shares": {"shenzhen": 0.5, "shanwei": 0.5}, "term_years": 0},
            ("term_years",),
            "greater than or equal to 1",
        ),
        (
            "tiered",
            {"brackets": [{"up_to_yuan": 5.0, "shares": {"shanwei": 1.0}}]},
            (),
            "last bracket must have no up_to_yuan",
        ),
        (
            "tiered",
            {
                "brackets": [
                    {"up_to_yuan": 5.0, "shares": {"shanwei": 1.0}},
                    {"up_to_yuan": 3.0, "shares": {"shanwei": 1.0}},
                    {"shares": {"shanwei": 1.0}},
                ]
            },
            (),
            "must increase",
        ),
        (
            "incremental_over_baseline",
            {"shares": {"shanwei": 1.0}, "base_year": 2026, "base_yuan": 1.0},
            (),
            "base_year or base_yuan, not both",
        ),
        (
            "relocation_cap_sunset",
            {"origin_share": 1.2},
            ("origin_share",),
            "less than or equal to 1",
        ),
        (
            "cost_recovery_first",
            {"shares": {"shanwei": 1.0}, "recovery_rate": 0.0},
            ("recovery_rate",),
            "greater than 0",
        ),
    ],
)
def test_bad_parameters_are_reported_with_their_location(rule, params, loc, match):
    problems = validate_params(rule, params)
    assert problems, "no problem reported"
    locs = [p[0] for p in problems]
    assert any(
        tuple(str(x) for x in found)[: len(loc)] == tuple(str(x) for x in loc) for found in locs
    ), locs
    assert any(re.search(match, p[2]) for p in problems), problems


def test_parameter_cross_checks_against_the_scenario(tiny):
    spec = tiny.spec
    problems = validate_params("fixed_ratio", {"shares": {"shenzen": 0.5, "shanwei": 0.4}}, spec)
    messages = "\n".join(f"{p[0]} {p[2]}" for p in problems)
    assert "did you mean 'shenzhen'" in messages
    assert "shares must sum to 1 (they sum to 0.9)" in messages
    problems = validate_params("phased_schedule", {"schedule": {2027: {"shanwei": 1.0}}}, spec)
    assert any("first model year 2026" in p[2] for p in problems)
    problems = validate_params(
        "incremental_over_baseline", {"shares": {"shanwei": 1.0}, "base_year": 2040}, spec
    )
    assert any("within the horizon 2026..2035" in p[2] for p in problems)
    problems = validate_params("relocation_cap_sunset", {"origin": "beijing"}, spec)
    assert any("unknown party" in p[2] for p in problems)
    assert validate_params("fixed_ratio", {"shares": {"shenzhen": 0.5, "shanwei": 0.5}}, spec) == []


@pytest.mark.parametrize(
    "rule, params, loc, message",
    [
        ("relocation_cap_sunset", {"origin": "shenzen"}, ("origin",), "did you mean 'shenzhen'?"),
        (
            "cost_recovery_first",
            {"shares": {"shanwei": 1.0}, "recovering_party": "shanwie"},
            ("recovering_party",),
            "unknown party; did you mean 'shanwei'?",
        ),
        (
            "cost_recovery_first",
            {"shares": {"shanwei": 1.0}, "cost_kinds": ["subsidi"]},
            ("cost_kinds", 0),
            "unknown cost kind; did you mean 'subsidy'?",
        ),
        ("fixed_return", {"investor": "shenzen"}, ("investor",), "did you mean 'shenzhen'?"),
        (
            "fixed_return",
            {"capital_kinds": ["infrastructur"]},
            ("capital_kinds", 0),
            "did you mean 'infrastructure'?",
        ),
        (
            "nash_bargaining_split",
            {"weights": {"shenzen": 1.0}},
            ("weights", "shenzen"),
            "did you mean 'shenzhen'?",
        ),
        (
            "trigger_switch",
            {
                "before": {"rule": "fixed_rati"},
                "after": {"rule": "host_keeps_all"},
                "threshold": 0.5,
            },
            ("before", "rule"),
            "unknown rule; did you mean 'fixed_ratio'?",
        ),
        (
            "trigger_switch",
            {
                "before": {"rule": "host_keeps_all"},
                "after": {"rule": "host_keeps_all"},
                "threshold": 0.5,
                "party": "shanwie",
            },
            ("party",),
            "did you mean 'shanwei'?",
        ),
        (
            "tiered",
            {"brackets": [{"up_to_yan": 1e6, "shares": {"shanwei": 1.0}}]},
            ("brackets", 0, "up_to_yan"),
            "unknown parameter; did you mean 'up_to_yuan'?",
        ),
        (
            "trigger_switch",
            {
                "before": {"rule": "host_keeps_all", "parms": {}},
                "after": {"rule": "x"},
                "threshold": 0.5,
            },
            ("before", "parms"),
            "unknown parameter; did you mean 'params'?",
        ),
        (
            "fixed_ratio",
            {"shares": {"shenzhen": 60, "shanwei": 40}},
            ("shares", "shenzhen"),
            "must be between 0 and 1 (a fraction, not a percentage): write 0.6 for 60%",
        ),
        (
            "trigger_switch",
            {
                "before": {"rule": "host_keeps_all"},
                "after": {"rule": "host_keeps_all"},
                "threshold": 60,
            },
            (),
            "got 60.0: write 0.6 for 60%",
        ),
    ],
)
def test_names_in_parameters_get_the_nearest_name_and_nested_typos_their_own_table(
    tiny, rule, params, loc, message
):
    problems = validate_params(rule, params, tiny.spec)
    assert [msg for where, _, msg in problems if tuple(where) == loc and message in msg], problems


def test_each_parameter_is_documented_with_a_type_and_default():
    for name in ("fixed_ratio", "tiered", "trigger_switch", "fixed_return"):
        docs = get_rule(name).params_model.param_docs()
        assert docs and all(d.type and d.default and d.meaning and d.example for d in docs), name
    names = [d.name for d in get_rule("tiered").params_model.param_docs()]
    assert names == ["brackets", "brackets[].up_to_yuan", "brackets[].shares"]


# ------------------------------------------------------------------------------------ behaviour


def test_host_keeps_all_gives_each_project_to_its_host():
    ctx = make_context(hosts=("shanwei", "haifeng", "shanwei"))
    got = split("host_keeps_all", pool_of([1, 1, 1, 1, 1], [2, 2, 2, 2, 2], [4, 0, 4, 0, 4]), ctx)
    np.testing.assert_allclose(got["shanwei"], [5, 1, 5, 1, 5])
    np.testing.assert_allclose(got["haifeng"], [2, 2, 2, 2, 2])
    np.testing.assert_allclose(got["shenzhen"], 0)


def test_fixed_ratio_term_starts_in_start_year_and_then_reverts_to_the_host():
    ctx = make_context()
    got = split(
        "fixed_ratio",
        pool_of([10] * 5),
        ctx,
        shares={"shenzhen": 0.3, "shanwei": 0.7},
        term_years=2,
        start_year=2028,
    )
    np.testing.assert_allclose(got["shenzhen"], [0, 0, 3, 3, 0])
    np.testing.assert_allclose(got["shanwei"], [10, 10, 7, 7, 10])


def test_phased_schedule_steps_carry_forward():
    ctx = make_context()
    got = split(
        "phased_schedule",
        pool_of([100] * 5),
        ctx,
        schedule={2020: {"shenzhen": 0.6, "shanwei": 0.4}, 2029: {"shenzhen": 0.2, "shanwei": 0.8}},
    )
    np.testing.assert_allclose(got["shenzhen"], [60, 60, 60, 20, 20])


def test_equity_proportional_defaults_to_platform_equity():
    ctx = make_context(equity={"shenzhen": 0.51, "shanwei": 0.49})
    got = split("equity_proportional", pool_of([100] * 5), ctx)
    np.testing.assert_allclose(got["shenzhen"], 51)
    got = split(
        "equity_proportional", pool_of([100] * 5), ctx, equity={"haifeng": 0.25, "shanwei": 0.75}
    )
    np.testing.assert_allclose(got["haifeng"], 25)
    np.testing.assert_allclose(got["shenzhen"], 0)


def test_relocation_ignores_firms_that_did_not_move_or_are_below_the_threshold():
    ctx = make_context(
        hosts=("shanwei",) * 3,
        relocated=[False, True, True],
        pre_move_annual_tax_yuan=[50e6, 19_999_999.0, 20e6],
    )
    got = split("relocation_cap_sunset", pool_of([1e6] * 5, [1e6] * 5, [1e6] * 5), ctx)
    # only the third firm (exactly at the threshold) is shared: 50% for 3+2 years
    np.testing.assert_allclose(got["shenzhen"], [0.5e6] * 5)
    np.testing.assert_allclose(got["shanwei"], [2.5e6] * 5)


def test_relocation_window_starts_at_full_production_and_origin_can_be_named():
    ctx = make_context(
        years=range(2026, 2036),
        relocated=[True],
        pre_move_annual_tax_yuan=[30e6],
        full_production_year=[2028],
    )
    got = split(
        "relocation_cap_sunset",
        pool_of([10e6] * 10),
        ctx,
        origin="haifeng",
        base_years=1,
        extension_years=1,
    )
    np.testing.assert_allclose(got["haifeng"], [0, 0, 5e6, 5e6, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(got["shenzhen"], 0)


def test_relocation_extension_is_refused_once_the_cap_is_reached_in_the_base_window():
    # cap = 1 year of 4 million; raw take 3 million a year reaches it in the second base year
    ctx = make_context(years=range(2026, 2034), relocated=[True], pre_move_annual_tax_yuan=[25e6])
    got = split("relocation_cap_sunset", pool_of([6e6] * 8), ctx, cap_years_of_pre_move_tax=0.16)
    np.testing.assert_allclose(got["shenzhen"], [3e6, 1e6, 0, 0, 0, 0, 0, 0])


def test_incremental_before_the_base_year_leaves_everything_with_the_host():
    ctx = make_context()
    got = split(
        "incremental_over_baseline",
        pool_of([50, 100, 80, 150, 300]),
        ctx,
        shares={"shenzhen": 1.0},
        base_year=2027,
    )
    np.testing.assert_allclose(got["shenzhen"], [0, 0, 0, 50, 200])
    got = split(
        "incremental_over_baseline", pool_of([50, 100, 80, 150, 300]), ctx, shares={"shenzhen": 1.0}
    )
    np.testing.assert_allclose(got["shenzhen"], [0, 50, 30, 100, 250])


def test_tiered_brackets_work_per_draw():
    ctx = make_context(years=[2026])
    pool = np.array([[[50.0]], [[150.0]], [[0.0]]])  # three draws, one project, one year
    out = call_rule(
        "tiered",
        pool,
        ctx,
        {
            "brackets": [
                {"up_to_yuan": 100.0, "shares": {"shenzhen": 1.0}},
                {"shares": {"shanwei": 1.0}},
            ]
        },
    )
    np.testing.assert_allclose(out[0, :, 0], [50, 100, 0])
    np.testing.assert_allclose(out[1, :, 0], [0, 50, 0])


def test_cost_recovery_default_outlay_is_the_partners_infrastructure_cost():
    ctx = make_context(
        costs={
            "infrastructure": {"shenzhen": {2026: 30.0, 2027: 10.0}, "shanwei": {2026: 99.0}},
            "subsidy": {"shenzhen": {2026: 1000.0}},
        }
    )
    got = split("cost_recovery_first", pool_of([25] * 5), ctx, shares={"shanwei": 1.0})
    np.testing.assert_allclose(got["shenzhen"], [25, 15, 0, 0, 0])
    got = split(
        "cost_recovery_first",
        pool_of([25] * 5),
        ctx,
        shares={"shanwei": 1.0},
        cost_kinds=["infrastructure", "subsidy"],
        recovering_party="shanwei",
        recovery_rate=0.2,
    )
    np.testing.assert_allclose(got["shanwei"], [25] * 5)  # recovering and taking the rest
    np.testing.assert_allclose(got["shenzhen"], 0)


# ------------------------------------------------------------------------------------ mechanisms


def test_clause_masks_follow_scope_and_window():
    clause = Clause(
        rule="host_keeps_all",
        scope={"taxes": ["cit"], "parks": ["b"], "groups": ["g1"]},
        from_year=2027,
        to_year=2028,
    )
    taxes, proj, yr = clause_masks(
        clause,
        pool_taxes=["vat", "cit"],
        parks=("a", "b", "b"),
        groups=("g1", "g1", "g2"),
        years=np.arange(2026, 2031),
    )
    assert taxes == ["cit"]
    np.testing.assert_array_equal(proj, [False, True, False])
    np.testing.assert_array_equal(yr, [False, True, True, False, False])


def test_uncovered_cells_of_a_mechanism_stay_with_the_host():
    ctx = make_context(hosts=("shanwei", "haifeng"), parks=["coop", "county"])
    spec = RuleSpec(
        name="m",
        clauses=[
            {
                "rule": "fixed_ratio",
                "params": {"shares": {"shenzhen": 1.0}},
                "scope": {"parks": ["coop"]},
                "from_year": 2027,
                "to_year": 2027,
            },
        ],
    )
    pool = {"vat": pool_of([1] * 5, [2] * 5), "cit": pool_of([10] * 5, [20] * 5)}
    out = apply_mechanism(spec, pool, ctx)
    np.testing.assert_allclose(out[0, 0], [0, 11, 0, 0, 0])
    np.testing.assert_allclose(out[1, 0], [11, 0, 11, 11, 11])
    np.testing.assert_allclose(out[2, 0], [22] * 5)


def test_a_clause_scoped_by_tax_park_and_years_runs_in_the_pipeline(tiny):
    # regression: the engine forms only the masked pool of such a clause, and the mechanism
    # asked for the unmasked one first (KeyError)
    to_partner = {
        "rule": "fixed_ratio",
        "params": {"shares": {"shenzhen": 1.0}},
        "scope": {"parks": ["coop"]},
        "to_year": 2030,
    }
    relocation = {
        "rule": "relocation_cap_sunset",
        "scope": {"taxes": ["vat"], "parks": ["county"]},
        "to_year": 2030,
    }
    both = bs.run(
        tiny.with_overrides({"rules[coop_only].clauses": [to_partner, relocation]}),
        rules=["coop_only"],
    )
    one = bs.run(
        tiny.with_overrides({"rules[coop_only].clauses": [to_partner]}), rules=["coop_only"]
    )
    # the county park's only project did not relocate, so the second clause leaves it to the host
    np.testing.assert_allclose(
        both.annual()["pool_share_yuan"], one.annual()["pool_share_yuan"], atol=1e-6
    )
    assert both.annual().query("party == 'shenzhen' and year == 2030")["pool_share_yuan"].item() > 0
