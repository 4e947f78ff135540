"""The results store of a sweep: one Parquet file per finished variant, and a manifest.

A results folder holds::

    sweep.json                   the manifest (sweep file hash, inputs, seed, design, variants)
    variants/v000000.parquet     one file per finished variant: its rows of the results table
    detail/<table>/v000000.parquet   Result-level tables per variant, when the sweep asks for them
    results.parquet              every finished variant in one file, rewritten after each run

A variant's files are written to a temporary name and renamed into place (detail tables first,
then the variant's row file), so a variant is finished exactly when ``variants/v<i>.parquet``
exists, whatever moment the process was killed at. Each variant file carries the fingerprint of
its inputs (scenario files, overrides, seed, draws) in its Parquet metadata; a resumed sweep keeps
only files whose fingerprint matches, so it never mixes results of different inputs.

Each variant file's SHA-256 is recorded in ``sweep.json`` (``sha256`` and ``detail_sha256`` of
its record) the first time the manifest is written after the file. A resume, and
:func:`load_sweep` before it merges the files, check every file against it; a file written but
not yet recorded (the process was killed before the manifest was saved) is read whole instead. A
file that fails the check or cannot be read is named in one line on stderr and moved to
``variants/corrupt/``, and its variant runs again, so no damaged file can stop a resume.

The package deletes only what it wrote: a folder without ``sweep.json`` that is not empty is
refused, and clearing a results folder removes only the variant files, temporary files and
``results.parquet`` of a ``sweep.json`` of this package.

:func:`load_sweep` reads the variant files into one tidy DataFrame.

Part of the batch layer: :func:`benefitshare.batch.run.sweep` writes the store through the
functions here; they take the loaded sweep (:mod:`benefitshare.batch.spec`) and its planned tasks
(:mod:`benefitshare.batch.plan`) as they are. Every file is written through the atomic writers
of :mod:`benefitshare.io.files`; the store draws no charts.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io as _bytes_io
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benefitshare.batch.spec import SweepResumeError
from benefitshare.errors import Problem
from benefitshare.io import files as _io
from benefitshare.io.run_folder import package_version

__all__ = [
    "MANIFEST",
    "FORMAT",
    "load_sweep",
    "read_manifest",
    "status_frame",
    "new_manifest",
    "prepare",
    "write_manifest",
    "write_variant",
    "write_results",
    "outcome_record",
    "variant_file",
]

MANIFEST = "sweep.json"
FORMAT = "benefitshare-sweep/1"
VARIANTS = "variants"
DETAIL = "detail"
RESULTS = "results.parquet"
CORRUPT = "corrupt"
_FINGERPRINT_KEY = b"benefitshare.fingerprint"
_VARIANT_FILE = re.compile(r"^v(\d{6,})\.parquet$")


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def variant_file(out: Path, index: int, table: str = "summary") -> Path:
    """Where variant ``index``'s rows (``summary``) or a detail table are stored."""
    name = f"v{index:06d}.parquet"
    return Path(out) / VARIANTS / name if table == "summary" else Path(out) / DETAIL / table / name


# ------------------------------------------------------------------------------------- manifest
def new_manifest(
    loaded, tasks: Sequence, inputs: Mapping[str, str], *, command: str | None = None
) -> dict:
    """The manifest of a sweep about to run: every variant pending."""
    spec = loaded.spec
    return {
        "format": FORMAT,
        "sweep": {
            "name": loaded.name,
            "file": loaded.source,
            "sha256": loaded.sha256,
            "title": spec.sweep.title,
        },
        "spec": spec.model_dump(mode="json"),
        "inputs": dict(sorted(inputs.items())),
        "package_version": package_version(),
        "code_sha256": tasks[0].code_sha256 if tasks else None,
        "git_commit": _io.git_commit(loaded.base_dir),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "seed": spec.sweep.seed,
        "draws": spec.sweep.draws,
        "sampler": spec.sweep.sampler,
        "design": {
            "scenarios": list(spec.sweep.scenarios),
            "levers": {
                "design": spec.levers.design,
                "samples": spec.levers.samples,
                "inputs": [v.name for v in spec.levers.inputs],
            },
            "uncertainties": {
                "design": spec.uncertainties.design,
                "samples": spec.uncertainties.samples,
                "inputs": [v.name for v in spec.uncertainties.inputs],
            },
            "variants": len(tasks),
            "seeding": "variant i uses numpy.random.SeedSequence(seed).spawn(variants)[i]",
        },
        "created": now_iso(),
        "runs": [],
        "variants": [
            {
                "variant": t.index,
                "scenario": t.scenario,
                "values": t.values,
                "lever_point": t.lever_point,
                "uncertainty_point": t.uncertainty_point,
                "overrides": t.overrides,
                "draws": t.draws,
                "seed": t.seed,
                "seed_child": t.spawn_key[-1],
                "fingerprint": t.fingerprint,
                "status": "pending",
                "sha256": None,
                "detail_sha256": None,
                "started": None,
                "seconds": None,
                "worker": None,
                "error": None,
                "traceback": None,
            }
            for t in tasks
        ],
    }


