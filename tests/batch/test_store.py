"""The sweep results store: variant files, manifest, load_sweep, and what a resume keeps."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from sweep_helpers import sweep_dict, write_scenario, write_sweep_file

import benefitshare as bs
from benefitshare.batch import store
from benefitshare.batch.plan import plan_variants
from benefitshare.batch.spec import SweepResumeError, load_sweep_spec


@pytest.fixture
def planned(tmp_path):
    """A planned sweep of 6 variants (no runs) and its manifest."""
    scenario = write_scenario(tmp_path)
    loaded = load_sweep_spec(sweep_dict(scenario))
    tasks, inputs = plan_variants(loaded)
    return loaded, tasks, store.new_manifest(loaded, tasks, inputs)


def _tables(index: int) -> dict[str, pd.DataFrame]:
    """Made-up variant tables whose numbers identify the variant."""
    summary = pd.DataFrame(
        {
            "rule": ["r1", "r1", "r2", "r2"],
            "party": ["a", "b", "a", "b"],
            "npv_yuan": index * 10.0 + np.arange(4),
            "payback_year": pd.array([2030, None, 2031, 2032], dtype="Int64"),
        }
    )
    annual = pd.DataFrame(
        {
            "rule": ["r1"] * 3,
            "party": ["a"] * 3,
            "year": [2026, 2027, 2028],
            "amount_yuan": [index, index + 0.5, index + 0.25],
        }
    )
    return {"summary": summary, "annual": annual}


def test_load_sweep_round_trip_in_variant_order(tmp_path, planned):
    _, tasks, manifest = planned
    out = tmp_path / "out"
    store.prepare(out, manifest, tasks, resume=True)
    store.write_manifest(out, manifest)
    for task in reversed(tasks):  # finished in the reverse order
        store.write_variant(out, task, _tables(task.index))
    frame = bs.load_sweep(out)
    assert len(frame) == 6 * 4
    assert frame["variant"].tolist() == [i for i in range(6) for _ in range(4)]
    assert list(frame.columns) == [
        "variant",
        "scenario",
        "partner_share",
        "growth",
        "rule",
        "party",
        "npv_yuan",
        "payback_year",
        "draws",
        "seed",
        "seed_child",
    ]
    assert frame["npv_yuan"].tolist() == [i * 10.0 + k for i in range(6) for k in range(4)]
    assert frame["payback_year"].dtype == "Int64" and frame["payback_year"].isna().sum() == 6
    assert frame["partner_share"].tolist()[::4] == [t.values["partner_share"] for t in tasks]
    assert frame["seed_child"].tolist()[::4] == list(range(6))
    annual = bs.load_sweep(out, "annual")
    assert annual["variant"].tolist() == [i for i in range(6) for _ in range(3)]
    assert annual["amount_yuan"].tolist()[3:6] == [1, 1.5, 1.25]
    with pytest.raises(ValueError, match="the sweep saved no 'draws' table; saved: annual"):
        bs.load_sweep(out, "draws")
    # the sweep.json path works as well as the folder
    pd.testing.assert_frame_equal(bs.load_sweep(out / "sweep.json"), frame)


def test_a_resume_keeps_only_whole_matching_variant_files(tmp_path, planned):
    _, tasks, manifest = planned
    out = tmp_path / "out"
    store.prepare(out, manifest, tasks, resume=True)
    store.write_manifest(out, manifest)
    for task in tasks[:4]:
        store.write_variant(out, task, _tables(task.index))
    # variant 4: its detail table was written, then the process died before its row file
    (out / "detail" / "annual" / "v000004.parquet").write_bytes(b"detail of an unfinished variant")
    # a write interrupted half way leaves a hidden temporary file
    (out / "variants" / ".v000005.parquet.1a2b3c4d.part").write_bytes(b"half")
    # variant 3's file is damaged; variant 2's holds results of other inputs
    store.variant_file(out, 3).write_bytes(b"not parquet")
    other = dataclasses.replace(tasks[2], draws=99)
    store.write_variant(out, other, _tables(2))
    done = store.prepare(out, manifest, tasks, resume=True)
    assert sorted(done) == [0, 1]
    assert sorted(p.name for p in (out / "variants").iterdir()) == [
        "v000000.parquet",
        "v000001.parquet",
    ]
    assert sorted(p.name for p in (out / "detail" / "annual").iterdir()) == [
        "v000000.parquet",
        "v000001.parquet",
    ]
    assert bs.load_sweep(out)["variant"].unique().tolist() == [0, 1]


def test_status_follows_the_files_not_a_stale_manifest(tmp_path, planned):
    _, tasks, manifest = planned
    out = tmp_path / "out"
    store.prepare(out, manifest, tasks, resume=True)
    manifest["variants"][5]["status"] = "done"  # the manifest says so, but no file was committed
    store.write_manifest(out, manifest)
    store.write_variant(out, tasks[1], _tables(1))  # committed, but the manifest was not rewritten
    status = store.status_frame(out)
    assert status.set_index("variant")["status"].to_dict() == {
        0: "pending",
        1: "done",
        2: "pending",
        3: "pending",
        4: "pending",
        5: "pending",
    }


def test_a_folder_with_other_content_is_refused(tmp_path, planned):
    _, tasks, manifest = planned
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SweepResumeError, match="is not empty and has no sweep.json"):
        store.prepare(out, manifest, tasks, resume=True)
    with pytest.raises(FileNotFoundError, match="not a sweep results folder"):
        bs.load_sweep(out)


def test_manifest_records_the_sweep_and_each_variant(tmp_path):
    scenario = write_scenario(tmp_path)
    path = write_sweep_file(tmp_path, scenario, draws=3)
    res = bs.sweep(
        path, out=tmp_path / "out", progress=False, command="benefitshare sweep grid.toml"
    )
    m = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert m["format"] == store.FORMAT
    assert m["sweep"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert m["package_version"] == bs.__version__ and m["seed"] == 11 and m["draws"] == 3
    assert m["design"]["levers"] == {"design": "grid", "samples": None, "inputs": ["partner_share"]}
    assert m["design"]["variants"] == 6
    assert any(name.endswith("tiny_uncertain.toml") for name in m["inputs"])
    assert m["runs"][0]["command"] == "benefitshare sweep grid.toml" and m["runs"][0]["done"] == 6
    assert m["runs"][0]["executor"] == {"name": "serial", "workers": 1}
    for i, rec in enumerate(m["variants"]):
        assert (rec["variant"], rec["seed"], rec["seed_child"], rec["status"]) == (i, 11, i, "done")
        assert rec["seconds"] > 0 and rec["worker"] and rec["started"] and rec["error"] is None
    # every finished variant in one Parquet file too
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "results.parquet"), res.frame)
