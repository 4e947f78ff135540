"""Messages about a scenario: which file set each key, and validation errors as problems.

A scenario may be merged from several files (``base =`` inheritance) and overrides, so a problem
must name the file that set the bad key: :class:`Origins` remembers it. Validation errors of the
scenario schema are turned into :class:`~benefitshare.errors.Problem` by the one translator,
:func:`benefitshare.errors.validation_problems`, given the origins, the fields each section
allows (for a "did you mean" hint or the allowed names) and the keys that were renamed.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from benefitshare.errors import NOT_FINITE, Problem, location_text, validation_problems
from benefitshare.scenario.schema import ScenarioSpec

__all__ = ["RENAMED_KEYS", "Origins", "spec_problems", "nonfinite_problems"]

#: Keys that were renamed: old name -> new name. Used to give a precise hint.
RENAMED_KEYS: dict[str, str] = {
    "discount": "discount_rate",
    "project_file": "projects",
    "projects_csv": "projects",
    "split_rules": "rules",
    "ratio": "shares",
}


class Origins:
    """Which file set which key, so that an error names the right file.

    Attributes
    ----------
    map : dict of tuple to str
        Field path -> display name of the file (or ``"<overrides>"``) that set it.
    """

    def __init__(self) -> None:
        self.map: dict[tuple, str] = {}

    @classmethod
    def single(cls, name: str) -> Origins:
        """Every key comes from ``name``."""
        o = cls()
        o.map[()] = name
        return o

    def record(self, raw: Any, file: str, prefix: tuple = ()) -> None:
        """Note that ``file`` set ``raw`` (at ``prefix``) and everything in it."""
        self.map[prefix] = file
        if isinstance(raw, dict):
            for k, v in raw.items():
                self.record(v, file, prefix + (k,))
        elif isinstance(raw, list):
            for i, v in enumerate(raw):
                self.record(v, file, prefix + (i,))

    def file_for(self, loc: tuple) -> str:
        """The file that set the field at ``loc`` (or its closest parent)."""
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.map:
                return self.map[loc[:n]]
        return self.map.get((), "")


def spec_problems(exc: ValidationError, origins: Origins) -> list[Problem]:
    """The problems of a scenario that failed validation, each naming the file that set it."""
    return validation_problems(
        exc, origins.file_for, hint_fields=ScenarioSpec, renamed=RENAMED_KEYS
    )


def _nonfinite(raw: Any, loc: tuple = ()) -> list[tuple[tuple, float]]:
    found = []
    if isinstance(raw, float) and not math.isfinite(raw):
        found.append((loc, raw))
    elif isinstance(raw, dict):
        for k, v in raw.items():
            found.extend(_nonfinite(v, loc + (k,)))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            found.extend(_nonfinite(v, loc + (i,)))
    return found


def nonfinite_problems(raw: Any, origins: Origins) -> list[Problem]:
    """A problem for every NaN or infinity anywhere in the raw scenario (rule parameters too)."""
    return [
        Problem(origins.file_for(loc), location_text(loc), NOT_FINITE, value)
        for loc, value in _nonfinite(raw)
    ]
