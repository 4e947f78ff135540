"""Loading a scenario: reading its files, inheritance, overrides, and the validated :class:`Scenario`.

A scenario is a TOML file (its schema: :mod:`benefitshare.scenario.schema`) that references a CSV
table of projects (:mod:`benefitshare.scenario.projects`). A scenario may inherit from another
(``base = "reference.toml"``) and change parts of it: tables merge key by key, the arrays of named
tables (:data:`MERGED_ARRAYS`: ``[[costs]]``, ``[[rules]]``, ``[[uncertainty.inputs]]``) merge by
``name`` (an entry of an inherited name replaces it in place, a new name is appended), other
values and lists are replaced, and ``remove = ["costs.<name>", ...]`` takes inherited entries
out. Every value keeps the file that set it (:attr:`Scenario.origins`, shown by
:func:`resolved_toml`). Overrides can also be given as ``{"model.discount_rate": 0.05}`` from
Python or ``--set model.discount_rate=0.05`` from the CLI.
Loading is the first step of the pipeline (docs/model.md §2 and §3.1): the model runs on the
:class:`Scenario` it returns.

Every problem, in the files, the schema (:mod:`benefitshare.scenario.messages`) or across sections
(:mod:`benefitshare.scenario.checks`), is collected and raised at once as one
:class:`~benefitshare.errors.ScenarioError`. Nothing in a scenario file is executed.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from benefitshare.errors import Problem, ScenarioError, location_text, unknown_name
from benefitshare.io import files as files_io
from benefitshare.scenario.checks import cross_checks
from benefitshare.scenario.messages import (
    Origins,
    SetBy,
    annotated_toml,
    nonfinite_problems,
    spec_problems,
)
from benefitshare.scenario.overrides import apply_overrides, parse_override, split_path
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
    "resolved_toml",
    "MERGED_ARRAYS",
    "MAX_BASE_CHAIN",
]

#: The most files in a chain of ``base =`` files (the scenario named and the files it inherits).
MAX_BASE_CHAIN = 32


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
    origins : Origins
        Which file (or ``"<overrides>"``) set each value of ``raw``, and the inherited entries
        that a ``remove`` took out.
    """

    spec: ScenarioSpec
    projects: ProjectTable
    name: str
    path: Path | None
    input_files: dict[str, str]
    raw: dict = dataclasses.field(repr=False, compare=False)
    origins: Origins = dataclasses.field(default_factory=Origins, repr=False, compare=False)

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

        The original is unchanged. The result is validated as a whole; a problem in a value
        that no override set still names the file that set it.
        """
        raw = apply_overrides(self.raw, overrides)
        origins = Origins()
        origins.map, origins.removed = dict(self.origins.map), list(self.origins.removed)
        origins.map.setdefault((), "<overrides>")
        _mark_overrides(origins, raw, overrides)
        return _build(raw, self.name, self.path, dict(self.input_files), origins)


# -------------------------------------------------------------------------------------------- files


def _named_arrays(model: Any, prefix: tuple = ()) -> dict[tuple, str]:
    """The arrays of tables of ``model`` whose entries have a ``name``: path -> the entry's kind.

    Found by walking the schema through its sections (not through lists or keyed tables), so a
    new array of named tables merges by name without a change here.
    """
    out: dict[tuple, str] = {}
    for key, field in model.model_fields.items():
        ann = field.annotation
        union = typing.get_origin(ann) in (typing.Union, types.UnionType)
        args = [a for a in (typing.get_args(ann) if union else (ann,)) if a is not type(None)]
        for arg in args:
            inner = typing.get_args(arg)
            if typing.get_origin(arg) is list and inner and hasattr(inner[0], "model_fields"):
                if "name" in inner[0].model_fields:
                    out[(*prefix, key)] = _KINDS.get(inner[0].__name__, "entry")
            elif hasattr(arg, "model_fields"):
                out.update(_named_arrays(arg, (*prefix, key)))
    return out


_KINDS = {"Cost": "cost", "RuleSpec": "rule", "UncertainInput": "uncertain input"}

#: Arrays of tables that merge by ``name`` when a scenario inherits (field path -> entry kind):
#: ``[[costs]]``, ``[[rules]]`` and ``[[uncertainty.inputs]]``. Other lists are replaced whole.
MERGED_ARRAYS: dict[tuple, str] = _named_arrays(ScenarioSpec)


def _named_entries(items: list, path: tuple, file: str, problems: list[Problem]) -> list[str]:
    """The names of a child's entries of a merged array; a problem for a missing or repeated one."""
    kind, where = MERGED_ARRAYS[path], location_text(path)
    names: list[str] = []
    for i, item in enumerate(items):
        name = item.get("name")
        loc = location_text((*path, i))
        if not isinstance(name, str) or not name:
            problems.append(
                Problem(
                    file,
                    loc,
                    f"has no name: in a scenario that inherits (base = ...), each [[{where}]] "
                    f"entry needs a name, which says whether it replaces the inherited {kind} of "
                    'that name or adds a new one; add name = "..."',
                    ... if name is None else name,
                )
            )
        elif name in names:
            problems.append(
                Problem(
                    file,
                    f"{loc}.name",
                    f"another [[{where}]] entry of this file has the same name: rename one",
                    name,
                )
            )
        names.append(name)
    return names


