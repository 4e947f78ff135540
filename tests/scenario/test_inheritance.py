"""Inheritance: arrays of tables merge by name, ``remove`` takes entries out, origins stay right.

A scenario with ``base = ...`` is merged into its base: tables key by key, the arrays of named
tables (``[[costs]]``, ``[[rules]]``, ``[[uncertainty.inputs]]``) by ``name`` (an entry of an
existing name replaces it in place, a new name appends), and a top-level ``remove`` list takes
inherited entries out. Every value keeps the file that set it, for error messages and for
``benefitshare validate --resolved``.
"""

from __future__ import annotations

import copy
import re
import tomllib
import typing
from pathlib import Path

import pytest
from conftest import DATA, SCENARIOS

import benefitshare as bs
from benefitshare import cli
from benefitshare.scenario.load import MERGED_ARRAYS, json_schema, resolved_toml
from benefitshare.scenario.schema import ScenarioSpec

REFERENCE = SCENARIOS / "reference.toml"
TINY = DATA / "tiny.toml"

#: The cost of the issue's trial: one more Shenzhen outlay in a scenario inheriting the reference.
ROAD_TOML = """
[[costs]]
name = "Port road, built by Shenzhen"
kind = "infrastructure"
party = "shenzhen"
payments_yuan = { 2027 = 150000000.0, 2029 = 250000000.0 }
"""


def child(tmp_path: Path, text: str, base: Path = TINY, name: str = "child.toml") -> Path:
    """A scenario file in ``tmp_path`` inheriting ``base`` (by its absolute path) plus ``text``."""
    path = tmp_path / name
    path.write_text(f'base = "{base.resolve().as_posix()}"\n{text}', encoding="utf-8")
    return path


def error_of(path, overrides=None) -> str:
    with pytest.raises(bs.ScenarioError) as info:
        bs.load_scenario(path, overrides=overrides)
    return str(info.value)


def cost_names(scenario) -> list[str]:
    return [c.name for c in scenario.spec.costs]


# ------------------------------------------------------------------------------------ the trial


def test_one_added_cost_keeps_the_inherited_costs_and_moves_npv_by_its_own_npv(tmp_path, reference):
    scenario = bs.load_scenario(child(tmp_path, ROAD_TOML, REFERENCE))
    assert cost_names(scenario) == [*cost_names(reference), "Port road, built by Shenzhen"]

    rate = reference.spec.model.discount_rate
    start = reference.spec.model.start_year
    road_npv = 150e6 / (1 + rate) ** (2027 - start) + 250e6 / (1 + rate) ** (2029 - start)

    def npv(s):
        table = bs.run(s, rules=["fixed_50_50"]).summary().set_index("party")
        return table["npv_yuan"]

    before, after = npv(reference), npv(scenario)
    assert after["shenzhen"] - before["shenzhen"] == pytest.approx(-road_npv, rel=1e-9)
    assert after["shanwei"] == pytest.approx(before["shanwei"], rel=1e-12)


# ------------------------------------------------------------------------------------ merging


def test_an_entry_of_an_inherited_name_replaces_it_in_place(tmp_path, tiny):
    path = child(
        tmp_path,
        '[[costs]]\nname = "Park roads"\nkind = "infrastructure"\nparty = "shanwei"\n'
        "payments_yuan = { 2027 = 5.0 }\n"
        '[[rules]]\nname = "phased"\nrule = "fixed_ratio"\n'
        "params = { shares = { shenzhen = 0.3, shanwei = 0.7 } }\n",
    )
    scenario = bs.load_scenario(path)
    assert cost_names(scenario) == cost_names(tiny)
    assert scenario.spec.costs[0].party == "shanwei"
    assert scenario.spec.costs[0].payments_yuan == {2027: 5.0}
    assert scenario.rule_names == tiny.rule_names  # same order: replaced where it was
    phased = scenario.spec.rules[tiny.rule_names.index("phased")]
    assert phased.rule == "fixed_ratio" and phased.params["shares"]["shenzhen"] == 0.3
    assert "schedule" not in phased.params  # the entry is replaced whole, not merged


def test_an_entry_of_a_new_name_is_appended(tmp_path, tiny):
    path = child(
        tmp_path,
        '[[rules]]\nname = "fixed_30"\nrule = "fixed_ratio"\n'
        "params = { shares = { shenzhen = 0.3, shanwei = 0.7 } }\n",
    )
    scenario = bs.load_scenario(path)
    assert scenario.rule_names == [*tiny.rule_names, "fixed_30"]
    assert cost_names(scenario) == cost_names(tiny)


