"""Disk access: reading scenario and project files, and writing outputs atomically.

This is the only module that touches the disk. Readers turn bytes into Python data and report
unreadable input as :class:`~benefitshare.errors.ScenarioError`; writers write to a temporary file
in the destination folder and rename it into place, so an interrupted run never leaves a
half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io as _io
import json
import os
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import Problem, ScenarioError

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
    "safe_output_dir",
]


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
    try:
        for record in reader:
            line = reader.line_num
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
        problems.append(Problem(name, f"line {reader.line_num}", f"malformed CSV ({exc})"))
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
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
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
