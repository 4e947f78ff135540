"""A candidate split mechanism as written in a scenario: rule specs, clauses and scopes.

These pydantic models are the ``[[rules]]`` entries of a scenario file (docs/model.md §3.8 and
§4). They sit in the rules layer, below the scenario, so that the model, the solver and the
coalition game can build a mechanism without reading a scenario. Whether a clause names a
registered rule with valid parameters is checked against the registry when a scenario is loaded.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

from benefitshare.errors import ID_KINDS, id_problem, percent_hint

__all__ = [
    "StrictModel",
    "INPUT_CONFIG",
    "MAX_YUAN",
    "Yuan",
    "yuan",
    "Year",
    "YearKey",
    "outside_horizon",
    "SHARE_TOLERANCE",
    "shares_sum_problem",
    "Fraction",
    "bounded",
    "name_of",
    "Identifier",
    "doc",
    "toml_text",
    "Scope",
    "Clause",
    "RuleSpec",
]

#: A calendar year [year], written as a TOML integer (``2026``, not ``"2026"`` or ``true``).
Year = Annotated[int, Field(ge=1900, le=2200)]

#: A calendar year as the key of a table of year steps (``{ 2026 = 0.1 }``): TOML keys are
#: always text, so the key ``"2026"`` is read as the year 2026.
YearKey = Annotated[int, Strict(False), Field(ge=1900, le=2200)]


def outside_horizon(year: int, start: int, end: int, *, earlier_ok: bool = False) -> str | None:
    """Why a dated input in ``year`` is refused for the horizon ``start..end``; None when it is not.

    One rule for every dated input (a cost or platform capital payment, a clause's from_year and
    to_year, a rule's start_year, base_year or review year, a project's start_year, a step of a
    schedule): a year after ``end`` is refused, since it would never be used (a rule starting
    then would silently leave the host everything). A year before ``start`` is refused too,
    except (``earlier_ok=True``) where it has a meaning: a step of a schedule that carries
    forward applies from the first model year until the next step, and the term of a
    ``fixed_ratio`` or the guarantee of a ``fixed_return`` that began earlier runs on for its
    remaining years.

    Examples
    --------
    >>> outside_horizon(2070, 2026, 2055)
    "year 2070 is after the model's end_year 2055: give a year within the horizon 2026..2055, or set model.end_year to 2070 or later"
    """
    if year > end:
        return (
            f"year {year} is after the model's end_year {end}: give a year within the horizon "
            f"{start}..{end}, or set model.end_year to {year} or later"
        )
    if year < start and not earlier_ok:
        return (
            f"year {year} is before the model's start_year {start}: give a year within the "
            f"horizon {start}..{end}, or set model.start_year to {year} or earlier"
        )
    return None


#: How far shares may sum from 1 and still be taken as summing to 1 (float rounding of
#: fractions written with up to 9 decimals).
SHARE_TOLERANCE = 1e-9


def shares_sum_problem(total: float) -> str | None:
    """The message for shares that do not sum to 1 within :data:`SHARE_TOLERANCE`, or None.

    The sum is shown with enough digits to see how far it is from 1.

    Examples
    --------
    >>> shares_sum_problem(0.99999999)
    'shares must sum to 1 (they sum to 0.99999999): they may differ from 1 by at most 1e-09'
    """
    if abs(total - 1.0) <= SHARE_TOLERANCE:
        return None
    return (
        f"shares must sum to 1 (they sum to {total:.15g}): they may differ from 1 by at most "
        f"{SHARE_TOLERANCE:g}"
    )


#: The largest amount of money any input may hold [yuan]: 1e15 yuan (10 million 亿) is about
#: ten times China's yearly GDP, far beyond any park, yet small enough that sums and products of
#: amounts over a century of years and thousands of projects stay finite in float64.
MAX_YUAN = 1e15


def yuan(low: float = 0.0, *, above_low: bool = False) -> Any:
    """An amount of money in ``[low, MAX_YUAN]`` (``(low, MAX_YUAN]`` with ``above_low``).

    The bound appears in the JSON Schema as ``maximum``; a larger number is answered with
    "at most 1e15 yuan, more than any park can reach".
    """

    def within_reach(value: Any) -> Any:
        number = value
        if isinstance(value, str):  # a CSV cell; the type check comes after
            try:
                number = float(value)
            except ValueError:
                return value
        if (
            isinstance(number, int | float)
            and not isinstance(number, bool)
            and MAX_YUAN < number < float("inf")  # infinity has its own message
        ):
            raise ValueError(
                f"must be at most {MAX_YUAN:.0e} yuan (MAX_YUAN), more than any park can "
                "reach: check the unit (yuan, not fen) and the number of zeros"
            )
        return value

    lower = {"gt": low} if above_low else {"ge": low}
    return Annotated[float, Field(le=MAX_YUAN, **lower), BeforeValidator(within_reach)]


#: A non-negative amount of money, at most :data:`MAX_YUAN` [yuan].
Yuan = yuan()


def bounded(low: float, high: float, *, above_low: bool = False) -> Any:
    """A number in ``[low, high]`` whose error says "write 0.6 for 60%" for a percentage.

    With ``above_low`` the number must be above ``low`` (in ``(low, high]``). The bounds appear
    in the JSON Schema as ``minimum`` (``exclusiveMinimum``) and ``maximum``.
    """

    def not_a_percentage(value: Any) -> Any:
        fix = percent_hint(value, low, high)
        if fix is not None:
            raise ValueError(
                f"must be between {low:g} and {high:g} (a fraction, not a percentage): {fix}"
            )
        return value

    lower = {"gt": low} if above_low else {"ge": low}
    return Annotated[float, Field(le=high, **lower), BeforeValidator(not_a_percentage)]


#: A share or probability in [0, 1] [fraction]; 60 for 0.6 gets "write 0.6 for 60%".
Fraction = bounded(0.0, 1.0)


def name_of(kind: str, max_length: int = 64) -> Any:
    """A string that must be a valid name of ``kind`` (see :data:`benefitshare.errors.ID_KINDS`).

    An invalid name is answered in words, with a valid name to use instead; the JSON Schema
    keeps the ``pattern``.
    """

    def valid(value: Any) -> Any:
        problem = id_problem(value, kind)
        if problem is not None:
            raise ValueError(problem)
        return value

    return Annotated[
        str, Field(pattern=ID_KINDS[kind][0], max_length=max_length), BeforeValidator(valid)
    ]


#: The id of a party, park or sector: lowercase letters, digits and underscores.
Identifier = name_of("id")

#: The name of a candidate mechanism: letters, digits, underscores, dots and hyphens.
RuleName = name_of("rule name", 80)


def toml_text(value: Any) -> str:
    """A value as it is written in a scenario file: ``"shanwei"``, ``0.5``, ``{ a = 0.5 }``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {toml_text(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_text(v) for v in value) + "]"
    return repr(value)


def doc(what: str, example: Any, unit: str | None = None, **extra: Any) -> dict[str, Any]:
    """Keyword arguments of ``Field`` documenting a field: its meaning, unit and an example.

    The description reads ``what [unit]. Example: 0.06``; the example is also given as the JSON
    Schema's ``examples`` (tables with string keys, as TOML has them).

    Examples
    --------
    >>> doc("Discount rate", 0.06, "fraction/year")["description"]
    'Discount rate [fraction/year]. Example: 0.06'
    """
    text = what + (f" [{unit}]" if unit else "") + f". Example: {toml_text(example)}"
    return {"description": text, "examples": [_json_ready(example)], **extra}


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


#: The configuration of every model of an input file: unknown keys rejected, NaN and infinity
#: refused, immutable, and strict types: a boolean is not a number (``true`` is not 1), a number
#: in a string is not a number (``"0.05"``) and a string is not a boolean (``"yes"``). A TOML
#: integer is still a number (``discount_rate = 0``). Tables of year steps read their keys as
#: years (:data:`YearKey`).
INPUT_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class StrictModel(BaseModel):
    """Base of the models of an input file: unknown keys rejected, NaN refused, immutable,
    strict types (see :data:`INPUT_CONFIG`)."""

    model_config = INPUT_CONFIG


class Scope(StrictModel):
    """Which part of the pool a clause covers; omitted lists mean all."""

    taxes: list[str] | None = Field(
        None,
        **doc(
            "Taxes covered (ids from the glossary); all taxes in the pool when omitted",
            ["vat", "cit"],
            "list of tax ids",
        ),
    )
    parks: list[str] | None = Field(
        None, **doc("Parks covered; all parks when omitted", ["coop"], "list of park ids")
    )
    groups: list[str] | None = Field(
        None,
        **doc(
            "Project groups covered (the group column of the project table); all when omitted",
            ["relocated"],
            "list of group names",
        ),
    )

    def overlaps(self, other: Scope) -> bool:
        """Whether the two scopes share a cell of the pool (a tax of a park and group)."""
        for field in ("taxes", "parks", "groups"):
            x, y = getattr(self, field), getattr(other, field)
            if x is not None and y is not None and not set(x) & set(y):
                return False
        return True


class Clause(StrictModel):
    """One split rule applied to one scope over a window of years."""

    rule: str = Field(
        min_length=1,
        **doc("Registered split rule of this clause (see `benefitshare rules`)", "fixed_ratio"),
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        **doc(
            "Parameters of the rule (see `benefitshare rules --params RULE`)",
            {"shares": {"shenzhen": 0.5, "shanwei": 0.5}},
        ),
    )
    scope: Scope = Field(
        default_factory=Scope,
        **doc("Part of the pool the clause covers; all of it when omitted", {"parks": ["coop"]}),
    )
    from_year: Year | None = Field(
        None,
        **doc("First year the clause applies; the first model year when omitted", 2026, "year"),
    )
    to_year: Year | None = Field(
        None, **doc("Last year the clause applies; the last model year when omitted", 2035, "year")
    )


class RuleSpec(StrictModel):
    """A candidate benefit-sharing mechanism: one rule, or clauses with scopes and terms.

    Cells of the pool that no clause covers stay with the host (the legal baseline).
    """

    name: RuleName = Field(
        **doc(
            "Name of the mechanism, used in outputs and on the command line (letters, digits, "
            "underscores, dots, hyphens)",
            "fixed_50_50",
        )
    )
    label: str | None = Field(
        None, **doc("Label for charts and tables; the name when omitted", "50:50 for 10 years")
    )
    description: str = Field(
        "", **doc("What the mechanism is and where it comes from", "Zhongshan-Heyuan style split")
    )
    rule: str | None = Field(
        None,
        **doc(
            "Registered split rule (see `benefitshare rules`); give this or clauses", "fixed_ratio"
        ),
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        **doc(
            "Parameters of the rule (see `benefitshare rules --params RULE`)",
            {"shares": {"shenzhen": 0.5, "shanwei": 0.5}, "term_years": 10},
        ),
    )
    scope: Scope = Field(
        default_factory=Scope,
        **doc("Part of the pool the rule covers; the rest stays with the host", {"taxes": ["vat"]}),
    )
    clauses: list[Clause] | None = Field(
        None,
        **doc(
            "Clauses, each a rule on a scope and a window of years; give this or rule",
            [
                {
                    "rule": "fixed_ratio",
                    "params": {"shares": {"shenzhen": 0.5, "shanwei": 0.5}},
                    "to_year": 2030,
                }
            ],
        ),
    )

    @model_validator(mode="after")
    def _one_form(self) -> RuleSpec:
        if (self.rule is None) == (self.clauses is None):
            raise ValueError("give either 'rule' (with 'params') or a list of 'clauses', not both")
        if self.clauses is not None and not self.clauses:
            raise ValueError("'clauses' must list at least one clause")
        return self

    def all_clauses(self) -> list[Clause]:
        """The clauses of this mechanism (a single-rule mechanism is one clause)."""
        if self.clauses is not None:
            return list(self.clauses)
        return [Clause(rule=self.rule, params=dict(self.params), scope=self.scope)]
