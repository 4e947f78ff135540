"""Batch runs: a sweep file, its variants, and running them on any executor, resumably.

A **sweep** is a TOML file (or a dict of the same shape) that names one or more base scenarios
and two groups of inputs in the exploratory-modelling sense:

- **levers**: what the parties choose: rule parameters such as the partner's share, a term, a
  cap (override paths like ``rules[fixed_50_50].params.shares.shenzhen``). Which rule is chosen
  is a lever that costs nothing: every variant evaluates all the selected rules on the same
  draws, and ``rule`` is a column of the results;
- **uncertainties**: economic inputs nobody chooses (growth, land prices, the ranges of the
  scenario's own ``[uncertainty]`` distributions, ...), also by override path.

Each group has a design (``grid``: every combination of the listed values; ``lhs``: a Latin
hypercube; ``sobol``: a scrambled Sobol sequence; ``list``: explicit points), and the variants are
the cross product *scenario files × lever points × uncertainty points*. Every variant runs
``draws`` draws with its own random stream ``SeedSequence(seed).spawn(n_variants)[i]``, so its
result depends only on the sweep file, never on the executor, the number of workers or the order
in which variants finish.

Every variant's overrides are validated before anything runs; all problems are reported at once
with the sweep file, the variant and the scenario field. Finished variants are committed one file
each (see :mod:`benefitshare.store`), so a sweep killed at any moment resumes where it stopped.

Examples
--------
>>> import benefitshare as bs
>>> res = bs.sweep("scenarios/sweeps/ratio_by_rampup.toml", executor="processes",
...                workers=2)                                          # doctest: +SKIP
>>> res.frame.head()                                                   # doctest: +SKIP

Notes
-----
``benefitshare.sweep`` as an attribute of the package is the function :func:`sweep`; import this
module's other names with ``from benefitshare.sweep import ...``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import hashlib
import importlib
import json
import math
import os
import socket
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benefitshare.batch import store
from benefitshare.errors import Problem, ScenarioError
from benefitshare.io import files as _io

__all__ = [
    "SweepSpec",
    "Variable",
    "Group",
    "SweepError",
    "SweepResumeError",
    "LoadedSweep",
    "VariantTask",
    "VariantOutcome",
    "SweepResult",
    "load_sweep_spec",
    "plan_variants",
    "run_variant",
    "code_sha256",
    "sweep",
    "best_worst",
    "lever_effects",
    "report_text",
    "DETAIL_TABLES",
    "SUMMARY_METRICS",
]

#: Result tables that can be saved for every variant (``detail = [...]`` in the sweep file):
#: name -> :class:`~benefitshare.result.Result` method.
DETAIL_TABLES = {
    "annual": "annual",
    "draws": "draws",
    "pool": "pool",
    "costs": "costs",
    "statistics": "statistics",
    "flows": "flows",
}

#: Metrics of the results table (one row per variant, rule and party) a report can rank by.
SUMMARY_METRICS = (
    "npv_yuan",
    "gain_yuan",
    "standalone_npv_yuan",
    "cumulative_yuan",
    "pool_share_yuan",
    "share_of_pool",
    "costs_yuan",
    "net_benefit_yuan",
    "payback_year",
    "npv_p5_yuan",
    "npv_p50_yuan",
    "npv_p95_yuan",
    "cumulative_p5_yuan",
    "cumulative_p50_yuan",
    "cumulative_p95_yuan",
    "prob_net_negative",
    "revenue_at_risk_yuan",
)

#: Column names of the results table that a sweep input may not take.
RESERVED_COLUMNS = frozenset(
    {
        "variant",
        "scenario",
        "lever_point",
        "uncertainty_point",
        "rule",
        "party",
        "draws",
        "seed",
        "seed_child",
        *SUMMARY_METRICS,
    }
)

#: Spawn key of the streams that sample the lever and uncertainty designs. Variant streams are the
#: children ``(i,)`` of the sweep seed; a two-part key can never equal one of them.
_DESIGN_STREAM = 2**32 - 1

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Scalar = bool | int | float | str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _repeated(names: Sequence[str]) -> list[str]:
    """Names that occur more than once, sorted."""
    return sorted({n for n in names if names.count(n) > 1})


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _kind(x: Any) -> str:
    """``number``, ``text`` or ``bool``: the values of one input share a kind (one column type)."""
    return "number" if _is_number(x) else type(x).__name__


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
        numeric_values = self.values is None or all(_is_number(v) for v in self.values)
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
                    _is_number(x) for x in vals
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
            hint = difflib.get_close_matches(self.metric, SUMMARY_METRICS, n=1)
            raise ValueError(
                f"unknown metric {self.metric!r}"
                + (
                    f"; did you mean {hint[0]!r}?"
                    if hint
                    else f"; valid: {', '.join(SUMMARY_METRICS)}"
                )
            )
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
        sha = hashlib.sha256(_canonical_json(raw).encode()).hexdigest()
        name = "sweep"
        folder = Path.cwd() if base_dir is None else Path(base_dir)
    else:
        raise TypeError(
            f"a sweep is a file path, a dict or a SweepSpec, not {type(spec_or_path).__name__}"
        )
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SweepError(
            [_pydantic_problem(source, err) for err in exc.errors(include_url=False)]
        ) from None
    return LoadedSweep(spec=spec, name=name, source=source, sha256=sha, base_dir=folder.resolve())


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


#: Parts of a pydantic error location that name a member of a union type, not a field.
_UNION_TAGS = frozenset({"str", "int", "float", "bool"})


def _pydantic_problem(source: str, err: dict) -> Problem:
    loc = ""
    for part in err["loc"]:
        if isinstance(part, int):
            loc += f"[{part}]"
        elif part not in _UNION_TAGS and not str(part).startswith(("function-", "list[", "dict[")):
            loc += ("." if loc else "") + str(part)
    msg = err["msg"].removeprefix("Value error, ")
    value = err.get("input", ...)
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg, value = "is required", ...
    if isinstance(value, dict | list) and err["type"] != "extra_forbidden":
        value = ...
    return Problem(source, loc, msg, value)


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=repr, allow_nan=False)


# ------------------------------------------------------------------------------------- designs
def design_points(
    group: Group, seed: int, stream: int
) -> list[tuple[str | None, dict[str, Scalar]]]:
    """The points of a group's design, in a fixed order: ``[(point name or None, {input: value})]``.

    ``grid`` points vary the last input fastest. ``lhs`` and ``sobol`` points come from
    ``scipy.stats.qmc`` (scrambled) seeded from ``SeedSequence(seed, spawn_key=(2**32 - 1,
    stream))``, a stream no variant uses.
    """
    if not group.inputs:
        return [(None, {})]
    if group.design == "list":
        return [
            (str(p.get("name", f"point {i}")), {v.name: p[v.name] for v in group.inputs})
            for i, p in enumerate(group.points)
        ]
    if group.design == "grid":
        import itertools

        combos = itertools.product(*(v.values for v in group.inputs))
        return [(None, dict(zip([v.name for v in group.inputs], c, strict=True))) for c in combos]
    from scipy.stats import qmc

    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(_DESIGN_STREAM, stream)))
    )
    d = len(group.inputs)
    if group.design == "lhs":
        u = qmc.LatinHypercube(d=d, rng=rng).random(group.samples)
    else:
        u = qmc.Sobol(d=d, scramble=True, rng=rng).random_base2(int(math.log2(group.samples)))
    out = []
    for row in u:
        values: dict[str, Scalar] = {}
        for v, x in zip(group.inputs, row, strict=True):
            if v.integer:
                lo, hi = int(v.low), int(v.high)
                values[v.name] = min(hi, lo + int(math.floor(x * (hi - lo + 1))))
            else:
                values[v.name] = float(v.low + x * (v.high - v.low))
        out.append((None, values))
    return out


# ------------------------------------------------------------------------------------- overrides
def _get_path(raw: Any, path: str) -> Any:
    """The value at an override path in a raw scenario dict; KeyError naming what is missing."""
    from benefitshare.scenario.load import split_path

    node = raw
    for part in split_path(path):
        if isinstance(node, list):
            if isinstance(part, str):
                names = [x.get("name") for x in node if isinstance(x, dict)]
                if part not in names:
                    raise KeyError(f"no item named {part!r}")
                part = names.index(part)
            if not -len(node) <= part < len(node):
                raise KeyError(f"index {part} is out of range")
            node = node[part]
        elif isinstance(node, dict):
            if part not in node:
                raise KeyError(f"the base scenario has no value at {part!r}")
            node = node[part]
        else:
            raise KeyError("goes inside a value that is not a table")
    return node


def _combine(base: Any, value: float, how: str) -> Any:
    """``base`` with ``value`` added to / multiplying each number in it (lists and tables too)."""
    if isinstance(base, dict):
        return {k: _combine(v, value, how) for k, v in base.items()}
    if isinstance(base, list):
        return [_combine(v, value, how) for v in base]
    if not _is_number(base):
        return base
    out = base + value if how == "add" else base * value
    if isinstance(base, int) and isinstance(value, int):
        return int(out)
    return float(out)


def _has_number(x: Any) -> bool:
    if isinstance(x, dict):
        return any(_has_number(v) for v in x.values())
    if isinstance(x, list):
        return any(_has_number(v) for v in x)
    return _is_number(x)


def variant_overrides(
    variables: Sequence[Variable], values: Mapping[str, Scalar], base_raw: dict
) -> dict[str, Any]:
    """Override paths and values that put a variant's input values into a scenario.

    Raises
    ------
    KeyError
        ``(path, message)`` when an ``add``/``multiply`` path has no number in the base scenario.
    """
    out: dict[str, Any] = {}
    for v in variables:
        x = values[v.name]
        for p in v.paths:
            if v.apply == "replace":
                out[p] = x
                continue
            try:
                base = _get_path(base_raw, p)
            except (KeyError, ValueError) as exc:
                raise KeyError((p, f"cannot {v.apply} to it: {exc.args[0]}")) from None
            if not _has_number(base):
                raise KeyError(
                    (p, f"cannot {v.apply} to it: the base value {base!r} holds no number")
                )
            out[p] = _combine(copy.deepcopy(base), x, v.apply)
        for p in v.complements:
            out[p] = 1 - x if isinstance(x, int) else float(1.0 - x)
    return out


# ------------------------------------------------------------------------------------- tasks
@dataclasses.dataclass(frozen=True)
class VariantTask:
    """Everything a worker needs to run one variant: paths and numbers, nothing heavy.

    The worker rebuilds the scenario from ``scenario_path`` and checks that the files it reads
    have the hashes the sweep was planned with (``input_sha256``).
    """

    index: int
    scenario: str
    scenario_path: str
    input_sha256: tuple[str, ...]
    values: dict[str, Scalar]
    lever_point: str | None
    uncertainty_point: str | None
    overrides: dict[str, Any]
    rules: tuple[str, ...] | None
    draws: int
    sampler: str | None
    seed: int
    spawn_key: tuple[int, ...]
    detail: tuple[str, ...]
    imports: tuple[str, ...] = ()
    code_sha256: str = ""

    @property
    def fingerprint(self) -> str:
        """SHA-256 of what determines the variant's results (not where or when it runs)."""
        payload = {
            "inputs": sorted(self.input_sha256),
            "overrides": self.overrides,
            "rules": self.rules,
            "draws": self.draws,
            "sampler": self.sampler,
            "seed": self.seed,
            "spawn_key": list(self.spawn_key),
            "detail": list(self.detail),
            "columns": {
                "scenario": self.scenario,
                "values": self.values,
                "lever_point": self.lever_point,
                "uncertainty_point": self.uncertainty_point,
            },
        }
        return hashlib.sha256(_canonical_json(payload).encode()).hexdigest()

    def columns(self) -> dict[str, Any]:
        """The variant's columns in the results table (before the rule and party rows)."""
        out: dict[str, Any] = {"variant": self.index, "scenario": self.scenario}
        if self.lever_point is not None:
            out["lever_point"] = self.lever_point
        out.update(self.values)
        if self.uncertainty_point is not None:
            out["uncertainty_point"] = self.uncertainty_point
        return out

    def seed_columns(self) -> dict[str, Any]:
        return {"draws": self.draws, "seed": self.seed, "seed_child": self.spawn_key[-1]}