def write_manifest(out: Path, manifest: dict) -> None:
    """Write the manifest atomically (it is rewritten as variants finish).

    A finished variant whose files are not yet recorded gets their SHA-256 (``sha256`` of its
    rows, ``detail_sha256`` by detail table), which a resume and :func:`load_sweep` check.
    """
    out = Path(out)
    for rec in manifest.get("variants", []):
        if rec.get("status") == "done" and rec.get("sha256") is None:
            paths = _variant_paths(out, rec["variant"])
            if paths["summary"].is_file():
                hashes = {t: _io.file_sha256(p) for t, p in paths.items()}
                rec["sha256"] = hashes.pop("summary")
                rec["detail_sha256"] = hashes
    manifest["updated"] = now_iso()
    _io.atomic_write_text(
        Path(out) / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False, default=str) + "\n"
    )


def read_manifest(path: str | Path) -> dict:
    """The manifest of a results folder (or of the ``sweep.json`` given)."""
    path = Path(path)
    file = path if path.is_file() else path / MANIFEST
    if not file.is_file():
        raise FileNotFoundError(f"{path} is not a sweep results folder: it has no {MANIFEST}")
    return json.loads(file.read_text(encoding="utf-8"))


def outcome_record(outcome) -> dict[str, Any]:
    """Manifest fields of a variant's outcome."""
    started = _dt.datetime.fromtimestamp(outcome.started, _dt.UTC).isoformat(timespec="seconds")
    seconds = outcome.seconds if outcome.seconds == outcome.seconds else None
    return {
        "status": outcome.status,
        "started": started,
        "seconds": None if seconds is None else round(seconds, 4),
        "worker": outcome.worker,
        "error": outcome.error,
        "traceback": outcome.traceback,
    }


def prepare(out: Path, manifest: dict, tasks: Sequence, *, resume) -> dict[int, dict]:
    """Make ``out`` ready for the sweep; return the variants already finished there.

    Returns
    -------
    dict
        Variant index -> its manifest fields from the earlier run (status, timings, worker).

    Raises
    ------
    SweepResumeError
        ``out`` holds a different sweep (or one run on changed scenario files) and ``resume`` is
        not ``"force"``, or ``out`` is a folder with other content.
    """
    out = Path(out)
    mf = out / MANIFEST
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SweepResumeError(Problem("<output>", str(out), "is a file, not a folder"))
    if not mf.exists():
        if out.exists() and any(out.iterdir()):
            shown = ", ".join(sorted(p.name for p in out.iterdir())[:8])
            raise SweepResumeError(
                Problem(
                    "<output>",
                    str(out),
                    f"is not empty and has no {MANIFEST}: it is not a sweep results folder of "
                    f"this package (it holds {shown}); nothing in it was changed: choose another "
                    "output folder",
                )
            )
        out.mkdir(parents=True, exist_ok=True)
        return {}
    old = _own_manifest(out)
    if resume is False:
        _clear(out)
        return {}
    changes = _changes(old, manifest)
    if changes and resume != "force":
        raise SweepResumeError(
            [
                Problem("<output>", str(out), f"holds the results of a different sweep: {change}")
                for change in changes
            ]
            + [
                Problem(
                    "<output>",
                    str(out),
                    "resume anyway with --force (resume='force' in Python), which keeps the "
                    "variants whose inputs did not change, or choose another output folder",
                )
            ]
        )
    manifest["created"] = old.get("created", manifest["created"])
    manifest["runs"] = list(old.get("runs", []))
    old_records = {r.get("variant"): r for r in old.get("variants", []) if isinstance(r, dict)}
    by_index = {t.index: t for t in tasks}
    done: dict[int, dict] = {}
    for path in _variant_files(out):
        index = int(_VARIANT_FILE.match(path.name).group(1))
        task = by_index.get(index)
        if task is None:
            path.unlink()
            continue
        rec = old_records.get(index, {})
        hashes, problem = _verify(out, index, rec)
        if problem is not None:
            _move_aside(out, index, problem, "runs again now")
        elif _fingerprint(path) == task.fingerprint:
            done[index] = {
                "status": "done",
                **{k: rec.get(k) for k in ("started", "seconds", "worker")},
                **hashes,
            }
        else:
            path.unlink()  # results of other inputs (kept out by the fingerprint)
    _remove_partial(out, keep=set(done))
    return done


