"""What changed in the inputs of two scenarios: scenario fields by field path, projects by id.

Both scenarios are compared fully resolved (after ``base =`` inheritance and overrides, as
:attr:`benefitshare.scenario.load.Scenario.raw` holds them), so an inherited value counts as a
value of the child. Field paths use the syntax of ``--set``: a list item with a ``name`` is
addressed by it (``rules[fixed_50_50].params.term_years``), any other list item by its index.
The project tables are compared row by row by ``project_id``.

The diff verb (:mod:`benefitshare.analysis.diff`) renders these tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["flatten_inputs", "input_changes", "project_changes", "numeric_delta"]

#: Columns of :func:`input_changes`.
INPUT_COLUMNS = ["path", "change", "old", "new", "delta"]
#: Columns of :func:`project_changes`.
PROJECT_COLUMNS = ["project_id", "change", "column", "old", "new", "delta"]


def _key(part: str) -> str:
    """A dict key as a path component (bracketed when it holds a character of the syntax)."""
    return f"[{part}]" if any(c in part for c in ".[]") or part == "" else part


def _join(prefix: str, part: str) -> str:
    if part.startswith("["):
        return f"{prefix}{part}"
    return f"{prefix}.{part}" if prefix else part


def _named(items: list) -> bool:
    """True if every item is a table with a distinct string ``name``."""
    names = [x.get("name") if isinstance(x, dict) else None for x in items]
    return (
        bool(items)
        and all(isinstance(n, str) and n for n in names)
        and len(set(names)) == len(names)
    )


def flatten_inputs(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf value of a raw scenario by its field path, in the order of the file.

    Tables are walked into; a list of tables is walked into item by item (by ``name`` when every
    item has a distinct one, else by index); any other list is one value.

    Parameters
    ----------
    raw : mapping
        A scenario as parsed from TOML (:attr:`Scenario.raw`).
    prefix : str
        Path of ``raw`` itself (empty at the top level).

    Returns
    -------
    dict of str to object
        ``{"model.discount_rate": 0.05, "rules[fixed_50].params.shares.shenzhen": 0.5, ...}``.
    """
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = _join(prefix, _key(str(key)))
        out.update(_flatten_value(value, path))
    return out


def _flatten_value(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        if not value:
            return {path: {}}
        return flatten_inputs(value, path)
    if isinstance(value, list) and value and all(isinstance(x, Mapping) for x in value):
        out: dict[str, Any] = {}
        named = _named(value)
        for i, item in enumerate(value):
            out.update(flatten_inputs(item, f"{path}[{item['name'] if named else i}]"))
        return out
    return {path: value}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def numeric_delta(old: Any, new: Any) -> float | None:
    """``new - old`` when both are finite numbers (not booleans), else None.

    Computed on the decimal values as written, so that 0.6 - 0.5 is 0.1.
    """
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (old, new))
    if not ok or not all(math.isfinite(v) for v in (old, new)):
        return None
    return float(Decimal(repr(new)) - Decimal(repr(old)))


def _projects_path(raw: Mapping[str, Any]) -> str | None:
    model = raw.get("model")
    value = model.get("projects") if isinstance(model, Mapping) else None
    return value if isinstance(value, str) else None


def _shown_path(value: str) -> str:
    path = Path(value)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def input_changes(raw_a: Mapping[str, Any], raw_b: Mapping[str, Any]) -> pd.DataFrame:
    """Every field that differs between two resolved scenarios.

    Parameters
    ----------
    raw_a, raw_b : mapping
        The merged raw scenarios (:attr:`Scenario.raw`), A the old and B the new.

    Returns
    -------
    pandas.DataFrame
        One row per changed field: ``path``, ``change`` (``changed``, ``added`` in B or
        ``removed`` from A), ``old`` and ``new`` (None where absent), ``delta`` (``new - old``
        for numbers, else None). The project table's file is shown relative to the working
        folder; its rows are compared by :func:`project_changes`.
    """
    flat_a, flat_b = flatten_inputs(raw_a), flatten_inputs(raw_b)
    for flat, raw in ((flat_a, raw_a), (flat_b, raw_b)):
        projects = _projects_path(raw)
        if projects is not None:
            flat["model.projects"] = _shown_path(projects)
    rows = []
    for path in [*flat_a, *(p for p in flat_b if p not in flat_a)]:
        if path not in flat_b:
            rows.append((path, "removed", flat_a[path], None, None))
        elif path not in flat_a:
            rows.append((path, "added", None, flat_b[path], None))
        elif not _same(flat_a[path], flat_b[path]):
            old, new = flat_a[path], flat_b[path]
            rows.append((path, "changed", old, new, numeric_delta(old, new)))
    return pd.DataFrame(rows, columns=INPUT_COLUMNS, dtype=object)


def _project_records(table) -> dict[str, dict[str, Any]]:
    if table is None:
        return {}
    return {row.project_id: row.model_dump() for row in table.rows}


def _describe(record: Mapping[str, Any]) -> str:
    name = record.get("name") or record["project_id"]
    return f"{name} (park {record['park']}, investment_yuan {record['investment_yuan']:,.0f})"


def project_changes(table_a, table_b) -> pd.DataFrame:
    """Projects added, removed or changed between two project tables, by ``project_id``.

    Parameters
    ----------
    table_a, table_b : ProjectTable or None
        The validated project tables (:attr:`Scenario.projects`), A the old and B the new.

    Returns
    -------
    pandas.DataFrame
        ``project_id``, ``change`` (``added``, ``removed`` or ``changed``), ``column`` (the
        changed column; None for an added or removed project), ``old``, ``new`` (for an added or
        removed project, its name, park and investment) and ``delta`` (``new - old`` for
        numbers). A changed project has one row per changed column, in the table's column order.
    """
    rec_a, rec_b = _project_records(table_a), _project_records(table_b)
    rows = []
    for pid in [*rec_a, *(p for p in rec_b if p not in rec_a)]:
        if pid not in rec_b:
            rows.append((pid, "removed", None, _describe(rec_a[pid]), None, None))
        elif pid not in rec_a:
            rows.append((pid, "added", None, None, _describe(rec_b[pid]), None))
        else:
            old_row, new_row = rec_a[pid], rec_b[pid]
            for column, old in old_row.items():
                new = new_row.get(column)
                if not _same(old, new):
                    rows.append((pid, "changed", column, old, new, numeric_delta(old, new)))
    return pd.DataFrame(rows, columns=PROJECT_COLUMNS, dtype=object)
