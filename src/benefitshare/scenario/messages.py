"""Messages about a scenario: which file set each key, and validation errors as problems.

A scenario may be merged from several files (``base =`` inheritance) and overrides, so a problem
must name the file that set the bad key: :class:`Origins` remembers it. Validation errors of the
scenario schema are turned into :class:`~benefitshare.errors.Problem` by the one translator,
:func:`benefitshare.errors.validation_problems`, given the origins, the fields each section
allows (for a "did you mean" hint or the allowed names) and the keys that were renamed.
:func:`annotated_toml` writes the merged content as TOML with the file that set each value
(``benefitshare validate --resolved``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

from pydantic import ValidationError

from benefitshare.errors import NOT_FINITE, Problem, location_text, validation_problems
from benefitshare.scenario.schema import ScenarioSpec

__all__ = [
    "RENAMED_KEYS",
    "Origins",
    "SetBy",
    "spec_problems",
    "nonfinite_problems",
    "annotated_toml",
]

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
    removed : list of (str, str)
        Inherited entries taken out by a ``remove`` list (``"costs.<name>"``), and the file
        whose ``remove`` took each out.
    """

    def __init__(self) -> None:
        self.map: dict[tuple, str] = {}
        self.removed: list[tuple[str, str]] = []

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

    def setter(self, loc: tuple) -> str:
        """The file that set the field at ``loc`` itself (or its closest parent)."""
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.map:
                return self.map[loc[:n]]
        return self.map.get((), "")

    def files_under(self, loc: tuple) -> list[str]:
        """The files that set the parts of the table or list at ``loc``, in the order first
        seen; for a single value, the file that set it."""
        n = len(loc)
        files = [f for k, f in self.map.items() if len(k) > n and k[:n] == loc]
        return list(dict.fromkeys(files)) or [self.setter(loc)]

    def file_for(self, loc: tuple) -> str:
        """Who set the field at ``loc``, for a message: the file (or its closest parent's), or
        for a table or list whose parts came from several, those files
        (``"scenarios/reference.toml and <overrides>"``)."""
        return " and ".join(self.files_under(loc))


@dataclasses.dataclass
class SetBy:
    """Which file set a value and, for a table or list, the files of its parts (same shape).

    Inheritance merges these along with the values (:mod:`benefitshare.scenario.load`), so
    that each part keeps its file when entries are replaced, appended or removed.
    """

    file: str
    parts: Any = None

    @classmethod
    def of(cls, value: Any, file: str) -> SetBy:
        """``value`` and everything in it set by ``file``."""
        if isinstance(value, dict):
            return cls(file, {k: cls.of(v, file) for k, v in value.items()})
        if isinstance(value, list):
            return cls(file, [cls.of(v, file) for v in value])
        return cls(file)

    def record(self, origins: Origins, prefix: tuple = ()) -> None:
        """Note in ``origins`` the file of this value (at ``prefix``) and of each part."""
        origins.map[prefix] = self.file
        items = self.parts.items() if isinstance(self.parts, dict) else enumerate(self.parts or ())
        for k, part in items:
            part.record(origins, (*prefix, k))


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


# ---------------------------------------------------------------------------------- resolved view


def _toml_key(key: object) -> str:
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _is_section(value: Any, loc: tuple, origins: Origins) -> bool:
    """Whether a value is written as a ``[section]``: a top-level table, a table holding tables,
    or a table whose parts were set by different files (so that each shows its own file)."""
    return isinstance(value, dict) and (
        len(loc) == 1
        or any(isinstance(v, dict) or _is_table_array(v) for v in value.values())
        or len(origins.files_under(loc)) > 1
    )


def _emit(lines: list[str], table: dict, loc: tuple, origins: Origins) -> None:
    """Append ``table`` (at ``loc``) as TOML lines, each value with the files that set it."""

    def line(text: str, where: str) -> None:
        lines.append(f"{text:<56}  # {where}" if len(text) < 56 else f"{text}  # {where}")

    later = []
    for key, value in table.items():
        if _is_section(value, (*loc, key), origins) or _is_table_array(value):
            later.append((key, value))
            continue
        where = ", ".join(origins.files_under((*loc, key)))
        line(f"{_toml_key(key)} = {_toml_value(value)}", where)
    for key, value in later:
        dotted = ".".join(_toml_key(k) for k in (*loc, key) if not isinstance(k, int))
        if isinstance(value, dict):
            lines.append("")
            line(f"[{dotted}]", ", ".join(origins.files_under((*loc, key))))
            _emit(lines, value, (*loc, key), origins)
            continue
        for i, entry in enumerate(value):
            lines.append("")
            line(f"[[{dotted}]]", origins.setter((*loc, key, i)))
            _emit(lines, entry, (*loc, key, i), origins)


def annotated_toml(raw: dict, origins: Origins) -> list[str]:
    """The lines of ``raw`` as TOML, each value ending with a comment naming the file that set it.

    Tables are written as ``[section]``, arrays of tables as ``[[section]]`` entries and other
    values inline, so the text parses back (``tomllib``) to ``raw``.
    """
    lines: list[str] = []
    _emit(lines, raw, (), origins)
    return lines