def _own_manifest(out: Path) -> dict:
    """The ``sweep.json`` of ``out``, refused unless this package wrote it."""
    file = out / MANIFEST
    try:
        old = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        old, why = None, f"cannot be read ({exc})"
    else:
        why = "was not written by this package"
    if not isinstance(old, dict) or not str(old.get("format", "")).startswith(
        "benefitshare-sweep/"
    ):
        raise SweepResumeError(
            Problem(
                "<output>",
                str(file),
                f"{why}: {out} is not a sweep results folder of this package; nothing in it was "
                "changed: choose another output folder",
            )
        )
    return old


def _variant_paths(out: Path, index: int) -> dict[str, Path]:
    """Every file of a variant by table: ``summary`` and the detail tables it has."""
    paths = {"summary": variant_file(out, index)}
    for table in _detail_tables(out):
        path = variant_file(out, index, table)
        if path.is_file():
            paths[table] = path
    return paths


def _verify(out: Path, index: int, rec: Mapping) -> tuple[dict, str | None]:
    """Check a finished variant's files against the SHA-256 recorded in ``sweep.json``.

    A file with no recorded hash (written, then the process was killed before the manifest was
    saved) is read whole instead.

    Returns
    -------
    hashes : dict
        ``sha256`` and ``detail_sha256`` for the variant's record.
    problem : str or None
        What is wrong with which file, or None.
    """
    import pyarrow.parquet as pq

    recorded = {"summary": rec.get("sha256"), **(rec.get("detail_sha256") or {})}
    hashes: dict[str, str] = {}
    for table, path in _variant_paths(out, index).items():
        shown = path.relative_to(out).as_posix()
        try:
            sha = _io.file_sha256(path)
            if recorded.get(table) is None:
                pq.read_table(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported and re-run
            why = " ".join(str(exc).replace(str(path), "the file").split())[:160]
            return {}, f"{shown} cannot be read ({type(exc).__name__}: {why})"
        if recorded.get(table) is not None and sha != recorded[table]:
            return {}, f"{shown} does not match the SHA-256 recorded in {MANIFEST}"
        hashes[table] = sha
    summary = hashes.pop("summary")
    return {"sha256": summary, "detail_sha256": hashes}, None


def _move_aside(out: Path, index: int, problem: str, then: str) -> None:
    """Move a variant's files to ``variants/corrupt/`` and say so in one line on stderr."""
    corrupt = out / VARIANTS / CORRUPT
    corrupt.mkdir(parents=True, exist_ok=True)
    for table, path in _variant_paths(out, index).items():
        name = path.name if table == "summary" else f"{table}-{path.name}"
        target, n = corrupt / name, 1
        while target.exists():
            n += 1
            target = corrupt / f"{Path(name).stem}.{n}.parquet"
        os.replace(path, target)
    print(
        f"{out}: {problem}; moved to {VARIANTS}/{CORRUPT}/, variant {index} {then}",
        file=sys.stderr,
    )


def _changes(old: dict, new: dict) -> list[str]:
    out = []
    if old.get("format") != FORMAT:
        out.append(
            f"it was written in the format {old.get('format')!r}, this version writes {FORMAT!r}"
        )
    if old.get("sweep", {}).get("sha256") != new["sweep"]["sha256"]:
        out.append(f"the sweep file {new['sweep']['file']} changed (or is another sweep file)")
    old_in, new_in = old.get("inputs", {}), new["inputs"]
    for name in sorted(set(old_in) | set(new_in)):
        if name not in new_in:
            out.append(f"it was run on {name}, which this sweep does not read")
        elif name not in old_in:
            out.append(f"this sweep reads {name}, which that run did not")
        elif old_in[name] != new_in[name]:
            out.append(f"{name} changed since that run")
    return out


def _clear(out: Path) -> None:
    """Delete the results a sweep of this package wrote in ``out``, and nothing else."""
    folders = [out / VARIANTS, out / VARIANTS / CORRUPT] + [
        out / DETAIL / t for t in _detail_tables(out)
    ]
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.is_file() and (
                _VARIANT_FILE.match(p.name)
                or (p.name.startswith(".") and p.name.endswith(".part"))
                or (folder.name == CORRUPT and p.suffix == ".parquet")
            ):
                p.unlink()
    for folder in reversed(folders + [out / DETAIL]):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when nothing else is in it
    (out / RESULTS).unlink(missing_ok=True)


def _variant_files(out: Path, table: str = "summary") -> list[Path]:
    folder = Path(out) / (VARIANTS if table == "summary" else f"{DETAIL}/{table}")
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if _VARIANT_FILE.match(p.name)]
    return sorted(files, key=lambda p: int(_VARIANT_FILE.match(p.name).group(1)))


