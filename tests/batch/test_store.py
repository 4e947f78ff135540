"""The sweep results store: variant files, manifest, load_sweep, and what a resume keeps."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil

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
        "corrupt",
        "v000000.parquet",
        "v000001.parquet",
    ]
    # the damaged file is moved aside with its detail table, not deleted
    assert sorted(p.name for p in (out / "variants" / "corrupt").iterdir()) == [
        "annual-v000003.parquet",
        "v000003.parquet",
    ]
    assert (out / "variants" / "corrupt" / "v000003.parquet").read_bytes() == b"not parquet"
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


# ------------------------------------------------------------------------------------ verified files
@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    """A finished 6-variant sweep: (sweep file, its results folder, its results)."""
    folder = tmp_path_factory.mktemp("verified")
    path = write_sweep_file(folder, write_scenario(folder), draws=3)
    res = bs.sweep(path, out=folder / "whole", progress=False)
    assert res.ok
    return path, folder / "whole", res.frame


def _damage(file, how: str) -> None:
    import pyarrow.parquet as pq

    data = file.read_bytes()
    if how == "tampered":  # a value changed, the file rewritten whole with its fingerprint kept
        table = pq.read_table(file)
        frame = table.to_pandas()
        frame["npv_yuan"] = frame["npv_yuan"] + 1.0
        fixed = pa_table(frame, table.schema.metadata)
        pq.write_table(fixed, file)
        assert (
            pq.read_schema(file).metadata[b"benefitshare.fingerprint"]
            == (table.schema.metadata[b"benefitshare.fingerprint"])
        )
    elif how == "truncated":
        file.write_bytes(data[: len(data) // 2])
    else:  # one byte flipped in the middle of the file
        i = len(data) // 2
        file.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
    assert file.read_bytes() != data


def pa_table(frame, metadata):
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.replace_schema_metadata(metadata)


@pytest.mark.parametrize("how", ["tampered", "truncated", "flipped"])
def test_a_damaged_variant_file_is_moved_aside_and_run_again(finished_sweep, tmp_path, capsys, how):
    path, whole, uninterrupted = finished_sweep
    out = tmp_path / "out"
    shutil.copytree(whole, out)
    recorded = json.loads((out / "sweep.json").read_text())["variants"][2]["sha256"]
    assert recorded == hashlib.sha256(store.variant_file(out, 2).read_bytes()).hexdigest()
    _damage(store.variant_file(out, 2), how)
    damaged = store.variant_file(out, 2).read_bytes()
    capsys.readouterr()
    res = bs.sweep(path, out=out, progress=False)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "v000002.parquet" in line]
    assert (
        len(lines) == 1 and "variants/corrupt/" in lines[0] and "variant 2 runs again" in lines[0]
    )
    assert (out / "variants" / "corrupt" / "v000002.parquet").read_bytes() == damaged
    assert (res.n_skipped, res.n_done) == (5, 6)
    pd.testing.assert_frame_equal(res.frame, uninterrupted, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), uninterrupted)
    # and the next resume finds nothing wrong: no resume is stuck on a file
    res = bs.sweep(path, out=out, progress=False)
    assert res.n_skipped == 6 and "corrupt" not in capsys.readouterr().err


def test_load_sweep_checks_the_files_before_merging_them(finished_sweep, tmp_path, capsys):
    _, whole, uninterrupted = finished_sweep
    out = tmp_path / "out"
    shutil.copytree(whole, out)
    _damage(store.variant_file(out, 4), "tampered")
    frame = bs.load_sweep(out)
    assert "variants/v000004.parquet does not match the SHA-256" in capsys.readouterr().err
    assert sorted(frame["variant"].unique()) == [0, 1, 2, 3, 5]
    pd.testing.assert_frame_equal(
        frame, uninterrupted[uninterrupted["variant"] != 4].reset_index(drop=True)
    )
    assert store.status_frame(out).set_index("variant")["status"][4] == "pending"
    assert (out / "variants" / "corrupt" / "v000004.parquet").is_file()


def test_a_file_written_after_the_last_manifest_is_read_whole(tmp_path, planned, capsys):
    """Killed between a variant's file and the manifest: no hash is recorded, so the file is
    read whole; a readable one is kept (and recorded), a damaged one moved aside."""
    _, tasks, manifest = planned
    out = tmp_path / "out"
    store.prepare(out, manifest, tasks, resume=True)
    store.write_manifest(out, manifest)
    for task in tasks[:3]:
        store.write_variant(out, task, _tables(task.index))
    data = store.variant_file(out, 1).read_bytes()
    store.variant_file(out, 1).write_bytes(data[: len(data) - 9])
    done = store.prepare(out, manifest, tasks, resume=True)
    assert sorted(done) == [0, 2]
    assert done[0]["sha256"] == hashlib.sha256(store.variant_file(out, 0).read_bytes()).hexdigest()
    assert set(done[2]["detail_sha256"]) == {"annual"}
    assert "variants/v000001.parquet cannot be read" in capsys.readouterr().err


def test_the_manifest_records_each_written_file(tmp_path, planned):
    _, tasks, manifest = planned
    out = tmp_path / "out"
    store.prepare(out, manifest, tasks, resume=True)
    sha = store.write_variant(out, tasks[0], _tables(0))
    manifest["variants"][0]["status"] = "done"
    store.write_manifest(out, manifest)
    rec = json.loads((out / "sweep.json").read_text())["variants"][0]
    assert (
        rec["sha256"] == sha == hashlib.sha256(store.variant_file(out, 0).read_bytes()).hexdigest()
    )
    detail = store.variant_file(out, 0, "annual").read_bytes()
    assert rec["detail_sha256"] == {"annual": hashlib.sha256(detail).hexdigest()}


# ------------------------------------------------------------------------------------ not ours
def test_a_variants_folder_without_a_manifest_is_refused_and_kept(tmp_path, planned):
    _, tasks, manifest = planned
    out = tmp_path / "out"
    (out / "variants").mkdir(parents=True)
    (out / "variants" / "v000000.parquet").write_bytes(b"someone's file")
    with pytest.raises(SweepResumeError, match="is not empty and has no sweep.json"):
        store.prepare(out, manifest, tasks, resume=False)
    assert (out / "variants" / "v000000.parquet").read_bytes() == b"someone's file"
    (out / "variants" / "v000000.parquet").unlink()
    (out / "sweep.json").write_text('{"format": "something else"}')
    with pytest.raises(SweepResumeError, match="not written by this package"):
        store.prepare(out, manifest, tasks, resume=False)
    assert (out / "variants").is_dir()


def test_starting_again_deletes_only_what_the_sweep_wrote(tmp_path, planned):
    _, tasks, manifest = planned
    out = tmp_path / "out"
    store.prepare(out, manifest, tasks, resume=True)
    store.write_manifest(out, manifest)
    store.write_variant(out, tasks[0], _tables(0))
    (out / "variants" / "notes.txt").write_text("mine")
    (out / "detail" / "annual" / "mine.csv").write_text("mine")
    assert store.prepare(out, manifest, tasks, resume=False) == {}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "detail/annual/mine.csv",
        "sweep.json",
        "variants/notes.txt",
    ]
