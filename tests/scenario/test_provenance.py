"""Every number in a shipped scenario has a source or is marked as an assumption.

For each ``scenarios/*.toml``, after inheritance, every numeric value outside ``[header]`` must be
covered by a ``[provenance]`` key that is a prefix of its field path (``"parks"`` covers
``parks.haifeng_park.county_share``; ``"rules[5]"`` covers ``rules[5].params.cap_years``; a list
item can also be named, ``"rules[fixed_50_50].params"``), written in the override path syntax.
Each provenance text starts with ``source`` or ``assumption`` and says something after it. Every
column of the project table is covered by a ``projects`` key (``"projects"`` or
``"projects.<column>"``). A provenance key that names nothing in the scenario is reported too, so
a renamed field cannot leave its provenance behind.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import benefitshare as bs
from benefitshare.scenario.load import split_path

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.toml"))

#: Top-level tables whose numbers need no provenance (the header describes the file itself).
EXEMPT = ("header",)
#: The provenance key (and its prefix for per-column keys) that covers the project table.
PROJECTS_KEY = "projects"
_LABEL = re.compile(r"^(source|assumption)\b\s*:?\s*(\S.*)?$", re.IGNORECASE | re.DOTALL)

#: A field path as the parts of each step: a list item can be named by its index or its name.
Steps = tuple[tuple[str | int, ...], ...]


def _walk(node, steps: Steps = ()) -> Iterator[tuple[Steps, object]]:
    """Yield (steps, value) for ``node`` and every table, list and value under it."""
    yield steps, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, steps + ((str(key),),))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            name = value.get("name") if isinstance(value, dict) else None
            yield from _walk(value, steps + ((i, name) if isinstance(name, str) else (i,),))


def _is_number(value) -> bool:
    """Ints and floats are numbers; booleans are switches, not numbers."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _covers(key_parts: list[str | int], steps: Steps) -> bool:
    """Whether a provenance key (parsed) is a prefix of the field path ``steps``."""
    if len(key_parts) > len(steps):
        return False
    return all(part in step for part, step in zip(key_parts, steps, strict=False))


def _path_str(steps: Steps) -> str:
    out = ""
    for step in steps:
        if isinstance(step[0], int):
            out += f"[{step[0]}]"
        else:
            out += ("." if out else "") + step[0]
    return out


def provenance_problems(raw: dict, project_columns: list[str]) -> list[str]:
    """Every way the provenance of a scenario falls short, one message each.

    Parameters
    ----------
    raw : dict
        The merged content of a scenario (``Scenario.raw``), after inheritance.
    project_columns : list of str
        The columns of its project table.

    Returns
    -------
    list of str
        Empty when every number is covered and every label is valid.
    """
    problems: list[str] = []
    provenance = raw.get("provenance", {})
    if not isinstance(provenance, dict):
        return [f"provenance must be a table of path = label, not {provenance!r}"]

    keys: list[tuple[str, list[str | int]]] = []
    for key, text in provenance.items():
        if not isinstance(text, str) or not (m := _LABEL.match(text.strip())) or not m.group(2):
            problems.append(
                f"provenance {key!r} = {text!r}: must read 'source: ...' or 'assumption: ...'"
            )
        try:
            keys.append((key, split_path(key)))
        except ValueError as exc:
            problems.append(f"provenance {key!r}: {exc}")

    content = {k: v for k, v in raw.items() if k not in EXEMPT and k != "provenance"}
    for steps, value in _walk(content):
        if _is_number(value) and not any(_covers(parts, steps) for _, parts in keys):
            problems.append(f"{_path_str(steps)} = {value!r}: no provenance key covers it")

    column_keys = {PROJECTS_KEY: project_columns}
    column_keys.update({f"{PROJECTS_KEY}.{col}": [col] for col in project_columns})
    covered_columns = {col for key in provenance if key in column_keys for col in column_keys[key]}
    for col in project_columns:
        if col not in covered_columns:
            problems.append(f"project column {col!r}: no '{PROJECTS_KEY}' provenance key covers it")

    all_nodes = [steps for steps, _ in _walk(raw)]
    for key, parts in keys:
        if key not in column_keys and not any(
            len(steps) == len(parts) and _covers(parts, steps) for steps in all_nodes
        ):
            problems.append(f"provenance {key!r}: names no field of the scenario")
    return problems