def plan_variants(
    loaded: LoadedSweep, *, imports: Sequence[str] = ()
) -> tuple[list[VariantTask], dict[str, str]]:
    """The sweep's variants as tasks, each validated; and the hashes of every input file.

    Variants are ordered scenario, then lever point, then uncertainty point; variant ``i`` gets
    the random stream ``SeedSequence(seed).spawn(n)[i]``.

    Raises
    ------
    SweepError
        Listing every invalid variant (grouped when many variants share a problem), the sweep
        file, the variables' values and the scenario field.
    """
    from benefitshare.scenario.load import load_scenario

    spec = loaded.spec
    sw = spec.sweep
    for name in imports:
        _import(name)
    problems: list[Problem] = []
    bases = {}
    inputs: dict[str, str] = {}
    for i, text in enumerate(sw.scenarios):
        path = loaded.scenario_path(text)
        try:
            bases[text] = load_scenario(path)
        except ScenarioError as exc:
            problems.extend(
                Problem(
                    loaded.source,
                    f"sweep.scenarios[{i}] ({text}): {p.file}: {p.location}",
                    p.message,
                    p.value,
                )
                for p in exc.problems
            )
            continue
        inputs.update(bases[text].input_files)
        for name in sw.rules or ():
            if name not in bases[text].rule_names:
                hint = difflib.get_close_matches(name, bases[text].rule_names, n=1)
                problems.append(
                    Problem(
                        loaded.source,
                        "sweep.rules",
                        f"no rule of that name in {text}"
                        + (
                            f"; did you mean {hint[0]!r}?"
                            if hint
                            else f"; valid: {', '.join(bases[text].rule_names)}"
                        ),
                        name,
                    )
                )
        scn = bases[text]
        rules = list(sw.rules) if sw.rules else scn.rule_names
        if spec.report.rule is not None and spec.report.rule not in rules:
            problems.append(
                Problem(
                    loaded.source,
                    "report.rule",
                    f"not a rule of the sweep; valid: {', '.join(rules)}",
                    spec.report.rule,
                )
            )
        if spec.report.party is not None and spec.report.party not in scn.spec.parties:
            problems.append(
                Problem(
                    loaded.source,
                    "report.party",
                    f"not a party of {text}; valid: {', '.join(scn.spec.parties)}",
                    spec.report.party,
                )
            )
    if problems:
        raise SweepError(_dedupe(problems))

    levers = design_points(spec.levers, sw.seed, 0)
    uncs = design_points(spec.uncertainties, sw.seed, 1)
    n = len(sw.scenarios) * len(levers) * len(uncs)
    children = np.random.SeedSequence(sw.seed).spawn(n)
    tasks: list[VariantTask] = []
    failures: dict[tuple[str, str, str], tuple[Any, list[str]]] = {}

    def fail(location: str, message: str, value: Any, label: str) -> None:
        failures.setdefault((location, message, repr(value)), (value, []))[1].append(label)

    code = code_sha256()
    index = 0
    for text in sw.scenarios:
        base = bases[text]
        hashes = tuple(sorted(base.input_files.values()))
        for lever_name, lever_values in levers:
            for unc_name, unc_values in uncs:
                values = {**lever_values, **unc_values}
                label = _variant_label(index, text if len(sw.scenarios) > 1 else None, values)
                try:
                    overrides = variant_overrides(spec.variables, values, base.raw)
                    if overrides:
                        base.with_overrides(overrides)
                except KeyError as exc:
                    path, msg = exc.args[0]
                    fail(path, msg, ..., label)
                except ScenarioError as exc:
                    for p in exc.problems:
                        fail(p.location, p.message, p.value, label)
                else:
                    child = children[index]
                    tasks.append(
                        VariantTask(
                            index=index,
                            scenario=text,
                            scenario_path=str(loaded.scenario_path(text)),
                            input_sha256=hashes,
                            values=values,
                            lever_point=lever_name,
                            uncertainty_point=unc_name,
                            overrides=overrides,
                            rules=tuple(sw.rules) if sw.rules else None,
                            draws=sw.draws,
                            sampler=sw.sampler,
                            seed=int(child.entropy),
                            spawn_key=tuple(int(k) for k in child.spawn_key),
                            detail=sw.detail_tables,
                            imports=tuple(imports),
                            code_sha256=code,
                        )
                    )
                index += 1
    if failures:
        problems = []
        for (loc, msg, _), (value, labels) in failures.items():
            shown = "; ".join(labels[:3]) + (
                f"; and {len(labels) - 3} more" if len(labels) > 3 else ""
            )
            problems.append(Problem(loaded.source, f"{shown}: {loc}", msg, value))
        raise SweepError(problems)
    return tasks, inputs


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.location, p.message, repr(p.value))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _variant_label(index: int, scenario: str | None, values: Mapping[str, Any]) -> str:
    parts = ([f"scenario={scenario}"] if scenario else []) + [
        f"{k}={_fmt(v)}" for k, v in values.items()
    ]
    return f"variant {index}" + (f" ({', '.join(parts)})" if parts else "")


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _import(name: str) -> None:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        raise SweepError(
            Problem("<arguments>", "imports", f"cannot import the module: {exc}", name)
        ) from None