def _remove_partial(out: Path, keep: set[int]) -> None:
    """Delete temporary files of interrupted writes, and detail tables of unfinished variants."""
    folders = [out / VARIANTS] + (
        [p for p in (out / DETAIL).iterdir() if p.is_dir()] if (out / DETAIL).is_dir() else []
    )
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            m = _VARIANT_FILE.match(p.name)
            if p.name.startswith(".") and p.name.endswith(".part"):
                p.unlink(missing_ok=True)
            elif m and folder.name != VARIANTS and int(m.group(1)) not in keep:
                p.unlink(missing_ok=True)


def _fingerprint(path: Path) -> str | None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # noqa: BLE001 - an unreadable file is not a finished variant
        return None
    value = meta.get(_FINGERPRINT_KEY)
    return value.decode() if value is not None else None


# ------------------------------------------------------------------------------------- variants
def _parquet_bytes(frame: pd.DataFrame, metadata: Mapping[bytes, bytes] | None = None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    sink = _bytes_io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_variant(out: Path, task, tables: Mapping[str, pd.DataFrame]) -> str:
    """Commit a finished variant: detail tables first, then its rows (which mark it finished).

    Returns the SHA-256 of the rows' file (recorded in the manifest by :func:`write_manifest`).
    """
    columns = task.columns()
    for name, frame in tables.items():
        if name == "summary":
            continue
        _io.atomic_write_bytes(
            variant_file(out, task.index, name), _parquet_bytes(_with_columns(frame, columns))
        )
    summary = _with_columns(tables["summary"], columns)
    for key, value in task.seed_columns().items():
        summary[key] = value
    data = _parquet_bytes(summary, {_FINGERPRINT_KEY: task.fingerprint.encode()})
    _io.atomic_write_bytes(variant_file(out, task.index), data)
    return hashlib.sha256(data).hexdigest()


def _with_columns(frame: pd.DataFrame, columns: Mapping[str, Any]) -> pd.DataFrame:
    front = pd.DataFrame({k: [v] * len(frame) for k, v in columns.items()}, index=frame.index)
    return pd.concat([front, frame], axis=1)


def write_results(out: Path, frame: pd.DataFrame) -> None:
    """Write every finished variant's rows to ``results.parquet`` (one file for other tools)."""
    _io.atomic_write_bytes(Path(out) / RESULTS, _parquet_bytes(frame))


# ------------------------------------------------------------------------------------- reading
def load_sweep(path: str | Path, table: str = "summary") -> pd.DataFrame:
    """The results of a sweep as one tidy DataFrame.

    Parameters
    ----------
    path : path-like
        A sweep results folder (or its ``sweep.json``).
    table : str
        ``"summary"`` (default): one row per finished variant, rule and party, with the columns
        ``variant``, ``scenario``, one column per lever and uncertainty (their values in the
        variant), ``rule``, ``party``, the metrics of :meth:`Result.summary` plus
        ``standalone_npv_yuan`` and ``gain_yuan``, and ``draws``, ``seed`` (the variant's entropy)
        and ``seed_child`` (its index in ``SeedSequence(seed).spawn``). Or the name of a detail
        table the sweep saved (``"annual"``, ``"draws"``, ...): its rows for every finished
        variant, with the variant columns in front.

    Returns
    -------
    pandas.DataFrame
        Rows in variant order, then in the order of the variant's own table, whatever order the
        variants finished in.

    Examples
    --------
    >>> import benefitshare as bs
    >>> df = bs.load_sweep("outputs/ratio_by_rampup")                    # doctest: +SKIP
    >>> df.query("rule == 'fixed_50_50' and party == 'shenzhen'")       # doctest: +SKIP
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    out = path.parent if path.is_file() else path
    if not (out / MANIFEST).is_file():
        raise FileNotFoundError(f"{path} is not a sweep results folder: it has no {MANIFEST}")
    finished = _checked_files(out)
    if table != "summary":
        saved = {p.name for p in _variant_files(out, table)}
        if finished and not saved:
            raise ValueError(
                f"the sweep saved no {table!r} table; saved: {', '.join(_detail_tables(out)) or 'none'} "
                "(set detail = [...] in the sweep file)"
            )
        files = [
            variant_file(out, int(_VARIANT_FILE.match(p.name).group(1)), table) for p in finished
        ]
    else:
        files = finished
    if not files:
        return pd.DataFrame()
    tables = [pq.read_table(f) for f in files]
    merged = pa.concat_tables(tables, promote_options="permissive")
    frame = merged.to_pandas()
    return frame.reset_index(drop=True)


def _checked_files(out: Path) -> list[Path]:
    """The finished variants' row files, each checked (with its detail tables) against the
    SHA-256 in ``sweep.json``; a file that fails is moved aside (:func:`_move_aside`)."""
    try:
        records = {r.get("variant"): r for r in read_manifest(out).get("variants", [])}
    except (OSError, ValueError, AttributeError):
        records = {}
    kept = []
    for path in _variant_files(out):
        index = int(_VARIANT_FILE.match(path.name).group(1))
        _, problem = _verify(out, index, records.get(index) or {})
        if problem is None:
            kept.append(path)
        else:
            _move_aside(out, index, problem, "runs again when the sweep is resumed")
    return kept


def _detail_tables(out: Path) -> list[str]:
    folder = out / DETAIL
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def status_frame(path: str | Path) -> pd.DataFrame:
    """One row per variant: its inputs, ``status`` (done, failed or pending), timings, worker, error.

    The status is checked against the files: a variant is ``done`` exactly when its rows are
    stored, even if the manifest was last written before it finished.
    """
    out = Path(path)
    manifest = read_manifest(out)
    finished = {int(_VARIANT_FILE.match(p.name).group(1)) for p in _variant_files(out)}
    rows = []
    for rec in manifest["variants"]:
        status = rec["status"]
        if rec["variant"] in finished:
            status = "done"
        elif status == "done":
            status = "pending"
        rows.append(
            {
                "variant": rec["variant"],
                "scenario": rec["scenario"],
                **rec["values"],
                "status": status,
                "seconds": rec.get("seconds"),
                "worker": rec.get("worker"),
                "error": rec.get("error"),
            }
        )
    return pd.DataFrame(rows)
