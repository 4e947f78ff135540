"""The command line, end to end: run, validate, schema, rules, report; bad input; atomic writes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import benefitshare as bs  # noqa: E402
from benefitshare import cli
from benefitshare.io import files as io  # noqa: E402
from benefitshare.io import run_folder  # noqa: E402
from benefitshare.scenario.load import json_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "scenarios" / "reference.toml"
TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"
RUN_FILES = {
    "summary.csv",
    "annual.csv",
    "flows.csv",
    "statistics.csv",
    "costs.csv",
    "manifest.json",
    "annual_allocation.png",
    "cumulative_share.png",
    "flows.png",
}


def _script() -> str:
    found = Path(sys.executable).parent / "benefitshare"
    if found.exists():
        return str(found)
    which = shutil.which("benefitshare")
    if which is None:
        pytest.skip("the benefitshare console script is not installed")
    return which


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def ref_run(tmp_path_factory):
    """The reference scenario run through ``main`` once; (exit status, stdout, run folder)."""
    import contextlib
    import io as _stdio

    out = tmp_path_factory.mktemp("cli") / "out"
    buf, err = _stdio.StringIO(), _stdio.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        status = cli.main(["run", str(REFERENCE), "--out", str(out)])
    assert err.getvalue() == ""
    return status, buf.getvalue(), out / "reference"


# ------------------------------------------------------------------------------------ run
def test_run_writes_every_file(ref_run):
    status, _, folder = ref_run
    assert status == 0
    assert {p.name for p in folder.iterdir()} == RUN_FILES
    assert _hidden(folder.parent) == []


def test_run_tables_match_the_python_api(ref_run, reference):
    res = bs.run(reference)
    folder = ref_run[2]
    for name, method in run_folder.RUN_TABLES.items():
        expected = getattr(res, method)()
        got = pd.read_csv(folder / name)
        assert list(got.columns) == list(expected.columns), name
        assert len(got) == len(expected), name
    s = pd.read_csv(folder / "summary.csv")
    pd.testing.assert_series_equal(s["npv_yuan"], res.summary()["npv_yuan"], rtol=1e-12)
    assert list(s["rule"].unique()) == reference.rule_names


def test_run_manifest_records_the_run(ref_run):
    folder = ref_run[2]
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for key in (
        "benefitshare_version",
        "git_commit",
        "inputs_sha256",
        "seed",
        "draws",
        "sampler",
        "timings_s",
        "command",
        "environment",
        "created_utc",
        "outputs_sha256",
    ):
        assert key in m, key
    assert m["benefitshare_version"] == bs.__version__
    assert m["draws"] == 1 and m["seed"] is None
    assert m["command"] == f"benefitshare run {REFERENCE} --out {folder.parent}"
    assert m["environment"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert {"load_s", "run_s", "write_s"} <= set(m["timings_s"])
    # inputs: the scenario and its project table, hashed as they are on disk
    on_disk = {
        io.file_sha256(REFERENCE),
        io.file_sha256(REFERENCE.parent / "reference_projects.csv"),
    }
    assert set(m["inputs_sha256"].values()) == on_disk
    # outputs: every other file of the folder
    assert set(m["outputs_sha256"]) == RUN_FILES - {"manifest.json"}
    for name, sha in m["outputs_sha256"].items():
        assert io.file_sha256(folder / name) == sha
    if shutil.which("git"):
        git = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        assert m["git_commit"] == (git.stdout.strip() if git.returncode == 0 else None)


def test_run_prints_headline_and_comparison(ref_run, reference):
    _, stdout, folder = ref_run
    s = pd.read_csv(folder / "summary.csv")
    head = bs.run(reference).headline()
    assert f"{head['total_tax_yuan'] / 1e8:,.2f}" in stdout
    assert f"{head['pool_yuan'] / 1e8:,.2f}" in stdout
    for row in s.itertuples():
        assert row.rule in stdout
        assert f"{row.npv_yuan / 1e8:,.2f}" in stdout
        assert f"{row.share_of_pool:.1%}" in stdout
        assert f"{row.cumulative_yuan / 1e8:,.2f}" in stdout
    assert stdout.rstrip().splitlines()[-1].startswith("wrote ")


def test_run_overrides_and_rule_selection(tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(
        [
            "run",
            str(TINY),
            "--out",
            str(out),
            "--name",
            "dr",
            "--no-charts",
            "-q",
            "--set",
            "model.discount_rate=0.03",
            "--set",
            "rules[fixed_50_5y].params.term_years=3",
            "--rules",
            "fixed_50_5y,host",
        ]
    )
    assert status == 0, capsys.readouterr().err
    m = json.loads((out / "dr" / "manifest.json").read_text(encoding="utf-8"))
    overrides = {"model.discount_rate": 0.03, "rules[fixed_50_5y].params.term_years": 3}
    assert m["overrides"] == overrides
    assert [r["name"] for r in m["rules"]] == ["fixed_50_5y", "host"]
    expected = bs.run(
        bs.load_scenario(TINY, overrides=overrides), rules=["fixed_50_5y", "host"]
    ).summary()
    got = pd.read_csv(out / "dr" / "summary.csv")
    pd.testing.assert_series_equal(got["npv_yuan"], expected["npv_yuan"], rtol=1e-12)
    assert not any(p.suffix == ".png" for p in (out / "dr").iterdir())
    assert capsys.readouterr().out.strip().startswith("wrote ")


def test_run_with_draws_passes_seed_and_sampler(tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(
        [
            "run",
            str(REFERENCE),
            "--out",
            str(out),
            "--draws",
            "16",
            "--seed",
            "7",
            "--sampler",
            "lhs",
            "--rules",
            "fixed_50_50",
            "--no-charts",
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    m = json.loads((out / "reference" / "manifest.json").read_text(encoding="utf-8"))
    assert m["draws"] == 16 and m["sampler"] == "lhs" and m["seed"]["entropy"] == 7
    assert m["uncertain_inputs"]  # the reference scenario declares its uncertain inputs
    s = pd.read_csv(out / "reference" / "summary.csv")
    expected = bs.run(
        bs.load_scenario(REFERENCE), draws=16, seed=7, sampler="lhs", rules=["fixed_50_50"]
    ).summary()
    pd.testing.assert_series_equal(s["npv_p5_yuan"], expected["npv_p5_yuan"], rtol=1e-12)
    assert (
        "NPV P5" in captured.out
        and f"{expected['npv_p95_yuan'].iloc[0] / 1e8:,.2f}" in captured.out
    )


def test_run_twice_swaps_the_folder_atomically(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", str(TINY), "--out", str(out), "--no-charts", "-q"]
    assert cli.main(args) == 0
    # a report is the package's own file: the folder is replaced without --force
    assert cli.main(["report", str(out / "tiny")]) == 0
    assert cli.main([*args, "--set", "model.discount_rate=0.03"]) == 0
    assert not (out / "tiny" / "report.md").exists()
    # a file the user put there: refused without --force, kept (moved into the new run) with it
    (out / "tiny" / "stale.txt").write_text("from an older run", encoding="utf-8")
    assert cli.main([*args, "--set", "model.discount_rate=0.04"]) == 2
    assert "stale.txt" in capsys.readouterr().err
    assert cli.main([*args, "--set", "model.discount_rate=0.04", "--force"]) == 0
    assert (out / "tiny" / "stale.txt").read_text(encoding="utf-8") == "from an older run"
    assert json.loads((out / "tiny" / "manifest.json").read_text())["overrides"] == {
        "model.discount_rate": 0.04
    }
    assert os.listdir(out) == ["tiny"]


def test_interrupted_run_keeps_previous_folder(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", str(TINY), "--out", str(out), "--no-charts", "-q"]) == 0
    before = (out / "tiny" / "manifest.json").read_bytes()

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    from benefitshare.viz import run as plots

    monkeypatch.setattr(plots, "run_charts", interrupt)
    assert cli.main(["run", str(TINY), "--out", str(out), "-q"]) == 130
    assert (out / "tiny" / "manifest.json").read_bytes() == before
    assert os.listdir(out) == ["tiny"]  # no temporary folder left behind


def test_unexpected_error_is_one_line_exit_1(tmp_path, monkeypatch, capsys):
    def boom(*a, **k):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(bs, "run", boom)
    out = tmp_path / "out"
    assert cli.main(["run", str(TINY), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert (
        "engine exploded" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    )
    assert cli.main(["--debug", "run", str(TINY), "--out", str(out)]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert cli.main(["run", str(TINY), "--out", str(out), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------------------------ bad input
@pytest.fixture
def broken_toml(tmp_path):
    """A copy of the tiny scenario cut off mid-file."""
    folder = tmp_path / "scn"
    folder.mkdir()
    shutil.copy(TINY.parent / "tiny_projects.csv", folder)
    text = TINY.read_text(encoding="utf-8")
    (folder / "tiny.toml").write_text(text[: text.index("[parks.county]") + 20], encoding="utf-8")
    return folder / "tiny.toml"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--set", "model.discount_rate"], r"model\.discount_rate.*path=value"),
        (["--set", "model.discount_rate=2"], r"model\.discount_rate = 2"),
        (["--set", "model.discont_rate=0.1"], r"did you mean 'discount_rate'"),
        (["--rules", "host,fixed_5050"], r"fixed_5050.*no rule of that name"),
        (["--rules", ","], r"--rules"),
        (["--name", "../x"], r"run name = '\.\./x'"),
        (["--name", "a/b"], r"run name"),
        (["--name", ".hidden"], r"run name"),
        (["--draws", "0"], r"draws = 0"),
        (["--flow-rule", "nope"], r"--flow-rule = 'nope'"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, capsys, extra, expected):
    out = tmp_path / "out"
    status = cli.main(["run", str(TINY), "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert status == 2
    assert re.search(expected, captured.err), captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert not out.exists()
    assert not (tmp_path / "x").exists()


def test_missing_scenario_exit_2(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", str(tmp_path / "nope.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nope.toml" in err and "file not found" in err and "Traceback" not in err
    assert not out.exists()


def test_malformed_toml_exit_2(broken_toml, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", str(broken_toml), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "tiny.toml" in err and "not valid TOML" in err and "Traceback" not in err
    assert not out.exists()


def test_console_script_in_a_subprocess(tmp_path, broken_toml):
    script = _script()
    out = tmp_path / "out"
    done = subprocess.run(
        [script, "run", str(TINY), "--out", str(out), "--no-charts"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Rules compared" in done.stdout and "fixed_50_5y" in done.stdout
    assert (out / "tiny" / "manifest.json").is_file()
    bad = subprocess.run(
        [script, "run", str(broken_toml), "--out", str(tmp_path / "bad")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "not valid TOML" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()


# ------------------------------------------------------------------------------------ other verbs
def test_validate(broken_toml, capsys):
    assert cli.main(["validate", str(REFERENCE), str(TINY)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"ok: {REFERENCE}", f"ok: {TINY}"]
    assert cli.main(["validate", str(TINY), str(broken_toml)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"ok: {TINY}"]
    assert f"invalid: {broken_toml}" in captured.err and "not valid TOML" in captured.err


def test_validate_lists_every_problem(tmp_path, capsys):
    shutil.copy(TINY.parent / "tiny_projects.csv", tmp_path)
    text = TINY.read_text(encoding="utf-8").replace("discount_rate = 0.05", "discount_rate = 5.0")
    text = text.replace("pit_effective_rate = 0.03", "pit_effective_rate = 1.5")
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    assert cli.main(["validate", str(tmp_path / "bad.toml")]) == 2
    err = capsys.readouterr().err
    assert "2 problems" in err
    assert "model.discount_rate = 5.0" in err and "model.pit_effective_rate = 1.5" in err


def test_schema_prints_the_json_schema(capsys):
    assert cli.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(json_schema()))


def test_rules_lists_the_registry(capsys):
    assert cli.main(["rules"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(bs.SPLIT_RULES)
    for name, rule in bs.SPLIT_RULES.items():
        assert any(line.split()[0] == name and line.endswith(rule.summary) for line in out)


def test_report_from_a_run_folder(ref_run, capsys):
    folder = ref_run[2]
    assert cli.main(["report", str(folder)]) == 0
    assert "report.html" in capsys.readouterr().out
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    s = pd.read_csv(folder / "summary.csv")
    for row in s.itertuples():
        assert (
            row.rule in md
            and f"{row.npv_yuan / 1e8:,.2f}" in md
            and f"{row.npv_yuan / 1e8:,.2f}" in page
        )
    assert md.count("](") == 3 and "(flows.png)" in md
    assert page.count("data:image/png;base64,") == 3
    sha = json.loads((folder / "manifest.json").read_text())["inputs_sha256"]
    assert all(v in md for v in sha.values())


def test_report_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_and_help(capsys):
    assert cli.main([]) == 2
    assert cli.main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"    {v} " in out for v in ("run", "validate", "schema", "rules", "report"))


def test_verbs_table_drives_the_parser():
    assert {"run", "validate", "schema", "rules", "report"} <= set(cli.VERBS)
    sub = next(a for a in cli.build_parser()._actions if a.dest == "verb")
    assert list(sub.choices) == list(cli.VERBS)