# ------------------------------------------------------------------------------------- the worker
@functools.lru_cache(maxsize=1)
def code_sha256() -> str:
    """SHA-256 of this package's source and data files as this process first reads them.

    A sweep's tasks carry the hash of the process that planned them; a worker whose files differ
    (an upgrade, or an edit of an editable install during a long sweep) fails its variants rather
    than mixing results of two versions of the model.
    """
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts and path.is_file():
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@dataclasses.dataclass
class VariantOutcome:
    """What a worker sends back: the variant's tables, or its error; where and how long."""

    index: int
    status: Literal["done", "failed"]
    tables: dict[str, pd.DataFrame] | None
    error: str | None
    traceback: str | None
    worker: str
    started: float
    seconds: float


@functools.lru_cache(maxsize=8)
def _base_scenario(path: str, input_sha256: tuple[str, ...]):
    from benefitshare.scenario.load import load_scenario

    scn = load_scenario(path)
    found = tuple(sorted(scn.input_files.values()))
    if found != input_sha256:
        raise RuntimeError(
            f"the scenario files this worker reads from {path} differ from those the sweep was planned "
            "with (their SHA-256 hashes differ): every worker must see the same files"
        )
    return scn


def run_variant(task: VariantTask) -> VariantOutcome:
    """Run one variant (in any process): rebuild its scenario, run it, return its tables.

    Never raises for a problem of the variant itself: an exception is returned as a failed
    outcome with its message and traceback. Floating-point errors (overflow, division by zero,
    invalid operations) raise inside the run, as they do in the test suite, so a variant never
    produces NaN silently and behaves the same in every process.
    """
    from benefitshare.model.run import run

    started = time.time()
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        if task.code_sha256 and task.code_sha256 != code_sha256():
            raise RuntimeError(
                "this worker runs other benefitshare source files than the process that planned the "
                "sweep (their SHA-256 hashes differ): install the same version everywhere, and do not "
                "edit the package while a sweep runs"
            )
        for name in task.imports:
            importlib.import_module(name)
        base = _base_scenario(task.scenario_path, task.input_sha256)
        scenario = base.with_overrides(task.overrides) if task.overrides else base
        seed = np.random.SeedSequence(task.seed, spawn_key=task.spawn_key)
        with np.errstate(all="raise", under="ignore"):
            result = run(
                scenario,
                draws=task.draws,
                seed=seed,
                sampler=task.sampler,
                rules=list(task.rules) if task.rules else None,
                progress=False,
            )
            tables = variant_tables(result, task.detail)
    except Exception as exc:  # noqa: BLE001 - a variant's failure is recorded, not raised
        return VariantOutcome(
            task.index,
            "failed",
            None,
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
            worker,
            started,
            time.perf_counter() - t0,
        )
    return VariantOutcome(
        task.index, "done", tables, None, None, worker, started, time.perf_counter() - t0
    )


