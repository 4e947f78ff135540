"""The sweep file: its schema, loading and validation, and the errors of a sweep.

A **sweep** is a TOML file (or a dict of the same shape) that names one or more base scenarios
and two groups of inputs in the exploratory-modelling sense:

- **levers**: what the parties choose: rule parameters such as the partner's share, a term, a
  cap (override paths like ``rules[fixed_50_50].params.shares.shenzhen``). Which rule is chosen
  is a lever that costs nothing: every variant evaluates all the selected rules on the same
  draws, and ``rule`` is a column of the results;
- **uncertainties**: economic inputs nobody chooses (growth, land prices, the ranges of the
  scenario's own ``[uncertainty]`` distributions, ...), also by override path.

Each group has a design (``grid``: every combination of the listed values; ``lhs``: a Latin
hypercube; ``sobol``: a scrambled Sobol sequence; ``list``: explicit points).

This module is the first step of the batch layer: :func:`load_sweep_spec` reads and validates a
sweep file into a :class:`LoadedSweep`; :mod:`benefitshare.batch.plan` turns it into variants,
:mod:`benefitshare.batch.worker` runs one variant, :mod:`benefitshare.batch.store` keeps the
results and :mod:`benefitshare.batch.run` drives a whole sweep. The errors of all of them
(:class:`SweepError`, :class:`SweepResumeError`) live here, below every other batch module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benefitshare.analysis.sweep_effects import RESERVED_COLUMNS, SUMMARY_METRICS
from benefitshare.errors import Problem, ScenarioError, unknown_name, validation_problems
from benefitshare.io import files as _io
from benefitshare.rules.spec import Identifier

__all__ = [
    "SweepSpec",
    "SweepSection",
    "ReportSpec",
    "Variable",
    "Group",
    "Scalar",
    "SweepError",
    "SweepResumeError",
    "LoadedSweep",
    "load_sweep_spec",
    "canonical_json",
    "is_number",
    "DETAIL_TABLES",
]

#: Result tables that can be saved for every variant (``detail = [...]`` in the sweep file):
#: name -> :class:`~benefitshare.model.result.Result` method.
DETAIL_TABLES = {
    "annual": "annual",
    "draws": "draws",
    "pool": "pool",
    "costs": "costs",
    "statistics": "statistics",
    "flows": "flows",
}

Name = Identifier
Scalar = bool | int | float | str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _repeated(names: Sequence[str]) -> list[str]:
    """Names that occur more than once, sorted."""
    return sorted({n for n in names if names.count(n) > 1})


def is_number(x: Any) -> bool:
    """True for an int or float, False for a bool (a true/false input is not a number)."""
    return isinstance(x, int | float) and not isinstance(x, bool)


def _kind(x: Any) -> str:
    """``number``, ``text`` or ``bool``: the values of one input share a kind (one column type)."""
    return "number" if is_number(x) else type(x).__name__


class Variable(_Model):
    """One lever or uncertainty: which scenario fields it sets, and its values or range.

    ``path`` names one or more scenario fields in the override syntax
    (``rules[fixed_50_50].params.shares.shenzhen``); each is set to the variable's value
    (``apply = "replace"``), or the value is added to (``"add"``) or multiplies (``"multiply"``)
    every number found at that path in the base scenario (a number, a list of numbers, or a
    table of year steps). ``complement`` names fields set to ``1 - value``, for shares that must
    sum to one.
    """

    name: Name
    description: str = ""
    unit: str = Field(
        "", description="Unit of the value, for tables and charts (e.g. 'fraction', 'years')."
    )
    path: str | list[str]
    complement: str | list[str] | None = None
    apply: Literal["replace", "add", "multiply"] = "replace"
    values: list[Scalar] | None = Field(None, description="Grid values (design 'grid').")
    low: float | None = Field(
        None, description="Lower end of the range (designs 'lhs' and 'sobol')."
    )
    high: float | None = Field(
        None, description="Upper end of the range (designs 'lhs' and 'sobol')."
    )
    integer: bool = Field(
        False, description="Sample whole numbers low, low + 1, ..., high (lhs, sobol)."
    )

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @property
    def complements(self) -> list[str]:
        if self.complement is None:
            return []
        return [self.complement] if isinstance(self.complement, str) else list(self.complement)

    @model_validator(mode="after")
    def _check(self) -> Variable:
        if not self.paths or any(not p for p in self.paths):
            raise ValueError("path must name at least one scenario field")
        if self.values is not None and not self.values:
            raise ValueError("values must list at least one value")
        if self.values is not None and len({_kind(v) for v in self.values}) > 1:
            raise ValueError("values must be all numbers, all text or all true/false")
        numeric_values = self.values is None or all(is_number(v) for v in self.values)
        if self.apply != "replace" and not numeric_values:
            raise ValueError(f"apply = {self.apply!r} needs numeric values")
        if self.complement is not None:
            if self.apply != "replace":
                raise ValueError("complement can only be used with apply = 'replace'")
            if not numeric_values:
                raise ValueError("complement needs numeric values")
        if (self.low is None) != (self.high is None):
            raise ValueError("give both low and high")
        if self.low is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if (
            self.integer
            and self.low is not None
            and (self.low != int(self.low) or self.high != int(self.high))
        ):
            raise ValueError("integer = true needs whole-number low and high")
        return self


class Group(_Model):
    """The levers, or the uncertainties: a design and its inputs.

    ``grid`` crosses every input's ``values``; ``lhs`` and ``sobol`` draw ``samples`` points in
    the box ``[low, high]`` of every input (Sobol needs a power of two to keep its balance);
    ``list`` takes the explicit ``points``, each a table ``{name = ..., <input> = value, ...}``.
    A group without inputs contributes one point (the base scenario's values).
    """

    design: Literal["grid", "lhs", "sobol", "list"] = "grid"
    samples: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    inputs: list[Variable] = Field(default_factory=list)
    points: list[dict[str, Scalar]] | None = None

    @model_validator(mode="after")
    def _check(self) -> Group:
        names = [v.name for v in self.inputs]
        dup = _repeated(names)
        if dup:
            raise ValueError(f"input names must be unique; repeated: {', '.join(dup)}")
        d = self.design
        if d != "list" and self.points is not None:
            raise ValueError(f"points are for design = 'list', not {d!r}")
        if d in ("lhs", "sobol"):
            if self.samples is None:
                raise ValueError(f"design {d!r} needs samples = <number of points>")
            if not self.inputs:
                raise ValueError(f"design {d!r} needs at least one input")
            if d == "sobol" and self.samples & (self.samples - 1):
                lo = 1 << (self.samples.bit_length() - 1)
                raise ValueError(
                    f"a Sobol design keeps its balance only with a power of two points: "
                    f"use samples = {lo} or {lo * 2}, not {self.samples}"
                )
        elif self.samples is not None:
            raise ValueError(f"samples is for designs 'lhs' and 'sobol', not {d!r}")
        for v in self.inputs:
            if d == "grid" and (v.values is None or v.low is not None):
                raise ValueError(
                    f"input {v.name!r}: design 'grid' takes values = [...], not low/high"
                )
            if d in ("lhs", "sobol") and (v.low is None or v.values is not None):
                raise ValueError(f"input {v.name!r}: design {d!r} takes low and high, not values")
            if d == "list" and (v.values is not None or v.low is not None):
                raise ValueError(f"input {v.name!r}: design 'list' takes its values from points")
        if d == "list":
            if not self.points:
                raise ValueError(
                    "design 'list' needs points = [{name = ..., <input> = value}, ...]"
                )
            for i, point in enumerate(self.points):
                extra = sorted(set(point) - set(names) - {"name"})
                missing = [n for n in names if n not in point]
                if extra:
                    raise ValueError(
                        f"points[{i}]: unknown inputs {extra}; inputs: {', '.join(names)}"
                    )
                if missing:
                    raise ValueError(f"points[{i}]: missing inputs {missing}")
                if "name" in point and not isinstance(point["name"], str):
                    raise ValueError(f"points[{i}].name must be text")
            for v in self.inputs:
                vals = [p[v.name] for p in self.points]
                if len({_kind(x) for x in vals}) > 1:
                    raise ValueError(
                        f"input {v.name!r} must be all numbers, all text or all true/false in the points"
                    )
                if (v.apply != "replace" or v.complement is not None) and not all(
                    is_number(x) for x in vals
                ):
                    raise ValueError(f"input {v.name!r} needs numeric values in every point")
            labels = [p["name"] for p in self.points if "name" in p]
            if len(set(labels)) != len(labels):
                raise ValueError("point names must be unique")
        return self


class SweepSection(_Model):
    """The ``[sweep]`` table: what to run, how many draws, from which seed."""

    title: str = ""
    description: str = ""
    scenarios: list[str] = Field(
        min_length=1, description="Base scenario files, relative to the sweep file."
    )
    rules: list[str] | None = Field(
        None, description="Rules of the scenarios to evaluate; all by default."
    )
    draws: Annotated[int, Field(ge=1, le=100_000_000)] = 1
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    sampler: Literal["mc", "lhs", "sobol"] | None = None
    detail: bool | list[Literal["annual", "draws", "pool", "costs", "statistics", "flows"]] = Field(
        False, description="Result tables saved for every variant; true means ['annual']."
    )

    @property
    def detail_tables(self) -> tuple[str, ...]:
        if self.detail is True:
            return ("annual",)
        return tuple(self.detail) if self.detail else ()


class ReportSpec(_Model):
    """What the printed summary ranks variants by."""

    metric: str = "npv_yuan"
    rule: str | None = Field(
        None, description="Rule whose results are ranked; the first rule by default."
    )
    party: str | None = Field(
        None, description="Party whose results are ranked; the partner by default."
    )
    top: Annotated[int, Field(ge=1, le=50)] = 3

    @model_validator(mode="after")
    def _metric(self) -> ReportSpec:
        if self.metric not in SUMMARY_METRICS:
            raise ValueError(unknown_name("metric", self.metric, SUMMARY_METRICS))
        return self


class SweepSpec(_Model):
    """The content of a sweep file."""

    sweep: SweepSection
    levers: Group = Field(default_factory=Group)
    uncertainties: Group = Field(default_factory=Group)
    report: ReportSpec = Field(default_factory=ReportSpec)

    @model_validator(mode="after")
    def _names(self) -> SweepSpec:
        names = [v.name for v in self.variables]
        dup = _repeated(names)
        if dup:
            raise ValueError(f"a lever and an uncertainty share the name(s) {', '.join(dup)}")
        reserved = sorted(set(names) & RESERVED_COLUMNS)
        if reserved:
            raise ValueError(
                f"input name(s) {', '.join(reserved)} are columns of the results; choose others"
            )
        seen: dict[str, str] = {}
        for v in self.variables:
            for p in v.paths + v.complements:
                if p in seen:
                    raise ValueError(f"{p!r} is set by both {seen[p]!r} and {v.name!r}")
                seen[p] = v.name
        return self

    @property
    def variables(self) -> list[Variable]:
        return list(self.levers.inputs) + list(self.uncertainties.inputs)

    def kind_of(self, name: str) -> str:
        return "lever" if any(v.name == name for v in self.levers.inputs) else "uncertainty"


class SweepError(ScenarioError):
    """A sweep file, or one of its variants, is invalid. Lists every problem, as ScenarioError."""

    def __init__(self, problems):
        super().__init__(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the sweep:"
        ValueError.__init__(self, "\n".join([head, *("  " + str(p) for p in self.problems)]))


class SweepResumeError(SweepError):
    """The results folder holds another sweep (or results from changed input files)."""


# ------------------------------------------------------------------------------------- loading
@dataclasses.dataclass(frozen=True)
class LoadedSweep:
    """A validated sweep spec with where it came from.

    Attributes
    ----------
    spec : SweepSpec
    name : str
        Short name (the file stem, or ``"sweep"`` for a dict).
    source : str
        The sweep file as shown in messages, or ``"<dict>"``.
    sha256 : str
        SHA-256 of the sweep file's bytes (of its canonical JSON for a dict).
    base_dir : pathlib.Path
        Folder that relative scenario paths are read from.
    """

    spec: SweepSpec
    name: str
    source: str
    sha256: str
    base_dir: Path

    def scenario_path(self, text: str) -> Path:
        return (self.base_dir / text).resolve()


def load_sweep_spec(spec_or_path, *, base_dir: str | Path | None = None) -> LoadedSweep:
    """Read and validate a sweep file, a dict of the same shape, or a :class:`SweepSpec`.

    Parameters
    ----------
    spec_or_path : str, path-like, dict or SweepSpec
    base_dir : path-like, optional
        Folder relative scenario paths are resolved from: the sweep file's folder for a file, the
        current folder for a dict.

    Raises
    ------
    SweepError
        Listing every problem, with the sweep file and field path.
    """
    if isinstance(spec_or_path, LoadedSweep):
        return spec_or_path
    if isinstance(spec_or_path, str | os.PathLike):
        path = Path(spec_or_path)
        source = _display(path)
        if not path.is_file():
            raise SweepError(Problem(source, "", "no such sweep file"))
        raw = _io.read_toml(path, display=source)
        sha = _io.file_sha256(path)
        name = path.stem
        folder = path.resolve().parent if base_dir is None else Path(base_dir)
    elif isinstance(spec_or_path, SweepSpec | Mapping):
        raw = (
            spec_or_path.model_dump(mode="json")
            if isinstance(spec_or_path, SweepSpec)
            else dict(spec_or_path)
        )
        source = "<dict>"
        sha = hashlib.sha256(canonical_json(raw).encode()).hexdigest()
        name = "sweep"
        folder = Path.cwd() if base_dir is None else Path(base_dir)
    else:
        raise TypeError(
            f"a sweep is a file path, a dict or a SweepSpec, not {type(spec_or_path).__name__}"
        )
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SweepError(validation_problems(exc, source, hint_fields=SweepSpec)) from None
    return LoadedSweep(spec=spec, name=name, source=source, sha256=sha, base_dir=folder.resolve())


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: the text whose SHA-256 identifies a dict."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=repr, allow_nan=False)
