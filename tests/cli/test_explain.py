"""`benefitshare explain`: the printed rows add up to annual.csv; bad input exits 2, others 1."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benefitshare import cli

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
MULTI = "coop_park_50_50_then_relocation"
ROW = re.compile(r"^\s*(-?\d+\.\d{4})\s+(-?[\d,]+\.\d\d)  ( *)(\S.*)$")


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A deterministic run of the reference, one of every rule family, and one with draws."""
    out = tmp_path_factory.mktemp("runs")
    argv = [
        ["run", SCENARIOS / "reference.toml", "--name", "reference"],
        ["run", SCENARIOS / "compare_example.toml", "--name", "example"],
        ["run", SCENARIOS / "reference.toml", "--name", "draws", "--draws", "4", "--seed", "7"],
        ["run", SCENARIOS / "reference.toml", "--name", "gross"]
        + ["--set", "pool.net_of_rebates=false", "--rules", f"fixed_50_50,{MULTI}"],
    ]
    for a in argv:
        assert cli.main([str(x) for x in a] + ["--out", str(out), "--no-charts", "-q"]) == 0
    return out


def annual_amount(run_dir: Path, rule: str, party: str, year) -> float:
    ann = pd.read_csv(run_dir / "annual.csv")
    sel = ann[(ann["rule"] == rule) & (ann["party"] == party)]
    if year != "all":
        sel = sel[sel["year"] == int(year)]
    return float(sel["amount_yuan"].sum())


def fen(text: str) -> int:
    return round(float(text.replace(",", "")) * 100)


def parse_rows(text: str) -> list[tuple[int, int, str]]:
    """(depth, amount in fen, label) of each amount line; a blank line or heading is (-1, 0, text)."""
    rows = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            rows.append((len(m.group(3)) // 2, fen(m.group(2)), m.group(4)))
        else:
            rows.append((-1, 0, line.strip()))
    return rows


def check_blocks(rows) -> int:
    """Every line's children (the deeper lines right below it) add up to it exactly, in fen."""
    checked = 0
    for i, (depth, amount, label) in enumerate(rows):
        if depth < 0:
            continue
        children = []
        for d, a, _ in rows[i + 1 :]:
            if d <= depth:  # a heading (-1), a sibling or a parent ends the block
                break
            if d == depth + 1:
                children.append(a)
        if children:
            assert sum(children) == amount, label
            checked += 1
    return checked


@pytest.mark.parametrize(
    ("name", "rule", "party", "year"),
    [
        ("reference", MULTI, "shenzhen", "2035"),
        ("reference", MULTI, "shanwei", "2035"),
        ("reference", "fixed_50_50", "shenzhen", "all"),
        ("reference", "tiered_40_20", "shanwei", "2030"),
        ("example", "shapley_split", "shenzhen", "2035"),
        ("example", "nash_split", "shanwei", "all"),
        ("example", "recovery_with_2035_review", "shenzhen", "2040"),
        ("draws", MULTI, "shenzhen", "2035"),
        ("draws", "fixed_50_50", "shanwei", "all"),
        ("gross", MULTI, "shanwei", "2035"),
    ],
)
def test_printed_rows_sum_to_annual_csv(capsys, runs, name, rule, party, year):
    run_dir = runs / name
    want = annual_amount(run_dir, rule, party, year)
    argv = ["explain", run_dir, "--rule", rule, "--party", party, "--year", year]

    code, out, err = run_cli(capsys, *argv, "--format", "csv")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert frame["amount_yuan"].sum() == pytest.approx(want, abs=0.01)
    assert set(frame["part"]) <= {"pool_share", "retained", "dividends"}

    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    rows = parse_rows(out)
    total = [a for d, a, label in rows if label.startswith("total (= annual.csv")]
    assert total == [round(want * 100)]
    parts = [a for d, a, label in rows if d == 0 and not label.startswith("total")]
    summary = parts[:3]  # the three parts, before the sections
    assert sum(summary) == total[0]
    assert check_blocks(rows) >= 3
    assert "pro rata" in out and "not a legal allocation" in out
    if name == "draws":
        assert "mean over the run's 4 draws" in out


def test_multi_clause_sections(capsys, runs):
    code, out, _ = run_cli(
        capsys,
        *["explain", runs / "reference", "--rule", MULTI, "--party", "shanwei", "--year", "2035"],
    )
    assert code == 0
    assert "clause 1: fixed_ratio (parks shenshan_coop_park, shenshan_building; to 2035)" in out
    assert "clause 2: relocation_cap_sunset" in out
    assert "not covered by any clause: stays with the host" in out
    assert "by park and project" in out and "by tax and tier" in out
    assert "VAT 增值税 (vat), county" in out
    assert "亿元" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--rule", "fixed_5050", "--party", "shenzhen", "--year", "2035"],
            "did you mean 'fixed_50_50'",
        ),
        (
            ["--rule", "fixed_50_50", "--party", "shenzen", "--year", "2035"],
            "did you mean 'shenzhen'",
        ),
        (["--rule", "fixed_50_50", "--party", "shenzhen", "--year", "2070"], "2026 to 2055"),
        (["--rule", "fixed_50_50", "--party", "shenzhen", "--year", "soon"], "or 'all'"),
        (
            ["--rule", "fixed_50_50", "--party", "shenzhen", "--year", "all", "--format", "md"],
            "text, csv",
        ),
    ],
)
def test_bad_arguments_exit_2(capsys, runs, args, message):
    code, out, err = run_cli(capsys, "explain", runs / "reference", *args)
    assert code == 2
    assert out == ""
    assert message in err and "Traceback" not in err