def variant_tables(result, detail: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """A variant's tables: ``summary`` (one row per rule and party) and any detail tables.

    The summary is :meth:`Result.summary` with ``standalone_npv_yuan`` (NPV of the party's mean
    revenue without the agreement, product.md §3.3) and ``gain_yuan`` (``npv_yuan`` less it).
    """
    from benefitshare.model.metrics import npv_yuan

    summary = result.summary()
    standalone_k = npv_yuan(result.means["standalone_dky"], result.discount_factors_ky())
    by_party = dict(zip(result.party_ids, standalone_k, strict=True))
    summary.insert(3, "standalone_npv_yuan", summary["party"].map(by_party).astype(float))
    summary.insert(4, "gain_yuan", summary["npv_yuan"] - summary["standalone_npv_yuan"])
    out = {"summary": summary}
    for name in detail:
        out[name] = getattr(result, DETAIL_TABLES[name])()
    return out


# ------------------------------------------------------------------------------------- running
@dataclasses.dataclass
class SweepResult:
    """What :func:`sweep` did, and its results.

    Attributes
    ----------
    out : pathlib.Path
        The results folder (load it again with :func:`benefitshare.load_sweep`).
    frame : pandas.DataFrame
        One row per finished variant, rule and party (as :func:`benefitshare.load_sweep`).
    status : pandas.DataFrame
        One row per variant: ``variant``, ``status`` (done, failed, pending), ``seconds``,
        ``worker``, ``error``, and the inputs' values.
    n_variants, n_done, n_failed, n_skipped : int
        All variants; finished (including skipped); failed; finished before this run (resumed).
    wall_s : float
        Wall time of this run [s].
    executor : dict
        The executor that ran it (name, workers, address).
    report : ReportSpec
        The sweep file's report settings.
    variables : dict
        Each input's kind (``lever`` or ``uncertainty``), by name.
    labels : dict
        Each input's display label (its name and unit), by name.
    """

    out: Path
    frame: pd.DataFrame
    status: pd.DataFrame
    n_variants: int
    n_done: int
    n_failed: int
    n_skipped: int
    wall_s: float
    executor: dict
    report: ReportSpec
    variables: dict[str, str]
    labels: dict[str, str]

    @property
    def ok(self) -> bool:
        """True when every variant finished."""
        return self.n_done == self.n_variants

    def __repr__(self) -> str:
        return (
            f"SweepResult({self.n_variants} variants: {self.n_done} done, {self.n_failed} failed, "
            f"{self.n_skipped} resumed; {self.wall_s:.1f} s on {self.executor.get('name')}; out={str(self.out)!r})"
        )

    def report_text(
        self, metric: str | None = None, *, rule: str | None = None, party: str | None = None
    ) -> str:
        """The printed summary: counts, best and worst variants, lever effects."""
        return report_text(self, metric=metric, rule=rule, party=party)

    def lever_effects(
        self, metric: str | None = None, *, rule: str | None = None, party: str | None = None
    ):
        return lever_effects(
            self.frame,
            metric or self.report.metric,
            rule=rule or self.report.rule,
            party=party or self.report.party,
            variables=self.variables,
        )

    def plot_heatmap(self, x: str, y: str, metric: str | None = None, **kwargs):
        """Heatmap of a metric over two inputs (see :func:`benefitshare.plots_sweep.heatmap`)."""
        from benefitshare.viz import sweep as plots_sweep

        kwargs.setdefault("rule", self.report.rule)
        kwargs.setdefault("party", self.report.party)
        kwargs.setdefault("labels", self.labels)
        return plots_sweep.heatmap(self.frame, x, y, metric or self.report.metric, **kwargs)

    def plot_levers(self, metric: str | None = None, **kwargs):
        """A metric against each input (see :func:`benefitshare.plots_sweep.metric_by_input`)."""
        from benefitshare.viz import sweep as plots_sweep

        kwargs.setdefault("party", self.report.party)
        kwargs.setdefault("variables", list(self.variables))
        kwargs.setdefault("labels", self.labels)
        return plots_sweep.metric_by_input(self.frame, metric or self.report.metric, **kwargs)


def sweep(
    spec_or_path,
    executor="serial",
    workers: int | None = None,
    out: str | Path | None = None,
    scheduler: str | None = None,
    *,
    resume: bool | Literal["force"] = True,
    imports: Sequence[str] = (),
    progress: bool | None = None,
    command: str | None = None,
) -> SweepResult:
    """Run every variant of a sweep, skipping those already finished in ``out``.

    Parameters
    ----------
    spec_or_path : str, path-like, dict or SweepSpec
        A sweep file, or a dict of the same shape (relative scenario paths are then read from the
        current folder).
    executor : {"serial", "processes", "dask"} or Executor
        Where variants run (see :mod:`benefitshare.executors`); an executor object is used as
        given.
    workers : int, optional
        Worker processes (processes: the number of CPUs by default; dask: the workers of the
        local cluster started when no ``scheduler`` is given).
    out : path-like, optional
        Results folder; ``outputs/<sweep file stem>`` by default.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``), for ``executor="dask"``.
    resume : True, False or "force"
        ``True``: skip variants already finished in ``out``, refusing a folder written by a
        different sweep file or from changed scenario files; ``"force"``: resume anyway, keeping
        only finished variants whose inputs, overrides and seeds are unchanged; ``False``: delete
        the folder's previous results and start again.
    imports : sequence of str
        Modules imported in every worker before it runs a variant, e.g. a module that registers a
        user-written split rule with :func:`benefitshare.register_rule`.
    progress : bool, optional
        Progress bar (variants done, failed, running, ETA); by default shown in a terminal or
        notebook.
    command : str, optional
        The command line, recorded in the manifest.

    Returns
    -------
    SweepResult

    Raises
    ------
    SweepError
        The sweep file or one of its variants is invalid (nothing has run).
    SweepResumeError
        ``out`` holds another sweep's results and ``resume`` is not ``"force"``.
    """
    from benefitshare.batch import executors as _executors

    if resume not in (True, False, "force"):
        raise SweepError(Problem("<arguments>", "resume", "must be True, False or 'force'", resume))
    t0 = time.perf_counter()
    loaded = load_sweep_spec(spec_or_path)
    tasks, inputs = plan_variants(loaded, imports=imports)
    out = Path(out) if out is not None else Path("outputs") / loaded.name
    ex = _executors.get_executor(executor, workers=workers, scheduler=scheduler)
    manifest = store.new_manifest(loaded, tasks, inputs, command=command)
    done = store.prepare(out, manifest, tasks, resume=resume)
    pending = [t for t in tasks if t.index not in done]
    records = {r["variant"]: r for r in manifest["variants"]}
    for r in records.values():
        if r["variant"] in done:
            r.update(done[r["variant"]])
    n_skipped = len(done)
    run_info = {
        "started": store.now_iso(),
        "command": command,
        "executor": None,
        "skipped": n_skipped,
        "code_sha256": code_sha256(),
    }
    manifest["runs"].append(run_info)
    store.write_manifest(out, manifest)
    failed, finished = 0, n_skipped
    bar = _progress_bar(len(tasks), n_skipped, loaded.name, progress)
    last_flush = time.monotonic()
    try:
        with ex:
            run_info["executor"] = ex.describe()
            store.write_manifest(out, manifest)
            for task, outcome, error in ex.imap_unordered(run_variant, pending):
                rec = records[task.index]
                if error is not None:
                    outcome = VariantOutcome(
                        task.index,
                        "failed",
                        None,
                        f"worker failure: {type(error).__name__}: {error}",
                        None,
                        "?",
                        time.time(),
                        float("nan"),
                    )
                if outcome.status == "done":
                    store.write_variant(out, task, outcome.tables)
                    finished += 1
                else:
                    failed += 1
                rec.update(store.outcome_record(outcome))
                bar.set_postfix(done=finished, failed=failed, running=ex.running, refresh=False)
                bar.update(1)
                if outcome.status == "failed" or time.monotonic() - last_flush > 2.0:
                    store.write_manifest(out, manifest)
                    last_flush = time.monotonic()
    finally:
        bar.close()
        run_info["finished"] = store.now_iso()
        run_info["done"] = sum(r["status"] == "done" for r in records.values())
        run_info["failed"] = sum(r["status"] == "failed" for r in records.values())
        run_info["wall_s"] = round(time.perf_counter() - t0, 3)
        store.write_manifest(out, manifest)
    frame = store.load_sweep(out)
    if len(frame):
        store.write_results(out, frame)
    status = store.status_frame(out)
    n_done = int((status["status"] == "done").sum())
    return SweepResult(
        out=out,
        frame=frame,
        status=status,
        n_variants=len(tasks),
        n_done=n_done,
        n_failed=int((status["status"] == "failed").sum()),
        n_skipped=n_skipped,
        wall_s=time.perf_counter() - t0,
        executor=run_info["executor"] or {},
        report=loaded.spec.report,
        variables={v.name: loaded.spec.kind_of(v.name) for v in loaded.spec.variables},
        labels={
            v.name: f"{v.name} [{v.unit}]" if v.unit else v.name for v in loaded.spec.variables
        },
    )


def _progress_bar(total: int, initial: int, name: str, progress: bool | None):
    """A tqdm bar: the notebook widget when ipywidgets is installed, else text."""
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=name,
        unit="variant",
        disable=(not progress) if progress is not None else None,
        dynamic_ncols=True,
    )


