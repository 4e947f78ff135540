"""Disk access: readers' errors, hashing, atomic files and folders, the git commit."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import benefitshare as bs
from benefitshare.io import files as io

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------------------------ readers
def test_read_toml_names_malformed_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nstart_year = 2026\nend_year = "', encoding="utf-8")
    with pytest.raises(bs.ScenarioError, match=r"bad\.toml.*not valid TOML"):
        io.read_toml(bad, display="bad.toml")


def test_read_csv_rows_reports_truncated_row(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("a,b,c\n1,2,3\n4,5\n", encoding="utf-8")
    with pytest.raises(bs.ScenarioError, match=r"line 3.*has 2 fields but the header has 3"):
        io.read_csv_rows(f)


def test_file_sha256_matches_hashlib(tmp_path):
    f = tmp_path / "x.bin"
    data = os.urandom(3_000_000)
    f.write_bytes(data)
    assert io.file_sha256(f) == hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------ atomic files
def test_atomic_write_text_replaces_and_leaves_no_part_file(tmp_path):
    dest = tmp_path / "sub" / "a.txt"
    io.atomic_write_text(dest, "one")
    io.atomic_write_text(dest, "two")
    assert dest.read_text(encoding="utf-8") == "two"
    assert _hidden(dest.parent) == []


def test_atomic_write_honours_umask(tmp_path):
    old = os.umask(0o027)
    try:
        io.atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_atomic_write_failure_keeps_old_file(tmp_path):
    dest = tmp_path / "a.txt"
    dest.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), io.atomic_path(dest) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("interrupted")
    assert dest.read_text(encoding="utf-8") == "old"
    assert _hidden(tmp_path) == []


# ------------------------------------------------------------------------------------ atomic folders
def test_atomic_dir_creates_folder_only_on_success(tmp_path):
    dest = tmp_path / "out" / "run"
    with io.atomic_dir(dest) as tmp:
        assert tmp.parent == dest.parent and tmp.name.startswith(".run.tmp-")
        assert not dest.exists()
        (tmp / "a.csv").write_text("x\n", encoding="utf-8")
    assert (dest / "a.csv").read_text(encoding="utf-8") == "x\n"
    assert _hidden(dest.parent) == []


def test_atomic_dir_replaces_existing_folder_whole(tmp_path):
    dest = tmp_path / "run"
    dest.mkdir()
    (dest / "stale.csv").write_text("old", encoding="utf-8")
    with io.atomic_dir(dest) as tmp:
        (tmp / "new.csv").write_text("new", encoding="utf-8")
    assert sorted(p.name for p in dest.iterdir()) == ["new.csv"]
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_atomic_dir_interrupted_leaves_old_folder_and_no_temp(tmp_path, exc):
    dest = tmp_path / "run"
    dest.mkdir()
    (dest / "summary.csv").write_text("complete", encoding="utf-8")
    with pytest.raises(type(exc)), io.atomic_dir(dest) as tmp:
        (tmp / "summary.csv").write_text("half", encoding="utf-8")
        raise exc
    assert (dest / "summary.csv").read_text(encoding="utf-8") == "complete"
    assert _hidden(tmp_path) == []


def test_atomic_dir_interrupted_without_old_folder_writes_nothing(tmp_path):
    with pytest.raises(RuntimeError), io.atomic_dir(tmp_path / "run") as tmp:
        (tmp / "a").write_text("x", encoding="utf-8")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_replace_dir_puts_old_folder_back_when_rename_in_fails(tmp_path, monkeypatch):
    dest, new = tmp_path / "run", tmp_path / "new"
    dest.mkdir()
    new.mkdir()
    (dest / "f").write_text("old", encoding="utf-8")
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append((Path(src), Path(dst)))
        if Path(src) == new:
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(io.os, "replace", flaky)
    with pytest.raises(OSError, match="disk full"):
        io.replace_dir(new, dest)
    assert (dest / "f").read_text(encoding="utf-8") == "old"
    assert len(calls) == 3  # away, (failed) in, back


# ------------------------------------------------------------------------------------ git
def test_git_commit_outside_a_repository_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert io.git_commit(tmp_path / "scenario.toml") is None


def test_git_commit_without_git_or_on_timeout_is_none(tmp_path, monkeypatch):
    def no_git(*a, **k):
        raise FileNotFoundError("git")

    monkeypatch.setattr(io.subprocess, "run", no_git)
    assert io.git_commit(tmp_path) is None

    def slow(*a, **k):
        raise subprocess.TimeoutExpired("git", 5)

    monkeypatch.setattr(io.subprocess, "run", slow)
    assert io.git_commit(tmp_path) is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_of_a_repository(tmp_path):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    (tmp_path / "s.toml").write_text("x = 1\n", encoding="utf-8")
    for cmd in (["init", "-q"], ["add", "s.toml"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", str(tmp_path), *cmd], check=True, env=env)
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert io.git_commit(tmp_path / "s.toml") == head


def test_csv_row_with_an_unterminated_quote_is_reported_where_it_starts(tmp_path):
    from benefitshare.io import files as bio

    path = tmp_path / "t.csv"
    path.write_text('a,b\n"1,2\n3,4\n5,6\n', encoding="utf-8")
    with pytest.raises(bs.ScenarioError, match=r"line 2"):
        bio.read_csv_rows(path)


def test_a_kill_between_the_renames_is_undone_by_recover_dir(tmp_path, monkeypatch):
    dest, new = tmp_path / "run", tmp_path / "new"
    dest.mkdir()
    new.mkdir()
    (dest / "f").write_text("old", encoding="utf-8")
    (new / "f").write_text("new", encoding="utf-8")

    class Killed(BaseException):
        pass

    def kill(stage):
        if stage == "old-moved":
            monkeypatch.setattr(io.os, "replace", lambda *a: None)  # a dead process does nothing
            raise Killed

    monkeypatch.setattr(io, "_fault_point", kill)
    with pytest.raises(Killed):
        io.replace_dir(new, dest)
    monkeypatch.undo()
    (old,) = _hidden(tmp_path)
    assert not dest.exists() and old.startswith(f".run.old-{os.getpid()}-")
    assert io.recover_dir(dest) == []  # this process is still running: its folder is left alone
    gone = tmp_path / ".run.old-4206969-0123abcd"
    os.replace(tmp_path / old, gone)
    assert io.leftovers(dest) == [("old", gone)]
    assert io.leftovers(dest, before=0) == []  # changed after the current run began
    assert io.recover_dir(dest) == [f"restored run from {gone.name}, left by an interrupted write"]
    assert (dest / "f").read_text(encoding="utf-8") == "old"
    assert _hidden(tmp_path) == []
