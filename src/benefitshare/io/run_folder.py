"""Output folders: their safe names, their manifests, and the run folder's writer and reader.

The io layer, above :mod:`benefitshare.io.files` (whose atomic writers it uses) and below every
stage of the model. It renders nothing and imports no stage: the objects it writes (a run's
result and its scenario) are read through their public attributes and methods, and charts arrive
as PNG bytes drawn by the caller (the command line draws them with :mod:`benefitshare.viz`).

A folder is written whole or not at all (:func:`benefitshare.io.files.atomic_dir`): the tables,
the charts, then ``manifest.json``, which records what made the folder (version, command, inputs
and their SHA-256, environment) and the SHA-256 of every other file in it.

An existing folder is replaced only when the package wrote everything in it: its
``manifest.json`` lists every other file with the SHA-256 the file still has
(:func:`check_output_dir`). Anything else -- a user's notes, an edited table, a folder that is
not a run folder -- is refused, or with ``force=True`` moved into the new folder; it is never
deleted.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benefitshare.errors import Problem, ScenarioError
from benefitshare.io.files import (
    atomic_dir,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_json,
    discard_dir,
    file_sha256,
    git_commit,
    recover_dir,
)

__all__ = [
    "RUN_TABLES",
    "RunFolderError",
    "package_version",
    "safe_output_dir",
    "MAX_NAME_LENGTH",
    "foreign_entries",
    "check_output_dir",
    "write_output_folder",
    "base_manifest",
    "run_manifest",
    "write_run",
    "read_run",
]

#: The tables of a run folder: file name -> the method of the run's result that makes it.
RUN_TABLES: dict[str, str] = {
    "summary.csv": "summary",
    "annual.csv": "annual",
    "flows.csv": "flows",
    "statistics.csv": "statistics",
    "costs.csv": "costs",
}


class RunFolderError(ValueError):
    """A folder is not a complete run folder (missing or unreadable manifest or tables)."""


def package_version(dist: str = "benefitshare") -> str | None:
    """Installed version of a distribution, from its metadata.

    Parameters
    ----------
    dist : str
        Distribution name; this package by default.

    Returns
    -------
    str or None
        The version; for this package ``"0+unknown"`` when it is not installed (run from a
        source tree), for any other distribution None.
    """
    try:
        return version(dist)
    except PackageNotFoundError:
        return "0+unknown" if dist == "benefitshare" else None


#: The longest run name, in characters.
MAX_NAME_LENGTH = 100

#: A run name: letters (any script, e.g. CJK), digits, ``_``, ``-`` and ``.``; no leading dot.
_NAME_RULE = (
    f"must be 1-{MAX_NAME_LENGTH} letters (any script), digits, '_', '-' or '.', not starting "
    "with a dot (no spaces, path separators, control or direction characters)"
)


def _name_ok(name: str) -> bool:
    if not 1 <= len(name) <= MAX_NAME_LENGTH or name.startswith("."):
        return False
    return all(c.isalnum() or c in "_-." for c in name) and name.isprintable()


def safe_output_dir(root: Path, name: str) -> Path:
    """Resolve ``root/name``, refusing unsafe names and an output root that cannot hold folders.

    A run name is 1 to :data:`MAX_NAME_LENGTH` letters (of any script), digits, ``_``, ``-``
    and ``.``, not starting with a dot: no spaces, path separators, NUL, newline or other control
    characters, or right-to-left overrides.

    Raises
    ------
    ScenarioError
        If ``name`` breaks that rule, or ``root`` holds a NUL or is (or lies under) a file.
    """
    if not isinstance(name, str) or not _name_ok(name):
        raise ScenarioError(Problem("<output>", "run name", _NAME_RULE, name))
    text = os.fspath(root)
    if "\0" in text:
        raise ScenarioError(
            Problem("<output>", "--out", "is not a valid folder path (it holds a NUL)", text)
        )
    for folder in (Path(text), *Path(text).parents):
        if os.path.lexists(folder):
            if not folder.is_dir():
                raise ScenarioError(
                    Problem(
                        "<output>",
                        "--out",
                        f"{folder} is a file, not a folder: give a folder for the outputs",
                        text,
                    )
                )
            break
    root_resolved = Path(text).resolve()
    target = (root_resolved / name).resolve()
    if target.parent != root_resolved:
        raise ScenarioError(Problem("<output>", "run name", _NAME_RULE, name))
    return target


_MANIFEST = "manifest.json"
_SHOW_AT_MOST = 8


def _package_files(folder: Path) -> set[str]:
    """Names in ``folder`` the package wrote: ``manifest.json`` and the unchanged files it lists."""
    try:
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return set()
    listed = manifest.get("outputs_sha256") if isinstance(manifest, dict) else None
    if not isinstance(listed, dict):
        return set()
    owned = {_MANIFEST}
    for name, sha in listed.items():
        path = folder / str(name)
        if (
            Path(str(name)).name == name
            and path.is_file()
            and not path.is_symlink()
            and file_sha256(path) == sha
        ):
            owned.add(name)
    return owned


def foreign_entries(folder: Path) -> list[str]:
    """What in an output folder the package did not write, by name (sorted).

    Everything but ``manifest.json`` and the files it lists under ``outputs_sha256`` with the
    SHA-256 they still have: a file a user added or edited, a subfolder, or everything in a folder
    without such a manifest.
    """
    folder = Path(folder)
    owned = _package_files(folder)
    return sorted(p.name for p in folder.iterdir() if p.name not in owned)


def _free_name(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or ``<stem>.previous[-n]<suffix>`` if that is taken."""
    target = folder / name
    stem, suffix = (Path(name).stem, Path(name).suffix) if not name.startswith(".") else (name, "")
    n = 1
    while os.path.lexists(target):
        target = folder / f"{stem}.previous{'' if n == 1 else f'-{n}'}{suffix}"
        n += 1
    return target