def _merge_named(
    base: list, base_set: SetBy, child: list, child_set: SetBy, path: tuple, problems: list
) -> tuple[list, SetBy]:
    """A child's array of named tables merged into the inherited one: replace by name, append."""
    file = child_set.file
    names = _named_entries(child, path, file, problems)
    out, parts = list(base), list(base_set.parts)
    inherited = [e.get("name") if isinstance(e, dict) else None for e in base]
    for i, (name, entry) in enumerate(zip(names, child, strict=True)):
        hits = [j for j, n in enumerate(inherited) if n == name]
        if len(hits) > 1:
            problems.append(
                Problem(
                    file,
                    location_text((*path, i, "name")),
                    f"the inherited [[{location_text(path)}]] has {len(hits)} entries of this "
                    f"name (set in {base_set.parts[hits[0]].file}): give them distinct names "
                    "there, so that this entry replaces only one",
                    name,
                )
            )
        elif hits:
            out[hits[0]], parts[hits[0]] = entry, child_set.parts[i]
        else:
            out.append(entry)
            parts.append(child_set.parts[i])
    return out, SetBy(file, parts)


def _merge(base: Any, base_set: SetBy, child: Any, child_set: SetBy, path: tuple, problems: list):
    """A child file's value merged into the inherited one, with the files that set each part.

    Tables merge key by key; an array of named tables (:data:`MERGED_ARRAYS`) merges by name;
    anything else (a number, a string, a list of values) given by the child replaces the base's.
    """
    if isinstance(base, dict) and isinstance(child, dict):
        out, parts = dict(base), dict(base_set.parts)
        for key, value in child.items():
            if key in out:
                out[key], parts[key] = _merge(
                    out[key], parts[key], value, child_set.parts[key], (*path, key), problems
                )
            else:
                out[key], parts[key] = value, child_set.parts[key]
        return out, SetBy(child_set.file, parts)
    if (
        path in MERGED_ARRAYS
        and isinstance(base, list)
        and isinstance(child, list)
        and all(isinstance(e, dict) for e in child)
    ):
        return _merge_named(base, base_set, child, child_set, path, problems)
    return child, child_set


def _removal(item: object) -> tuple[tuple, str] | None:
    """``"costs.Roads"`` or ``"rules[fixed_50_50]"`` -> (array path, entry name), or None."""
    if not isinstance(item, str):
        return None
    for path in MERGED_ARRAYS:
        text = ".".join(path)
        if item.startswith(f"{text}.") and len(item) > len(text) + 1:
            return path, item[len(text) + 1 :]
        if item.startswith(f"{text}[") and item.endswith("]") and len(item) > len(text) + 2:
            return path, item[len(text) + 1 : -1]
    return None


def _remove(base: dict, base_set: SetBy, remove: object, file: str, origins: Origins) -> None:
    """Take the entries that ``remove`` names out of the inherited content (in place).

    Inherited provenance keys that name a removed entry are dropped, and those that count
    entries by index (``rules[7]``) are renumbered, so that they still name the same entry.
    """
    forms = ", ".join(f"'{'.'.join(p)}.<name>'" for p in MERGED_ARRAYS)
    if not isinstance(remove, list):
        raise ScenarioError(
            Problem(file, "remove", f"must be a list of entries such as {forms}", remove)
        )
    problems: list[Problem] = []
    renumber: dict[tuple, dict[int, int | None]] = {}
    named: set[tuple[tuple, str]] = set()
    for i, item in enumerate(remove):
        target = _removal(item)
        if target is None:
            problems.append(
                Problem(
                    file,
                    f"remove[{i}]",
                    f"names no entry that can be removed; write {forms}",
                    item,
                )
            )
            continue
        path, name = target
        if (path, name) in named:
            first = [_removal(x) for x in remove].index(target)
            problems.append(
                Problem(
                    file,
                    f"remove[{i}]",
                    f"is removed already, by remove[{first}]: list it once",
                    item,
                )
            )
            continue
        node, node_set = base, base_set
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
            node_set = node_set.parts.get(key) if node is not None else None
        entries = node if isinstance(node, list) else []
        names = [e.get("name") if isinstance(e, dict) else None for e in entries]
        if name not in names:
            where, valid = location_text(path), [str(n) for n in names if n is not None]
            problems.append(
                Problem(
                    file,
                    f"remove[{i}]",
                    unknown_name(f"[[{where}]] entry to remove", name, valid)
                    + f" (the inherited [[{where}]] names: {', '.join(valid) or 'none'})",
                    item,
                )
            )
            continue
        j = names.index(name)
        old = renumber.setdefault(path, {k: k for k in range(len(node))})
        gone = [k for k, v in old.items() if v == j]
        old.update({gone[0]: None, **{k: v - 1 for k, v in old.items() if v is not None and v > j}})
        del node[j], node_set.parts[j]
        named.add((path, name))
        origins.removed.append((f"{'.'.join(path)}.{name}", file))
    if problems:
        raise ScenarioError(problems)
    prov, prov_set = base.get("provenance"), base_set.parts.get("provenance")
    if isinstance(prov, dict) and renumber:
        kept, kept_set = {}, {}
        for key, text in prov.items():
            new_key = _renumbered(key, renumber, named)
            if new_key is not None:
                kept[new_key], kept_set[new_key] = text, prov_set.parts[key]
        base["provenance"], prov_set.parts = kept, kept_set