def test_uncertain_inputs_merge_by_name_too(tmp_path, reference):
    path = child(
        tmp_path,
        '[[uncertainty.inputs]]\nname = "profit_margin"\ntarget = "projects.profit_margin"\n'
        'distribution = { name = "uniform", params = { low = 0.5, high = 1.0 } }\n',
        REFERENCE,
    )
    scenario = bs.load_scenario(path)
    names = [i.name for i in reference.spec.uncertainty.inputs]
    assert [i.name for i in scenario.spec.uncertainty.inputs] == names
    margin = scenario.spec.uncertainty.inputs[names.index("profit_margin")]
    assert margin.distribution.name == "uniform"
    assert scenario.spec.uncertainty.sampler == reference.spec.uncertainty.sampler


def test_lists_of_plain_values_are_still_replaced(tmp_path, tiny):
    scenario = bs.load_scenario(child(tmp_path, '[pool]\ntaxes = ["vat", "cit"]\n'))
    assert scenario.spec.pool.taxes == ["vat", "cit"]
    assert scenario.spec.pool.tiers == tiny.spec.pool.tiers


def test_the_arrays_that_merge_by_name_are_every_array_of_named_tables_of_the_schema():
    assert set(MERGED_ARRAYS) == {("costs",), ("rules",), ("uncertainty", "inputs")}

    def arrays(model, prefix=()):
        """Every list of tables reachable through sections (not through lists)."""
        for key, field in model.model_fields.items():
            for arg in (*typing.get_args(field.annotation), field.annotation):
                inner = typing.get_args(arg)
                if typing.get_origin(arg) is list and inner and hasattr(inner[0], "model_fields"):
                    yield (*prefix, key), inner[0]
                elif hasattr(arg, "model_fields"):
                    yield from arrays(arg, (*prefix, key))

    found = dict(arrays(ScenarioSpec))
    # a new array of tables needs a decision: a name field (it merges by name), or it sits in an
    # entry of a merged array and is replaced with that entry (a rule's clauses)
    inside = {p for p in found if any(p[: len(m)] == m and p != m for m in MERGED_ARRAYS)}
    assert inside == {("rules", "clauses")}
    assert set(found) - inside == set(MERGED_ARRAYS)
    assert all("name" in found[p].model_fields for p in MERGED_ARRAYS)


# ------------------------------------------------------------------------------------ remove


def test_remove_takes_inherited_entries_out_by_name(tmp_path, tiny):
    path = child(
        tmp_path,
        'remove = ["costs.Park roads", "rules.tiered", "rules[recovery]"]\n'
        '[[rules]]\nname = "fixed_30"\nrule = "fixed_ratio"\n'
        "params = { shares = { shenzhen = 0.3, shanwei = 0.7 } }\n",
    )
    scenario = bs.load_scenario(path)
    assert cost_names(scenario) == []
    kept = [r for r in tiny.rule_names if r not in ("tiered", "recovery")]
    assert scenario.rule_names == [*kept, "fixed_30"]
    assert scenario.origins.removed == [
        ("costs.Park roads", "child.toml"),
        ("rules.tiered", "child.toml"),
        ("rules.recovery", "child.toml"),
    ]
    assert "# removed: rules.tiered (by child.toml)" in resolved_toml(scenario)


def test_remove_then_add_the_same_name_puts_the_new_entry_last(tmp_path, tiny):
    path = child(
        tmp_path,
        'remove = ["rules.host"]\n[[rules]]\nname = "host"\nrule = "host_keeps_all"\n',
    )
    assert bs.load_scenario(path).rule_names == [*tiny.rule_names[1:], "host"]