def _keep_foreign(old: Path, dest: Path) -> None:
    """Settle a replaced folder: move what the package did not write into ``dest``, delete the rest.

    A name the new folder already uses gets ``.previous`` before its suffix
    (``summary.previous.csv``). A plain file or link that stood at the path is moved in likewise.
    """
    if old.is_symlink() or not old.is_dir():
        os.replace(old, _free_name(dest, dest.name))
        return
    for name in foreign_entries(old):
        os.replace(old / name, _free_name(dest, name))
    discard_dir(old, dest)  # a kill from here on leaves only a temporary folder


def check_output_dir(dest: Path, *, force: bool = False) -> list[str]:
    """Check that an output folder may be (re)written; return what in it will be kept.

    First finishes what a killed earlier write left beside ``dest`` (see
    :func:`benefitshare.io.files.recover_dir`): temporary folders are removed and a previous run
    moved aside just before a kill is put back.

    Parameters
    ----------
    dest : path
        The folder (from :func:`safe_output_dir`).
    force : bool
        Replace a folder that holds files the package did not write; they are moved into the new
        folder (see :func:`foreign_entries`), never deleted.

    Returns
    -------
    list of str
        Names the package did not write, which the new folder will keep (empty unless
        ``force``).

    Raises
    ------
    ScenarioError
        ``dest`` is a file or a link (never replaced, even with ``force``), or, without
        ``force``, a folder holding anything the package did not write.
    """
    dest = Path(dest)
    recover_dir(dest, settle=_keep_foreign)
    if os.path.islink(dest) or (os.path.lexists(dest) and not dest.is_dir()):
        raise ScenarioError(
            Problem(
                "<output>",
                str(dest),
                "is a file (or a link), not an output folder; it is never replaced: "
                "choose another --name or --out",
            )
        )
    if not dest.is_dir():
        return []
    foreign = foreign_entries(dest)
    if foreign and not force:
        shown = ", ".join(foreign[:_SHOW_AT_MOST]) + (
            f" and {len(foreign) - _SHOW_AT_MOST} more" if len(foreign) > _SHOW_AT_MOST else ""
        )
        what = (
            "holds files this package did not write (or that changed since)"
            if (dest / _MANIFEST).is_file()
            else "is a folder this package did not write (it has no manifest.json of a run)"
        )
        raise ScenarioError(
            Problem(
                "<output>",
                str(dest),
                f"{what}: {shown}; nothing was changed. Choose another --name, or replace it "
                "with --force, which moves those files into the new folder (never deletes them)",
            )
        )
    return foreign


