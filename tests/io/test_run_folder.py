"""Output folders: safe run names, manifests, and the run folder's writer and reader."""

from __future__ import annotations

import hashlib
import json
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