def test_removing_entries_renumbers_or_drops_the_inherited_provenance(tmp_path, reference):
    prov = reference.raw["provenance"]
    names = reference.rule_names
    assert prov["rules[7].params"].startswith("assumption: illustrative brackets")
    path = child(tmp_path, 'remove = ["rules.taper_60_to_20"]\n', REFERENCE)
    scenario = bs.load_scenario(path)
    new = scenario.raw["provenance"]
    assert "rules[3].params" not in new or new["rules[3].params"] != prov["rules[3].params"]
    assert new["rules[6].params"] == prov["rules[7].params"]  # renumbered with its rule
    assert new["rules[4]"] == prov["rules[5]"]
    assert new["rules[1].params"] == prov["rules[1].params"]  # before the removed one
    assert scenario.rule_names[6] == names[7]
    assert prov["rules[3].params"] not in new.values()  # the removed rule's text is gone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'remove = ["rules.fixed_50_5"]\n',
            r"child\.toml: remove\[0\] = 'rules\.fixed_50_5': unknown \[\[rules\]\] entry to remove; "
            r"did you mean 'fixed_50_5y'\? \(the inherited \[\[rules\]\] names: host, fixed_50_5y,",
        ),
        (
            'remove = ["costs.Bridge"]\n',
            r"remove\[0\] = 'costs\.Bridge': unknown \[\[costs\]\] entry to remove; "
            r"valid: Park roads",
        ),
        (
            'remove = ["parks.coop"]\n',
            r"remove\[0\] = 'parks\.coop': names no entry that can be removed; write "
            r"'costs\.<name>', 'rules\.<name>', 'uncertainty\.inputs\.<name>'",
        ),
        ('remove = "rules.host"\n', r"remove = 'rules\.host': must be a list of entries such as"),
        (
            'remove = ["rules.host", "rules[host]"]\n',
            r"remove\[1\] = 'rules\[host\]': is removed already, by remove\[0\]: list it once",
        ),
    ],
    ids=["typo", "no_close_name", "not_an_array", "not_a_list", "removed_twice"],
)
def test_bad_remove_entries_say_what_can_be_removed(tmp_path, text, expected):
    assert re.search(expected, error_of(child(tmp_path, text)))


def test_remove_without_a_base_is_refused(tmp_path):
    path = tmp_path / "alone.toml"
    path.write_text('remove = ["rules.host"]\n' + TINY.read_text("utf-8"), encoding="utf-8")
    (tmp_path / "tiny_projects.csv").write_text(
        (DATA / "tiny_projects.csv").read_text("utf-8"), encoding="utf-8"
    )
    assert re.search(
        r"alone\.toml: remove = \['rules\.host'\]: takes entries out of an inherited scenario, "
        r"but this file has no base",
        error_of(path),
    )


def test_the_json_schema_describes_remove():
    prop = json_schema()["properties"]["remove"]
    assert prop["type"] == "array" and "costs.<name>" in prop["description"]


# ------------------------------------------------------------------------------------ no name


def test_an_entry_without_a_name_in_an_inheriting_file_is_refused_with_how_to_fix(tmp_path):
    msg = error_of(
        child(
            tmp_path,
            '[[costs]]\nkind = "other"\nparty = "shenzhen"\npayments_yuan = { 2027 = 1.0 }\n',
        )
    )
    assert re.search(
        r"child\.toml: costs\[0\]: has no name: in a scenario that inherits \(base = \.\.\.\), "
        r"each \[\[costs\]\] entry needs a name, which says whether it replaces the inherited "
        r'cost of that name or adds a new one; add name = "\.\.\."',
        msg,
    )


def test_two_entries_of_one_name_in_an_inheriting_file_are_refused(tmp_path):
    rule = '[[rules]]\nname = "again"\nrule = "host_keeps_all"\n'
    msg = error_of(child(tmp_path, rule + rule))
    assert re.search(
        r"child\.toml: rules\[1\]\.name = 'again': another \[\[rules\]\] entry of this file has "
        r"the same name: rename one",
        msg,
    )


def test_a_file_without_a_base_reports_a_missing_name_as_the_schema_does(tmp_path):
    text = TINY.read_text("utf-8").replace('name = "Park roads"\n', "", 1)
    (tmp_path / "tiny.toml").write_text(text, encoding="utf-8")
    (tmp_path / "tiny_projects.csv").write_text(
        (DATA / "tiny_projects.csv").read_text("utf-8"), encoding="utf-8"
    )
    assert "tiny.toml: costs[0].name: is required" in error_of(tmp_path / "tiny.toml")


# ------------------------------------------------------------------------------------ chains


