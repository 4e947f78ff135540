"""diff_scenarios: changed inputs (inherited ones included) and projects, result changes that match
the two runs, contributors that sum to the change, the four renderings, run folders, bad input."""

from __future__ import annotations

import io
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import benefitshare as bs
from benefitshare.analysis.diff import CSV_COLUMNS, diff_scenarios, load_side
from benefitshare.analysis.diff_inputs import flatten_inputs, input_changes
from benefitshare.analysis.diff_results import NOT_BY_PARK, pool_cells
from benefitshare.cli import main
from benefitshare.errors import ScenarioError
from benefitshare.io.run_folder import RunFolderError

DATA = Path(__file__).resolve().parents[1] / "data"
NEW_PROJECT = (
    "T4,<new> & chip plant,county,mfg,new,30000000,2027,1,,1,1.5,0.3,0.1,0.4,goods,8,5000000,"
    "false,0,false,false,0,0,1"
)


def _child(folder: Path) -> tuple[Path, Path]:
    """tiny.toml and a child of it: fixed_50_5y at 60:40, T1 invests 1.2 亿元, a project T4.

    The child repeats tiny's rules (with the one share changed), so it resolves the same
    whether arrays of tables are replaced or merged by name.
    """
    parent = folder / "tiny.toml"
    shutil.copy(DATA / "tiny.toml", parent)
    shutil.copy(DATA / "tiny_projects.csv", folder / "tiny_projects.csv")
    text = parent.read_text(encoding="utf-8")
    rules = text[text.index("[[rules]]") :]
    old = "shares = { shenzhen = 0.5, shanwei = 0.5 }, term_years = 5"
    assert old in rules
    rules = rules.replace(old, "shares = { shenzhen = 0.6, shanwei = 0.4 }, term_years = 5")
    child = folder / "child.toml"
    child.write_text(
        f'base = "tiny.toml"\n\n[model]\nprojects = "child_projects.csv"\n\n{rules}',
        encoding="utf-8",
    )
    lines = (DATA / "tiny_projects.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("T1,") and ",100000000," in lines[1]
    lines[1] = lines[1].replace(",100000000,", ",120000000,")
    lines.append(NEW_PROJECT)
    (folder / "child_projects.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return parent, child


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diff")
    parent, child = _child(folder)
    return parent, child, diff_scenarios(parent, child)


def test_lists_exactly_the_changed_inputs_and_projects(pair):
    _, _, d = pair
    changed = {r.path: (r.change, r.old, r.new) for r in d.inputs.itertuples()}
    assert set(changed) == {
        "model.projects",
        "rules[fixed_50_5y].params.shares.shenzhen",
        "rules[fixed_50_5y].params.shares.shanwei",
    }
    assert changed["rules[fixed_50_5y].params.shares.shenzhen"] == ("changed", 0.5, 0.6)
    assert changed["rules[fixed_50_5y].params.shares.shanwei"] == ("changed", 0.5, 0.4)
    assert changed["model.projects"][1].endswith("tiny_projects.csv")
    assert changed["model.projects"][2].endswith("child_projects.csv")
    shares = d.inputs.set_index("path")["delta"]
    assert shares["rules[fixed_50_5y].params.shares.shenzhen"] == 0.1
    rows = [(r.project_id, r.change, r.column) for r in d.projects.itertuples()]
    assert rows == [("T1", "changed", "investment_yuan"), ("T4", "added", None)]
    t1 = d.projects.iloc[0]
    assert (t1.old, t1.new, t1.delta) == (1e8, 1.2e8, 2e7)
    assert "<new> & chip plant" in d.projects.iloc[1].new
    assert d.rules_only_a == [] and d.rules_only_b == []


def test_inherited_values_count(tmp_path):
    parent, _ = _child(tmp_path)
    child = tmp_path / "rate.toml"
    child.write_text('base = "tiny.toml"\n\n[model]\ndiscount_rate = 0.04\n', encoding="utf-8")
    a, b = bs.load_scenario(child), bs.load_scenario(parent)
    changes = input_changes(a.raw, b.raw)
    assert changes[["path", "old", "new"]].values.tolist() == [["model.discount_rate", 0.04, 0.05]]
    # a child that changes nothing resolves to its parent
    same = tmp_path / "same.toml"
    same.write_text('base = "tiny.toml"\n', encoding="utf-8")
    assert input_changes(bs.load_scenario(same).raw, b.raw).empty
    # a discount rate changes NPVs but no receipt: no contributors, and the text says so
    d = diff_scenarios(child, parent)
    assert not (d.contributors["delta_yuan"] != 0).any()
    assert (d.results.query("field == 'npv_yuan' and party == 'shanwei'")["delta"] < 0).all()
    assert "none: the pool and every party's receipts are unchanged" in d.to_text()


def test_flatten_inputs_names_list_items_by_name_else_index():
    raw = {
        "rules": [{"name": "r1", "params": {"x": 1}}, {"name": "r2"}],
        "brackets": [{"up_to": 1}, {"up_to": 2}],
        "taxes": ["vat", "cit"],
        "parks": {"a.b": {"level": "city"}},
    }
    flat = flatten_inputs(raw)
    assert flat == {
        "rules[r1].name": "r1",
        "rules[r1].params.x": 1,
        "rules[r2].name": "r2",
        "brackets[0].up_to": 1,
        "brackets[1].up_to": 2,
        "taxes": ["vat", "cit"],
        "parks[a.b].level": "city",
    }
    b = {**raw, "rules": [{"name": "r2"}, {"name": "r3"}], "taxes": ["vat"]}
    changes = input_changes(raw, b).set_index("path")["change"].to_dict()
    assert changes == {
        "rules[r1].name": "removed",
        "rules[r1].params.x": "removed",
        "taxes": "changed",
        "rules[r3].name": "added",
    }


def test_result_changes_match_the_two_runs_to_the_yuan(pair):
    parent, child, d = pair
    sa = bs.run(bs.load_scenario(parent)).summary().set_index(["rule", "party"])
    sb = bs.run(bs.load_scenario(child)).summary().set_index(["rule", "party"])
    res = d.results[d.results["rule"] != ""]
    assert len(res) == len(sb) * 3
    for r in res.itertuples():
        expected = sb.loc[(r.rule, r.party), r.field] - sa.loc[(r.rule, r.party), r.field]
        assert r.delta == expected
        assert r.old == sa.loc[(r.rule, r.party), r.field]
    npv = res[(res["rule"] == "fixed_50_5y") & (res["field"] == "npv_yuan")]
    assert (npv["delta"].abs() > 1e5).all()  # the change did something to both cities
    host = res[(res["rule"] == "host") & (res["party"] == "shenzhen")]
    assert (host["delta"] == 0).all()  # the partner gets nothing under host_keeps_all


def test_contributors_sum_to_the_total_changes(pair):
    parent, child, d = pair
    ra, rb = bs.run(bs.load_scenario(parent)), bs.run(bs.load_scenario(child))
    c = d.contributors
    pool_change = rb.headline()["pool_yuan"] - ra.headline()["pool_yuan"]
    assert pool_change > 0
    pool = c[c["target"] == "pool"]
    assert set(pool["by"]) == {"park × tax", "year"}
    for _, cells in pool.groupby("by"):
        assert cells["delta_yuan"].sum() == pytest.approx(pool_change, rel=1e-12)
    # tiny's pool is resolved by the flows exactly: every cell is a park and a tax
    assert NOT_BY_PARK not in set(pool["park"].dropna())
    assert {"county", "coop"} <= set(pool["park"].dropna())
    biggest = pool[pool["by"] == "park × tax"].sort_values("delta_yuan").iloc[-1]
    assert (biggest.park, biggest.tax) == ("county", "vat")
    sa = ra.summary().set_index(["rule", "party"])["cumulative_yuan"]
    sb = rb.summary().set_index(["rule", "party"])["cumulative_yuan"]
    receipts = c[c["target"] == "receipts"]
    assert set(receipts["rule"]) == set(rb.rule_names)
    for (rule, party, _by), cells in receipts.groupby(["rule", "party", "by"]):
        expected = sb[(rule, party)] - sa[(rule, party)]
        assert cells["delta_yuan"].sum() == pytest.approx(expected, rel=1e-9, abs=1e-3)
    # under a fixed 60:40 instead of 50:50 Shenzhen gains from the split itself
    split = receipts[
        (receipts["rule"] == "fixed_50_5y")
        & (receipts["party"] == "shenzhen")
        & (receipts["by"] == "park × tax")
        & (receipts["component"] == "split of the pool")
    ]
    assert split["delta_yuan"].item() > 0


def test_pool_cells_sum_to_the_pool_each_year(tiny, reference):
    rich = bs.load_scenario(DATA / "rich.toml")  # pool over some parks, with provincial tier
    for scn in (tiny, reference, rich):
        res = bs.run(scn)
        cells = pool_cells(res)
        by_year = cells.groupby("year")["amount_yuan"].sum().reindex(res.years)
        np.testing.assert_allclose(by_year, res.means["pool_dy"], rtol=1e-12, atol=1e-6)
        assert NOT_BY_PARK not in set(cells["park"])
    # a pool scoped by project group is not resolved by park: the rest is one row per year
    grouped = tiny.with_overrides({"pool.groups": ["new"]})
    res = bs.run(grouped)
    cells = pool_cells(res)
    rest = cells[cells["park"] == NOT_BY_PARK]
    assert len(rest) == len(res.years) and (rest["amount_yuan"] != 0).any()
    by_year = cells.groupby("year")["amount_yuan"].sum().reindex(res.years)
    np.testing.assert_allclose(by_year, res.means["pool_dy"], rtol=1e-12, atol=1e-6)


def test_text_markdown_html_csv(pair):
    _, _, d = pair
    text = d.to_text()
    assert "rules[fixed_50_5y].params.shares.shenzhen" in text and "亿元" in text
    assert "change in the pool, by park × tax" in text
    lines = text.splitlines()
    start = lines.index(next(x for x in lines if x.strip().startswith("rule ")))
    assert len({len(x) for x in lines[start : start + 4]}) == 1  # aligned columns
    md = d.to_markdown()
    assert md.startswith("# diff:")
    assert "| rules[fixed_50_5y].params.shares.shenzhen | changed | 0.5 | 0.6 |" in md
    table_lines = [x for x in md.splitlines() if x.startswith("|")]
    assert all(x.endswith("|") for x in table_lines)
    page = d.to_html()

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.tags, self.text = [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            if tag not in {"meta", "br"}:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            assert self.stack.pop() == tag

        def handle_data(self, data):
            self.text.append(data)

    parser = Parser()
    parser.feed(page)
    parser.close()
    assert parser.stack == [] and "table" in parser.tags and "script" not in parser.tags
    assert "&lt;new&gt; &amp; chip plant" in page
    assert "<new> & chip plant" in "".join(parser.text)
    back = pd.read_csv(io.StringIO(d.to_csv()))
    assert list(back.columns) == CSV_COLUMNS
    assert set(back["section"]) == {"inputs", "projects", "results", "contributors"}
    share = back[
        (back["item"] == "rules[fixed_50_5y]") & (back["field"] == "params.shares.shenzhen")
    ]
    assert share[["old", "new", "delta"]].astype(float).values.tolist() == [[0.5, 0.6, 0.1]]
    npv = back[(back["item"] == "fixed_50_5y/shenzhen") & (back["field"] == "npv_yuan")]
    row = d.results[(d.results["rule"] == "fixed_50_5y") & (d.results["party"] == "shenzhen")]
    assert float(npv["delta"].item()) == pytest.approx(
        row[row["field"] == "npv_yuan"]["delta"].item(), abs=1e-6
    )
    assert d.render("md") == md
    with pytest.raises(ScenarioError, match="format"):
        d.render("pdf")


def test_run_folders_rerun_as_their_manifests_record(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    parent, child = _child(tmp_path)
    for scn in (parent, child):
        argv = ["run", scn.name, "--out", "o", "--no-charts", "-q", "--draws", "8", "--seed", "3"]
        assert main([*argv, "--rules", "fixed_50_5y,host"]) == 0
    d = diff_scenarios("o/tiny", "o/child")
    assert {r.path for r in d.inputs.itertuples()} >= {"rules[fixed_50_5y].params.shares.shanwei"}
    assert set(d.results["rule"]) == {"", "fixed_50_5y", "host"}
    # the rerun reproduces the summary the run folder holds
    saved = pd.read_csv(tmp_path / "o" / "child" / "summary.csv").set_index(["rule", "party"])
    for r in d.results[d.results["rule"] != ""].itertuples():
        assert r.new == pytest.approx(saved.loc[(r.rule, r.party), r.field], rel=1e-9)
    same = diff_scenarios("o/child", "o/child")
    assert same.inputs.empty and same.projects.empty
    assert (same.results["delta"] == 0).all() and (same.contributors["delta_yuan"] == 0).all()
    assert same.notes == []
    # an input file changed since the run is said so
    csv = tmp_path / "child_projects.csv"
    csv.write_text(csv.read_text(encoding="utf-8") + NEW_PROJECT.replace("T4", "T5") + "\n")
    assert any(
        "child_projects.csv has changed" in n for n in diff_scenarios("o/tiny", "o/child").notes
    )


def test_bad_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    parent, child = _child(tmp_path)
    with pytest.raises(ScenarioError, match="no such file or folder"):
        diff_scenarios(parent, tmp_path / "missing.toml")
    assert main(["run", "tiny.toml", "--out", "o", "--no-charts", "-q"]) == 0
    with pytest.raises(ScenarioError, match="A is a scenario and B a run folder"):
        diff_scenarios(parent, "o/tiny")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="manifest.json: file not found"):
        load_side(tmp_path / "empty")
    with pytest.raises(ScenarioError, match="top"):
        diff_scenarios(parent, child, top=0)
    # a run folder whose scenario file is gone
    (tmp_path / "tiny.toml").unlink()
    with pytest.raises(ScenarioError, match="scenario file of this run is not found"):
        diff_scenarios("o/tiny", "o/tiny")
