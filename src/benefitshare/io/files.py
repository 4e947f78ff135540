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
import stat
import subprocess
import tomllib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from benefitshare.errors import Problem, ScenarioError

__all__ = [
    "discard_dir",
    "ALLOW_ENV",
    "MAX_INPUT_ENV",
    "DEFAULT_MAX_INPUT_MB",
    "max_input_bytes",
    "input_limit",
    "allowed_roots",
    "confined_path",
    "input_path",
    "read_bytes",
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


#: Environment variable naming more folders that inputs may be read from (``os.pathsep``-separated).
ALLOW_ENV = "BENEFITSHARE_ALLOW"
#: Environment variable setting the largest input file read, in megabytes.
MAX_INPUT_ENV = "BENEFITSHARE_MAX_INPUT_MB"
#: The largest input file read unless :data:`MAX_INPUT_ENV` or a keyword says otherwise [MB].
DEFAULT_MAX_INPUT_MB = 50.0

_LIMIT_MB: ContextVar[float | None] = ContextVar("benefitshare_max_input_mb", default=None)


def _limit_problem(value: object, source: str) -> ScenarioError:
    return ScenarioError(
        Problem(source, MAX_INPUT_ENV, "must be a positive number of megabytes, e.g. 200", value)
    )


def max_input_bytes(limit_mb: float | None = None) -> int:
    """The largest input file read, in bytes.

    ``limit_mb`` if given, else the limit set by :func:`input_limit`, else the environment
    variable :data:`MAX_INPUT_ENV`, else :data:`DEFAULT_MAX_INPUT_MB`.
    """
    source = "<arguments>"
    if limit_mb is None:
        limit_mb = _LIMIT_MB.get()
    if limit_mb is None:
        text = os.environ.get(MAX_INPUT_ENV, "").strip()
        source = "<environment>"
        if not text:
            return int(DEFAULT_MAX_INPUT_MB * 1024 * 1024)
        try:
            limit_mb = float(text)
        except ValueError:
            raise _limit_problem(text, source) from None
    if isinstance(limit_mb, bool) or not isinstance(limit_mb, int | float) or not limit_mb > 0:
        raise _limit_problem(limit_mb, source)
    if limit_mb == float("inf"):
        return 1 << 62
    return max(1, int(limit_mb * 1024 * 1024))


@contextlib.contextmanager
def input_limit(limit_mb: float | None) -> Iterator[None]:
    """Within the block, input files larger than ``limit_mb`` megabytes are refused.

    None leaves the limit as it is (the environment's or the default).
    """
    if limit_mb is not None:
        max_input_bytes(limit_mb)  # check it
    token = _LIMIT_MB.set(limit_mb if limit_mb is not None else _LIMIT_MB.get())
    try:
        yield
    finally:
        _LIMIT_MB.reset(token)


def allowed_roots(paths: Iterable[str | os.PathLike] = (), *, env: bool = True) -> list[Path]:
    """The folders named by ``--allow-path`` (``paths``) and :data:`ALLOW_ENV`, resolved.

    Raises
    ------
    ScenarioError
        For a folder that does not exist or is not a folder.
    """
    named = [("<arguments>", "--allow-path", p) for p in paths]
    if env:
        text = os.environ.get(ALLOW_ENV, "")
        named += [("<environment>", ALLOW_ENV, p) for p in text.split(os.pathsep) if p.strip()]
    roots, problems = [], []
    for source, where, item in named:
        text = os.fspath(item)
        try:
            if "\0" in text:
                raise ValueError
            root = Path(os.path.realpath(text, strict=True))
            ok = root.is_dir()
        except (OSError, ValueError, RuntimeError):
            ok = False
        if not ok:
            problems.append(Problem(source, where, "must name an existing folder", text))
        else:
            roots.append(root)
    if problems:
        raise ScenarioError(problems)
    return roots


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def confined_path(
    path: Path,
    roots: Iterable[Path],
    *,
    file: str,
    field: str,
    value: object,
    missing_ok: bool = False,
) -> Path:
    """Resolve ``path`` (following symbolic links) and check it lies inside one of ``roots``.

    ``file``, ``field`` and ``value`` name where the path was given (the scenario file, the
    field, the text as written), for the message.

    Returns
    -------
    pathlib.Path
        The resolved path.

    Raises
    ------
    ScenarioError
        If the file does not exist (unless ``missing_ok``: the reader then reports it), is a
        symbolic link loop, or lies outside every root.
    """
    roots = list(roots)
    try:
        real = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        if not missing_ok:
            raise ScenarioError(
                Problem(file, field, "names a file that does not exist", value)
            ) from None
        real = Path(os.path.realpath(path))  # left for the reader to report, if inside
    except (OSError, RuntimeError, ValueError) as exc:
        why = getattr(exc, "strerror", None)
        if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == 40:
            why = "a symbolic link loops back on itself"
        raise ScenarioError(
            Problem(file, field, f"cannot be read ({why or 'not a valid path'})", value)
        ) from None
    if not any(_inside(real, r) for r in roots):
        raise ScenarioError(
            Problem(
                file,
                field,
                "is outside the scenario's folder: inputs are read only from the folder of the "
                "scenario file you named and its subfolders (after following links); move the "
                f"file there, or allow its folder with --allow-path DIR or {ALLOW_ENV}",
                value,
            )
        )
    return real


def input_path(
    folder: Path,
    text: object,
    roots: Iterable[Path],
    *,
    file: str,
    field: str,
    what: str,
    missing_ok: bool = False,
) -> Path:
    """The file that ``text`` (a path written in a scenario, relative to ``folder``) names.

    Checked with :func:`confined_path`; ``what`` says what the file is ("the project table").

    Raises
    ------
    ScenarioError
        If ``text`` is not a string or is empty, or for the reasons of :func:`confined_path`.
    """
    if not isinstance(text, str) or not text.strip():
        why = (
            f"is empty: give the path of {what}, relative to the scenario file"
            if isinstance(text, str)
            else f"must be the path of {what}"
        )
        raise ScenarioError(Problem(file, field, why, text))
    if "\0" in text:
        raise ScenarioError(Problem(file, field, "is not a valid path (it holds a NUL)", text))
    path = confined_path(
        Path(folder) / text, roots, file=file, field=field, value=text, missing_ok=missing_ok
    )
    if path.is_dir():
        why = f"names a folder: give the path of {what} (a file), relative to the scenario file"
        raise ScenarioError(Problem(file, field, why, text))
    return path


def read_bytes(path: Path, *, display: str | None = None, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, refusing folders, devices, pipes and files over the limit.

    ``max_bytes`` defaults to :func:`max_input_bytes`. A pipe is never waited on: the file is
    opened without blocking and checked before anything is read.
    """
    name = display or str(path)
    limit = max_input_bytes() if max_bytes is None else max_bytes
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ScenarioError(Problem(name, "", "file not found")) from None
    except IsADirectoryError:
        raise ScenarioError(Problem(name, "", "is a folder, not a file")) from None
    except OSError as exc:
        why = "a symbolic link loops back on itself" if exc.errno == 40 else exc.strerror
        raise ScenarioError(Problem(name, "", f"cannot be read ({why})")) from None
    except ValueError:  # a NUL in the path
        raise ScenarioError(Problem(name, "", "is not a valid path (it holds a NUL)")) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError(Problem(name, "", "is a folder, not a file"))
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(
                Problem(name, "", "is not a regular file (a device, pipe or socket): give a file")
            )
        too_big = ScenarioError(
            Problem(
                name,
                "",
                f"is larger than the input limit of {limit / 1024 / 1024:g} MB; raise it with "
                f"{MAX_INPUT_ENV} if the file is right",
            )
        )
        if info.st_size > limit:
            raise too_big
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise too_big
        return data
    except OSError as exc:
        raise ScenarioError(Problem(name, "", f"cannot be read ({exc.strerror})")) from None
    finally:
        os.close(fd)


def read_text(path: Path, *, display: str | None = None, max_bytes: int | None = None) -> str:
    """Read a UTF-8 text file, reporting missing, empty, oversized and non-UTF-8 files clearly.

    Only a regular file is read (see :func:`read_bytes`), up to ``max_bytes``.
    """
    name = display or str(path)
    data = read_bytes(path, display=name, max_bytes=max_bytes)
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


def read_toml(
    path: Path, *, display: str | None = None, max_bytes: int | None = None
) -> dict[str, Any]:
    """Parse a TOML file; a truncated or malformed file names the line and column."""
    name = display or str(path)
    text = read_text(path, display=name, max_bytes=max_bytes)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        raise ScenarioError(
            Problem(name, "", f"is not valid TOML ({msg}); the file may be truncated")
        ) from None


#: The most characters of a CSV record quoted in a message (never a whole line of a file).
_QUOTE_AT_MOST = 60


def _quoted(record: list[str]) -> str:
    text = ",".join(record)
    return text if len(text) <= _QUOTE_AT_MOST else text[: _QUOTE_AT_MOST - 3] + "..."


def read_csv_rows(
    path: Path, *, display: str | None = None, max_bytes: int | None = None
) -> tuple[list[str], list[dict]]:
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
        For an empty or non-UTF-8 file, a file that is not a regular file or is over the size
        limit (:func:`read_bytes`), CR-only line endings or another malformed line (naming the
        line), a row with more or fewer fields than the header (a truncated file), or a
        duplicated column name.
    """
    name = display or str(path)
    text = read_text(path, display=name, max_bytes=max_bytes)
    if "\r" in text and "\n" not in text.rstrip("\r"):
        raise ScenarioError(
            Problem(
                name,
                "line 1",
                "has CR-only line endings (an old Mac format) that CSV readers do not take: "
                "save it with LF or CRLF line endings",
            )
        )
    reader = csv.reader(_io.StringIO(text))
    problems: list[Problem] = []
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ScenarioError(Problem(name, "", "file is empty")) from None
    except csv.Error as exc:
        raise ScenarioError(Problem(name, "line 1", f"malformed CSV header ({exc})")) from None
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
                        _quoted(record),
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


def discard_dir(old: Path, dest: Path) -> None:
    """Delete ``old`` (a folder beside ``dest``, or a file), safely against a kill.

    A folder is first renamed to a hidden ``.tmp-`` sibling of ``dest`` and then deleted: a kill
    during the deletion leaves a half-deleted *temporary* folder, which :func:`recover_dir`
    removes whole, never a half-deleted ``.old`` folder that would pass for a previous run.
    """
    if old.is_dir() and not old.is_symlink():
        trash = _sibling_name(dest, "tmp")
        try:
            os.replace(old, trash)
        except OSError:
            trash = old
        shutil.rmtree(trash, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


_remove = discard_dir


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
