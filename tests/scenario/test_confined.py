"""Inputs are confined: ``base`` and ``model.projects`` name regular files inside the scenario's
folder (or an allowed one), of bounded size, and a chain of base files is bounded."""

from __future__ import annotations

import os
import re

import pytest
from conftest import DATA

import benefitshare as bs

TINY_TOML = (DATA / "tiny.toml").read_text("utf-8")
TINY_CSV = (DATA / "tiny_projects.csv").read_text("utf-8")


def _projects(text: str, value: str) -> str:
    return re.sub(r'(?m)^projects = ".*"$', f'projects = "{value}"', text, count=1)


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A scenario folder ``work/scn`` with the tiny scenario and table; the current folder is
    ``work/cwd`` (so neither the current folder nor the scenario's holds the other files)."""
    scn = tmp_path / "scn"
    scn.mkdir()
    (scn / "tiny_projects.csv").write_text(TINY_CSV, "utf-8")
    (scn / "tiny.toml").write_text(_projects(TINY_TOML, "tiny_projects.csv"), "utf-8")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("BENEFITSHARE_ALLOW", raising=False)
    monkeypatch.delenv("BENEFITSHARE_MAX_INPUT_MB", raising=False)
    return scn


def _error(path, **kw) -> str:
    with pytest.raises(bs.ScenarioError) as info:
        bs.load_scenario(path, **kw)
    return str(info.value)


def test_the_tiny_scenario_loads_from_its_own_folder(work):
    assert bs.load_scenario(work / "tiny.toml").name == "tiny"


def test_a_project_table_outside_the_folder_is_refused_without_echoing_it(work):
    (work / "tiny.toml").write_text(_projects(TINY_TOML, "/etc/passwd"), "utf-8")
    msg = _error(work / "tiny.toml")
    assert "model.projects" in msg and "outside the scenario's folder" in msg
    assert "root:" not in msg


def test_a_base_outside_the_folder_is_refused_and_allowed_by_allow_paths(
    work, tmp_path, monkeypatch
):
    other = tmp_path / "other"
    other.mkdir()
    (other / "tiny_projects.csv").write_text(TINY_CSV, "utf-8")
    (other / "parent.toml").write_text(_projects(TINY_TOML, "tiny_projects.csv"), "utf-8")
    (work / "child.toml").write_text('base = "../other/parent.toml"\n', "utf-8")
    msg = _error(work / "child.toml")
    assert "child.toml: base = '../other/parent.toml'" in msg and "--allow-path" in msg
    assert bs.load_scenario(work / "child.toml", allow_paths=[other]).name == "child"
    monkeypatch.setenv("BENEFITSHARE_ALLOW", str(other))
    assert bs.load_scenario(work / "child.toml").name == "child"


def test_a_link_leading_outside_is_refused(work, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(TINY_CSV, "utf-8")
    (work / "link.csv").symlink_to(secret)
    (work / "tiny.toml").write_text(_projects(TINY_TOML, "link.csv"), "utf-8")
    assert "outside the scenario's folder" in _error(work / "tiny.toml")


def test_subfolders_of_the_scenario_folder_are_allowed(work):
    (work / "data").mkdir()
    (work / "tiny_projects.csv").rename(work / "data" / "p.csv")
    (work / "tiny.toml").write_text(_projects(TINY_TOML, "data/p.csv"), "utf-8")
    scn = bs.load_scenario(work / "tiny.toml")
    assert any(k.endswith("p.csv") for k in scn.input_files)


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "folder"])
def test_only_regular_files_are_read(work, kind):
    target = {"fifo": "pipe.csv", "dev_zero": "zero.csv", "folder": "sub"}[kind]
    if kind == "fifo":
        os.mkfifo(work / target)
    elif kind == "folder":
        (work / target).mkdir()
    else:
        (work / target).symlink_to("/dev/zero")
    (work / "tiny.toml").write_text(_projects(TINY_TOML, target), "utf-8")
    msg = _error(work / "tiny.toml", allow_paths=["/dev"])
    assert target.split(".")[0] in msg
    assert "regular file" in msg or "is a folder" in msg or "names a folder" in msg


def test_files_over_the_size_limit_are_refused(work, monkeypatch):
    (work / "tiny_projects.csv").write_text(TINY_CSV + "\n" * 3000, "utf-8")
    assert "larger than the input limit" in _error(work / "tiny.toml", max_input_mb=0.001)
    monkeypatch.setenv("BENEFITSHARE_MAX_INPUT_MB", "0.001")
    assert "BENEFITSHARE_MAX_INPUT_MB" in _error(work / "tiny.toml")


@pytest.mark.parametrize("field", ["projects", "base"])
def test_an_empty_path_says_what_to_give(work, field):
    if field == "projects":
        (work / "tiny.toml").write_text(_projects(TINY_TOML, ""), "utf-8")
    else:
        (work / "tiny.toml").write_text('base = ""\n' + TINY_TOML, "utf-8")
    msg = _error(work / "tiny.toml")
    assert "is empty: give the path of" in msg and "relative to the scenario file" in msg
    assert ".: " not in msg


def test_a_long_base_chain_is_refused_clearly(work):
    (work / "f0.toml").write_text(_projects(TINY_TOML, "tiny_projects.csv"), "utf-8")
    for i in range(1, 1200):
        (work / f"f{i}.toml").write_text(f'base = "f{i - 1}.toml"\n', "utf-8")
    assert "longer than 32 files" in _error(work / "f1199.toml")
    assert bs.load_scenario(work / "f31.toml").name == "f31"  # 32 files in all


def test_a_symlink_loop_is_named(work):
    (work / "a.csv").symlink_to(work / "b.csv")
    (work / "b.csv").symlink_to(work / "a.csv")
    (work / "tiny.toml").write_text(_projects(TINY_TOML, "a.csv"), "utf-8")
    assert "loops back on itself" in _error(work / "tiny.toml")
    (work / "c.toml").symlink_to(work / "c.toml")
    assert "c.toml" in _error(work / "c.toml")


def test_paths_are_shown_relative_to_the_scenario_folder(work):
    (work / "data").mkdir()
    (work / "data" / "p.csv").write_text("a,b\n1,2,3\n", "utf-8")
    (work / "tiny.toml").write_text(_projects(TINY_TOML, "data/p.csv"), "utf-8")
    assert "data/p.csv" in _error(work / "tiny.toml")


def test_cr_only_line_endings_name_the_file_and_line(work):
    (work / "tiny_projects.csv").write_bytes(TINY_CSV.replace("\n", "\r").encode())
    assert re.search(
        r"tiny_projects\.csv: line 1: has CR-only line endings", _error(work / "tiny.toml")
    )


def test_projects_naming_a_folder_names_the_field_and_the_file(tmp_path):
    (tmp_path / "tiny_projects.csv").write_bytes((DATA / "tiny_projects.csv").read_bytes())
    text = (DATA / "tiny.toml").read_text(encoding="utf-8")
    lines = [
        'projects = "."' if line.startswith("projects") else line for line in text.splitlines()
    ]
    (tmp_path / "tiny.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(
        bs.ScenarioError, match=r"tiny\.toml: model\.projects = '\.': names a folder"
    ):
        bs.load_scenario(tmp_path / "tiny.toml")
