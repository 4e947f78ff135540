"""Errors raised on bad input.

Every problem with a scenario, a project table or a rule is reported as one :class:`Problem`
naming the file, the field path (or CSV row and column), the bad value and what is allowed.
All problems found in one load are collected into a single :class:`ScenarioError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError", "RuleError", "did_you_mean", "unknown_name"]


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


def did_you_mean(name: object, valid: Iterable[object]) -> str | None:
    """The valid name closest to a mistyped ``name``, or ``None`` when none is close.

    The one spelling suggester of the package: scenario fields, rule names, parties, project
    columns, sweep metrics and executors all use it.

    Examples
    --------
    >>> did_you_mean("shenzen", ["shenzhen", "shanwei"])
    'shenzhen'
    """
    names = [str(v) for v in valid if v is not None and str(v)]
    hits = difflib.get_close_matches(str(name), names, n=1)
    return hits[0] if hits else None


def unknown_name(kind: str, name: object, valid: Iterable[object]) -> str:
    """The message for a name that is not one of ``valid``: a suggestion, else the valid names.

    Examples
    --------
    >>> unknown_name("rule", "fixed_5050", ["fixed_50_50", "host_keeps_all"])
    "unknown rule; did you mean 'fixed_50_50'?"
    """
    valid = [str(v) for v in valid]
    hint = did_you_mean(name, valid)
    if hint is not None:
        return f"unknown {kind}; did you mean {hint!r}?"
    return f"unknown {kind}; valid: {', '.join(valid) if valid else '(none)'}"
