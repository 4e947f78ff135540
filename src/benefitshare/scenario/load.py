"""The scenario: one validated, immutable description of parks, projects, taxes and rules.

A scenario is a TOML file with a ``[header]`` and sections for the model horizon, parties, parks,
sectors, tiers, the shareable pool, costs, the platform company, the statistics ledger and the
candidate split rules. It references a CSV table of projects. A scenario may inherit from another
(``base = "reference.toml"``) and override parts of it; overrides can also be given as
``{"model.discount_rate": 0.05}`` from Python or ``--set model.discount_rate=0.05`` from the CLI.

Every problem is collected and raised at once as one :class:`~benefitshare.errors.ScenarioError`.
Nothing in a scenario file is executed.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from benefitshare.errors import Problem, ScenarioError
from benefitshare.glossary import TAXES
from benefitshare.io import files as _io
from benefitshare.model.draws import UncertaintySpec
from benefitshare.model.taxes import load_tax_regime
from benefitshare.scenario.projects import ProjectTable, load_projects

__all__ = [
    "ScenarioSpec",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "parse_override",
    "apply_overrides",
    "json_schema",
    "RENAMED_KEYS",
]

#: Keys that were renamed: old name -> new name. Used to give a precise hint.
RENAMED_KEYS: dict[str, str] = {
    "discount": "discount_rate",
    "project_file": "projects",
    "projects_csv": "projects",
    "split_rules": "rules",
    "ratio": "shares",
}

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Year = Annotated[int, Field(ge=1900, le=2200)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
FractionSteps = dict[Year, Fraction]
Payments = dict[Year, NonNegative]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Header(_Model):
    """Who wrote the scenario, what it is, what it is compared against, and its sources."""

    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    baseline: str = Field(
        min_length=1, description="The rule or scenario this one is read against."
    )
    sources: list[str] = Field(default_factory=list)
    expected: dict[str, float] = Field(
        default_factory=dict, description="Headline expected values, checked by the test suite."
    )


class ModelSettings(_Model):
    """Horizon, discounting and economy-wide assumptions."""

    start_year: Year
    end_year: Year
    projects: str = Field(min_length=1, description="CSV project table, relative to this file.")
    discount_rate: Annotated[float, Field(ge=0.0, le=0.5)] = 0.06
    price_basis: Literal["nominal", "real"] = "nominal"
    sales_growth_rate: (
        dict[Year, Annotated[float, Field(ge=-0.5, le=0.5)]]
        | Annotated[float, Field(ge=-0.5, le=0.5)]
    ) = 0.0
    depreciation_years: Annotated[int, Field(ge=1, le=60)] = 10
    loss_carryforward_years: Annotated[int, Field(ge=0, le=20)] = 5
    pit_effective_rate: Fraction = 0.03
    property_tax_deduction_rate: Annotated[float, Field(ge=0.1, le=0.3)] = 0.3
    stamp_on_sales: bool = True

    @model_validator(mode="after")
    def _horizon(self) -> ModelSettings:
        if self.end_year < self.start_year:
            raise ValueError(
                f"end_year {self.end_year} is before start_year {self.start_year}: "
                "end_year must be on or after start_year"
            )
        if self.end_year - self.start_year > 100:
            raise ValueError("the horizon may be at most 100 years")
        return self


class Party(_Model):
    """A party to the agreement (a city, a county, a platform company)."""

    name: str = Field(min_length=1)
    role: Literal["host", "partner", "other"]
    discount_rate: Annotated[float, Field(ge=0.0, le=0.5)] | None = None


class Park(_Model):
    """A park and its local fiscal setting."""

    name: str = Field(min_length=1)
    host: Identifier
    level: Literal["municipal", "county"]
    location_class: Literal["city", "county_town", "other"] = Field(
        description="Location class for urban maintenance and construction tax (UMT Law art. 4)."
    )
    county_share: Fraction = Field(
        0.0,
        description="Share of the sub-provincial local part that the county or zone tier keeps.",
    )
    land_use_tax_yuan_per_m2: Annotated[float, Field(ge=0.0, le=30.0)] = 0.0
    land_price_yuan_per_mu: NonNegative = 0.0
    land_acquisition_cost_yuan_per_mu: NonNegative = 0.0


class Sector(_Model):
    """A sector; ``emerging`` marks the five key emerging fields."""

    name: str = Field(min_length=1)
    emerging: bool = False
    additionality: Fraction = Field(
        1.0,
        description="Probability that a project of this sector comes only because of the "
        "cooperation (its counterfactual landing is 1 - additionality).",
    )


class Tiers(_Model):
    """Province's share of the local part of each tax, by year (the rest stays below)."""

    provincial_share: dict[str, FractionSteps] = Field(default_factory=dict)