def test_a_grandparent_chain_merges_at_each_step_and_keeps_each_origin(tmp_path, tiny):
    child(
        tmp_path,
        '[[costs]]\nname = "Bridge"\nkind = "other"\nparty = "shanwei"\n'
        "payments_yuan = { 2028 = 2.0 }\n"
        '[[rules]]\nname = "fixed_30"\nrule = "fixed_ratio"\n'
        "params = { shares = { shenzhen = 0.3, shanwei = 0.7 } }\n",
        name="parent.toml",
    )
    path = tmp_path / "grandchild.toml"
    path.write_text(
        'base = "parent.toml"\nremove = ["rules.host", "costs.Bridge"]\n'
        '[[costs]]\nname = "Park roads"\nkind = "infrastructure"\nparty = "shenzhen"\n'
        "payments_yuan = { 2026 = 7.0 }\n"
        '[[rules]]\nname = "fixed_20"\nrule = "fixed_ratio"\n'
        "params = { shares = { shenzhen = 0.2, shanwei = 0.8 } }\n",
        encoding="utf-8",
    )
    scenario = bs.load_scenario(path)
    assert scenario.rule_names == [*tiny.rule_names[1:], "fixed_30", "fixed_20"]
    assert cost_names(scenario) == ["Park roads"]
    assert scenario.spec.costs[0].payments_yuan == {2026: 7.0}
    files = scenario.origins
    n = len(tiny.rule_names)
    assert files.file_for(("costs", 0, "payments_yuan", "2026")) == "grandchild.toml"
    assert files.file_for(("rules", 0, "rule")).endswith("data/tiny.toml")
    assert files.file_for(("rules", n - 1, "params")) == "parent.toml"
    assert files.file_for(("rules", n, "name")) == "grandchild.toml"
    assert files.file_for(("model", "discount_rate")).endswith("data/tiny.toml")
    assert [Path(f).name for f in scenario.input_files] == [
        "grandchild.toml",
        "parent.toml",
        "tiny.toml",
        "tiny_projects.csv",
    ]


def test_the_shipped_inheriting_scenarios_mean_what_they_meant(reference):
    compare = bs.load_scenario(SCENARIOS / "compare_example.toml")
    assert compare.rule_names[: len(reference.rule_names)] == reference.rule_names
    assert len(compare.rule_names) == len(reference.rule_names) + 4
    assert compare.spec.costs == reference.spec.costs
    pessimistic = bs.load_scenario(SCENARIOS / "pessimistic_rampup.toml")
    assert pessimistic.spec.rules == reference.spec.rules
    assert pessimistic.spec.costs == reference.spec.costs
    tiny = bs.load_scenario(TINY)
    counties = bs.load_scenario(DATA / "tiny_counties.toml")
    assert cost_names(counties) == [*cost_names(tiny), "County park services"]
    assert counties.rule_names == tiny.rule_names


# ------------------------------------------------------------------------------------ overrides


def test_overrides_reach_inherited_and_appended_entries_by_name(tmp_path, reference):
    path = child(tmp_path, ROAD_TOML, REFERENCE)
    scenario = bs.load_scenario(
        path,
        overrides={
            "rules[fixed_50_50].params.shares.shenzhen": 0.6,
            "rules[fixed_50_50].params.shares.shanwei": 0.4,
            "costs[Port road, built by Shenzhen].payments_yuan": {"2030": 1.0},
        },
    )
    rule = scenario.spec.rules[reference.rule_names.index("fixed_50_50")]
    assert rule.params["shares"] == {"shenzhen": 0.6, "shanwei": 0.4}
    assert scenario.spec.costs[-1].payments_yuan == {2030: 1.0}
    assert cost_names(scenario)[:-1] == cost_names(reference)
    assert scenario.origins.file_for(("rules", 1, "params", "shares", "shenzhen")) == "<overrides>"
    again = bs.load_scenario(path).with_overrides(
        {
            "rules[fixed_50_50].params.shares.shenzhen": 0.6,
            "rules[fixed_50_50].params.shares.shanwei": 0.4,
        }
    )
    assert again.origins.file_for(("rules", 1, "params", "shares", "shenzhen")) == "<overrides>"
    assert again.origins.file_for(("costs", 3, "name")) == "child.toml"
    assert again.origins.file_for(("costs", 0, "name")).endswith("scenarios/reference.toml")


def test_an_override_on_a_removed_entry_is_answered_with_the_names_left(tmp_path):
    path = child(tmp_path, 'remove = ["rules.tiered"]\n')
    msg = error_of(path, {"rules[tiered].params.brackets": []})
    assert re.search(r"<overrides>: rules\[tiered\]\.params\.brackets = \[\]: no item named", msg)


# ------------------------------------------------------------------------------------ origins


