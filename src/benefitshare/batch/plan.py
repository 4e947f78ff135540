"""Planning a sweep: its designs' points, and its variants as small, validated tasks.

The second step of the batch layer, after :mod:`benefitshare.batch.spec` loads the sweep file.
The variants are the cross product *scenario files × lever points × uncertainty points*
(:func:`design_points` gives each group's points); :func:`variant_overrides` turns a point into
the scenario override paths it sets, and :func:`plan_variants` checks every variant's overrides
against its base scenario before anything runs, reporting all problems at once with the sweep
file, the variant and the scenario field.

Every variant runs ``draws`` draws with its own random stream ``SeedSequence(seed).spawn(n)[i]``,
so its result depends only on the sweep file, never on the executor, the number of workers or the
order in which variants finish. A :class:`VariantTask` carries what a worker needs (paths,
overrides, seeds: nothing heavy) and the hash of the package source (:func:`code_sha256`) of the
process that planned it.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import importlib
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benefitshare.batch.spec import (
    Group,
    LoadedSweep,
    Scalar,
    SweepError,
    Variable,
    canonical_json,
    is_number,
)
from benefitshare.errors import Problem, ScenarioError, did_you_mean
from benefitshare.scenario.load import load_scenario, split_path

__all__ = [
    "VariantTask",
    "design_points",
    "variant_overrides",
    "plan_variants",
    "code_sha256",
]

#: Spawn key of the streams that sample the lever and uncertainty designs. Variant streams are the
#: children ``(i,)`` of the sweep seed; a two-part key can never equal one of them.
_DESIGN_STREAM = 2**32 - 1


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
    if not is_number(base):
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
    return is_number(x)


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
        return hashlib.sha256(canonical_json(payload).encode()).hexdigest()

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
                hint = did_you_mean(name, bases[text].rule_names)
                problems.append(
                    Problem(
                        loaded.source,
                        "sweep.rules",
                        f"no rule of that name in {text}"
                        + (
                            f"; did you mean {hint!r}?"
                            if hint is not None
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


@functools.lru_cache(maxsize=1)
def code_sha256() -> str:
    """SHA-256 of this package's source and data files as this process first reads them.

    A sweep's tasks carry the hash of the process that planned them; a worker whose files differ
    (an upgrade, or an edit of an editable install during a long sweep) fails its variants rather
    than mixing results of two versions of the model.
    """
    root = Path(__file__).resolve().parents[1]  # the benefitshare package folder
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts and path.is_file():
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
