"""Output folders: safe run names, manifests, and the run folder's writer and reader."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import benefitshare as bs
from benefitshare.io import files, run_folder

DATA = Path(__file__).resolve().parents[1] / "data"


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------------------------ run names
@pytest.mark.parametrize("name", ["..", "../x", "a/b", "a\\b", ".hidden", "", "/abs"])
def test_safe_output_dir_refuses_escaping_names(tmp_path, name):
    with pytest.raises(bs.ScenarioError, match="run name"):
        run_folder.safe_output_dir(tmp_path, name)


def test_safe_output_dir_accepts_plain_name(tmp_path):
    assert run_folder.safe_output_dir(tmp_path, "run-1.a_b") == (tmp_path / "run-1.a_b").resolve()


# ------------------------------------------------------------------------------------ run writer
@pytest.fixture(scope="module")
def tiny_result():
    return bs.run(bs.load_scenario(DATA / "tiny.toml"))


def test_run_manifest_fields(tiny_result):
    m = run_folder.run_manifest(
        tiny_result, command="benefitshare run x", overrides={"a.b": 1}, timings={"load_s": 0.1}
    )
    assert m["benefitshare_version"] == bs.__version__
    assert m["inputs_sha256"] == tiny_result.scenario.input_files
    assert [r["name"] for r in m["rules"]] == tiny_result.rule_names
    assert m["draws"] == 1 and m["seed"] is None and m["sampler"] is None
    assert m["overrides"] == {"a.b": 1}
    assert m["timings_s"]["load_s"] == 0.1 and "evaluate_s" in m["timings_s"]
    assert m["headline_yuan"] == tiny_result.headline()
    assert m["created_utc"].endswith("Z")
    json.dumps(m)  # serialisable as it stands


def test_write_run_tables_and_manifest_hashes(tiny_result, tmp_path):
    dest = tmp_path / "tiny"
    run_folder.write_run(tiny_result, dest, manifest={"x": 1})
    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["x"] == 1 and manifest["charts"] == {}
    assert set(manifest["outputs_sha256"]) == set(run_folder.RUN_TABLES)
    for name, sha in manifest["outputs_sha256"].items():
        assert files.file_sha256(dest / name) == sha
    pd.testing.assert_frame_equal(
        pd.read_csv(dest / "summary.csv")[["rule", "party"]],
        tiny_result.summary()[["rule", "party"]],
    )
    assert _hidden(tmp_path) == []


def test_read_run_round_trip_and_missing_manifest(tiny_result, tmp_path):
    dest = tmp_path / "tiny"
    run_folder.write_run(tiny_result, dest, manifest={"x": 1})
    manifest, tables = run_folder.read_run(dest)
    assert manifest["x"] == 1 and set(tables) == set(run_folder.RUN_TABLES)
    (dest / "manifest.json").unlink()
    (dest / "flows.csv").unlink()
    with pytest.raises(
        run_folder.RunFolderError, match=r"(?s)manifest\.json: file not found.*flows\.csv"
    ):
        run_folder.read_run(dest)
    with pytest.raises(run_folder.RunFolderError, match="not a folder"):
        run_folder.read_run(tmp_path / "nope")


def test_write_run_writes_exactly_the_chart_bytes_it_is_given(tiny_result, tmp_path):
    dest = tmp_path / "tiny"
    charts = {"flows.png": b"\x89PNG fake flows", "fan.png": b"\x89PNG fake fan"}
    run_folder.write_run(
        tiny_result, dest, manifest={}, charts=charts, chart_settings={"flow_rule": "host"}
    )
    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    assert {p.name for p in dest.iterdir()} == {*run_folder.RUN_TABLES, *charts, "manifest.json"}
    for name, data in charts.items():
        assert (dest / name).read_bytes() == data
        assert manifest["outputs_sha256"][name] == hashlib.sha256(data).hexdigest()
    assert manifest["charts"] == {"flow_rule": "host"}


@pytest.mark.parametrize("name", ["../x.png", "manifest.json", ".hidden", "a/b.png"])
def test_write_run_refuses_bad_chart_names_and_writes_nothing(tiny_result, tmp_path, name):
    with pytest.raises(ValueError, match="plain file name"):
        run_folder.write_run(tiny_result, tmp_path / "tiny", manifest={}, charts={name: b"x"})
    assert list(tmp_path.iterdir()) == []


def test_writing_a_run_folder_imports_no_chart_module_and_no_matplotlib(tmp_path):
    """io renders nothing: a whole run written and read back leaves viz and matplotlib unloaded."""
    code = f"""
