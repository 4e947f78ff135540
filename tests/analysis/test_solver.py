"""The rule solver against answers derived in closed form.

Under a fixed ratio every flow is linear in the partner's share s: Shenzhen's NPV is
``a + s * P`` and Shanwei's ``b - s * P`` (P: NPV of the pool; both cities discount at the same
rate). So the share that equalises gains, gives Shenzhen its Shapley value, or makes gains
proportional to contributions, has a closed form from one run of "host keeps all".
"""

from __future__ import annotations

import numpy as np
import pytest

import benefitshare as bs
from benefitshare.analysis.compare import compare_rules
from benefitshare.analysis.solver import solve_rule


@pytest.fixture(scope="module")
def linear(reference):
    """a, b (NPVs at s = 0), standalone values, P, Shapley value and contributions."""
    res = bs.run(reference, rules=["host_keeps_all"])
    cmp = compare_rules(res)
    ref = cmp.reference.set_index("party")
    npv = res.npv_rdk()[0, 0]
    df = res.discount_factors_ky()
    assert np.allclose(df[0], df[1])
    pool_npv = float((res.means["pool_dy"] * df[0]).sum())
    return {
        "a": npv[0],
        "b": npv[1],
        "P": pool_npv,
        "sa": ref["standalone_npv_yuan"].to_numpy(),
        "phi": ref["shapley_yuan"].to_numpy(),
        "c": ref["contribution_yuan"].to_numpy(),
    }


def test_fixed_ratio_for_equal_gains_in_closed_form(reference, linear):
    ga, gb = linear["a"] - linear["sa"][0], linear["b"] - linear["sa"][1]
    s_star = (gb - ga) / (2 * linear["P"])
    assert 0 < s_star < 1
    sol = solve_rule(reference, "fixed_ratio", "equal_gains")
    assert sol.success
    assert sol.params["partner_share"] == pytest.approx(s_star, abs=1e-9)
    assert sol.metrics["gain_shenzhen_yuan"] == pytest.approx(
        sol.metrics["gain_shanwei_yuan"], abs=1.0
    )
    assert sol.rule["rule"] == "fixed_ratio"
    assert sol.rule["params"]["shares"]["shenzhen"] == pytest.approx(s_star, abs=1e-9)
    assert "Target met" in sol.message


def test_fixed_ratio_for_the_shapley_split_in_closed_form(reference, linear):
    s_star = (linear["phi"][0] - linear["a"]) / linear["P"]
    sol = solve_rule(reference, "fixed_ratio", "shapley")
    assert sol.success
    assert sol.params["partner_share"] == pytest.approx(s_star, abs=1e-9)
    assert sol.metrics["npv_shenzhen_yuan"] == pytest.approx(linear["phi"][0], abs=1.0)


def test_fixed_ratio_for_gains_proportional_to_contributions(reference, linear):
    c_share = linear["c"][0] / linear["c"].sum()
    surplus = linear["a"] + linear["b"] - linear["sa"].sum()
    s_star = (c_share * surplus - (linear["a"] - linear["sa"][0])) / linear["P"]
    sol = solve_rule(reference, "fixed_ratio", "proportional_gains")
    assert sol.success
    assert sol.params["partner_share"] == pytest.approx(s_star, abs=1e-9)


def test_minimum_host_share_gives_the_partner_the_rest(reference):
    sol = solve_rule(reference, "fixed_ratio", "min_host_share", value=0.65)
    assert sol.success
    assert sol.params["partner_share"] == pytest.approx(0.35, abs=1e-9)
    assert sol.metrics["host_share"] >= 0.65 - 1e-12


def test_nash_product_of_two_cities_is_largest_at_equal_gains(reference, linear):
    ga, gb = linear["a"] - linear["sa"][0], linear["b"] - linear["sa"][1]
    s_star = (gb - ga) / (2 * linear["P"])
    sol = solve_rule(reference, "fixed_ratio", "nash")
    assert sol.success
    assert sol.params["partner_share"] == pytest.approx(s_star, abs=1e-5)
    # weights tilt it: Shenzhen's gain becomes 3/4 of the surplus
    tilted = solve_rule(
        reference, "fixed_ratio", "nash", nash_weights={"shenzhen": 3, "shanwei": 1}
    )
    surplus = ga + gb
    assert tilted.metrics["gain_shenzhen_yuan"] == pytest.approx(0.75 * surplus, rel=1e-4)


