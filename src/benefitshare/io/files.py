"""Disk access: reading input files, hashing them, and writing outputs atomically.

The bottom of the io layer (just above the leaves). Readers turn bytes into Python data and
report unreadable input as :class:`~benefitshare.errors.ScenarioError`, naming the file, the line
and what to do; writers write to a temporary file in the destination folder and rename it into
place, so an interrupted run never leaves a half-written file that looks complete. A whole folder
is written the same way: into a hidden sibling folder that is swapped into place only once every
file is in it (:func:`atomic_dir`). Output folders and their manifests are in
:mod:`benefitshare.io.run_folder`.
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
import tomllib
from collections.abc import Iterator
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
    "recover_dir",
    "leftovers",
    "git_commit",
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


_SIBLING = re.compile(r"(?P<tag>tmp|old)-(?:(?P<pid>\d+)-)?[0-9a-f]{8}")


def _sibling_name(dest: Path, tag: str) -> Path:
    """A hidden sibling of ``dest`` named after the writing process: ``.<name>.<tag>-<pid>-<hex>``."""
    return dest.parent / f".{dest.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def _fault_point(stage: str) -> None:
    """Called at each step of :func:`replace_dir` (a test makes it stop the process there).

    ``stage`` is ``"written"`` (the new folder is complete, nothing renamed yet),
    ``"old-moved"`` (the previous folder renamed to its hidden ``.old`` name, the new one not yet
    in place), ``"new-in"`` (the new folder in place, the old one not yet settled) or
    ``"settled"`` (the old folder settled).
    """


def _remove(old: Path, dest: Path) -> None:
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


def _writer_gone(pid: str | None) -> bool:
    if pid is None:
        return True  # written by an older version, which named no process
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):
        return False  # alive but another user's, or not a process id this system knows
    return False


def leftovers(dest: Path, *, before: float | None = None) -> list[tuple[str, Path]]:
    """Hidden ``.tmp-*`` and ``.old-*`` siblings of ``dest`` left by a writer that was killed.

    A sibling counts when the process named in it is no longer running and it was last changed
    before ``before`` (a time from :func:`time.time`; now by default), so a concurrent writer's
    folders are never touched.

    Returns
    -------
    list of (tag, path)
        ``tag`` is ``"tmp"`` or ``"old"``; the newest first.
    """
    import time

    dest = Path(dest)
    limit = time.time() if before is None else before
    prefix = f".{dest.name}."
    found = []
    try:
        entries = list(dest.parent.iterdir())
    except OSError:
        return []
    for p in entries:
        if not p.name.startswith(prefix):
            continue
        m = _SIBLING.fullmatch(p.name[len(prefix) :])
        if m is None or not _writer_gone(m.group("pid")):
            continue
        try:
            mtime = p.lstat().st_mtime
        except OSError:
            continue
        if mtime < limit:
            found.append((mtime, m.group("tag"), p))
    return [(tag, p) for _, tag, p in sorted(found, key=lambda t: -t[0])]


def recover_dir(dest: Path, *, settle=None, before: float | None = None) -> list[str]:
    """Finish what a killed :func:`replace_dir` or :func:`atomic_dir` left beside ``dest``.

    Temporary ``.tmp-*`` folders (never complete) are deleted. If no ``dest`` is visible, the
    newest ``.old-*`` folder (the previous complete folder, moved aside just before the kill) is
    renamed back to ``dest``; any other ``.old-*`` is settled into ``dest`` with ``settle(old,
    dest)`` (deleted by default). Only leftovers of writers no longer running, last changed before
    ``before``, are touched (see :func:`leftovers`).

    Returns
    -------
    list of str
        One line per leftover handled, for the caller to show.
    """
    dest = Path(dest)
    done = []
    for tag, path in leftovers(dest, before=before):
        if tag == "tmp":
            _remove(path, dest)
            done.append(f"removed {path.name}, left by an interrupted write")
        elif not os.path.lexists(dest):
            os.replace(path, dest)
            done.append(f"restored {dest.name} from {path.name}, left by an interrupted write")
        else:
            (settle or _remove)(path, dest)
            done.append(f"cleared {path.name}, left by an interrupted write")
    return done


def replace_dir(new: Path, dest: Path, *, settle=None) -> None:
    """Put the folder ``new`` in place of ``dest`` (which may not exist).

    An existing ``dest`` is first renamed to a hidden sibling ``.<name>.old-<pid>-<hex>``, ``new``
    is renamed in, and the old folder is then settled with ``settle(old, dest)`` (deleted by
    default; :mod:`benefitshare.io.run_folder` moves the files it did not write into ``dest``).
    If the second rename fails the old folder is put back. If the process is killed between the
    two renames, the old folder is complete under its hidden name, and :func:`recover_dir` (which
    the next write calls) renames it back. Both folders must be on the same file system (siblings
    are).
    """
    new, dest = Path(new), Path(dest)
    old = None
    _fault_point("written")
    if os.path.lexists(dest):
        old = _sibling_name(dest, "old")
        os.replace(dest, old)
    try:
        _fault_point("old-moved")
        os.replace(new, dest)
    except BaseException:
        if old is not None and not os.path.lexists(dest):
            os.replace(old, dest)
        raise
    _fault_point("new-in")
    if old is not None:
        (settle or _remove)(old, dest)
    _fault_point("settled")


@contextlib.contextmanager
def atomic_dir(dest: Path, *, settle=None) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``dest``; swap it into place as ``dest`` on success.

    The folder is ``<parent>/.<name>.tmp-<pid>-<hex>``. If the body raises (or is interrupted),
    the folder is deleted and ``dest`` is left as it was, so a half-written run never appears
    under its real name. A folder already at ``dest`` is handed to ``settle`` (see
    :func:`replace_dir`).

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
        replace_dir(tmp, dest, settle=settle)
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
