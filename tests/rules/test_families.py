"""Rule families of the comparison: fixed return, bargaining-solution rules, trigger rules.

Hand-checked paths for each, the trigger switching in the right year on constructed paths, and
conservation (the parties' shares sum to the pool to 1e-6 yuan) over generated pools.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import benefitshare as bs
from benefitshare.errors import RuleError
from benefitshare.glossary import COST_KINDS
from benefitshare.rules import CONSERVATION_TOL_YUAN, RuleContext
from benefitshare.rules.bargaining_rules import implementing_shares
from benefitshare.rules.games import CoalitionGame, lazy
from benefitshare.rules.mechanism import call_rule
from benefitshare.rules.trigger import switch_index

ROOT = Path(__file__).resolve().parents[2]
PARTIES = ("shenzhen", "shanwei")


def context(
    n_years=7,
    *,
    hosts=("shanwei",),
    parties=PARTIES,
    costs=None,
    equity=None,
    game=None,
    outside=None,
    pool_total=None,
    rate=0.0,
    n_draws=1,
):
    """A rule context; ``costs`` maps kind -> {party: {year index: yuan}}."""
    years = np.arange(2026, 2026 + n_years)
    K = len(parties)
    cost_arrays = {kind: np.zeros((K, n_years)) for kind in COST_KINDS}
    for kind, by_party in (costs or {}).items():
        for party, payments in by_party.items():
            for t, amount in payments.items():
                cost_arrays[kind][parties.index(party), t] += amount
    P = len(hosts)
    return RuleContext(
        years=years,
        party_ids=tuple(parties),
        host_index=np.array([parties.index(h) for h in hosts]),
        partner_index=0,
        relocated=np.zeros((1, P, 1), bool),
        pre_move_annual_tax_yuan=np.zeros((1, P, 1)),
        full_production_year=np.full((1, P, 1), 2026),
        park=tuple(f"p{i}" for i in range(P)),
        group=("g",) * P,
        equity=equity,
        costs_yuan=cost_arrays,
        standalone_dky=None,
        outside_pool_net_dky=outside,
        pool_total_dy=pool_total,
        discount_factors_ky=np.ones((K, n_years)) * (1.0 + rate) ** -np.arange(n_years)[None],
        coalition_game=None if game is None else lazy(lambda: game),
    )


def pool_of(*yearly) -> np.ndarray:
    """A one-draw, one-project pool (1, 1, Y)."""
    return np.asarray(yearly, dtype=float)[None, None, :]


def run_rule(name, pool, ctx, **params) -> np.ndarray:
    out = call_rule(name, pool, ctx, params)  # checks shape, finiteness and conservation
    np.testing.assert_allclose(
        out.sum(axis=0), pool.sum(axis=1), rtol=0, atol=CONSERVATION_TOL_YUAN
    )
    return out


# ------------------------------------------------------------ fixed return
def test_fixed_return_pays_the_guarantee_with_arrears_then_equity():
    """Capital 100 paid in year 0; 10% for 5 years = 10 a year due in 2026-2030. The pool is
    5, 5, 20, 20, 20, 20, 20: paid 5, 5 (arrears 5, then 10), 20 (10 + 10 arrears), 10, 10; then
    the pool is split 60:40 by equity."""
    ctx = context(
        costs={"platform_capital": {"shenzhen": {0: 100.0}}},
        equity={"shenzhen": 0.6, "shanwei": 0.4},
    )
    out = run_rule("fixed_return", pool_of(5, 5, 20, 20, 20, 20, 20), ctx)[:, 0]
    np.testing.assert_allclose(out[0], [5, 5, 20, 10, 10, 12, 12])
    np.testing.assert_allclose(out[1], [0, 0, 0, 10, 10, 8, 8])


def test_fixed_return_without_carry_forward_and_with_a_fixed_base_and_start():
    ctx = context(
        costs={"infrastructure": {"shenzhen": {0: 100.0}}}, equity={"shenzhen": 0.6, "shanwei": 0.4}
    )
    pool = pool_of(5, 5, 20, 20, 20, 20, 20)
    out = run_rule("fixed_return", pool, ctx, carry_shortfall=False)[:, 0]
    np.testing.assert_allclose(out[0], [5, 5, 10, 10, 10, 12, 12])
    out = run_rule(
        "fixed_return",
        pool,
        ctx,
        capital_yuan=50.0,
        start_year=2028,
        guarantee_years=2,
        return_rate=0.2,
        shares={"shenzhen": 0.5, "shanwei": 0.5},
    )[:, 0]
    # the host keeps all before the guarantee starts (the investor has not invested yet)
    np.testing.assert_allclose(out[0], [0, 0, 10, 10, 10, 10, 10])


def test_fixed_return_growing_capital_base():
    """Capital paid 100 in 2026 and 100 in 2027: 10% of 100, then of 200."""
    ctx = context(
        costs={"infrastructure": {"shenzhen": {0: 100.0, 1: 100.0}}},
        equity={"shenzhen": 0.5, "shanwei": 0.5},
    )
    out = run_rule("fixed_return", pool_of(*[100.0] * 7), ctx, guarantee_years=3)[:, 0]
    np.testing.assert_allclose(out[0], [10, 20, 20, 50, 50, 50, 50])


# ------------------------------------------------------------ bargaining rules
def _bargaining_ctx(pool_y, outside_k, game, n_draws=1):
    Y = len(pool_y)
    outside = np.zeros((n_draws, 2, Y))
    outside[:, :, 0] = outside_k  # (K,) or (D, K)
    total = np.broadcast_to(np.asarray(pool_y, float), (n_draws, Y)).copy()
    return context(Y, game=game, outside=outside, pool_total=total)


def test_shapley_rule_gives_each_party_its_shapley_value():
    """Outside the pool Shenzhen has -20 and Shanwei 10; the pool is 100. Standalone values 5 and
    15, v(N) = 90: Shapley gives 5 + 35 = 40 and 15 + 35 = 50, so Shenzhen needs 60 of the pool."""
    game = CoalitionGame(PARTIES, [0.0, 5.0, 15.0, 90.0])
    pool_y = [10.0, 20.0, 30.0, 40.0]
    ctx = _bargaining_ctx(pool_y, [-20.0, 10.0], game)
    out = run_rule("shapley_split", pool_of(*pool_y), ctx)[:, 0]
    np.testing.assert_allclose(out.sum(axis=-1), [60.0, 40.0])
    np.testing.assert_allclose(out[0] / np.array(pool_y), 0.6)


def test_nash_rule_with_weights():
    game = CoalitionGame(PARTIES, [0.0, 5.0, 15.0, 90.0])
    pool_y = [50.0, 50.0]
    ctx = _bargaining_ctx(pool_y, [-20.0, 10.0], game)
    out = run_rule(
        "nash_bargaining_split", pool_of(*pool_y), ctx, weights={"shenzhen": 1, "shanwei": 3}
    )[:, 0]
    # Shenzhen: 5 + 70/4 = 22.5 in all, so 42.5 of the pool
    assert out[0].sum() == pytest.approx(42.5)


def test_an_unreachable_target_takes_the_nearest_feasible_shares():
    game = CoalitionGame(
        PARTIES, [0.0, 500.0, 15.0, 590.0]
    )  # Shenzhen's Shapley value exceeds the pool
    ctx = _bargaining_ctx([50.0, 50.0], [-20.0, 10.0], game)
    out = run_rule("shapley_split", pool_of(50.0, 50.0), ctx)[:, 0]
    np.testing.assert_allclose(out[0], [50.0, 50.0])


def test_realised_basis_sets_shares_per_draw():
    """Two draws: Shenzhen's outside flows are -20 or -40, so v(N) is 90 or 70 and its Shapley
    value 40 or 30; it needs 60 or 70 of a pool of 100. Fixed in advance (expected values) it
    gets 65 in both draws."""
    game = CoalitionGame(PARTIES, np.array([[0, 0], [5, 5], [15, 15], [90, 70]], float))
    ctx = _bargaining_ctx([50.0, 50.0], [[-20.0, 10.0], [-40.0, 10.0]], game, n_draws=2)
    pool = np.full((2, 1, 2), 50.0)
    shares = implementing_shares(game.shapley(), ctx, basis="realised")
    np.testing.assert_allclose(shares[0], [0.6, 0.7])
    out = run_rule("shapley_split", pool, ctx, basis="realised")
    np.testing.assert_allclose(out[0].sum(axis=-1), [60.0, 70.0])
    out = run_rule("shapley_split", pool, ctx, basis="expected")
    np.testing.assert_allclose(out[0].sum(axis=-1), [65.0, 65.0])


def test_bargaining_rules_need_the_run_context():
    ctx = context(3)
    with pytest.raises(RuleError, match="lacks .*coalition_game"):
        call_rule("shapley_split", pool_of(1.0, 2.0, 3.0), ctx, {})


def test_bargaining_rules_in_a_run_hit_their_targets(tmp_path):
    scn = bs.load_scenario(ROOT / "scenarios" / "compare_example.toml")
    res = bs.run(scn, rules=["shapley_split", "nash_split", "host_keeps_all"])
    cmp = bs.compare_rules(res)
    phi = cmp.reference.set_index("party")["shapley_yuan"]
    npv = res.summary().set_index(["rule", "party"])["npv_yuan"]
    for rule in ("shapley_split", "nash_split"):
        for p in res.party_ids:
            assert npv[(rule, p)] == pytest.approx(phi[p], abs=1.0)


# ------------------------------------------------------------ trigger rules
BEFORE = {
    "rule": "phased_schedule",
    "params": {
        "schedule": {
            2026: {"shenzhen": 0.8, "shanwei": 0.2},
            2029: {"shenzhen": 0.3, "shanwei": 0.7},
        }
    },
}
AFTER = {"rule": "host_keeps_all", "params": {}}


@pytest.mark.parametrize(
    ("threshold", "reviews", "lag", "partner"),
    [
        # at the 2030 review Shanwei's share is 0.4 < 0.45: the host keeps all from 2031
        (0.45, [2030, 2032], 1, [80, 80, 80, 30, 30, 0, 0, 0]),
        # 0.35 is never crossed at the reviews: the first schedule runs to the end
        (0.35, [2030, 2032], 1, [80, 80, 80, 30, 30, 30, 30, 30]),
        # reviewed every year with no lag: the share is below 0.3 from the first year
        (0.3, None, 0, [0] * 8),
        # 0.45 reviewed every year, two years' lag: 0.2 < 0.45 in 2026, switch in 2028
        (0.45, None, 2, [80, 80, 0, 0, 0, 0, 0, 0]),
    ],
)
def test_trigger_switches_after_the_review_that_finds_the_host_share_too_low(
    threshold, reviews, lag, partner
):
    """Pool 100 a year; 80:20 then 30:70 from 2029. Shanwei's cumulative share is 0.2, 0.2, 0.2,
    0.325, 0.4, 0.45, 0.486, 0.5125."""
    out = run_rule(
        "trigger_switch",
        pool_of(*[100.0] * 8),
        context(8),
        before=BEFORE,
        after=AFTER,
        threshold=threshold,
        review_years=reviews,
        lag_years=lag,
    )[:, 0]
    np.testing.assert_allclose(out[0], partner)
    np.testing.assert_allclose(out[1], 100.0 - np.array(partner, float))


def test_trigger_on_the_pool_switches_per_draw():
    """Two draws: the pool grows by 10 or by 30 a year from 100; the switch comes the year after
    it first exceeds 150 (160 in 2032 on the slow path, 160 in 2028 on the fast one)."""
    ctx = context(8)
    years = np.arange(8)
    pool = np.stack([100.0 + 10 * years, 100.0 + 30 * years])[:, None, :]
    before = {"rule": "fixed_ratio", "params": {"shares": {"shenzhen": 0.5, "shanwei": 0.5}}}
    out = run_rule(
        "trigger_switch",
        pool,
        ctx,
        before=before,
        after=AFTER,
        metric="pool_yuan",
        condition="above",
        threshold=150.0,
    )
    partner = out[0]
    assert list(np.flatnonzero(partner[0] == 0)) == [7]  # 2033 onwards
    assert list(np.flatnonzero(partner[1] == 0)) == [
        3,
        4,
        5,
        6,
        7,
    ]  # 2029 onwards (pool 160 in 2028)


def test_switch_index():
    m = np.array([[0.5, 0.4, 0.3], [0.5, 0.6, np.nan]])
    idx = switch_index(m, condition="below", threshold=0.35, review_y=np.ones(3, bool), lag_years=1)
    np.testing.assert_array_equal(idx, [3, 3])  # draw 0 triggers in its last year: no year left
    idx = switch_index(m, condition="below", threshold=0.45, review_y=np.ones(3, bool), lag_years=0)
    np.testing.assert_array_equal(idx, [1, 3])


def test_trigger_parameters_are_checked_in_a_scenario(tiny):
    bad = {
        "rules": [
            {
                "name": "t",
                "rule": "trigger_switch",
                "params": {
                    "before": {"rule": "fixed_ratoi", "params": {}},
                    "after": {
                        "rule": "fixed_ratio",
                        "params": {"shares": {"shenzhen": 0.7, "shanwei": 0.7}},
                    },
                    "threshold": 1.5,
                },
            }
        ]
    }
    with pytest.raises(bs.ScenarioError) as err:
        tiny.with_overrides(bad)
    text = str(err.value)
    assert "share must be between 0 and 1" in text
    bad["rules"][0]["params"]["threshold"] = 0.5
    with pytest.raises(bs.ScenarioError) as err:
        tiny.with_overrides(bad)
    text = str(err.value)
    assert "rules[0].params.before.rule" in text and "fixed_ratio" in text
    assert "rules[0].params.after.params.shares" in text and "sum to 1" in text


# ------------------------------------------------------------ conservation
amounts = st.floats(min_value=0.0, max_value=1e9, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def pools(draw):
    D = draw(st.integers(1, 3))
    P = draw(st.integers(1, 4))
    Y = draw(st.integers(2, 8))
    values = draw(st.lists(amounts, min_size=D * P * Y, max_size=D * P * Y))
    hosts = draw(st.lists(st.sampled_from(["shanwei", "haifeng"]), min_size=P, max_size=P))
    return np.array(values).reshape(D, P, Y), tuple(hosts)


NEW_RULES = {
    "fixed_return": {},
    "fixed_return_no_carry": {"carry_shortfall": False, "guarantee_years": 2, "return_rate": 0.3},
    "shapley_split": {"basis": "realised"},
    "nash_bargaining_split": {"weights": {"shenzhen": 2.0, "shanwei": 1.0, "haifeng": 1.0}},
    "trigger_switch": {
        "before": BEFORE,
        "after": {"rule": "fixed_return", "params": {}},
        "threshold": 0.5,
        "metric": "annual_share",
        "party": "shanwei",
    },
}


@pytest.mark.parametrize("case", list(NEW_RULES))
@settings(max_examples=40, deadline=None)
@given(pools(), st.floats(0.0, 0.2), st.floats(1.0, 1e9).map(lambda x: round(x, 2)))
def test_every_new_rule_conserves_money(case, pool_hosts, rate, capital):
    pool, hosts = pool_hosts
    D, P, Y = pool.shape
    parties = ("shenzhen", "shanwei", "haifeng")
    rng = np.random.default_rng(int(capital) % 1000)
    game = CoalitionGame(parties, np.round(rng.normal(0, 1e8, (8, D)), 2))
    outside = np.round(rng.normal(0, 1e7, (D, 3, Y)), 2)
    ctx = context(
        Y,
        hosts=hosts,
        parties=parties,
        costs={"infrastructure": {"shenzhen": {0: capital}}},
        equity={"shenzhen": 0.5, "shanwei": 0.3, "haifeng": 0.2},
        game=game,
        outside=outside,
        pool_total=pool.sum(axis=1) * 1.5,
        rate=rate,
    )
    name = "fixed_return" if case.startswith("fixed_return") else case
    out = call_rule(name, pool, ctx, NEW_RULES[case])
    assert out.shape == (3, D, Y)
    np.testing.assert_allclose(
        out.sum(axis=0), pool.sum(axis=1), rtol=0, atol=CONSERVATION_TOL_YUAN
    )


def test_new_rules_conserve_money_in_a_run_with_draws():
    scn = bs.load_scenario(ROOT / "scenarios" / "compare_example.toml")
    rules = ["fixed_return_10pct_5y", "shapley_split", "nash_split", "recovery_with_2035_review"]
    res = bs.run(scn, draws=16, seed=5, rules=rules, progress=False)
    total = res.pool_share_rdky.sum(axis=2)
    np.testing.assert_allclose(total, np.broadcast_to(res.pool_dy, total.shape), rtol=0, atol=1e-6)
