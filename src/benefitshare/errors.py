"""Errors raised on bad input.

Every problem with a scenario, a project table or a rule is reported as one :class:`Problem`
naming the file, the field path (or CSV row and column), the bad value and what is allowed.
All problems found in one load are collected into a single :class:`ScenarioError`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError", "RuleError"]


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Problem:
    """One problem with an input.

    Parameters
    ----------
    file : str
        The file the problem is in (as the user named it), or ``"<overrides>"``.
    location : str
        Field path such as ``rules[2].params.shares.shenzhen``, or ``row 7, column land_mu``.
    message : str
        What is allowed.
    value : object, optional
        The offending value; omitted from the message when it is the sentinel ``...``.
    """

    file: str
    location: str
    message: str
    value: object = ...

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        loc = self.location or "(top level)"
        if self.value is ...:
            return f"{where}{loc}: {self.message}"
        return f"{where}{loc} = {_short(self.value)}: {self.message}"


class ScenarioError(ValueError):
    """A scenario, project table or override is invalid.

    The message lists every problem found, one per line, in the form
    ``file: field.path = value: what is allowed``.

    Attributes
    ----------
    problems : list of Problem
    """

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("", "", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the scenario:"
        super().__init__("\n".join([head, *("  " + str(p) for p in self.problems)]))


class RuleError(ValueError):
    """A split rule is unknown, badly parameterised, or broke conservation of money."""