class Pool(_Model):
    """What the agreement shares."""

    taxes: list[str] = Field(default_factory=lambda: [t for t in TAXES if t != "land_transfer"])
    tiers: list[Literal["central", "provincial", "city", "county"]] = Field(
        default_factory=lambda: ["city", "county"]
    )
    parks: list[str] | None = Field(None, description="Parks in the pool; all when omitted.")
    groups: list[str] | None = Field(
        None, description="Project groups in the pool; all when omitted."
    )
    net_of_rebates: bool = True


class Cost(_Model):
    """A cost borne by one party, paid in the years named (payments do not carry forward)."""

    name: str = Field(min_length=1)
    kind: Literal["infrastructure", "subsidy", "land_acquisition", "platform_capital", "other"]
    party: Identifier
    payments_yuan: Payments


class Platform(_Model):
    """The jointly owned platform company: equity, paid-in capital and dividends."""

    name: str = "platform company"
    equity: dict[str, Fraction]
    capital_payments_yuan: Payments = Field(default_factory=dict)
    return_on_capital_rate: dict[Year, Annotated[float, Field(ge=-1.0, le=1.0)]] | float = 0.0
    payout_rate: Fraction = 0.0


class Statistics(_Model):
    """How value-added (GDP) credit is attributed, separately from money."""

    method: Literal["host", "shares", "equity", "double"] = "host"
    shares: dict[str, Fraction] | None = None


class Counterfactual(_Model):
    """The no-agreement world that each party's standalone value is measured in."""

    origin_local_share: Fraction = Field(
        0.45,
        description="Share of a relocated firm's pre-move tax that the origin city keeps locally "
        "[fraction]; it keeps this stream if the firm does not move.",
    )
    stay_probability: Fraction = Field(
        1.0,
        description="Probability that a relocated firm would have stayed in the origin city "
        "without the cooperation (otherwise it would have moved elsewhere) [fraction].",
    )


class Scope(_Model):
    """Which part of the pool a clause covers; omitted lists mean all."""

    taxes: list[str] | None = None
    parks: list[str] | None = None
    groups: list[str] | None = None


class Clause(_Model):
    """One split rule applied to one scope over a window of years."""

    rule: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    scope: Scope = Field(default_factory=Scope)
    from_year: Year | None = None
    to_year: Year | None = None


class RuleSpec(_Model):
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


class ScenarioSpec(_Model):
    """The content of a scenario file after inheritance and overrides."""

    header: Header
    model: ModelSettings
    parties: dict[Identifier, Party]
    parks: dict[Identifier, Park]
    sectors: dict[Identifier, Sector]
    tiers: Tiers = Field(default_factory=Tiers)
    pool: Pool = Field(default_factory=Pool)
    costs: list[Cost] = Field(default_factory=list)
    platform: Platform | None = None
    statistics: Statistics = Field(default_factory=Statistics)
    counterfactual: Counterfactual = Field(default_factory=Counterfactual)
    rules: list[RuleSpec] = Field(min_length=1)
    uncertainty: UncertaintySpec = Field(default_factory=UncertaintySpec)
    provenance: dict[str, str] = Field(
        default_factory=dict,
        description="Source of each number: field path -> 'source: ...' or 'assumption: ...'.",
    )

    @field_validator("provenance")
    @classmethod
    def _provenance_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not text.lower().startswith(("source", "assumption")):
                raise ValueError(
                    f"provenance of {key!r} must start with 'source:' or 'assumption:'"
                )
        return value

    @property
    def party_ids(self) -> list[str]:
        return list(self.parties)

    def party_index(self, role: str) -> int:
        """Index of the first party with ``role``; raises KeyError when there is none."""
        for i, p in enumerate(self.parties.values()):
            if p.role == role:
                return i
        raise KeyError(role)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A validated scenario and its project table.

    Attributes
    ----------
    spec : ScenarioSpec
        The validated content of the TOML file(s).
    projects : ProjectTable
        The validated project table.
    name : str
        Short name (the file stem), used for the output folder.
    path : pathlib.Path or None
        The scenario file it was loaded from.
    input_files : dict
        Every input file read (scenario chain and project table): display name -> SHA-256.
    raw : dict
        The merged raw content before validation, for overriding and re-validating.
    """

    spec: ScenarioSpec
    projects: ProjectTable
    name: str
    path: Path | None
    input_files: dict[str, str]
    raw: dict = dataclasses.field(repr=False, compare=False)

    @property
    def years(self):
        from benefitshare.schedules import model_years

        return model_years(self.spec.model.start_year, self.spec.model.end_year)

    @property
    def rule_names(self) -> list[str]:
        return [r.name for r in self.spec.rules]

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A new scenario with ``overrides`` applied (``{"model.discount_rate": 0.05}``).

        The original is unchanged. The result is validated as a whole.
        """
        raw = apply_overrides(self.raw, overrides)
        return _build(
            raw, self.name, self.path, dict(self.input_files), _Origins.single("<overrides>")
        )