def _renumbered(key: str, renumber: dict, named: set) -> str | None:
    """A provenance key after entries were removed: renumbered, unchanged, or None (removed)."""
    try:
        parts = split_path(key)
    except ValueError:
        return key
    for path, old in renumber.items():
        n = len(path)
        if tuple(parts[:n]) != path or len(parts) <= n:
            continue
        ref = parts[n]
        if isinstance(ref, str):
            return None if (path, ref) in named else key
        if ref < 0 or ref not in old:
            return key
        if old[ref] is None:
            return None
        head = location_text((*path, ref))
        return location_text((*path, old[ref])) + key[len(head) :] if key.startswith(head) else key
    return key


def _real(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


def _display(path: Path, top: Path | None = None) -> str:
    """``path`` relative to the current folder, else to the scenario's folder ``top``, else whole."""
    real = _real(path)
    for folder in (Path.cwd(), top):
        if folder is not None:
            try:
                return str(real.relative_to(_real(folder)))
            except ValueError:
                pass
    return str(path)


@dataclasses.dataclass
class _Chain:
    """What loading one scenario's chain of files shares: where inputs may be read from."""

    roots: list[Path]  # the scenario's folder, then the folders the user allowed
    origins: Origins
    files: dict
    problems: list = dataclasses.field(default_factory=list)  # reported with the schema's
    refused: set = dataclasses.field(default_factory=set)  # project tables not to read


def _load_raw_chain(path: Path, seen: tuple[Path, ...], chain: _Chain):
    """The content of a scenario file merged into its base chain, and which file set each part."""
    path, top = Path(path), chain.roots[0]
    display = _display(path, top)
    if _real(path) in seen:
        loop = " -> ".join(_display(p, top) for p in (*seen, _real(path)))
        raise ScenarioError(Problem(display, "base", f"inheritance loops back on itself ({loop})"))
    raw = files_io.read_toml(path, display=display)
    chain.files[display] = files_io.file_sha256(path)
    model = raw.get("model")
    if isinstance(model, dict) and "projects" in model:
        text = model["projects"]
        try:
            model["projects"] = str(
                files_io.input_path(
                    path.parent,
                    text,
                    chain.roots,
                    file=display,
                    field="model.projects",
                    what="the project table",
                    missing_ok=True,
                )
            )
        except ScenarioError as exc:
            chain.problems.extend(exc.problems)
            chain.refused.add(text if isinstance(text, str) else None)
    base = raw.pop("base", None)
    remove = raw.pop("remove", None)
    if base is None:
        if remove is not None:
            raise ScenarioError(
                Problem(
                    display,
                    "remove",
                    "takes entries out of an inherited scenario, but this file has no base: "
                    'delete the entries themselves, or add base = "<file>"',
                    remove,
                )
            )
        return raw, SetBy.of(raw, display)
    if len(seen) + 1 >= MAX_BASE_CHAIN:
        raise ScenarioError(
            Problem(
                display,
                "base",
                f"the chain of base files is longer than {MAX_BASE_CHAIN} files (starting at "
                f"{_display(seen[0], top) if seen else display}): inherit from fewer levels",
                base,
            )
        )
    base_path = files_io.input_path(
        path.parent, base, chain.roots, file=display, field="base", what="another scenario file"
    )
    parent, parent_set = _load_raw_chain(base_path, (*seen, _real(path)), chain)
    if remove is not None:
        _remove(parent, parent_set, remove, display, chain.origins)
    problems: list[Problem] = []
    merged = _merge(parent, parent_set, raw, SetBy.of(raw, display), (), problems)
    if problems:
        raise ScenarioError(problems)
    return merged


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


def _mark_overrides(origins: Origins, raw: dict, overrides: Mapping[str, Any] | None) -> None:
    """Note that the overrides set their values (and everything under them)."""
    for key in overrides or ():
        loc = _resolved_path(raw, split_path(key))
        for old in [k for k in origins.map if k[: len(loc)] == loc]:
            del origins.map[old]
        origins.map[loc] = "<overrides>"


def _build(
    raw: dict,
    name: str,
    path: Path | None,
    files: dict[str, str],
    origins: Origins,
    chain: _Chain | None = None,
) -> Scenario:
    nonfinite = nonfinite_problems(raw, origins)
    problems: list[Problem] = [*(chain.problems if chain else ()), *nonfinite]
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
    if isinstance(proj_value, str) and proj_value and not (chain and proj_value in chain.refused):
        proj_path = Path(proj_value)
        proj_display = _display(proj_path, chain.roots[0] if chain else None)
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
    return Scenario(
        spec=spec,
        projects=projects,
        name=name,
        path=path,
        input_files=files,
        raw=raw,
        origins=origins,
    )


def load_scenario(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    allow_paths=(),
    max_input_mb: float | None = None,
) -> Scenario:
    """Load, merge and validate a scenario file and its project table.

    The files it names (``base``, ``model.projects``) are read only from the folder of ``path``
    and its subfolders (after following links), ``allow_paths``, and the folders in the
    environment variable ``BENEFITSHARE_ALLOW``; only regular files are read, each up to
    ``max_input_mb`` megabytes (default: ``BENEFITSHARE_MAX_INPUT_MB``, else 50), and a chain of
    base files holds at most :data:`MAX_BASE_CHAIN` files.

    Parameters
    ----------
    path : str or path-like
        The scenario TOML file.
    overrides : mapping, optional
        Field paths and values applied after inheritance, e.g.
        ``{"model.discount_rate": 0.05, "rules[fixed_50].params.term_years": 5}``.
    allow_paths : iterable of path-like, optional
        More folders that ``base`` and ``model.projects`` may name files in.
    max_input_mb : float, optional
        The largest input file read, in megabytes.

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
    roots = [_real(path).parent, *files_io.allowed_roots(allow_paths)]
    chain = _Chain(roots, Origins(), {})
    with files_io.input_limit(max_input_mb):
        raw, raw_set = _load_raw_chain(path, (), chain)
        raw_set.record(chain.origins)
        if overrides:
            raw = apply_overrides(raw, overrides)
            _mark_overrides(chain.origins, raw, overrides)
        return _build(raw, path.stem, path, chain.files, chain.origins, chain)


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
    forms = ", ".join(f"{'.'.join(p)}.<name>" for p in MERGED_ARRAYS)
    schema["properties"]["remove"] = {
        "type": "array",
        "items": {"type": "string"},
        "description": f"Inherited entries to take out, by name: {forms}. Only with base.",
        "examples": [["costs.Shenzhen subsidies to firms entering the parks"]],
    }
    return schema


def resolved_toml(scenario: Scenario) -> str:
    """The scenario after inheritance and overrides, as TOML, each value with the file that set it.

    Every value line ends with a comment naming the file (or ``<overrides>``) that set it, so a
    planner sees what was inherited; entries taken out by a ``remove`` list are named at the top.
    The text is valid TOML with the same content as :attr:`Scenario.raw` (the project table's
    path is shown relative to the current folder).

    Examples
    --------
    >>> import benefitshare as bs
    >>> from benefitshare.scenario.load import resolved_toml
    >>> print(resolved_toml(bs.load_scenario("scenarios/pessimistic_rampup.toml")))  # doctest: +SKIP
    """
    tomls = [f for f in scenario.input_files if f.endswith(".toml")]
    chain = "".join(f", then its base {f}" for f in tomls[1:])
    lines = [
        f"# resolved scenario: {tomls[0] if tomls else scenario.name}{chain}",
        "# each value ends with the file that set it; paths are relative to the current folder",
    ]
    for entry, file in scenario.origins.removed:
        lines.append(f"# removed: {entry} (by {file})")
    raw = copy.deepcopy(scenario.raw)
    model = raw.get("model")
    if isinstance(model, dict) and isinstance(model.get("projects"), str):
        top = _real(scenario.path).parent if scenario.path else None
        model["projects"] = _display(Path(model["projects"]), top)
    lines.extend(annotated_toml(raw, scenario.origins))
    return "\n".join(lines) + "\n"