def test_errors_name_the_file_that_set_the_bad_value_after_merging(tmp_path):
    (tmp_path / "tiny_projects.csv").write_text(
        (DATA / "tiny_projects.csv").read_text("utf-8"), encoding="utf-8"
    )
    base = TINY.read_text("utf-8").replace(
        "params = { shares = { shenzhen = 0.3, shanwei = 0.7 } }",
        "params = { shares = { shenzhen = 0.3, shanwei = 0.7 }, recovery_rate = 7.0 }",
    )
    (tmp_path / "tiny.toml").write_text(base, encoding="utf-8")
    path = tmp_path / "child.toml"
    path.write_text(
        'base = "tiny.toml"\nremove = ["rules.host"]\n'
        '[[costs]]\nname = "Park roads"\nkind = "infrastructure"\nparty = "shenzen"\n'
        "payments_yuan = { 2026 = 1.0 }\n"
        '[[rules]]\nname = "fixed_bad"\nrule = "fixed_ratio"\n'
        "params = { shares = { shenzhen = 0.3, shanwei = 0.8 } }\n",
        encoding="utf-8",
    )
    msg = error_of(path)
    lines = msg.splitlines()[1:]
    # the recovery rule was rules[7] in tiny.toml and is rules[6] once "host" is removed
    assert any(re.match(r"\s+tiny\.toml: rules\[6\]\.params", line) for line in lines), msg
    assert any(re.match(r"\s+child\.toml: costs\[0\]\.party = 'shenzen'", line) for line in lines)
    assert any(re.match(r"\s+child\.toml: rules\[8\]\.params", line) for line in lines), msg


# ------------------------------------------------------------------------------------ resolved


INHERITING = [
    SCENARIOS / "pessimistic_rampup.toml",
    SCENARIOS / "compare_example.toml",
    DATA / "tiny_counties.toml",
]


@pytest.mark.parametrize(
    "path",
    [*sorted(SCENARIOS.glob("*.toml")), *sorted(DATA.glob("*.toml"))],
    ids=lambda p: p.stem,
)
def test_the_resolved_view_is_toml_with_the_scenarios_content_and_an_origin_per_value(path):
    scenario = bs.load_scenario(path)
    text = resolved_toml(scenario)
    parsed = tomllib.loads(text)
    raw = copy.deepcopy(scenario.raw)
    assert Path(parsed["model"]["projects"]).resolve() == Path(raw["model"]["projects"])
    raw["model"]["projects"] = parsed["model"]["projects"]
    assert parsed == raw
    for line in text.splitlines():
        assert not line or line.startswith("#") or re.search(r"  # \S", line), line


def test_the_resolved_view_shows_what_was_inherited_and_what_was_set_here(tmp_path):
    path = child(
        tmp_path,
        "[model]\nsales_growth_rate = { 2031 = 0.01 }\n" + ROAD_TOML,
        REFERENCE,
    )
    text = resolved_toml(bs.load_scenario(path))
    ref = "reference.toml"
    assert text.startswith("# resolved scenario: child.toml, then its base ")
    assert re.search(rf"^discount_rate = 0\.06 +# \S*{ref}$", text, re.M)
    assert re.search(
        r"^\[model\.sales_growth_rate\] +# \S*reference\.toml, child\.toml$", text, re.M
    )
    assert re.search(rf'^"2026" = 0\.02 +# \S*{ref}$|^2026 = 0\.02 +# \S*{ref}$', text, re.M)
    assert re.search(r"^2031 = 0\.01 +# child\.toml$", text, re.M)
    block = text.split('name = "Port road, built by Shenzhen"')
    assert len(block) == 2 and re.search(r"\[\[costs\]\] +# child\.toml\n$", block[0])
    assert text.count("[[costs]]") == 4


# ------------------------------------------------------------------------------------ command line


def test_validate_resolved_prints_the_resolved_scenario(tmp_path, capsys):
    path = child(tmp_path, ROAD_TOML, REFERENCE)
    assert cli.main(["validate", "--resolved", str(path)]) == 0
    out = capsys.readouterr().out
    parsed = tomllib.loads(out)
    assert len(parsed["costs"]) == 4
    assert re.search(r'^name = "Port road, built by Shenzhen" +# \S*child\.toml$', out, re.M)


def test_validate_resolved_with_set_marks_the_overrides(tmp_path, capsys):
    args = ["validate", "--resolved", str(TINY), "--set", "model.discount_rate=0.05"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"^discount_rate = 0\.05 +# <overrides>$", out, re.M)


