"""``benefitshare solve``: the printed answer against the solver, the written scenario file, exit
statuses (0 met, 3 not met, 2 bad input) and the messages for bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import benefitshare as bs
from benefitshare import cli
from benefitshare.cli.solve_verb import EXIT_NOT_MET
from benefitshare.glossary import YUAN_PER_YI

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "scenarios" / "reference.toml"
TINY = ROOT / "tests" / "data" / "tiny.toml"


def _solve(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["solve", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def _yi(v: float) -> str:
    return f"{v / YUAN_PER_YI:,.3f}"


def _row(out: str, party: str) -> list[str]:
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(party + " ")]
    assert len(rows) == 1, out
    return rows[0]


@pytest.fixture(scope="module")
def equal(reference):
    return bs.solve_rule(reference, "fixed_ratio", "equal_gains")


# ------------------------------------------------------------------------------------ answers
def test_equal_gains_prints_the_share_npvs_gains_and_win_win(capsys, equal):
    status, out, err = _solve(capsys, REFERENCE, "--rule", "fixed_ratio", "--target", "equal_gains")
    assert status == 0, err
    assert "Target met" in out
    assert f"partner_share = {equal.params['partner_share']:.6g}" in out
    m = equal.metrics
    for party, role in (("shenzhen", "partner"), ("shanwei", "host")):
        npv, gain = m[f"npv_{party}_yuan"], m[f"gain_{party}_yuan"]
        row = _row(out, party)
        assert row[:2] == [party, role]
        assert row[2] == _yi(npv)
        assert row[3] == _yi(npv - gain)
        assert row[4] == "+" + _yi(gain)
    # equal gains: the two printed gains are the same number
    assert _row(out, "shenzhen")[4] == _row(out, "shanwei")[4]
    assert "Win-win: yes" in out
    assert "P(gain<0)" not in out  # only with draws


def test_draws_give_the_probability_of_a_loss_per_party(capsys, reference):
    status, out, err = _solve(
        capsys, REFERENCE, "--rule", "fixed_ratio", "--target", "equal_gains",
        "--draws", "16", "--seed", "7",
    )  # fmt: skip
    assert status == 0, err
    sol = bs.solve_rule(reference, "fixed_ratio", "equal_gains", draws=16, seed=7)
    assert f"partner_share = {sol.params['partner_share']:.6g}" in out
    assert "P(gain<0)" in out and "mean over 16 draws, seed 7" in out
    for party in ("shenzhen", "shanwei"):
        assert _row(out, party)[-1] == f"{100 * sol.metrics[f'p_loss_{party}']:.2f}%"
        assert _row(out, party)[2] == _yi(sol.metrics[f"npv_{party}_yuan"])
    assert "highest probability of a loss" in out


def test_draws_without_a_seed_print_the_seed_that_repeats_them(capsys):
    status, out, _ = _solve(
        capsys, TINY, "--rule", "term", "--target", "min_share:shanwei=0.5", "--draws", "4"
    )
    assert status == 0
    seed = int(out.split("seed ")[1].split(")")[0])
    status, again, _ = _solve(
        capsys, TINY, "--rule", "term", "--target", "min_share:shanwei=0.5",
        "--draws", "4", "--seed", str(seed),
    )  # fmt: skip
    assert status == 0 and again == out


def test_min_share_of_the_host_maps_to_the_host_side_minimum(capsys, reference):
    status, out, err = _solve(
        capsys, REFERENCE, "--rule", "term", "--target", "min_share:shanwei=0.6"
    )
    assert status == 0, err
    sol = bs.solve_rule(reference, "term", "min_host_share", value=0.6)
    assert sol.success
    assert f"term_years = {sol.params['term_years']}" in out
    assert "shanwei keeps at least 60.00% of the pool" in out
    share = float(_row(out, "shanwei")[5].rstrip("%")) / 100
    assert share >= 0.6 - 1e-4


def test_nash_weights_reach_the_solver(capsys, reference):
    status, out, err = _solve(
        capsys, REFERENCE, "--rule", "fixed_ratio", "--target", "nash:shenzhen=0.6,shanwei=0.4"
    )
    assert status == 0, err
    weighted = bs.solve_rule(
        reference, "fixed_ratio", "nash", nash_weights={"shenzhen": 0.6, "shanwei": 0.4}
    )
    equal = bs.solve_rule(reference, "fixed_ratio", "nash")
    assert weighted.params["partner_share"] > equal.params["partner_share"] + 0.005
    assert f"partner_share = {weighted.params['partner_share']:.6g}" in out
    assert "Nash weights: shenzhen 0.6, shanwei 0.4" in out


@pytest.mark.parametrize(
    ("family", "words"),
    [
        ("taper", "changing each year to"),
        ("cap", "until it has received"),
    ],
)
def test_other_families_say_what_the_rule_does(capsys, family, words):
    status, out, err = _solve(capsys, REFERENCE, "--rule", family, "--target", "equal_gains")
    assert status in (0, EXIT_NOT_MET), err
    assert words in out


def test_no_value_meets_the_target_exit_3_and_nothing_written(capsys, tmp_path, tiny):
    dest = tmp_path / "solved.toml"
    status, out, err = _solve(
        capsys, TINY, "--rule", "fixed_ratio", "--target", "shapley", "--write", dest
    )
    sol = bs.solve_rule(tiny, "fixed_ratio", "shapley")
    assert not sol.success
    assert status == EXIT_NOT_MET == 3
    assert "Target NOT met" in out
    assert "Closest value found (it does not meet it)" in out
    assert "never changes sign" in out  # the solver's reason
    assert "Win-win: no" in out
    assert "nothing written" in out
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ --write
def test_write_inherits_adds_the_rule_and_reproduces_the_npvs(capsys, tmp_path):
    dest = tmp_path / "plans" / "solved.toml"
    dest.parent.mkdir()
    status, out, err = _solve(
        capsys, REFERENCE, "--rule", "fixed_ratio", "--target", "equal_gains",
        "--set", "model.discount_rate=0.05",
        "--set", "rules[fixed_50_50].params.term_years=5",
        "--write", dest,
    )  # fmt: skip
    assert status == 0, err
    assert "wrote" in out and "solved_fixed_ratio_equal_gains" in out
    raw = tomllib.loads(dest.read_text(encoding="utf-8"))
    assert (dest.parent / raw["base"]).resolve() == REFERENCE.resolve()
    assert not Path(raw["base"]).is_absolute()
    assert raw["model"] == {"discount_rate": 0.05}  # only the override; the rest is inherited

    written = bs.load_scenario(dest)
    assert written.spec.model.discount_rate == 0.05
    assert written.spec.parks == bs.load_scenario(REFERENCE).spec.parks  # inherited
    by_name = {r.name: r for r in written.spec.rules}
    assert by_name["fixed_50_50"].params["term_years"] == 5
    rule = by_name["solved_fixed_ratio_equal_gains"]
    assert rule.rule == "fixed_ratio"

    solved_on = bs.load_scenario(
        REFERENCE,
        overrides={"model.discount_rate": 0.05, "rules[fixed_50_50].params.term_years": 5},
    )
    sol = bs.solve_rule(solved_on, "fixed_ratio", "equal_gains")
    assert rule.params["shares"]["shenzhen"] == sol.params["partner_share"]
    npv = bs.run(written, rules=[rule.name]).npv_mean_rk()[0]
    expected = [sol.metrics[f"npv_{p}_yuan"] for p in written.spec.parties]
    np.testing.assert_allclose(npv, expected, rtol=1e-12, atol=1e-3)
    gain = bs.run(written, rules=[rule.name]).gain_mean_rk()[0]
    assert gain[0] == pytest.approx(gain[1], abs=1.0)  # still equal gains


def test_write_with_draws_reproduces_the_mean_npvs(capsys, tmp_path):
    dest = tmp_path / "taper.toml"
    status, out, err = _solve(
        capsys, TINY, "--rule", "taper", "--target", "min_share:shanwei=0.7",
        "--draws", "8", "--seed", "3", "--write", dest,
    )  # fmt: skip
    assert status == 0, err
    assert "--draws 8 --seed 3" in out
    written = bs.load_scenario(dest)
    name = "solved_taper_min_share_shanwei"
    assert name in written.rule_names
    sol = bs.solve_rule(
        bs.load_scenario(TINY), "taper", "min_host_share", value=0.7, draws=8, seed=3
    )
    npv = bs.run(written, rules=[name], draws=8, seed=3, progress=False).npv_mean_rk()[0]
    expected = [sol.metrics[f"npv_{p}_yuan"] for p in written.spec.parties]
    np.testing.assert_allclose(npv, expected, rtol=1e-12, atol=1e-3)


def test_the_written_file_can_be_run_by_the_cli(capsys, tmp_path):
    dest = tmp_path / "term.toml"
    assert _solve(capsys, TINY, "--rule", "term", "--target", "min_share:shanwei=0.5",
                  "--write", dest)[0] == 0  # fmt: skip
    status = cli.main(
        ["run", str(dest), "--rules", "solved_term_min_share_shanwei", "--out", str(tmp_path),
         "--no-charts", "-q"]
    )  # fmt: skip
    capsys.readouterr()
    assert status == 0
    assert (tmp_path / "term" / "summary.csv").exists()


# ------------------------------------------------------------------------------------ bad input
BAD = [
    (["--rule", "fixed_ratoi", "--target", "shapley"], "--rule", ["fixed_ratoi", "did you mean 'fixed_ratio'", "taper, cap, term"]),
    (["--rule", "fixed_ratio", "--target", "shaply"], "--target", ["'shaply'", "did you mean 'shapley'", "equal_gains"]),
    (["--rule", "fixed_ratio", "--target", "min_host_share"], "--target", ["did you mean 'min_share'", "min_share:PARTY=0.4"]),
    (["--rule", "fixed_ratio", "--target", "min_share"], "--target", ["min_share:shanwei=0.4"]),
    (["--rule", "fixed_ratio", "--target", "min_share:shenzhen=0.4"], "--target", ["host side", "valid: shanwei"]),
    (["--rule", "fixed_ratio", "--target", "min_share:shenzen=0.4"], "--target", ["did you mean 'shenzhen'", "min_share takes shanwei"]),
    (["--rule", "fixed_ratio", "--target", "min_share:shanwei=60"], "--target", ["between 0 and 1", "write 0.6 for 60%"]),
    (["--rule", "fixed_ratio", "--target", "min_share:shanwei=-0.2"], "--target", ["between 0 and 1", "-0.2"]),
    (["--rule", "fixed_ratio", "--target", "min_share:shanwei=lots"], "--target", ["a number between 0 and 1", "'lots'"]),
    (["--rule", "fixed_ratio", "--target", "nash:shenzhen=0.6,shanwe=0.4"], "--target", ["did you mean 'shanwei'"]),
    (["--rule", "fixed_ratio", "--target", "nash:shenzhen=1.5"], "--target", ["between 0 and 1"]),
    (["--rule", "fixed_ratio", "--target", "nash:shenzhen=0,shanwei=0"], "--target", ["above 0"]),
    (["--rule", "fixed_ratio", "--target", "nash:shenzhen"], "--target", ["nash:PARTY=w"]),
    (["--rule", "fixed_ratio", "--target", "equal_gains:shanwei"], "--target", ["takes no arguments"]),
    (["--rule", "fixed_ratio", "--target", "shapley", "--set", "model.discount_rat=0.05"], "--set", ["model.discount_rat", "did you mean 'discount_rate'"]),
    (["--rule", "fixed_ratio", "--target", "shapley", "--set", "model.discount_rate"], "--set", ["path=value"]),
    (["--rule", "fixed_ratio", "--target", "shapley", "--draws", "0"], "--draws", [">= 1"]),
    (["--rule", "fixed_ratio", "--target", "shapley", "--write", "plan.txt"], "--write", ["plan.txt", "ending in .toml"]),
    (["--rule", "fixed_ratio", "--target", "shapley", "--write", "no/such/folder/x.toml"], "--write", ["does not exist"]),
    (["--rule", "fixed_ratio", "--target", "shapley", "--write", str(TINY)], "--write", ["the scenario itself"]),
]  # fmt: skip


@pytest.mark.parametrize(("args", "flag", "words"), BAD, ids=[" ".join(b[0][1::2]) for b in BAD])
def test_bad_input_exit_2_names_flag_value_and_fix(
    capsys, tmp_path, monkeypatch, args, flag, words
):
    monkeypatch.chdir(tmp_path)
    before = TINY.read_bytes()
    status, out, err = _solve(capsys, TINY, *args)
    assert status == 2
    assert out == ""  # nothing solved, nothing written
    assert flag in err
    for w in words:
        assert w in err, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    assert TINY.read_bytes() == before


def test_help_lists_solve_with_its_exit_statuses(capsys):
    assert cli.main(["--help"]) == 0
    assert "solve" in capsys.readouterr().out
    assert cli.main(["solve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "3 no value meets it" in out and "--write" in out and "min_share" in out


def test_missing_target_is_a_usage_error(capsys):
    assert cli.main(["solve", str(TINY), "--rule", "fixed_ratio"]) == 2
    assert "--target" in capsys.readouterr().err


def test_console_script(tmp_path):
    script = Path(sys.executable).parent / "benefitshare"
    exe = str(script) if script.exists() else shutil.which("benefitshare")
    if exe is None:
        pytest.skip("the benefitshare console script is not installed")
    done = subprocess.run(
        [exe, "solve", str(TINY), "--rule", "term", "--target", "min_share:shanwei=0.5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Target met" in done.stdout and "term_years = " in done.stdout
    bad = subprocess.run(
        [exe, "solve", str(TINY), "--rule", "term", "--target", "min_share:shanwei=40"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert bad.returncode == 2 and "write 0.4 for 40%" in bad.stderr


def test_write_keeps_the_inherited_rules_and_costs(capsys, tmp_path, reference):
    dest = tmp_path / "subsidy.toml"
    subsidy = "Shenzhen subsidies to firms entering the parks"
    status, out, err = _solve(
        capsys, REFERENCE, "--rule", "fixed_ratio", "--target", "shapley",
        "--set", f"costs[{subsidy}].payments_yuan={{ 2026 = 50000000.0 }}",
        "--write", dest,
    )  # fmt: skip
    assert status == 0, err
    raw = tomllib.loads(dest.read_text(encoding="utf-8"))
    assert [c["name"] for c in raw["costs"]] == [subsidy]  # only the changed entry is written
    written = bs.load_scenario(dest)
    assert set(reference.rule_names) < set(written.rule_names)
    assert "solved_fixed_ratio_shapley" in written.rule_names
    costs = {c.name: c for c in written.spec.costs}
    assert set(costs) == {c.name for c in reference.spec.costs}
    solved_on = bs.load_scenario(
        REFERENCE, overrides={f"costs[{subsidy}].payments_yuan": {"2026": 5e7}}
    )
    assert costs[subsidy] == next(c for c in solved_on.spec.costs if c.name == subsidy)
    sol = bs.solve_rule(solved_on, "fixed_ratio", "shapley")
    npv = bs.run(written, rules=["solved_fixed_ratio_shapley"]).npv_mean_rk()[0]
    expected = [sol.metrics[f"npv_{p}_yuan"] for p in written.spec.parties]
    np.testing.assert_allclose(npv, expected, rtol=1e-12, atol=1e-3)


def test_a_file_that_would_not_reproduce_the_npvs_is_not_written(capsys, tmp_path):
    # a whole merged array given with --set replaces it in the run, but a child file's [[costs]]
    # merges into the inherited ones by name: the check run catches the difference
    dest = tmp_path / "nocosts.toml"
    status, out, err = _solve(
        capsys, TINY, "--rule", "term", "--target", "min_share:shanwei=0.5",
        "--set", "costs=[]", "--write", dest,
    )  # fmt: skip
    assert status == 1
    assert "would not reproduce the solved NPVs" in err and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []
