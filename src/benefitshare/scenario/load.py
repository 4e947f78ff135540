"""Loading a scenario: reading its files, inheritance, overrides, and the validated :class:`Scenario`.

A scenario is a TOML file (its schema: :mod:`benefitshare.scenario.schema`) that references a CSV
table of projects (:mod:`benefitshare.scenario.projects`). A scenario may inherit from another
(``base = "reference.toml"``) and override parts of it; overrides can also be given as
``{"model.discount_rate": 0.05}`` from Python or ``--set model.discount_rate=0.05`` from the CLI.
Loading is the first step of the pipeline (docs/model.md §2 and §3.1): the model runs on the
:class:`Scenario` it returns.

Every problem, in the files, the schema (:mod:`benefitshare.scenario.messages`) or across sections
(:mod:`benefitshare.scenario.checks`), is collected and raised at once as one
:class:`~benefitshare.errors.ScenarioError`. Nothing in a scenario file is executed.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from benefitshare.errors import Problem, ScenarioError, did_you_mean
from benefitshare.io import files as files_io
from benefitshare.scenario.checks import cross_checks
from benefitshare.scenario.messages import Origins, nonfinite_problems, spec_problems
from benefitshare.scenario.projects import ProjectTable, load_projects
from benefitshare.scenario.schema import ScenarioSpec
from benefitshare.schedules import model_years

__all__ = [
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "split_path",
    "parse_override",
    "apply_overrides",
    "json_schema",
]


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
        """Calendar years of the model horizon, shape (Y,) [year]."""
        return model_years(self.spec.model.start_year, self.spec.model.end_year)

    @property
    def rule_names(self) -> list[str]:
        """Names of the candidate rules, in the order of the file."""
        return [r.name for r in self.spec.rules]

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A new scenario with ``overrides`` applied (``{"model.discount_rate": 0.05}``).

        The original is unchanged. The result is validated as a whole.
        """
        raw = apply_overrides(self.raw, overrides)
        return _build(
            raw, self.name, self.path, dict(self.input_files), Origins.single("<overrides>")
        )


# -------------------------------------------------------------------------------------------- files


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


def _load_raw_chain(path: Path, seen: tuple[Path, ...], origins: Origins, files: dict) -> dict:
    path = Path(path)
    display = _display(path)
    if path.resolve() in seen:
        chain = " -> ".join(_display(p) for p in (*seen, path.resolve()))
        raise ScenarioError(Problem(display, "base", f"inheritance loops back on itself ({chain})"))
    raw = files_io.read_toml(path, display=display)
    files[display] = files_io.file_sha256(path)
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


def _build(
    raw: dict, name: str, path: Path | None, files: dict[str, str], origins: Origins
) -> Scenario:
    nonfinite = nonfinite_problems(raw, origins)
    problems: list[Problem] = list(nonfinite)
    spec = None
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        # a NaN is found by the scan above: report it once, as the scan found it
        seen = {p.location for p in nonfinite}
        problems.extend(
            p
            for p in spec_problems(exc, origins)
            if "finite" not in p.message or p.location not in seen
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
            files[proj_display] = files_io.file_sha256(proj_path)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if spec is None:
        raise ScenarioError(problems)
    if projects is not None:
        problems.extend(cross_checks(spec, projects, origins, proj_display))
    if problems:
        # the same problem can be found twice (a NaN in rule parameters: by the scan for
        # non-finite numbers and by the rule's own parameter check); report it once
        raise ScenarioError(list({str(p): p for p in problems}.values()))
    return Scenario(spec=spec, projects=projects, name=name, path=path, input_files=files, raw=raw)


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
    origins = Origins()
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
    return _build(raw, name, None, {}, Origins.single("<dict>"))


def json_schema() -> dict:
    """JSON Schema of the scenario format, for editors and documentation."""
    schema = ScenarioSpec.model_json_schema()
    schema["title"] = "benefitshare scenario"
    schema.setdefault("properties", {})["base"] = {
        "type": "string",
        "description": "Another scenario file this one inherits from, relative to this file.",
    }
    return schema