def test_validate_without_resolved_says_ok_and_bad_files_exit_2(tmp_path, capsys):
    bad = child(tmp_path, 'remove = ["rules.nope"]\n')
    assert cli.main(["validate", str(TINY), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == f"ok: {TINY}\n"
    assert f"invalid: {bad}" in captured.err and "unknown [[rules]] entry to remove" in captured.err
    assert cli.main(["validate", "--resolved", str(bad)]) == 2
    assert capsys.readouterr().out == ""


def test_a_table_set_partly_by_an_override_names_both_in_its_error():
    msg = error_of(REFERENCE, {"rules[fixed_50_50].params.shares.shenzhen": 0.4})
    assert re.search(
        r"scenarios/reference\.toml and <overrides>: rules\[1\]\.params\.shares = "
        r"\{'shenzhen': 0\.4, 'shanwei': 0\.5\}: shares must sum to 1",
        msg,
    )


def test_a_table_merged_from_two_files_names_both_in_its_error(tmp_path):
    msg = error_of(child(tmp_path, "[model]\nend_year = 2020\n"))
    assert re.search(r"\S*tiny\.toml and child\.toml: model: end_year 2020 is before", msg), msg


# ------------------------------------------------------------------------------------ the docs

ROOT = SCENARIOS.parent


def test_the_cookbooks_scenario_files_load_and_mean_what_it_says(tmp_path, reference):
    text = (ROOT / "docs" / "cookbook.md").read_text("utf-8")
    (tmp_path / "scenarios").symlink_to(SCENARIOS)
    planning = tmp_path / "planning"
    planning.mkdir()
    files = re.findall(r"`(planning/\w+\.toml)`:\n\n```toml\n(.*?)```", text, re.S)
    assert {name for name, _ in files} == {"planning/port_road.toml", "planning/jiazi_park.toml"}
    for name, body in files:
        (tmp_path / name).write_text(body, encoding="utf-8")
    rows = re.search(r"<<'EOF'\n(.*?)EOF", text, re.S).group(1)
    csv = (SCENARIOS / "reference_projects.csv").read_text("utf-8") + rows
    (planning / "jiazi_projects.csv").write_text(csv, encoding="utf-8")

    road = bs.load_scenario(planning / "port_road.toml")
    assert cost_names(road) == [*cost_names(reference), "Port road, built by Shenzhen"]
    jiazi = bs.load_scenario(planning / "jiazi_park.toml")
    assert list(jiazi.spec.parks) == [*reference.spec.parks, "jiazi_park"]
    assert len(jiazi.projects) == len(reference.projects) + 2


def test_the_readme_example_of_inheritance_loads_as_described(tmp_path, reference):
    text = (SCENARIOS / "README.md").read_text("utf-8")
    body = re.search(r"```toml\n(# scenarios/port_road\.toml.*?)```", text, re.S).group(1)
    path = child(tmp_path, body.replace('base = "reference.toml"', ""), REFERENCE)
    scenario = bs.load_scenario(path)
    names = [r for r in reference.rule_names if r != "tiered_40_20"]
    assert scenario.rule_names == names
    assert scenario.spec.rules[1].label == "60:40 of retained tax"
    assert cost_names(scenario) == [*cost_names(reference), "Port road, built by Shenzhen"]
    assert scenario.spec.model.discount_rate == 0.05


def test_removing_an_uncertain_input_by_name(tmp_path, reference):
    path = child(tmp_path, 'remove = ["uncertainty.inputs.profit_margin"]\n', REFERENCE)
    names = [i.name for i in bs.load_scenario(path).spec.uncertainty.inputs]
    assert names == [i.name for i in reference.spec.uncertainty.inputs if i.name != "profit_margin"]


def test_replacing_a_name_the_base_holds_twice_is_refused_naming_the_base(tmp_path):
    cost = '[[costs]]\nname = "Park roads"\nkind = "other"\nparty = "shanwei"\npayments_yuan = {}\n'
    (tmp_path / "tiny_projects.csv").write_text(
        (DATA / "tiny_projects.csv").read_text("utf-8"), encoding="utf-8"
    )
    (tmp_path / "twice.toml").write_text(TINY.read_text("utf-8") + cost, encoding="utf-8")
    assert len(bs.load_scenario(tmp_path / "twice.toml").spec.costs) == 2  # allowed on its own
    path = tmp_path / "child.toml"
    path.write_text('base = "twice.toml"\n' + cost, encoding="utf-8")
    assert re.search(
        r"child\.toml: costs\[0\]\.name = 'Park roads': the inherited \[\[costs\]\] has 2 entries "
        r"of this name \(set in \S*twice\.toml\): give them distinct names there",
        error_of(path),
    )