def write_output_folder(
    dest: Path,
    *,
    tables: Mapping[str, Any],
    charts: Mapping[str, bytes],
    manifest: dict[str, Any],
    force: bool = False,
) -> None:
    """Write an output folder whole or not at all: CSV tables, PNG charts, then the manifest.

    Parameters
    ----------
    dest : path
        The folder (from :func:`safe_output_dir`); replaced only once every file is written.
    tables : mapping of str to pandas.DataFrame
        File name -> table, written as CSV.
    charts : mapping of str to bytes
        File name -> PNG bytes, written as given.
    manifest : dict
        Written last as ``manifest.json``, with ``outputs_sha256`` of every other file added
        (the dict is updated in place).
    force : bool
        Replace a folder holding files the package did not write, keeping them (see
        :func:`check_output_dir`, which raises ``ScenarioError`` otherwise).
    """
    check_output_dir(dest, force=force)
    with atomic_dir(dest, settle=_keep_foreign) as tmp:
        for name, frame in tables.items():
            atomic_write_csv(tmp / name, frame)
        for name, png in charts.items():
            atomic_write_bytes(tmp / name, png)
        manifest["outputs_sha256"] = {p.name: file_sha256(p) for p in sorted(tmp.iterdir())}
        atomic_write_json(tmp / "manifest.json", manifest)


def base_manifest(scenario, *, command: str | None = None, overrides=None) -> dict[str, Any]:
    """What the manifest of every output folder records, whatever made it.

    Parameters
    ----------
    scenario : Scenario
        Read through ``name``, ``path``, ``spec.header.title`` and ``input_files``.
    command : str, optional
        The command line that made the output.
    overrides : mapping, optional
        Field-path overrides applied to the scenario.

    Returns
    -------
    dict
        ``benefitshare_version``, ``created_utc``, ``command``, ``scenario`` (name, title, path),
        ``git_commit`` of the repository holding the scenario (None outside one),
        ``inputs_sha256`` (every input file read), ``overrides`` and ``environment`` (Python and
        library versions, platform).
    """
    import numpy as np

    return {
        "benefitshare_version": package_version(),
        "created_utc": datetime.datetime.now(datetime.UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
        "command": command,
        "scenario": {
            "name": scenario.name,
            "title": scenario.spec.header.title,
            "path": None if scenario.path is None else str(scenario.path),
        },
        "git_commit": None if scenario.path is None else git_commit(scenario.path),
        "inputs_sha256": dict(scenario.input_files),
        "overrides": dict(overrides or {}),
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": package_version("pandas"),
            "matplotlib": package_version("matplotlib"),
            "pydantic": package_version("pydantic"),
            "platform": platform.platform(),
        },
    }


def run_manifest(
    result, *, command: str | None = None, overrides=None, sampler=None, timings: dict | None = None
) -> dict[str, Any]:
    """What a run folder's ``manifest.json`` records about the run.

    Parameters
    ----------
    result : Result
        Read through its public attributes (``scenario``, ``rule_names``, ``party_ids``,
        ``years``, ``n_draws``, ``seed``, ``sampler``, ``factors``, ``timings``) and
        ``headline()``.
    command : str, optional
        The command line that made the run.
    overrides : mapping, optional
        Field-path overrides applied to the scenario.
    sampler : str, optional
        The sampler asked for (else the result's).
    timings : dict, optional
        Wall times [s] measured by the caller (loading, running), merged with the result's.

    Returns
    -------
    dict
        The fields of :func:`base_manifest`, then rules (name and label), parties, years, draws,
        seed, sampler, the uncertain inputs sampled, headline totals [yuan] and timings [s].
    """
    scn = result.scenario
    specs = {r.name: r for r in scn.spec.rules}
    return {
        **base_manifest(scn, command=command, overrides=overrides),
        "rules": [
            {"name": n, "label": (specs[n].label if n in specs else None) or n}
            for n in result.rule_names
        ],
        "parties": {pid: scn.spec.parties[pid].name for pid in result.party_ids},
        "years": [int(result.years[0]), int(result.years[-1])],
        "draws": int(result.n_draws),
        "seed": result.seed,
        "sampler": sampler if sampler is not None else result.sampler,
        "uncertain_inputs": list(result.factors),
        "headline_yuan": result.headline(),
        "timings_s": {
            **{k: round(v, 4) if isinstance(v, float) else v for k, v in result.timings.items()},
            **(timings or {}),
        },
    }