def _project_columns(scenario: bs.Scenario) -> list[str]:
    with open(scenario.spec.model.projects, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def test_scenarios_are_shipped():
    names = {p.name for p in SHIPPED}
    assert {"reference.toml", "pessimistic_rampup.toml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_number_has_provenance(path):
    scenario = bs.load_scenario(path)
    problems = provenance_problems(scenario.raw, _project_columns(scenario))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


# ------------------------------------------------------------------ the checker itself


@pytest.fixture(scope="module")
def reference_raw_and_columns():
    scenario = bs.load_scenario(SCENARIOS / "reference.toml")
    return scenario, _project_columns(scenario)


def test_checker_flags_an_unlabelled_number(reference_raw_and_columns):
    scenario, columns = reference_raw_and_columns
    assert provenance_problems(scenario.raw, columns) == []
    # a valid scenario (it loads) with one new number that no provenance key covers
    changed = scenario.with_overrides({"parties.shenzhen.discount_rate": 0.08})
    problems = provenance_problems(changed.raw, columns)
    assert problems == ["parties.shenzhen.discount_rate = 0.08: no provenance key covers it"]


def test_checker_flags_a_number_in_a_dict(reference_raw_and_columns):
    scenario, columns = reference_raw_and_columns
    raw = {**scenario.raw, "provenance": dict(scenario.raw["provenance"])}
    del raw["provenance"]["model.discount_rate"]
    problems = provenance_problems(raw, columns)
    assert problems == ["model.discount_rate = 0.06: no provenance key covers it"]


def _toy(provenance: dict, **content) -> dict:
    return {"header": {"expected": {"pool_yuan": 1.0}}, **content, "provenance": provenance}


def test_prefix_covers_by_path_steps_not_by_text():
    raw = _toy(
        {"rules[1]": "source: x", "parks": "assumption: y"},
        rules=[{"name": f"r{i}", "params": {"x": 0.5}} for i in range(11)],
        parks={"a": {"county_share": 0.7}},
        parks_extra={"b": 1},
    )
    problems = provenance_problems(raw, [])
    uncovered = sorted(p.split(" = ")[0] for p in problems)
    expected = sorted([f"rules[{i}].params.x" for i in range(11) if i != 1] + ["parks_extra.b"])
    assert (
        uncovered == expected
    )  # rules[1] does not cover rules[10]; parks does not cover parks_extra


def test_named_list_items_and_header_and_booleans():
    raw = _toy(
        {"rules[fixed].params": "source: Zhongshan–Heyuan", "projects": "assumption: synthetic"},
        rules=[{"name": "fixed", "params": {"shares": {"a": 0.5}}}],
        model={"stamp_on_sales": True},
    )
    assert provenance_problems(raw, ["investment_yuan"]) == []


def test_checker_flags_labels_columns_and_stale_keys():
    raw = _toy(
        {
            "model.discount_rate": "estimate: 6%",
            "model.horizon": "assumption: 30 years",
            "model": "source:",
            "projects.investment_yuan": "source: the brief",
        },
        model={"discount_rate": 0.06},
    )
    problems = provenance_problems(raw, ["investment_yuan", "land_mu"])
    assert problems == [
        "provenance 'model.discount_rate' = 'estimate: 6%': must read 'source: ...' or 'assumption: ...'",
        "provenance 'model' = 'source:': must read 'source: ...' or 'assumption: ...'",
        "project column 'land_mu': no 'projects' provenance key covers it",
        "provenance 'model.horizon': names no field of the scenario",
    ]


def test_pessimistic_changes_carry_their_own_provenance():
    """The stress case relabels what it changes instead of inheriting the reference's labels."""
    reference = bs.load_scenario(SCENARIOS / "reference.toml")
    stress = bs.load_scenario(SCENARIOS / "pessimistic_rampup.toml")
    for key in ("model.sales_growth_rate", "projects"):
        assert stress.spec.provenance[key].startswith("assumption")
        assert stress.spec.provenance[key] != reference.spec.provenance[key]
    assert stress.spec.header.baseline.startswith("reference.toml")
    assert stress.spec.header.title != reference.spec.header.title
    assert stress.spec.rules == reference.spec.rules
