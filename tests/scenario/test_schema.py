"""The documented schema: every field has a meaning, a unit and an example; editors can use it.

`benefitshare schema` prints the JSON Schema of scenario files; `benefitshare rules --params`
lists each rule's parameters from the same pydantic models.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from benefitshare import cli
from benefitshare.rules import SPLIT_RULES, register_rule
from benefitshare.rules.base import RuleParams
from benefitshare.scenario.load import json_schema
from benefitshare.scenario.schema import ScenarioSpec, partial_schema

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
DATA = ROOT / "tests" / "data"


def properties(schema: object, path: str = "") -> list[tuple[str, dict]]:
    """Every property of every object in a JSON Schema (definitions included), with its path."""
    out: list[tuple[str, dict]] = []
    if isinstance(schema, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            out.extend((f"{path}/{name}", prop) for name, prop in props.items())
        for key, value in schema.items():
            if key != "properties" or not isinstance(value, dict):
                out.extend(properties(value, f"{path}/{key}"))
            else:
                for name, prop in value.items():
                    out.extend(properties(prop, f"{path}/{name}"))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            out.extend(properties(value, f"{path}[{i}]"))
    return out


def models_in(model: type[BaseModel], seen: set | None = None) -> set[type[BaseModel]]:
    """The model and every model its fields hold (tables, lists of tables, tables by id)."""
    seen = set() if seen is None else seen
    if model in seen:
        return seen
    seen.add(model)
    stack = [f.annotation for f in model.model_fields.values()]
    while stack:
        ann = stack.pop()
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            models_in(ann, seen)
        stack.extend(typing.get_args(ann))
    return seen


PARAM_MODELS = sorted(
    {m for r in SPLIT_RULES.values() if r.builtin for m in models_in(r.params_model)},
    key=lambda m: m.__name__,
)
SCENARIO_MODELS = sorted(models_in(ScenarioSpec), key=lambda m: m.__name__)


def test_every_property_of_the_scenario_schema_has_a_description():
    found = properties(json_schema())
    assert len(found) > 90
    missing = [path for path, prop in found if not prop.get("description")]
    assert missing == []


@pytest.mark.parametrize("rule", sorted(r for r in SPLIT_RULES if SPLIT_RULES[r].builtin))
def test_every_rule_parameter_has_a_description(rule):
    schema = SPLIT_RULES[rule].params_model.model_json_schema()
    missing = [path for path, prop in properties(schema) if not prop.get("description")]
    assert missing == []


@pytest.mark.parametrize("model", SCENARIO_MODELS + PARAM_MODELS, ids=lambda m: m.__name__)
def test_every_field_gives_an_example_and_its_unit_is_bracketed(model):
    for name, field in model.model_fields.items():
        assert field.description and ". Example: " in field.description, (model, name)
        assert field.examples, (model, name)
        meaning = field.description.split(". Example: ")[0]
        # a unit, when given, is the bracketed end of the meaning: "Discount rate [fraction/year]"
        assert meaning.count("[") == meaning.count("]"), (model, name)


def test_ranges_choices_and_examples_reach_the_json_schema():
    schema = json_schema()
    defs = schema["$defs"]
    park = defs["Park"]["properties"]
    assert park["county_share"]["minimum"] == 0 and park["county_share"]["maximum"] == 1
    assert "[fraction]" in park["county_share"]["description"]
    assert park["land_use_tax_yuan_per_m2"]["maximum"] == 30
    assert park["location_class"]["enum"] == ["city", "county_town", "other"]
    assert park["host"]["pattern"] == "^[a-z][a-z0-9_]*$"
    model = defs["ModelSettings"]["properties"]
    assert model["discount_rate"]["maximum"] == 0.5
    assert model["discount_rate"]["examples"] == [0.06]
    assert "[year]" in model["start_year"]["description"]
    assert defs["Party"]["properties"]["role"]["enum"] == ["host", "partner", "other"]
    assert "projects.investment_yuan" in defs["UncertainInput"]["properties"]["target"]["enum"]
    recovery = SPLIT_RULES["cost_recovery_first"].params_model.model_json_schema()["properties"]
    assert recovery["recovery_rate"]["exclusiveMinimum"] == 0
    assert "other" in recovery["cost_kinds"]["items"]["enum"]


def test_real_scenarios_validate_against_the_schema_and_a_typo_does_not():
    import jsonschema

    schema = json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for path in (SCENARIOS / "reference.toml", DATA / "tiny.toml"):
        raw = tomllib.loads(path.read_text("utf-8"))
        assert list(validator.iter_errors(raw)) == [], path
    raw = tomllib.loads((DATA / "tiny.toml").read_text("utf-8"))
    raw["parks"]["coop"]["county_shar"] = 0.5
    raw["model"]["discount_rate"] = 6
    messages = sorted(e.message for e in validator.iter_errors(raw))
    assert any("county_shar" in m for m in messages) and any("0.5" in m for m in messages)


def test_the_partial_schema_accepts_an_inheriting_scenario_and_still_checks_types():
    import jsonschema

    child = tomllib.loads((SCENARIOS / "pessimistic_rampup.toml").read_text("utf-8"))
    assert "base" in child
    full = jsonschema.Draft202012Validator(json_schema())
    assert any("required" in e.message for e in full.iter_errors(child))
    partial = partial_schema(json_schema())
    assert not [p for p, prop in properties(partial) if "required" in prop]
    validator = jsonschema.Draft202012Validator(partial)
    assert list(validator.iter_errors(child)) == []
    assert list(validator.iter_errors({**child, "model": {"discount_rate": "six"}}))


def test_schema_verb_prints_an_editor_ready_schema(capsys):
    assert cli.main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "#:schema" in schema["description"]
    assert "header" in schema["required"]
    assert cli.main(["schema", "--partial"]) == 0
    partial = json.loads(capsys.readouterr().out)
    assert "required" not in partial
    assert all("required" not in d for d in partial["$defs"].values())


def _taplo() -> str:
    """The taplo command (a dev dependency): next to this Python, else on the PATH."""
    beside = Path(sys.executable).with_name("taplo")
    found = str(beside) if beside.exists() else shutil.which("taplo")
    assert found, "taplo is a dev dependency: pip install -e '.[dev]'"
    return found


def test_taplo_checks_a_scenario_with_a_schema_line(tmp_path, capsys):
    assert cli.main(["schema"]) == 0
    (tmp_path / "benefitshare.schema.json").write_text(capsys.readouterr().out, "utf-8")
    text = (DATA / "tiny.toml").read_text("utf-8")
    good = tmp_path / "good.toml"
    good.write_text("#:schema ./benefitshare.schema.json\n" + text, "utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text("utf-8").replace("county_share", "county_shar"), "utf-8")
    ok = subprocess.run([_taplo(), "check", good.name], cwd=tmp_path, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    wrong = subprocess.run([_taplo(), "check", bad.name], cwd=tmp_path, capture_output=True)
    assert wrong.returncode != 0 and b"county_shar" in wrong.stderr + wrong.stdout


# --------------------------------------------------------------------------- rules --params
def test_rules_params_lists_type_default_unit_and_meaning(capsys):
    assert cli.main(["rules", "--params", "fixed_ratio"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("fixed_ratio: Fixed ratio")
    assert lines[1].split() == ["parameter", "type", "default", "unit"]
    assert lines[2].split() == ["shares", "table", "of", "number", "0..1", "required", "fraction"]
    assert "Share of the pool for each party" in lines[3]
    assert "e.g. shares = { shenzhen = 0.5, shanwei = 0.5 }" in lines[3]
    assert lines[4].split() == ["term_years", "integer", "1..100", "omitted", "years"]


def test_rules_params_follows_the_models_defaults_and_nested_tables(capsys):
    assert cli.main(["rules", "--params", "relocation_cap_sunset"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith("origin_share"))
    assert row.split() == ["origin_share", "number", "0..1", "0.5", "fraction"]
    assert cli.main(["rules", "--params", "tiered"]) == 0
    out = capsys.readouterr().out
    assert "brackets[].up_to_yuan" in out and "yuan/year" in out
    assert cli.main(["rules", "--params", "cost_recovery_first"]) == 0
    out = capsys.readouterr().out
    assert '["infrastructure"]' in out  # a default from a default factory
    assert "type: list of one of infrastructure, subsidy" in out


def test_rules_params_without_a_rule_lists_every_rule_and_each_parameter(capsys):
    assert cli.main(["rules", "--params"]) == 0
    out = capsys.readouterr().out
    for name, rule in SPLIT_RULES.items():
        assert f"{name}: " in out
        for field in rule.params_model.model_fields if rule.params_model else ():
            assert f"\n  {field} " in out, (name, field)
    assert "host_keeps_all: Host keeps all" in out and "no parameters" in out


def test_rules_params_of_an_unknown_rule_exits_2_with_a_suggestion(capsys):
    assert cli.main(["rules", "--params", "fixed_ratoi"]) == 2
    err = capsys.readouterr().err
    assert "unknown rule 'fixed_ratoi'; did you mean 'fixed_ratio'?" in err
    assert "Traceback" not in err


def test_rules_params_of_a_rule_without_a_parameter_model(capsys):
    def passthrough(pool_yuan, ctx, **params):
        """Pass-through test rule."""
        raise AssertionError("not called")

    register_rule("zz_passthrough", passthrough, replace=True)
    try:
        assert cli.main(["rules", "--params", "zz_passthrough"]) == 0
        out = capsys.readouterr().out
        assert "zz_passthrough: Pass-through test rule." in out
        assert "passed to the rule unchecked" in out
    finally:
        SPLIT_RULES.pop("zz_passthrough")


def test_param_docs_come_from_the_pydantic_model():
    docs = {d.name: d for d in SPLIT_RULES["fixed_return"].params_model.param_docs()}
    assert docs["return_rate"].default == "0.1"
    assert docs["return_rate"].unit == "fraction/year"
    assert docs["return_rate"].type == "number 0..1"
    assert docs["investor"].default == "omitted"
    assert docs["carry_shortfall"].type == "true/false"
    trigger = [d.name for d in SPLIT_RULES["trigger_switch"].params_model.param_docs()]
    assert trigger[:3] == ["before", "before.rule", "before.params"]
    assert issubclass(SPLIT_RULES["tiered"].params_model, RuleParams)