def write_run(
    result,
    dest: Path,
    *,
    manifest: Mapping[str, Any],
    charts: Mapping[str, bytes] | None = None,
    chart_settings: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Write a run folder atomically: the tables, the charts, then ``manifest.json``.

    Parameters
    ----------
    result : Result
        Each table of :data:`RUN_TABLES` is the result's method of that name, called with no
        arguments.
    dest : path
        The run folder (from :func:`safe_output_dir`); an existing one is replaced whole once
        every new file is written, if the package wrote everything in it (see
        :func:`check_output_dir`).
    manifest : mapping
        From :func:`run_manifest`; a copy is written, with ``charts`` (``chart_settings``), the
        SHA-256 of every output file and the writing time [s] added.
    charts : mapping of str to bytes, optional
        PNG charts (or any other files) by plain file name, written exactly as given; none by
        default. They are drawn by the caller: this module renders nothing.
    chart_settings : mapping, optional
        How the charts were drawn (such as ``{"flow_rule": "fixed_50_50"}``), recorded as the
        manifest's ``charts``; empty by default.
    force : bool
        Replace a folder holding files the package did not write: they are moved into the new
        run folder (a name the run writes itself gets ``.previous`` before its suffix).

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    ValueError
        If a chart name is not a plain file name, is hidden, or is ``manifest.json``; nothing is
        written then.
    ScenarioError
        ``dest`` is a file, or (without ``force``) a folder holding files the package did not
        write; nothing is written then.
    """
    dest = Path(dest)
    charts = dict(charts or {})
    for name in charts:
        if Path(name).name != name or name.startswith(".") or name == "manifest.json":
            raise ValueError(
                f"chart file name {name!r} must be a plain file name other than manifest.json"
            )
    t0 = time.perf_counter()
    check_output_dir(dest, force=force)
    with atomic_dir(dest, settle=_keep_foreign) as tmp:
        for name, method in RUN_TABLES.items():
            atomic_write_csv(tmp / name, getattr(result, method)())
        for name, data in charts.items():
            atomic_write_bytes(tmp / name, data)
        outputs = {p.name: file_sha256(p) for p in sorted(tmp.iterdir())}
        written = dict(manifest)
        written["charts"] = dict(chart_settings or {})
        written["outputs_sha256"] = outputs
        written["timings_s"] = {
            **written.get("timings_s", {}),
            "write_s": round(time.perf_counter() - t0, 4),
        }
        atomic_write_json(tmp / "manifest.json", written)
    return dest


def read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a run folder written by :func:`write_run`.

    Parameters
    ----------
    run_dir : path

    Returns
    -------
    manifest : dict
    tables : dict of str to pandas.DataFrame
        By file name (``"summary.csv"``, ...).

    Raises
    ------
    RunFolderError
        Naming every missing or unreadable file.
    """
    import pandas as pd

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(
            f"{run_dir}: not a folder; give the folder that `benefitshare run` wrote"
        )
    problems = []
    manifest: dict[str, Any] = {}
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(
            f"{run_dir / 'manifest.json'}: file not found (not a run folder, or an unfinished one)"
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{run_dir / 'manifest.json'}: cannot be read ({exc})")
    tables = {}
    for fname in RUN_TABLES:
        try:
            tables[fname] = pd.read_csv(run_dir / fname)
        except FileNotFoundError:
            problems.append(f"{run_dir / fname}: file not found")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{run_dir / fname}: cannot be read as CSV ({exc})")
    if problems:
        raise RunFolderError("\n".join(problems))
    return manifest, tables