# ------------------------------------------------------------------------------------- reporting
def _pick(
    frame: pd.DataFrame, metric: str, rule: str | None, party: str | None
) -> tuple[pd.DataFrame, str, str]:
    if metric not in frame.columns:
        raise ValueError(
            f"no column {metric!r} in the results; metrics: "
            f"{', '.join(c for c in SUMMARY_METRICS if c in frame.columns)}"
        )
    rules = list(dict.fromkeys(frame["rule"]))
    parties = list(dict.fromkeys(frame["party"]))
    rule = rule if rule is not None else rules[0]
    party = party if party is not None else parties[0]
    if rule not in rules:
        raise ValueError(f"no rule {rule!r} in the results; rules: {', '.join(rules)}")
    if party not in parties:
        raise ValueError(f"no party {party!r} in the results; parties: {', '.join(parties)}")
    sub = frame[(frame["rule"] == rule) & (frame["party"] == party)]
    return sub, rule, party


def best_worst(
    frame: pd.DataFrame,
    metric: str = "npv_yuan",
    *,
    rule: str | None = None,
    party: str | None = None,
    top: int = 3,
    variables: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``top`` highest and lowest variants on ``metric`` for one rule and party.

    Returns a table with ``rank`` (``best 1``, ..., ``worst 1``, ...), ``variant``, the inputs'
    values and the metric. Rule and party default to the first in the results.
    """
    sub, _, _ = _pick(frame, metric, rule, party)
    sub = sub[sub[metric].notna()]
    cols = ["variant", *(_input_columns(frame) if variables is None else variables), metric]
    ranked = sub.sort_values([metric, "variant"], ascending=[False, True], kind="stable")
    best = ranked.head(top).assign(rank=[f"best {i + 1}" for i in range(min(top, len(ranked)))])
    worst = ranked.iloc[::-1].head(top)
    worst = worst.assign(rank=[f"worst {i + 1}" for i in range(len(worst))])
    return pd.concat([best, worst])[["rank", *cols]].reset_index(drop=True)


def _input_columns(frame: pd.DataFrame) -> list[str]:
    known = set(RESERVED_COLUMNS)
    cols = [c for c in frame.columns if c not in known]
    if frame["scenario"].nunique() > 1:
        cols.insert(0, "scenario")
    return cols


def lever_effects(
    frame: pd.DataFrame,
    metric: str = "npv_yuan",
    *,
    rule: str | None = None,
    party: str | None = None,
    variables: Mapping[str, str] | Sequence[str] | None = None,
    max_levels: int = 6,
) -> pd.DataFrame:
    """How the mean of ``metric`` moves with each input, for one rule and party.

    Each input's values are grouped into levels (its distinct values, or ``max_levels``
    quantile bins when it has more); the table has one row per input: ``input``, ``kind``
    (lever or uncertainty), ``levels``, ``low`` and ``high`` (the lowest and highest level's
    value, or bin midpoint), ``mean_at_low``, ``mean_at_high``, ``effect`` (``mean_at_high -
    mean_at_low``), ``spread`` (largest minus smallest mean over the levels) and ``spearman``
    (rank correlation of the input with the metric over the variants; NaN for text inputs).
    Rows are sorted by ``spread``, largest first.
    """
    sub, _, _ = _pick(frame, metric, rule, party)
    names = list(variables) if variables is not None else _input_columns(frame)
    kinds = dict(variables) if isinstance(variables, Mapping) else {}
    rows = []
    for name in names:
        levels = _levels(sub[name], max_levels)
        means = sub.groupby(levels, observed=True, sort=True)[metric].mean()
        if means.empty:
            continue
        numeric = pd.api.types.is_numeric_dtype(sub[name]) and not pd.api.types.is_bool_dtype(
            sub[name]
        )
        rho = (
            sub[name].rank().corr(sub[metric].rank())
            if numeric and sub[name].nunique() > 1 and sub[metric].nunique() > 1
            else np.nan
        )
        rows.append(
            {
                "input": name,
                "kind": kinds.get(name, "scenario" if name == "scenario" else ""),
                "levels": len(means),
                "low": means.index[0],
                "high": means.index[-1],
                "mean_at_low": float(means.iloc[0]),
                "mean_at_high": float(means.iloc[-1]),
                "effect": float(means.iloc[-1] - means.iloc[0]),
                "spread": float(means.max() - means.min()),
                "spearman": float(rho),
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "input",
            "kind",
            "levels",
            "low",
            "high",
            "mean_at_low",
            "mean_at_high",
            "effect",
            "spread",
            "spearman",
        ],
    )
    return out.sort_values("spread", ascending=False, kind="stable").reset_index(drop=True)


def _levels(values: pd.Series, max_levels: int) -> pd.Series:
    """Group labels for an input: its value, or the midpoint of its quantile bin."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric or values.nunique() <= max_levels:
        return values
    bins = pd.qcut(values, q=max_levels, duplicates="drop")
    return bins.map(lambda iv: float(iv.mid)).astype(float)