import sys
from pathlib import Path
from benefitshare.model.run import run
from benefitshare.scenario.load import load_scenario
from benefitshare.io import report, run_folder

result = run(load_scenario({str(DATA / "tiny.toml")!r}))
dest = Path({str(tmp_path / "tiny")!r})
manifest = run_folder.run_manifest(result, command="test")
run_folder.write_run(result, dest, manifest=manifest, charts={{"a.png": b"png"}})
run_folder.read_run(dest)
report.build_report(dest)
loaded = sorted(m for m in sys.modules if m.startswith(("benefitshare.viz", "matplotlib")))
sys.exit(f"loaded: {{loaded}}" if loaded else 0)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout
    assert (tmp_path / "tiny" / "a.png").read_bytes() == b"png"


def test_io_modules_import_nothing_above_the_io_layer():
    """The io modules import only the leaves and io itself, even inside functions."""
    import ast

    leaves = {"errors", "glossary", "schedules", "regime", "io"}
    src = Path(run_folder.__file__).parent
    wrong = []
    for path in sorted(src.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level:
                targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                if parts[0] == "benefitshare" and (len(parts) < 2 or parts[1] not in leaves):
                    wrong.append(f"{path.name}:{node.lineno}: {target}")
    assert wrong == []


# ------------------------------------------------------------------------------------ replacing
def _complete_run(folder: Path) -> dict:
    """The manifest of a complete run folder: every file it lists is there, unchanged."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for name, sha in manifest["outputs_sha256"].items():
        assert files.file_sha256(folder / name) == sha, name
    return manifest


def test_a_folder_the_package_did_not_write_is_refused_and_left_alone(tiny_result, tmp_path):
    dest = tmp_path / "mydata"
    dest.mkdir()
    (dest / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(bs.ScenarioError) as info:
        run_folder.write_run(tiny_result, dest, manifest={})
    message = str(info.value)
    assert str(dest) in message and "thesis.docx" in message and "--force" in message
    assert "--name" in message
    assert [p.name for p in dest.iterdir()] == ["thesis.docx"]
    assert _hidden(tmp_path) == []


def test_a_run_folder_with_a_file_added_or_edited_is_refused(tiny_result, tmp_path):
    dest = tmp_path / "tiny"
    run_folder.write_run(tiny_result, dest, manifest={"gen": 1})
    run_folder.write_run(tiny_result, dest, manifest={"gen": 2})  # only its own files: replaced
    assert _complete_run(dest)["gen"] == 2
    (dest / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(bs.ScenarioError, match=r"notes\.txt"):
        run_folder.check_output_dir(dest)
    (dest / "notes.txt").unlink()
    with open(dest / "summary.csv", "a", encoding="utf-8") as fh:
        fh.write("# my remark\n")
    with pytest.raises(bs.ScenarioError, match=r"summary\.csv"):
        run_folder.write_run(tiny_result, dest, manifest={"gen": 3})
    assert json.loads((dest / "manifest.json").read_text(encoding="utf-8"))["gen"] == 2
    assert (dest / "summary.csv").read_text(encoding="utf-8").endswith("# my remark\n")


@pytest.mark.parametrize("force", [False, True])
def test_a_plain_file_or_link_at_the_path_is_never_replaced(tiny_result, tmp_path, force):
    (tmp_path / "plain").write_text("a file", encoding="utf-8")
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    for name in ("plain", "link"):
        with pytest.raises(bs.ScenarioError, match="never replaced"):
            run_folder.write_run(tiny_result, tmp_path / name, manifest={}, force=force)
    assert (tmp_path / "plain").read_text(encoding="utf-8") == "a file"
    assert (tmp_path / "link").is_symlink() and list((tmp_path / "target").iterdir()) == []


def test_an_empty_folder_is_replaced(tiny_result, tmp_path):
    (tmp_path / "tiny").mkdir()
    run_folder.write_run(tiny_result, tmp_path / "tiny", manifest={})
    _complete_run(tmp_path / "tiny")


def test_force_moves_user_files_into_the_new_run_folder(tiny_result, tmp_path):
    dest = tmp_path / "tiny"
    run_folder.write_run(tiny_result, dest, manifest={"gen": 1})
    (dest / "notes.txt").write_text("mine", encoding="utf-8")
    (dest / "drafts").mkdir()
    (dest / "drafts" / "a.md").write_text("draft", encoding="utf-8")
    edited = (dest / "summary.csv").read_text(encoding="utf-8") + "# my remark\n"
    (dest / "summary.csv").write_text(edited, encoding="utf-8")
    kept = run_folder.check_output_dir(dest, force=True)
    assert kept == ["drafts", "notes.txt", "summary.csv"]
    run_folder.write_run(tiny_result, dest, manifest={"gen": 2}, force=True)
    assert _complete_run(dest)["gen"] == 2
    assert (dest / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (dest / "drafts" / "a.md").read_text(encoding="utf-8") == "draft"
    assert (dest / "summary.previous.csv").read_text(encoding="utf-8") == edited
    assert _hidden(tmp_path) == []
    # a folder that was never a run: its content moves in too, nothing is deleted
    other = tmp_path / "mydata"
    other.mkdir()
    (other / "thesis.docx").write_bytes(b"years of work")
    (other / "manifest.json").write_text("{}", encoding="utf-8")
    run_folder.write_output_folder(
        other, tables={"t.csv": pd.DataFrame({"a": [1]})}, charts={}, manifest={}, force=True
    )
    assert (other / "thesis.docx").read_bytes() == b"years of work"
    assert (other / "manifest.previous.json").read_text(encoding="utf-8") == "{}"
    _complete_run(other)


def test_leftovers_of_killed_writers_are_removed_at_the_next_write(tiny_result, tmp_path):
    dest = tmp_path / "tiny"
    run_folder.write_run(tiny_result, dest, manifest={"gen": 1})
    gone, alive = 2**22 + 12345, os.getppid()  # a process id no system uses; a running one
    for name in (
        f".tiny.tmp-{gone}-0123abcd",
        ".tiny.tmp-89abcdef",  # named by an older version: no process id
        f".tiny.tmp-{alive}-0123abcd",  # a concurrent writer's: left alone
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.csv").write_text("half", encoding="utf-8")
    shutil.copytree(dest, tmp_path / f".tiny.old-{gone}-4567abcd")  # an earlier complete run
    run_folder.write_run(tiny_result, dest, manifest={"gen": 2})
    assert _hidden(tmp_path) == [f".tiny.tmp-{alive}-0123abcd"]
    assert _complete_run(dest)["gen"] == 2
    # an .old folder holding a file the package did not write: moved in, never deleted, so the
    # next write asks for --force
    old = tmp_path / f".tiny.old-{gone}-89abcdef"
    shutil.copytree(dest, old)
    (old / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(bs.ScenarioError, match=r"notes\.txt"):
        run_folder.write_run(tiny_result, dest, manifest={"gen": 3})
    assert (dest / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert _hidden(tmp_path) == [f".tiny.tmp-{alive}-0123abcd"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to stop a writer mid-way")
@pytest.mark.parametrize("stage", ["written", "old-moved", "new-in", "settled"])
@pytest.mark.parametrize("force", [False, True])
def test_a_kill_at_any_step_leaves_a_complete_run_visible(tiny_result, tmp_path, stage, force):
    """The writer is killed (os._exit) at each step of the swap; the next run sees the old run or
    the new one, complete, and every file a user put in the folder."""
    dest = tmp_path / "tiny"
    run_folder.write_run(tiny_result, dest, manifest={"gen": 1})
    if force:
        (dest / "notes.txt").write_text("mine", encoding="utf-8")
    pid = os.fork()
    if pid == 0:  # the writer, killed at `stage`
        try:

            def kill(at):
                if at == stage:
                    os._exit(9)

            files._fault_point = kill
            run_folder.write_run(tiny_result, dest, manifest={"gen": 2}, force=force)
        finally:
            os._exit(1)
    assert os.waitpid(pid, 0)[1] >> 8 == 9
    if os.path.lexists(dest):
        assert _complete_run(dest)["gen"] in (1, 2)
    else:  # killed between the two renames: the old run is complete under its hidden name
        (old,) = [p for p in tmp_path.iterdir() if ".old-" in p.name]
        assert _complete_run(old)["gen"] == 1
    run_folder.check_output_dir(dest, force=True)  # what the next run does first
    gen = _complete_run(dest)["gen"]
    assert gen == (1 if stage in ("written", "old-moved") else 2)
    assert _hidden(tmp_path) == []
    if force:
        assert (dest / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to stop a writer mid-way")
def test_a_kill_while_the_old_run_is_deleted_never_jams_the_folder(tiny_result, tmp_path):
    """Killed half-way through deleting the replaced run (its manifest already gone): the next
    write replaces the folder without --force and nothing of the old run is taken for a user's."""
    dest = tmp_path / "tiny"
    run_folder.write_run(tiny_result, dest, manifest={"gen": 1})
    pid = os.fork()
    if pid == 0:  # the writer, killed while deleting the old run
        try:

            def half_rmtree(path, *a, **k):
                Path(path, "manifest.json").unlink()
                Path(path, "summary.csv").unlink()
                os._exit(9)

            files.shutil.rmtree = half_rmtree
            run_folder.write_run(tiny_result, dest, manifest={"gen": 2})
        finally:
            os._exit(1)
    assert os.waitpid(pid, 0)[1] >> 8 == 9
    assert _complete_run(dest)["gen"] == 2
    run_folder.write_run(tiny_result, dest, manifest={"gen": 3})  # no --force needed
    assert _complete_run(dest)["gen"] == 3
    assert not [p.name for p in dest.iterdir() if ".previous" in p.name]
    assert _hidden(tmp_path) == []


def test_run_refuses_a_user_folder_before_computing(tmp_path, monkeypatch, capsys):
    from benefitshare import cli
    from benefitshare.model import run as model_run

    out = tmp_path / "o4"
    (out / "mydata").mkdir(parents=True)
    (out / "mydata" / "thesis.docx").write_bytes(b"years of work")
    ran = []
    monkeypatch.setattr(model_run, "run", lambda *a, **k: ran.append(1))
    monkeypatch.setattr(bs, "run", lambda *a, **k: ran.append(1))
    args = ["run", str(DATA / "tiny.toml"), "--out", str(out), "--name", "mydata", "-q"]
    assert cli.main([*args, "--no-charts"]) == 2
    err = capsys.readouterr().err
    assert "mydata" in err and "thesis.docx" in err and "--force" in err and ran == []
    (out / "plain").write_text("a file", encoding="utf-8")
    assert cli.main([*args[:-3], "--name", "plain", "--force", "-q"]) == 2
    assert (out / "plain").read_text(encoding="utf-8") == "a file" and ran == []
    monkeypatch.undo()
    assert cli.main([*args, "--no-charts", "--force"]) == 0
    assert "kept in" in capsys.readouterr().err
    assert (out / "mydata" / "thesis.docx").read_bytes() == b"years of work"
    _complete_run(out / "mydata")