# --------------------------------------------------------------------------------------------
# Loading, inheritance, overrides


class _Origins:
    """Which file set which key, so that an error names the right file."""

    def __init__(self) -> None:
        self.map: dict[tuple, str] = {}

    @classmethod
    def single(cls, name: str) -> _Origins:
        o = cls()
        o.map[()] = name
        return o

    def record(self, raw: Any, file: str, prefix: tuple = ()) -> None:
        self.map[prefix] = file
        if isinstance(raw, dict):
            for k, v in raw.items():
                self.record(v, file, prefix + (k,))
        elif isinstance(raw, list):
            for i, v in enumerate(raw):
                self.record(v, file, prefix + (i,))

    def file_for(self, loc: tuple) -> str:
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.map:
                return self.map[loc[:n]]
        return self.map.get((), "")


def _deep_merge(base: dict, child: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name if path.is_absolute() else str(path)


def _load_raw_chain(path: Path, seen: tuple[Path, ...], origins: _Origins, files: dict) -> dict:
    path = Path(path)
    display = _display(path)
    if path.resolve() in seen:
        chain = " -> ".join(_display(p) for p in (*seen, path.resolve()))
        raise ScenarioError(Problem(display, "base", f"inheritance loops back on itself ({chain})"))
    raw = _io.read_toml(path, display=display)
    files[display] = _io.file_sha256(path)
    model = raw.get("model")
    if isinstance(model, dict) and isinstance(model.get("projects"), str):
        model["projects"] = str((path.parent / model["projects"]).resolve())
    base = raw.pop("base", None)
    if base is None:
        origins.record(raw, display)
        return raw
    if not isinstance(base, str) or not base:
        raise ScenarioError(
            Problem(display, "base", "must be the path of another scenario file", base)
        )
    base_path = path.parent / base
    if not base_path.exists():
        raise ScenarioError(Problem(display, "base", "names a file that does not exist", base))
    parent = _load_raw_chain(base_path, (*seen, path.resolve()), origins, files)
    origins.record(raw, display)
    return _deep_merge(parent, raw)


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def split_path(path: str) -> list[str | int]:
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
                        hint = difflib.get_close_matches(part, [n for n in names if n], n=1)
                        msg = f"no item named {part!r}" + (
                            f"; did you mean {hint[0]!r}?" if hint else ""
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


def _resolved_path(raw: dict, parts: list[str | int]) -> tuple:
    """A field path of ``raw`` with list items named or counted from the end given by index.

    ``["rules", "fixed_50", "params"]`` becomes ``("rules", 1, "params")``, as validation
    errors locate it. The path must exist (as it does after :func:`apply_overrides`).
    """
    node: Any = raw
    out: list[str | int] = []
    for part in parts:
        if isinstance(node, list):
            if isinstance(part, str):
                part = [x.get("name") if isinstance(x, dict) else None for x in node].index(part)
            part %= len(node)
        out.append(part)
        node = node[part] if isinstance(node, list | dict) else None
    return tuple(out)


def _loc_str(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_for(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that holds the field at ``loc`` (for did-you-mean on unknown keys)."""
    model: Any = ScenarioSpec
    for part in loc[:-1]:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            # dict of models keyed by id: keep the value model
            return None
        ann = field.annotation
        model = _unwrap_model(ann)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap_model(ann: Any) -> Any:
    import typing

    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    args = typing.get_args(ann)
    origin = typing.get_origin(ann)
    if origin is dict and args:
        return _unwrap_model(args[1])
    for a in args:
        m = _unwrap_model(a)
        if m is not None:
            return m
    return None


def _extra_hint(loc: tuple) -> str:
    key = loc[-1]
    if isinstance(key, str) and key in RENAMED_KEYS:
        return f"unknown field; it was renamed to {RENAMED_KEYS[key]!r}"
    model = _model_for(loc)
    names = list(model.model_fields) if model is not None else []
    if not names and len(loc) >= 2 and loc[-2] in ("parties", "parks", "sectors"):
        names = []
    hint = difflib.get_close_matches(str(key), names, n=1) if names else []
    allowed = f" (allowed: {', '.join(names)})" if names and not hint else ""
    return "unknown field" + (f"; did you mean {hint[0]!r}?" if hint else "") + allowed


def _is_type_tag(part) -> bool:
    """Pydantic names the branch of a union in an error's location (``constrained-float``)."""
    return isinstance(part, str) and (
        "[" in part
        or part.startswith(("constrained-", "function-"))
        or part in ("float", "int", "str", "bool", "dict", "list")
    )


def _pydantic_problems(exc: ValidationError, origins: _Origins, raw: dict) -> list[Problem]:
    errors = exc.errors(include_url=False)
    # for a union (a number or year steps), report the branch that matches the value's kind
    by_loc: dict[tuple, list] = {}
    for err in errors:
        by_loc.setdefault(tuple(p for p in err["loc"] if not _is_type_tag(p)), []).append(err)
    type_errors = {
        "dict_type",
        "float_type",
        "int_type",
        "float_parsing",
        "int_parsing",
        "list_type",
        "string_type",
        "bool_type",
        "bool_parsing",
    }
    kinds = {
        "dict_type": "a table (such as year steps { 2026 = 0.5 })",
        "float_type": "a number",
        "float_parsing": "a number",
        "int_type": "a whole number",
        "int_parsing": "a whole number",
        "list_type": "a list",
        "string_type": "a string",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
    }
    kept = []
    for loc, errs in by_loc.items():
        deeper = any(len(other) > len(loc) and other[: len(loc)] == loc for other in by_loc)
        specific = [e for e in errs if e["type"] not in type_errors]
        if specific:
            kept.extend(specific)
        elif deeper:
            continue  # another branch of the union went further: report that one
        elif len(errs) > 1:
            wanted = " or ".join(dict.fromkeys(kinds.get(e["type"], e["type"]) for e in errs))
            kept.append(
                {**errs[0], "type": "union_type", "msg": f"has the wrong type: give {wanted}"}
            )
        else:
            kept.extend(errs)
    problems = []
    for err in kept:
        loc = tuple(p for p in err["loc"] if not _is_type_tag(p))
        # dict[int, ...] keys appear as '[key]' parts; keep them readable
        loc = tuple(p for p in loc if p not in ("function-after",))
        file = origins.file_for(loc)
        value = err.get("input", ...)
        if err["type"] == "extra_forbidden":
            msg = _extra_hint(loc)
        elif err["type"] == "finite_number":
            msg = "must be a finite number (NaN and infinity are not allowed)"
        elif err["type"] == "missing":
            msg = "is required"
            value = ...
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
        if isinstance(value, dict) and err["type"] not in ("extra_forbidden",):
            value = ...
        problems.append(Problem(file, _loc_str(loc), msg, value))
    return problems


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


def _build(
    raw: dict, name: str, path: Path | None, files: dict[str, str], origins: _Origins
) -> Scenario:
    problems: list[Problem] = []
    for loc, value in _nonfinite(raw):
        problems.append(
            Problem(
                origins.file_for(loc),
                _loc_str(loc),
                "must be a finite number (NaN and infinity are not allowed)",
                value,
            )
        )
    spec = None
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        problems.extend(
            p
            for p in _pydantic_problems(exc, origins, raw)
            if "finite" not in p.message
            or not any(_loc_str(loc) == p.location for loc, _ in _nonfinite(raw))
        )
    # the project table is read even when the scenario itself is invalid, so that problems in
    # both files are reported at once
    projects = None
    model = raw.get("model")
    proj_value = model.get("projects") if isinstance(model, dict) else None
    if isinstance(proj_value, str) and proj_value:
        proj_path = Path(proj_value)
        proj_display = _display(proj_path)
        try:
            projects = load_projects(proj_path, display=proj_display)
            files[proj_display] = _io.file_sha256(proj_path)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if spec is None:
        raise ScenarioError(problems)
    if projects is not None:
        problems.extend(_cross_checks(spec, projects, origins, proj_display))
    if problems:
        # the same problem can be found twice (a NaN in rule parameters: by the scan for
        # non-finite numbers and by the rule's own parameter check); report it once
        raise ScenarioError(list({str(p): p for p in problems}.values()))
    return Scenario(spec=spec, projects=projects, name=name, path=path, input_files=files, raw=raw)


def _unknown(kind: str, value: str, valid: list[str]) -> str:
    hint = difflib.get_close_matches(value, valid, n=1)
    tail = f"; did you mean {hint[0]!r}?" if hint else f"; valid: {', '.join(valid)}"
    return f"unknown {kind}{tail}"


def _cross_checks(
    spec: ScenarioSpec, projects: ProjectTable, origins: _Origins, proj_file: str
) -> list[Problem]:
    from benefitshare.rules import SPLIT_RULES, validate_params

    problems: list[Problem] = []

    def add(loc: tuple, value: Any, msg: str) -> None:
        problems.append(Problem(origins.file_for(loc), _loc_str(loc), msg, value))

    parties = list(spec.parties)
    parks = list(spec.parks)
    sectors = list(spec.sectors)
    groups = sorted(set(projects.group))
    start, end = spec.model.start_year, spec.model.end_year

    roles = [p.role for p in spec.parties.values()]
    if len(parties) < 2:
        add(("parties",), parties, "at least two parties are needed")
    if "host" not in roles:
        add(("parties",), ..., "one party must have role = 'host'")
    if "partner" not in roles:
        add(("parties",), ..., "one party must have role = 'partner'")

    for pid, party in spec.parties.items():
        del party
        if pid != pid.lower():
            add(("parties", pid), pid, "party ids must be lower case")
    for park_id, park in spec.parks.items():
        if park.host not in parties:
            add(("parks", park_id, "host"), park.host, _unknown("party", park.host, parties))
        if park.level == "municipal" and park.county_share > 0:
            add(
                ("parks", park_id, "county_share"),
                park.county_share,
                "a municipal park has no county tier: must be 0",
            )

    def check_steps(loc: tuple, steps: Any) -> None:
        if isinstance(steps, dict) and not steps:
            add(
                loc,
                steps,
                f"schedule is empty: give a value for the first model year {start} or earlier",
            )
        elif isinstance(steps, dict) and min(steps) > start:
            add(
                loc,
                steps,
                f"schedule starts in {min(steps)} but the model starts in {start}: "
                "give a value for the first model year or earlier",
            )

    # the packaged tax regime must have a value for every model year
    regime_first = {name: min(p.values) for name, p in load_tax_regime().items()}
    latest = max(regime_first, key=regime_first.get)
    if start < regime_first[latest]:
        add(
            ("model", "start_year"),
            start,
            f"the packaged tax regime has no value before {regime_first[latest]} ({latest}): "
            f"the model must start in {regime_first[latest]} or later",
        )

    check_steps(("model", "sales_growth_rate"), spec.model.sales_growth_rate)
    for tax, steps in spec.tiers.provincial_share.items():
        if tax not in TAXES:
            add(("tiers", "provincial_share", tax), tax, _unknown("tax", tax, list(TAXES)))
        check_steps(("tiers", "provincial_share", tax), steps)

    for i, tax in enumerate(spec.pool.taxes):
        if tax not in TAXES:
            add(("pool", "taxes", i), tax, _unknown("tax", tax, list(TAXES)))
    for i, park in enumerate(spec.pool.parks or []):
        if park not in parks:
            add(("pool", "parks", i), park, _unknown("park", park, parks))
    for i, group in enumerate(spec.pool.groups or []):
        if group not in groups:
            add(("pool", "groups", i), group, _unknown("project group", group, groups))

    for i, cost in enumerate(spec.costs):
        if cost.party not in parties:
            add(("costs", i, "party"), cost.party, _unknown("party", cost.party, parties))
        for year in cost.payments_yuan:
            if not start <= year <= end:
                add(
                    ("costs", i, "payments_yuan", str(year)),
                    year,
                    f"year must be within the horizon {start}..{end}",
                )

    if spec.platform is not None:
        eq = spec.platform.equity
        for pid in eq:
            if pid not in parties:
                add(("platform", "equity", pid), pid, _unknown("party", pid, parties))
        if abs(sum(eq.values()) - 1.0) > 1e-9:
            add(
                ("platform", "equity"),
                dict(eq),
                f"shares must sum to 1 (they sum to {sum(eq.values()):.6g})",
            )
        check_steps(("platform", "return_on_capital_rate"), spec.platform.return_on_capital_rate)
    if spec.statistics.method == "shares":
        shares = spec.statistics.shares
        if not shares:
            add(
                ("statistics", "shares"),
                ...,
                "method 'shares' needs shares = {party = fraction, ...}",
            )
        else:
            for pid in shares:
                if pid not in parties:
                    add(("statistics", "shares", pid), pid, _unknown("party", pid, parties))
            if abs(sum(shares.values()) - 1.0) > 1e-9:
                add(
                    ("statistics", "shares"),
                    dict(shares),
                    f"shares must sum to 1 (they sum to {sum(shares.values()):.6g})",
                )
    if spec.statistics.method == "equity" and spec.platform is None:
        add(
            ("statistics", "method"),
            "equity",
            "method 'equity' needs a [platform] section with equity shares",
        )

    seen_rules: set[str] = set()
    for i, rule in enumerate(spec.rules):
        if rule.name in seen_rules:
            add(("rules", i, "name"), rule.name, "rule names must be unique")
        seen_rules.add(rule.name)
        clauses = rule.all_clauses()
        windows = []
        for j, clause in enumerate(clauses):
            base = ("rules", i) if rule.clauses is None else ("rules", i, "clauses", j)
            if clause.rule not in SPLIT_RULES:
                add(
                    base + ("rule",),
                    clause.rule,
                    _unknown("rule", clause.rule, sorted(SPLIT_RULES)),
                )
            else:
                params_model = SPLIT_RULES[clause.rule].params_model
                fields = params_model.model_fields if params_model is not None else {}
                for loc, value, msg in validate_params(clause.rule, clause.params, spec):
                    renamed = RENAMED_KEYS.get(loc[-1]) if len(loc) == 1 else None
                    if renamed in fields and msg.startswith("unknown parameter"):
                        msg = f"unknown parameter; it was renamed to {renamed!r}"
                    add(base + ("params",) + tuple(loc), value, msg)
            sc = clause.scope
            for k, tax in enumerate(sc.taxes or []):
                if tax not in spec.pool.taxes:
                    add(
                        base + ("scope", "taxes", k),
                        tax,
                        _unknown("tax in the pool", tax, list(spec.pool.taxes)),
                    )
            for k, park in enumerate(sc.parks or []):
                if park not in parks:
                    add(base + ("scope", "parks", k), park, _unknown("park", park, parks))
            for k, group in enumerate(sc.groups or []):
                if group not in groups:
                    add(
                        base + ("scope", "groups", k),
                        group,
                        _unknown("project group", group, groups),
                    )
            lo = clause.from_year if clause.from_year is not None else start
            hi = clause.to_year if clause.to_year is not None else end
            for field, value in (("from_year", clause.from_year), ("to_year", clause.to_year)):
                if value is not None and not start <= value <= end:
                    add(base + (field,), value, f"must be within the model horizon {start}..{end}")
            if hi < lo and start <= lo <= end and start <= hi <= end:
                add(base + ("to_year",), clause.to_year, f"must be on or after from_year {lo}")
            windows.append((j, lo, hi, sc))
        for a in range(len(windows)):
            for b in range(a + 1, len(windows)):
                ja, loa, hia, sa = windows[a]
                jb, lob, hib, sb = windows[b]
                if max(loa, lob) <= min(hia, hib) and _scopes_overlap(sa, sb):
                    add(
                        ("rules", i, "clauses", jb),
                        ...,
                        f"overlaps clause {ja} in years {max(loa, lob)}..{min(hia, hib)}: "
                        "clauses must cover disjoint parts of the pool",
                    )

    project_ids = list(projects.project_id)
    for i, unc in enumerate(spec.uncertainty.inputs):
        for field, valid, kind in (
            ("sectors", sectors, "sector"),
            ("parks", parks, "park"),
            ("groups", groups, "project group"),
            ("projects", project_ids, "project"),
        ):
            for k, name in enumerate(getattr(unc, field) or []):
                if name not in valid:
                    add(("uncertainty", "inputs", i, field, k), name, _unknown(kind, name, valid))
        if unc.target == "platform.return_on_capital_rate" and spec.platform is None:
            add(
                ("uncertainty", "inputs", i, "target"),
                unc.target,
                "the scenario has no [platform] section",
            )

    # projects refer to known parks and sectors, and start within the horizon
    for line, pid, park, sector, year in zip(
        projects.line,
        projects.project_id,
        projects.park,
        projects.sector,
        projects.start_year,
        strict=True,
    ):
        if park not in parks:
            problems.append(
                Problem(
                    proj_file,
                    f"line {line} ({pid}), column park",
                    _unknown("park", park, parks),
                    park,
                )
            )
        if sector not in sectors:
            problems.append(
                Problem(
                    proj_file,
                    f"line {line} ({pid}), column sector",
                    _unknown("sector", sector, sectors),
                    sector,
                )
            )
        if not start <= year <= end:
            problems.append(
                Problem(
                    proj_file,
                    f"line {line} ({pid}), column start_year",
                    f"must be within the model horizon {start}..{end}",
                    int(year),
                )
            )
    return problems


def _scopes_overlap(a: Scope, b: Scope) -> bool:
    for field in ("taxes", "parks", "groups"):
        x, y = getattr(a, field), getattr(b, field)
        if x is not None and y is not None and not set(x) & set(y):
            return False
    return True


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load, merge and validate a scenario file and its project table.

    Parameters
    ----------
    path : str or path-like
        The scenario TOML file.
    overrides : mapping, optional
        Field paths and values applied after inheritance, e.g.
        ``{"model.discount_rate": 0.05, "rules[fixed_50].params.term_years": 5}``.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Listing every problem found: file, field path or CSV row and column, value, what is
        allowed.

    Examples
    --------
    >>> import benefitshare as bs
    >>> scn = bs.load_scenario("scenarios/reference.toml")  # doctest: +SKIP
    """
    path = Path(path)
    origins = _Origins()
    files: dict[str, str] = {}
    raw = _load_raw_chain(path, (), origins, files)
    if overrides:
        raw = apply_overrides(raw, overrides)
        for key in overrides:
            origins.map[_resolved_path(raw, split_path(key))] = "<overrides>"
    return _build(raw, path.stem, path, files, origins)


def scenario_from_dict(
    raw: dict, *, name: str = "scenario", base_dir: str | Path = "."
) -> Scenario:
    """Validate a scenario given as a dict (as parsed from TOML); relative paths from ``base_dir``."""
    raw = copy.deepcopy(raw)
    model = raw.get("model")
    if isinstance(model, dict) and isinstance(model.get("projects"), str):
        model["projects"] = str((Path(base_dir) / model["projects"]).resolve())
    return _build(raw, name, None, {}, _Origins.single("<dict>"))


def json_schema() -> dict:
    """JSON Schema of the scenario format, for editors and documentation."""
    schema = ScenarioSpec.model_json_schema()
    schema["title"] = "benefitshare scenario"
    schema.setdefault("properties", {})["base"] = {
        "type": "string",
        "description": "Another scenario file this one inherits from, relative to this file.",
    }
    return schema