def report_text(
    result: SweepResult,
    metric: str | None = None,
    *,
    rule: str | None = None,
    party: str | None = None,
) -> str:
    """The summary printed at the end of a sweep: counts, best and worst variants, lever effects."""
    rep = result.report
    metric = metric or rep.metric
    rule = rule or rep.rule
    party = party or rep.party
    lines = [
        f"{result.n_variants} variants: {result.n_done} done ({result.n_skipped} from an earlier run), "
        f"{result.n_failed} failed, {result.n_variants - result.n_done - result.n_failed} not run; "
        f"{result.wall_s:.1f} s on {result.executor.get('name', '?')} "
        f"({result.executor.get('workers', '?')} worker{'s' if result.executor.get('workers') != 1 else ''})",
    ]
    if result.n_failed:
        failed = result.status[result.status["status"] == "failed"]
        lines.append("failed variants:")
        for _, row in failed.head(10).iterrows():
            lines.append(f"  variant {row['variant']}: {row['error']}")
        if len(failed) > 10:
            lines.append(f"  ... and {len(failed) - 10} more (see sweep.json)")
    frame = result.frame
    if frame.empty:
        return "\n".join(lines)
    if party is None:
        party = next(iter(dict.fromkeys(frame["party"])))
    sub, rule, party = _pick(frame, metric, rule, party)
    scale, unit = (1e8, " [亿元 = 100 million yuan]") if metric.endswith("_yuan") else (1.0, "")
    variables = list(result.variables)
    bw = best_worst(frame, metric, rule=rule, party=party, top=rep.top, variables=variables)
    bw[metric] = bw[metric] / scale
    lines += [
        "",
        f"best and worst variants by {metric} of {party} under {rule}{unit}:",
        _indent(bw.to_string(index=False, float_format=lambda x: f"{x:,.4g}")),
    ]
    if variables and len(sub) > 1:
        eff = lever_effects(frame, metric, rule=rule, party=party, variables=result.variables)
        for col in ("mean_at_low", "mean_at_high", "effect", "spread"):
            eff[col] = eff[col] / scale
        lines += [
            "",
            f"effect of each input on the mean {metric} of {party} under {rule}{unit}:",
            _indent(eff.to_string(index=False, float_format=lambda x: f"{x:,.4g}")),
        ]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
