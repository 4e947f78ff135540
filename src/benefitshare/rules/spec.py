"""A candidate split mechanism as written in a scenario: rule specs, clauses and scopes.

These pydantic models are the ``[[rules]]`` entries of a scenario file (docs/model.md §3.7 and
§4). They sit in the rules layer, below the scenario, so that the model, the solver and the
coalition game can build a mechanism without reading a scenario. Whether a clause names a
registered rule with valid parameters is checked against the registry when a scenario is loaded.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["StrictModel", "Year", "Scope", "Clause", "RuleSpec"]

#: A calendar year [year].
Year = Annotated[int, Field(ge=1900, le=2200)]


class StrictModel(BaseModel):
    """Base of the models of an input file: unknown keys rejected, NaN refused, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Scope(StrictModel):
    """Which part of the pool a clause covers; omitted lists mean all."""

    taxes: list[str] | None = None
    parks: list[str] | None = None
    groups: list[str] | None = None

    def overlaps(self, other: Scope) -> bool:
        """Whether the two scopes share a cell of the pool (a tax of a park and group)."""
        for field in ("taxes", "parks", "groups"):
            x, y = getattr(self, field), getattr(other, field)
            if x is not None and y is not None and not set(x) & set(y):
                return False
        return True


class Clause(StrictModel):
    """One split rule applied to one scope over a window of years."""

    rule: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    scope: Scope = Field(default_factory=Scope)
    from_year: Year | None = None
    to_year: Year | None = None


class RuleSpec(StrictModel):
    """A candidate benefit-sharing mechanism: one rule, or clauses with scopes and terms.

    Cells of the pool that no clause covers stay with the host (the legal baseline).
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=80)]
    label: str | None = None
    description: str = ""
    rule: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    scope: Scope = Field(default_factory=Scope)
    clauses: list[Clause] | None = None

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