def test_a_term_in_whole_years_brackets_equal_gains(reference):
    sol = solve_rule(reference, "term", "equal_gains", options={"partner_share": 0.7})
    assert sol.success
    term = sol.params["term_years"]
    assert isinstance(term, int)
    gap = sol.metrics["residual_yuan"]
    # the neighbouring term on the other side of equality has a gap of the other sign, and larger
    other = term + 1 if gap < 0 else term - 1
    neighbour = solve_rule(
        reference,
        "term",
        "equal_gains",
        options={"partner_share": 0.7},
        fixed={"term_years": other},
    )
    assert np.sign(neighbour.metrics["residual_yuan"]) == -np.sign(gap)
    assert abs(neighbour.metrics["residual_yuan"]) >= abs(gap)
    assert "between" in sol.message


def test_a_cap_meets_equal_gains(reference):
    sol = solve_rule(reference, "cap", "equal_gains", options={"partner_share": 0.8})
    assert sol.success
    assert abs(sol.metrics["residual_yuan"]) <= 1.0
    assert sol.rule["rule"] == "cost_recovery_first"
    assert sol.rule["params"]["outlay_yuan"] == pytest.approx(sol.params["cap_yuan"])


def test_taper_end_points(reference):
    sol = solve_rule(reference, "taper", "equal_gains")
    assert sol.success and abs(sol.metrics["residual_yuan"]) <= 1.0
    held = solve_rule(reference, "taper", "equal_gains", fixed={"end_share": 0.5})
    assert held.success and held.params["end_share"] == 0.5
    assert held.params["start_share"] > 0.5
    schedule = held.rule["params"]["schedule"]
    assert schedule["2026"]["shenzhen"] == pytest.approx(held.params["start_share"])
    assert schedule["2040"]["shenzhen"] == pytest.approx(0.5)
    # ending at 20% the partner cannot catch up even starting from 100%
    low = solve_rule(reference, "taper", "equal_gains", fixed={"end_share": 0.2})
    assert not low.success and low.params["start_share"] == pytest.approx(1.0)


def test_says_plainly_when_no_parameter_meets_the_target(reference, tiny):
    # a 50:50 ratio for at most 30 years cannot give Shenzhen as much as Shanwei gains
    sol = solve_rule(reference, "term", "equal_gains")
    assert not sol.success
    assert "no value of term_years" in sol.message.lower() and "NOT met" in sol.message
    # the tiny scenario's cooperation loses money: no split gives both a gain
    sol = solve_rule(tiny, "fixed_ratio", "nash")
    assert not sol.success
    assert "no parameters in the bounds give every party a gain" in sol.message.lower()
    sol = solve_rule(tiny, "fixed_ratio", "equal_gains")
    assert not sol.success and sol.params["partner_share"] == pytest.approx(1.0)


def test_solver_with_draws_uses_the_same_draws_for_every_candidate(reference):
    sol = solve_rule(reference, "fixed_ratio", "equal_gains", draws=24, seed=3)
    assert sol.success
    assert sol.metrics["gain_shenzhen_yuan"] == pytest.approx(
        sol.metrics["gain_shanwei_yuan"], abs=1.0
    )
    assert 0.0 <= sol.metrics["p_loss_shenzhen"] <= 1.0
    again = solve_rule(reference, "fixed_ratio", "equal_gains", draws=24, seed=3)
    assert again.params == sol.params


def test_bad_arguments(reference):
    with pytest.raises(ValueError, match="unknown family 'ratio'"):
        solve_rule(reference, "ratio", "equal_gains")
    with pytest.raises(ValueError, match="unknown target"):
        solve_rule(reference, "fixed_ratio", "fair")
    with pytest.raises(ValueError, match="needs value"):
        solve_rule(reference, "fixed_ratio", "min_host_share")
    with pytest.raises(ValueError, match="unknown parameter"):
        solve_rule(reference, "fixed_ratio", "equal_gains", fixed={"end_share": 0.2})


def test_note_holds_the_solvers_remark_alone(reference, tiny):
    plain = solve_rule(reference, "fixed_ratio", "equal_gains")
    assert plain.success and plain.note == ""
    missed = solve_rule(tiny, "fixed_ratio", "shapley")
    assert not missed.success
    assert missed.note.startswith("No value of partner_share in [0, 1] meets the target")
    assert missed.note.endswith(".") and missed.note in missed.message
    term = solve_rule(reference, "term", "min_host_share", value=0.6)
    assert term.note == "" and "Target met" in term.message
