"""Stage 1, projects: the validated project table, one row per project.

The table is read from CSV. Each row is validated on its own (types, ranges, phasing) and the
table as a whole (unique ids); every problem names the line, the project and the column.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from benefitshare.errors import Problem, ScenarioError, did_you_mean, validation_issues
from benefitshare.io import files as files_io
from benefitshare.rules.spec import Yuan, yuan

__all__ = ["ProjectRow", "ProjectTable", "load_projects", "PROJECT_COLUMNS"]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
#: Land per project [mu]: at most 1e7 mu (about 6,700 km², larger than Shenzhen).
LandMu = Annotated[float, Field(ge=0.0, le=1e7)]


class ProjectRow(BaseModel):
    """One project of the table. Units are in the column names."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    project_id: str = Field(min_length=1, max_length=64)
    name: str = ""
    park: str = Field(min_length=1)
    sector: str = Field(min_length=1)
    group: str = Field("default", min_length=1, description="Project group, for scoping rules.")
    investment_yuan: yuan(0.0, above_low=True)
    start_year: Annotated[int, Field(ge=1900, le=2200)]
    construction_years: Annotated[int, Field(ge=1, le=10)] = 2
    phasing: str = Field(
        "", description="Capex shares by construction year, e.g. '0.4;0.6'; even when empty."
    )
    ramp_up_years: Annotated[int, Field(ge=1, le=20)] = 3
    output_per_fixed_asset: Annotated[float, Field(ge=0.0, le=50.0)] = Field(
        description="Sales at full capacity per yuan of investment [yuan/yuan/year]."
    )
    value_added_rate: Fraction
    profit_margin: Annotated[float, Field(ge=-1.0, le=1.0)]
    wage_share: Fraction = Field(description="Wages as a share of value added [fraction].")
    vat_category: Literal["goods", "services", "transport"] = "goods"
    land_mu: LandMu
    building_value_yuan: Yuan = 0.0
    relocated: bool = False
    pre_move_annual_tax_yuan: Yuan = 0.0
    high_tech: bool = False
    slpe: bool = False
    rebate_rate: Fraction = 0.0
    rebate_years: Annotated[int, Field(ge=0, le=60)] = 0
    landing_probability: Fraction = 1.0
    additionality: Fraction | None = None

    @field_validator("relocated", "high_tech", "slpe", mode="before")
    @classmethod
    def _bool(cls, value):
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "yes", "1", "y"):
                return True
            if low in ("false", "no", "0", "n", ""):
                return False
            raise ValueError("must be true or false (also yes/no, 1/0)")
        return value

    @field_validator("project_id", "name", "park", "sector", "group", "phasing")
    @classmethod
    def _printable(cls, value: str) -> str:
        bad = [c for c in value if unicodedata.category(c) in ("Cc", "Cf")]
        if bad:
            raise ValueError(
                f"holds the invisible character U+{ord(bad[0]):04X} (a control or formatting "
                "character): retype the cell"
            )
        return value

    @field_validator("additionality", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("phasing")
    @classmethod
    def _phasing(cls, value: str, info: ValidationInfo) -> str:
        # a field check (construction_years is validated before it), so the error names the column
        if value:
            shares = _parse_phasing(value)
            years = info.data.get("construction_years")
            if years is not None and len(shares) != years:
                raise ValueError(
                    f"phasing has {len(shares)} shares but construction_years is "
                    f"{years}: give one share per construction year"
                )
            if any(not math.isfinite(s) or s < 0 for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
                raise ValueError("phasing shares must be non-negative and sum to 1")
        return value

    def phasing_shares(self) -> list[float]:
        if not self.phasing:
            return [1.0 / self.construction_years] * self.construction_years
        return _parse_phasing(self.phasing)


def _parse_phasing(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(";")]
    except ValueError:
        raise ValueError("phasing must be numbers separated by ';', e.g. 0.4;0.6") from None


PROJECT_COLUMNS: tuple[str, ...] = tuple(ProjectRow.model_fields)
_REQUIRED = tuple(n for n, f in ProjectRow.model_fields.items() if f.is_required())


@dataclasses.dataclass(frozen=True)
class ProjectTable:
    """Validated projects as columns (numpy arrays of length P, or lists of str).

    ``line`` holds each project's line number in the CSV file, for messages.
    """

    rows: tuple[ProjectRow, ...]
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def __getattr__(self, name: str):
        if name in ProjectRow.model_fields:
            values = [getattr(r, name) for r in self.rows]
            if (
                values
                and isinstance(values[0], (bool, int, float))
                and not isinstance(values[0], str)
            ):
                return np.asarray(values)
            return values
        raise AttributeError(name)

    def phasing_matrix(self) -> np.ndarray:
        """Capex shares by construction year, shape (P, max construction years), zero-padded."""
        width = max(r.construction_years for r in self.rows)
        out = np.zeros((len(self.rows), width))
        for i, r in enumerate(self.rows):
            shares = r.phasing_shares()
            out[i, : len(shares)] = shares
        return out

    def to_frame(self):
        """The table as a pandas DataFrame, one row per project."""
        import pandas as pd

        return pd.DataFrame([r.model_dump() for r in self.rows])


def load_projects(path: Path, *, display: str | None = None) -> ProjectTable:
    """Read and validate a project CSV.

    Raises
    ------
    ScenarioError
        Listing every bad cell as ``file: line N (project id), column C = value: what is allowed``,
        unknown or missing columns, and duplicate project ids.
    """
    name = display or str(path)
    header, raw_rows = files_io.read_csv_rows(path, display=name)
    problems: list[Problem] = []
    for col in header:
        if col not in PROJECT_COLUMNS:
            hint = did_you_mean(col, PROJECT_COLUMNS)
            problems.append(
                Problem(
                    name,
                    f"line 1, column {col}",
                    "unknown column"
                    + (
                        f"; did you mean {hint!r}?"
                        if hint
                        else f"; allowed: {', '.join(PROJECT_COLUMNS)}"
                    ),
                )
            )
    for col in _REQUIRED:
        if col not in header:
            problems.append(Problem(name, "line 1", f"required column {col!r} is missing"))
    if problems:
        raise ScenarioError(problems)

    rows: list[ProjectRow] = []
    lines: list[int] = []
    seen: dict[str, int] = {}
    for raw in raw_rows:
        line = raw.pop("__line__")
        data = {
            k: v
            for k, v in raw.items()
            if not (v == "" and not ProjectRow.model_fields[k].is_required())
        }
        pid = raw.get("project_id", "?") or "?"
        try:
            row = ProjectRow.model_validate(data)
        except ValidationError as exc:
            for loc, value, msg in validation_issues(
                exc, kind="column", hint_fields=PROJECT_COLUMNS
            ):
                col = ".".join(str(x) for x in loc)
                where = f"line {line} ({pid}), column {col}" if col else f"line {line} ({pid})"
                problems.append(Problem(name, where, msg, value))
            continue
        if row.project_id in seen:
            problems.append(
                Problem(
                    name,
                    f"line {line}, column project_id",
                    f"duplicate project id (first on line {seen[row.project_id]})",
                    row.project_id,
                )
            )
            continue
        seen[row.project_id] = line
        rows.append(row)
        lines.append(line)
    if problems:
        raise ScenarioError(problems)
    return ProjectTable(rows=tuple(rows), line=np.asarray(lines))