def test_folder_without_manifest_exits_2(capsys, tmp_path):
    code, out, err = run_cli(
        capsys, "explain", tmp_path, "--rule", "x", "--party", "y", "--year", "2035"
    )
    assert code == 2 and out == ""
    assert "manifest.json: file not found" in err


def test_rule_not_in_the_run_exits_2(capsys, runs):
    code, _, err = run_cli(
        capsys,
        "explain",
        runs / "gross",
        "--rule",
        "tiered_40_20",
        "--party",
        "shanwei",
        "--year",
        "all",
    )
    assert code == 2
    assert "unknown rule" in err and "fixed_50_50" in err


@pytest.fixture
def own_copy(tmp_path, capsys):
    """A run of a copy of the reference scenario, so that the copy can be changed or moved."""
    src = tmp_path / "src"
    src.mkdir()
    for f in ("reference.toml", "reference_projects.csv"):
        shutil.copy(SCENARIOS / f, src / f)
    out = tmp_path / "out"
    argv = ["run", src / "reference.toml", "--out", out, "--name", "r", "--no-charts", "-q"]
    assert cli.main([str(a) for a in argv]) == 0
    capsys.readouterr()
    return src, out / "r"


def test_changed_input_exits_2(capsys, own_copy):
    src, run_dir = own_copy
    csv = src / "reference_projects.csv"
    csv.write_text(csv.read_text().replace("1149000000", "1249000000"))
    code, out, err = run_cli(
        capsys, "explain", run_dir, "--rule", "fixed_50_50", "--party", "shenzhen", "--year", "2035"
    )
    assert code == 2 and out == ""
    assert "reference_projects.csv" in err and "changed since the run" in err


def test_moved_scenario_exits_2_and_scenario_option_finds_it(capsys, own_copy, tmp_path):
    src, run_dir = own_copy
    moved = tmp_path / "moved"
    shutil.move(src, moved)
    argv = ["explain", run_dir, "--rule", "fixed_50_50", "--party", "shenzhen", "--year", "2035"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert "file not found" in err and "--scenario" in err
    code, out, err = run_cli(
        capsys, *argv, "--scenario", moved / "reference.toml", "--format", "csv"
    )
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    want = annual_amount(run_dir, "fixed_50_50", "shenzhen", 2035)
    assert frame["amount_yuan"].sum() == pytest.approx(want, abs=0.01)


def test_annual_csv_that_does_not_match_exits_1(capsys, own_copy):
    _, run_dir = own_copy
    ann = pd.read_csv(run_dir / "annual.csv")
    ann.loc[ann["rule"] == "fixed_50_50", "amount_yuan"] += 1.0
    ann.to_csv(run_dir / "annual.csv", index=False)
    code, out, err = run_cli(
        capsys, "explain", run_dir, "--rule", "fixed_50_50", "--party", "shenzhen", "--year", "2035"
    )
    assert code == 1 and out == ""
    assert "does not match annual.csv" in err
