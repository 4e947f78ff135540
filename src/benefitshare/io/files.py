"""Disk access: reading scenario and project files, and writing outputs atomically.

This is the only module that touches the disk. Readers turn bytes into Python data and report
unreadable input as :class:`~benefitshare.errors.ScenarioError`; writers write to a temporary file
in the destination folder and rename it into place, so an interrupted run never leaves a
half-written file that looks complete. A whole run folder is written the same way: into a hidden
sibling folder that is swapped into place only once every file is in it (:func:`atomic_dir`).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io as _io
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from benefitshare.errors import Problem, ScenarioError

__all__ = [
    "read_text",
    "read_toml",
    "read_csv_rows",
    "file_sha256",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_write_csv",
    "atomic_path",
    "atomic_dir",
    "replace_dir",
    "safe_output_dir",
    "write_output_folder",
    "git_commit",
    "base_manifest",
    "run_manifest",
    "write_run",
    "read_run",
    "RunFolderError",
    "RUN_TABLES",
]

#: The tables of a run folder: file name -> the :class:`~benefitshare.result.Result` method.
RUN_TABLES: dict[str, str] = {
    "summary.csv": "summary",
    "annual.csv": "annual",
    "flows.csv": "flows",
    "statistics.csv": "statistics",
    "costs.csv": "costs",
}


def read_text(path: Path, *, display: str | None = None) -> str:
    """Read a UTF-8 text file, reporting missing, empty and non-UTF-8 files clearly."""
    name = display or str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ScenarioError(Problem(name, "", "file not found")) from None
    except IsADirectoryError:
        raise ScenarioError(Problem(name, "", "is a folder, not a file")) from None
    except OSError as exc:
        raise ScenarioError(Problem(name, "", f"cannot be read ({exc.strerror})")) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            Problem(
                name,
                f"line {line}, byte {exc.start}",
                "file is not valid UTF-8: save it as UTF-8",
                data[exc.start : exc.start + 4],
            )
        ) from None
    if not text.strip():
        raise ScenarioError(Problem(name, "", "file is empty"))
    return text


def read_toml(path: Path, *, display: str | None = None) -> dict[str, Any]:
    """Parse a TOML file; a truncated or malformed file names the line and column."""
    name = display or str(path)
    text = read_text(path, display=name)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        raise ScenarioError(
            Problem(name, "", f"is not valid TOML ({msg}); the file may be truncated")
        ) from None


def read_csv_rows(path: Path, *, display: str | None = None) -> tuple[list[str], list[dict]]:
    """Read a CSV table with a header row.

    Returns
    -------
    header : list of str
    rows : list of dict
        Each row maps column name to its raw string, with the key ``"__line__"`` holding the row's
        line number in the file (the header is line 1).

    Raises
    ------
    ScenarioError
        For an empty or non-UTF-8 file, a row with more or fewer fields than the header (a
        truncated file), or a duplicated column name.
    """
    name = display or str(path)
    text = read_text(path, display=name)
    reader = csv.reader(_io.StringIO(text))
    problems: list[Problem] = []
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ScenarioError(Problem(name, "", "file is empty")) from None
    seen = set()
    for h in header:
        if h in seen:
            problems.append(Problem(name, "line 1", "duplicated column name", h))
        seen.add(h)
    rows: list[dict] = []
    start_line = reader.line_num + 1  # the line a record starts on (a quoted field may span lines)
    try:
        for record in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not record or all(not c.strip() for c in record):
                continue
            if len(record) != len(header):
                problems.append(
                    Problem(
                        name,
                        f"line {line}",
                        f"has {len(record)} fields but the header has {len(header)}: "
                        "the row is truncated or has a stray comma",
                        ",".join(record),
                    )
                )
                continue
            row = {h: c.strip() for h, c in zip(header, record, strict=True)}
            row["__line__"] = line
            rows.append(row)
    except csv.Error as exc:
        problems.append(Problem(name, f"line {start_line}", f"malformed CSV ({exc})"))
    if not rows and not problems:
        problems.append(Problem(name, "", "has a header but no data rows"))
    if problems:
        raise ScenarioError(problems)
    return header, rows


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, hex encoded."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` only on success."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp_path = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.part"
        try:
            # like tempfile.mkstemp, but the file gets the usual permissions (0o666 less the umask)
            os.close(os.open(tmp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            break
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(dest: Path, data: bytes) -> None:
    """Write bytes to ``dest`` atomically (temporary file, fsync, rename)."""
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(dest: Path, text: str) -> None:
    """Write UTF-8 text to ``dest`` atomically."""
    atomic_write_bytes(dest, text.encode("utf-8"))


def atomic_write_json(dest: Path, obj: Any) -> None:
    """Write an object as indented JSON, atomically."""
    atomic_write_text(dest, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def atomic_write_csv(dest: Path, frame) -> None:
    """Write a DataFrame as CSV (no index), atomically."""
    atomic_write_text(dest, frame.to_csv(index=False, lineterminator="\n"))


def safe_output_dir(root: Path, name: str) -> Path:
    """Resolve ``root/name`` and refuse names that escape ``root``.

    Raises
    ------
    ScenarioError
        If ``name`` is absolute, contains ``..`` or a path separator, or is empty.
    """
    bad = (
        not name
        or name in {".", ".."}
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or Path(name).is_absolute()
    )
    root_resolved = Path(root).resolve()
    target = (root_resolved / name).resolve() if not bad else None
    if bad or target.parent != root_resolved:
        raise ScenarioError(
            Problem(
                "<output>",
                "run name",
                "must be a plain folder name inside the output folder (letters, digits, "
                "'-', '_', '.'; no path separators, no leading dot)",
                name,
            )
        )
    return target


def _sibling_name(dest: Path, tag: str) -> Path:
    return dest.parent / f".{dest.name}.{tag}-{secrets.token_hex(4)}"


def replace_dir(new: Path, dest: Path) -> None:
    """Put the folder ``new`` in place of ``dest`` (which may not exist).

    An existing ``dest`` is first renamed to a hidden sibling, ``new`` is renamed in, and the old
    folder is deleted; if the second rename fails the old folder is put back. Both folders must be
    on the same file system (siblings are).
    """
    new, dest = Path(new), Path(dest)
    old = None
    if os.path.lexists(dest):
        old = _sibling_name(dest, "old")
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except BaseException:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()


@contextlib.contextmanager
def atomic_dir(dest: Path) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``dest``; swap it into place as ``dest`` on success.

    The folder is ``<parent>/.<name>.tmp-XXXXXXXX``. If the body raises (or is interrupted), the
    folder is deleted and ``dest`` is left as it was, so a half-written run never appears under
    its real name.

    Examples
    --------
    >>> with atomic_dir(Path("outputs/reference")) as tmp:   # doctest: +SKIP
    ...     atomic_write_text(tmp / "summary.csv", text)
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = _sibling_name(dest, "tmp")
        try:
            tmp.mkdir()  # honours the umask, unlike tempfile.mkdtemp's 0o700
            break
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
    try:
        yield tmp
        replace_dir(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def git_commit(path: Path, *, timeout_s: float = 5.0) -> str | None:
    """Commit checked out (``HEAD``) in the git repository that contains ``path``.

    Returns None when ``path`` is not in a repository, git is not installed, or git does not
    answer within ``timeout_s`` seconds.
    """
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def write_output_folder(dest: Path, *, tables: dict, charts: dict, manifest: dict) -> None:
    """Write an output folder whole or not at all: CSV tables, PNG charts, then the manifest.

    Parameters
    ----------
    dest : path
        The folder (from :func:`safe_output_dir`); replaced only once every file is written.
    tables : dict of str to DataFrame
        File name -> table, written as CSV.
    charts : dict of str to bytes
        File name -> PNG bytes.
    manifest : dict
        Written last as ``manifest.json``, with ``outputs_sha256`` of every other file added.
    """
    with atomic_dir(dest) as tmp:
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
    import datetime
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import numpy as np

    from benefitshare import __version__

    def ver(dist: str) -> str | None:
        try:
            return version(dist)
        except PackageNotFoundError:
            return None

    return {
        "benefitshare_version": __version__,
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
            "pandas": ver("pandas"),
            "matplotlib": ver("matplotlib"),
            "pydantic": ver("pydantic"),
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
    manifest: dict[str, Any],
    charts: bool = True,
    flow_rule: str | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a run folder atomically: the tables, the charts, then ``manifest.json``.

    Parameters
    ----------
    result : Result
    dest : path
        The run folder (from :func:`safe_output_dir`); replaced whole if it exists.
    manifest : dict
        From :func:`run_manifest`; the SHA-256 of every output file, the chart settings and the
        writing time are added.
    charts : bool
        Draw the PNG charts of :func:`benefitshare.plots.run_charts` (needs matplotlib).
    flow_rule : str, optional
        The rule drawn in the flow diagram.
    extra_files : mapping of str to bytes, optional
        More files for the folder (such as charts of a run with draws), by plain file name;
        written with the rest, so they appear atomically, and hashed in the manifest.

    Returns
    -------
    pathlib.Path
        ``dest``.
    """
    dest = Path(dest)
    t0 = time.perf_counter()
    with atomic_dir(dest) as tmp:
        for name, method in RUN_TABLES.items():
            atomic_write_csv(tmp / name, getattr(result, method)())
        chart_info = {}
        if charts:
            from benefitshare.viz import run as plots

            flow_rule = flow_rule or plots.default_flow_rule(result)
            for name, png in plots.run_charts(result, flow_rule=flow_rule).items():
                atomic_write_bytes(tmp / name, png)
            chart_info = {"flow_rule": flow_rule}
        for name, data in (extra_files or {}).items():
            if Path(name).name != name or name.startswith(".") or name == "manifest.json":
                raise ValueError(
                    f"extra file name {name!r} must be a plain file name other than manifest.json"
                )
            atomic_write_bytes(tmp / name, data)
        outputs = {p.name: file_sha256(p) for p in sorted(tmp.iterdir())}
        manifest = dict(manifest)
        manifest["charts"] = chart_info
        manifest["outputs_sha256"] = outputs
        manifest["timings_s"] = {
            **manifest.get("timings_s", {}),
            "write_s": round(time.perf_counter() - t0, 4),
        }
        atomic_write_json(tmp / "manifest.json", manifest)
    return dest


class RunFolderError(ValueError):
    """A folder is not a complete run folder (missing or unreadable manifest or tables)."""


def read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a run folder written by :func:`write_run`.

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
