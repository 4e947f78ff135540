"""Cooperative solutions: Shapley axioms, Nash bargaining, and coalition values from the engine."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import benefitshare as bs
from benefitshare.model.run import coalition_game as coalition_values
from benefitshare.model.run import game_from_result
from benefitshare.rules.games import CoalitionGame, nash_split, project_to_simplex, shapley_values
from benefitshare.scenario.load import scenario_from_dict

DATA = Path(__file__).resolve().parents[1] / "data"
MONEY = 0.01  # yuan

# money amounts to the fen: no tiny magnitudes that underflow under np.seterr(all="raise")
finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False).map(
    lambda x: round(x, 2)
)


@st.composite
def games(draw, min_players=1, max_players=6):
    n = draw(st.integers(min_players, max_players))
    values = np.array(draw(st.lists(finite, min_size=2**n, max_size=2**n)))
    values[0] = 0.0
    return n, values


def _swap(mask: int, i: int, j: int) -> int:
    bi, bj = (mask >> i) & 1, (mask >> j) & 1
    if bi != bj:
        mask ^= (1 << i) | (1 << j)
    return mask


def _brute_force_shapley(values: np.ndarray, n: int) -> np.ndarray:
    """Average marginal contribution over all orderings (the definition, for small n)."""
    phi = np.zeros(n)
    perms = list(itertools.permutations(range(n)))
    for order in perms:
        mask = 0
        for i in order:
            phi[i] += values[mask | (1 << i)] - values[mask]
            mask |= 1 << i
    return phi / len(perms)


# ------------------------------------------------------------ Shapley axioms
def test_shapley_docstring_example_and_two_party_closed_form():
    np.testing.assert_allclose(shapley_values([0.0, 1.0, 2.0, 7.0]), [3.0, 4.0])


@settings(max_examples=150, deadline=None)
@given(games())
def test_shapley_efficiency(game):
    n, v = game
    phi = shapley_values(v)
    assert phi.shape == (n,)
    assert phi.sum() == pytest.approx(v[-1], abs=1e-6 * (1 + np.abs(v).max()))


@settings(max_examples=60, deadline=None)
@given(games(max_players=5))
def test_shapley_matches_the_permutation_definition(game):
    n, v = game
    np.testing.assert_allclose(
        shapley_values(v), _brute_force_shapley(v, n), rtol=1e-9, atol=1e-6 * (1 + np.abs(v).max())
    )


@settings(max_examples=150, deadline=None)
@given(games(min_players=2), st.data())
def test_shapley_symmetry(game, data):
    n, v = game
    i, j = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
    # make i and j interchangeable: v(S) = v(S with i and j swapped)
    sym = np.array([(v[m] + v[_swap(m, i, j)]) / 2 for m in range(2**n)])
    phi = shapley_values(sym)
    assert phi[i] == pytest.approx(phi[j], abs=1e-6 * (1 + np.abs(v).max()))


@settings(max_examples=150, deadline=None)
@given(games(min_players=2), st.data())
def test_shapley_null_player(game, data):
    n, v = game
    i = data.draw(st.integers(0, n - 1))
    # i adds nothing to any coalition
    null = np.array([v[m & ~(1 << i)] for m in range(2**n)])
    phi = shapley_values(null)
    assert phi[i] == pytest.approx(0.0, abs=1e-6 * (1 + np.abs(v).max()))
    assert phi.sum() == pytest.approx(null[-1], abs=1e-6 * (1 + np.abs(v).max()))


@settings(max_examples=100, deadline=None)
@given(games(min_players=2, max_players=5), st.data())
def test_shapley_additivity(game, data):
    n, v = game
    w = np.array(data.draw(st.lists(finite, min_size=2**n, max_size=2**n)))
    w[0] = 0.0
    np.testing.assert_allclose(
        shapley_values(v + w),
        shapley_values(v) + shapley_values(w),
        atol=1e-6 * (1 + np.abs(v).max() + np.abs(w).max()),
    )


@settings(max_examples=200, deadline=None)
@given(finite, finite, finite)
def test_two_parties_shapley_is_standalone_plus_half_surplus_is_symmetric_nash(d1, d2, total):
    phi = shapley_values([0.0, d1, d2, total])
    half = (total - d1 - d2) / 2
    tol = 1e-6 * (1 + abs(d1) + abs(d2) + abs(total))
    np.testing.assert_allclose(phi, [d1 + half, d2 + half], atol=tol)
    np.testing.assert_allclose(nash_split([d1, d2], total), phi, atol=tol)


def test_shapley_draws_axis_is_carried_through():
    v = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 2.0], [7.0, 10.0]])  # two draws
    np.testing.assert_allclose(shapley_values(v), [[3.0, 5.0], [4.0, 5.0]])


def test_shapley_accepts_a_mapping_or_a_function_of_coalitions():
    players = ["a", "b", "c"]
    worth = {
        frozenset(s): float(len(s) ** 2)
        for r in range(1, 4)
        for s in itertools.combinations(players, r)
    }
    by_map = shapley_values(worth, players)
    by_fn = shapley_values(lambda s: float(len(s) ** 2), players)
    np.testing.assert_allclose(by_map, [3.0, 3.0, 3.0])
    np.testing.assert_allclose(by_fn, by_map)
    with pytest.raises(ValueError, match="no value given"):
        shapley_values({frozenset({"a"}): 1.0, frozenset({"a", "b"}): 2.0}, ["a", "b"])


def test_shapley_rejects_a_wrong_number_of_coalitions_and_too_many_players():
    with pytest.raises(ValueError, match="2\\*\\*n"):
        shapley_values([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="at most"):
        shapley_values(np.zeros(2**21))


def test_exact_enumeration_handles_twelve_parties():
    n = 12
    rng = np.random.default_rng(3)
    weights = rng.uniform(0, 10, n)
    masks = np.arange(2**n)
    bits = (masks[:, None] >> np.arange(n)) & 1
    v = bits @ weights  # an additive game: each player's value is its weight
    np.testing.assert_allclose(shapley_values(v), weights, rtol=1e-9)


# ------------------------------------------------------------ Nash bargaining
def test_weighted_nash_maximises_the_weighted_nash_product():
    d = np.array([1.0, 2.0])
    total = 10.0
    w = 0.3
    u1 = np.linspace(d[0] + 1e-6, total - d[1] - 1e-6, 200001)
    product = w * np.log(u1 - d[0]) + (1 - w) * np.log(total - u1 - d[1])
    best = u1[np.argmax(product)]
    split = nash_split(d, total, [w, 1 - w])
    assert split[0] == pytest.approx(best, abs=1e-4)
    assert split.sum() == pytest.approx(total)


def test_nash_split_of_n_parties_and_bad_weights():
    split = nash_split([1.0, 2.0, 3.0], 12.0, weights=[1, 1, 4])
    np.testing.assert_allclose(split, [2.0, 3.0, 7.0])
    with pytest.raises(ValueError, match="non-negative"):
        nash_split([1.0, 2.0], 5.0, weights=[-1, 2])
    with pytest.raises(ValueError, match="one weight per party"):
        nash_split([1.0, 2.0], 5.0, weights=[1, 2, 3])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False, allow_subnormal=False), min_size=1, max_size=6))
def test_projection_to_the_simplex(xs):
    p = project_to_simplex(np.array(xs))
    assert (p >= 0).all()
    assert p.sum() == pytest.approx(1.0)
    if all(x >= 0 for x in xs) and sum(xs) == pytest.approx(1.0, abs=1e-12):
        np.testing.assert_allclose(p, xs, atol=1e-9)


# ------------------------------------------------------------ games from the engine
def test_engine_game_two_parties_has_standalone_singletons_and_total_npv(tiny, reference):
    for scn in (tiny, reference):
        res = bs.run(scn)
        game = coalition_values(scn)
        np.testing.assert_allclose(game.standalone[:, 0], res.standalone_npv_dk()[0], atol=MONEY)
        # v(N) is the total NPV of net benefit under any rule (the parties share one discount rate)
        for r in range(len(res.rule_names)):
            assert game.grand[0] == pytest.approx(res.npv_rdk()[r, 0].sum(), abs=MONEY)
        # the run's own flows give the same game
        np.testing.assert_allclose(game_from_result(res).values, game.values, atol=MONEY)


def test_engine_game_with_a_county_as_a_third_party():
    scn = bs.load_scenario(DATA / "tiny_counties.toml")
    res = bs.run(scn)
    game = coalition_values(scn)
    assert game.players == ("shenzhen", "shanwei", "county")
    np.testing.assert_allclose(game.standalone[:, 0], res.standalone_npv_dk()[0], atol=MONEY)
    assert game.grand[0] == pytest.approx(res.npv_rdk()[0, 0].sum(), abs=MONEY)
    phi = game.shapley()[:, 0]
    assert phi.sum() == pytest.approx(game.grand[0], abs=MONEY)


def test_coalition_without_the_county_equals_a_run_without_the_county_park(tmp_path):
    """v({shenzhen, shanwei}): cooperation only in Shanwei's park; the county's project (not
    relocated) would have come to the county, outside the coalition. So it equals the total NPV of
    the two cities in a run without the county's project and without the county's costs."""
    scn = bs.load_scenario(DATA / "tiny_counties.toml")
    game = coalition_values(scn)
    projects = pd.read_csv(DATA / "tiny_projects.csv")
    assert not projects.loc[projects.park == "county", "relocated"].any()
    projects[projects.park != "county"].to_csv(tmp_path / "projects.csv", index=False)
    raw = dict(scn.raw)
    raw["model"] = {**raw["model"], "projects": "projects.csv"}
    raw["costs"] = [c for c in raw["costs"] if c["party"] != "county"]
    res = bs.run(scenario_from_dict(raw, base_dir=tmp_path))
    two = [res.party_ids.index("shenzhen"), res.party_ids.index("shanwei")]
    assert game.value(["shenzhen", "shanwei"])[0] == pytest.approx(
        res.npv_rdk()[0, 0, two].sum(), abs=MONEY
    )


def test_a_party_with_nothing_is_a_null_player(tiny):
    scn = tiny.with_overrides({"parties.observer": {"name": "Observer", "role": "other"}})
    game = coalition_values(scn)
    phi = game.shapley()[:, 0]
    assert game.players[-1] == "observer"
    assert phi[-1] == pytest.approx(0.0, abs=MONEY)
    np.testing.assert_allclose(phi[:2], coalition_values(tiny).shapley()[:, 0], atol=MONEY)


def test_coalition_game_helpers():
    g = CoalitionGame(("a", "b"), [0.0, 1.0, 2.0, 7.0])
    assert g.values.shape == (4, 1)
    assert g.value(["b", "a"])[0] == 7.0
    assert g.surplus[0] == 4.0
    np.testing.assert_allclose(g.nash({"a": 3, "b": 1})[:, 0], [4.0, 3.0])
    with pytest.raises(ValueError, match="needs 2\\*\\*3"):
        CoalitionGame(("a", "b", "c"), [0.0, 1.0])
