"""The error leaf: problems, the name suggester and the one translator of validation errors."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benefitshare.errors import (
    NOT_FINITE,
    Problem,
    ScenarioError,
    did_you_mean,
    fields_at,
    location_text,
    unknown_key,
    unknown_name,
    validation_issues,
    validation_problems,
)


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    steps: dict[int, float] | float = 0.0
    inner: Inner = Field(default_factory=Inner)
    items: list[Inner] = Field(default_factory=list)
    by_id: dict[str, Inner] = Field(default_factory=dict)


def issues(raw: dict, **kwargs) -> list[tuple[tuple, object, str]]:
    with pytest.raises(ValidationError) as info:
        Outer.model_validate(raw)
    return validation_issues(info.value, **kwargs)


def test_names_are_suggested_once_close_and_listed_otherwise():
    assert did_you_mean("shenzen", ["shenzhen", "shanwei"]) == "shenzhen"
    assert did_you_mean("zzz", ["shenzhen"]) is None
    assert unknown_name("party", "zzz", ["a", "b"]) == "unknown party; valid: a, b"
    assert unknown_key("field", "zzz", ["a", "b"]) == "unknown field (allowed: a, b)"
    assert unknown_key("field", "zzz", None) == "unknown field"
    assert location_text(("rules", 2, "params", "shares")) == "rules[2].params.shares"


def test_an_unknown_key_gets_a_hint_from_its_own_table_or_its_new_name():
    fields = {(): list(Outer.model_fields), ("inner",): list(Inner.model_fields)}
    hint = lambda loc: fields.get(loc[:-1])  # noqa: E731
    assert issues({"name": "x", "inner": {"rat": 1}}, hint_fields=hint) == [
        (("inner", "rat"), 1, "unknown field; did you mean 'rate'?")
    ]
    assert issues({"nam": "x"}, hint_fields=hint, renamed={"nam": "name"})[-1] == (
        ("nam",),
        "x",
        "unknown field; it was renamed to 'name'",
    )
    [(loc, value, msg)] = issues({"name": "x", "zzz": 1}, kind="parameter", hint_fields=hint)
    assert msg == "unknown parameter (allowed: name, steps, inner, items, by_id)"


def test_the_fields_allowed_at_a_location_follow_lists_and_tables_keyed_by_id():
    assert fields_at(Outer, ("zzz",))[:2] == ["name", "steps"]
    assert fields_at(Outer, ("items", 3, "rat")) == ["rate"]
    assert fields_at(Outer, ("by_id", "a", "rat")) == ["rate"]
    assert fields_at(Outer, ("by_id", "a")) == []  # any id is allowed
    assert fields_at(Outer, ("steps", "2026", "x")) == []
    [(_, _, msg)] = issues({"name": "x", "by_id": {"a": {"rat": 1}}}, hint_fields=Outer)
    assert msg == "unknown field; did you mean 'rate'?"


def test_missing_wrong_type_non_finite_and_union_errors_read_plainly():
    found = issues({"steps": "x", "inner": {"rate": float("nan")}, "items": [{"rate": 2}]})
    wrong_type = "has the wrong type: give a table (such as year steps { 2026 = 0.5 }) or a number"
    assert [(loc, msg) for loc, _, msg in found] == [
        (("name",), "is required"),
        (("steps",), wrong_type),
        (("inner", "rate"), NOT_FINITE),
        (("items", 0, "rate"), "Input should be less than or equal to 1"),
    ]
    assert [value for _, value, _ in found][::3] == [..., 2]


def test_problems_name_the_file_of_each_location_and_hide_whole_tables():
    with pytest.raises(ValidationError) as info:
        Outer.model_validate({"name": {"a": 1}})
    [problem] = validation_problems(
        info.value, lambda loc: "base.toml" if loc[0] == "top" else "?", prefix=("top",)
    )
    assert problem == Problem("base.toml", "top.name", "Input should be a valid string")
    assert str(ScenarioError([problem])).splitlines() == [
        "1 problem in the scenario:",
        "  base.toml: top.name: Input should be a valid string",
    ]
