"""Overrides of scenario values: field paths (``rules[fixed_50].params.term_years``) and values.

Given as ``{"model.discount_rate": 0.05}`` from Python or ``--set model.discount_rate=0.05`` from
the command line, and applied by :mod:`benefitshare.scenario.load` after inheritance.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from benefitshare.errors import Problem, ScenarioError, did_you_mean

__all__ = ["split_path", "parse_override", "apply_overrides"]


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def split_path(path: str) -> list[str | int]:
    """The parts of a field path: ``"rules[fixed_50].params.term_years"`` gives
    ``["rules", "fixed_50", "params", "term_years"]``; ``[2]`` gives the integer 2.

    Raises
    ------
    ValueError
        If the path cannot be read.
    """
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_TOKEN.finditer(path):
        if m.start() != pos and path[pos : m.start()] != ".":
            raise ValueError(f"cannot read the field path {path!r}")
        pos = m.end()
        if m.group(1) is not None:
            parts.append(m.group(1))
        else:
            inner = m.group(2)
            parts.append(int(inner) if inner.lstrip("-").isdigit() else inner)
    if pos != len(path) or not parts:
        raise ValueError(f"cannot read the field path {path!r}")
    return parts


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``"path=value"`` and read the value as TOML (``0.5``, ``true``, ``[1, 2]``).

    A value that is not valid TOML is taken as a string.

    Raises
    ------
    ScenarioError
        If there is no ``=``.
    """
    if "=" not in text:
        raise ScenarioError(
            Problem(
                "<overrides>",
                text,
                "an override must look like path=value, e.g. model.discount_rate=0.05",
            )
        )
    key, _, value = text.partition("=")
    key = key.strip()
    value = value.strip()
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key, parsed


def apply_overrides(raw: dict, overrides: Mapping[str, Any] | None) -> dict:
    """Return a copy of ``raw`` with each ``path = value`` override set.

    A path is dot separated; ``[2]`` indexes a list and ``[name]`` picks the list item whose
    ``name`` is ``name`` (``rules[fixed_50].params.term_years``).
    """
    out = copy.deepcopy(raw)
    if not overrides:
        return out
    problems: list[Problem] = []
    for path, value in overrides.items():
        try:
            parts = split_path(path)
        except ValueError as exc:
            problems.append(Problem("<overrides>", path, str(exc), value))
            continue
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if isinstance(part, str):
                    names = [x.get("name") for x in node if isinstance(x, dict)]
                    if part not in names:
                        hint = did_you_mean(part, names)
                        msg = f"no item named {part!r}" + (
                            f"; did you mean {hint!r}?" if hint else ""
                        )
                        problems.append(Problem("<overrides>", path, msg, value))
                        break
                    part = names.index(part)
                if not -len(node) <= part < len(node):
                    problems.append(
                        Problem(
                            "<overrides>",
                            path,
                            f"index {part} is out of range (0..{len(node) - 1})",
                            value,
                        )
                    )
                    break
                if last:
                    node[part] = value
                else:
                    node = node[part]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                problems.append(
                    Problem("<overrides>", path, "goes inside a value that is not a table", value)
                )
                break
    if problems:
        raise ScenarioError(problems)
    return out
