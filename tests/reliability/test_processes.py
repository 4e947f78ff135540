"""Fast versions of the kill, concurrency and corruption trials (slow ones: benchmarks/).

The kill trials kill a real ``run`` process with SIGKILL at random moments; the fault-injection
test of each step of the folder swap is ``tests/io/test_run_folder.py``. The corruption trial
flips bytes at random positions of several sweep variant files at once; one damaged file of each
kind (tampered, truncated, one flipped byte) is ``tests/batch/test_store.py``.
"""

from __future__ import annotations

import random
import shutil
import sys

import pandas as pd
import pytest

import benefitshare as bs
from benefitshare.batch import store
from reliability.processes import concurrent_writers, flip, kill_trials, local_sweep

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and POSIX renames")


@pytest.mark.parametrize("seed", [3, 13])
def test_runs_killed_at_random_moments_leave_the_old_or_the_new_complete_run(tmp_path, seed):
    counts = kill_trials(tmp_path, kills=10, seed=seed)
    assert counts["lost"] == 0, counts["lost_details"]
    assert counts["kills"] == 10 and counts["old"] + counts["new"] + counts["recovered"] == 10
    assert counts["leftovers"] == []
    # a kill never jams the folder: the next run replaces it without --force
    assert counts["refused"] == 0 and counts["final_exit"] == 0 and counts["final_complete"]


def test_concurrent_writers_to_one_output_folder_lose_no_run(tmp_path):
    names = ["a", "b", "c", "d", "same", "same", "same", "same"]
    found = concurrent_writers(tmp_path, names)
    assert found["statuses"] == [0] * len(names), found["errors"]
    assert found["lost"] == [] and found["mixed"] == [] and found["incomplete"] == []
    assert found["visible"] == ["a", "b", "c", "d", "same"]
    assert found["leftovers"] == []


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    path = local_sweep(folder)
    res = bs.sweep(path, out=folder / "whole", progress=False)
    assert res.ok
    return path, folder / "whole", res.frame


@pytest.mark.parametrize("seed", range(4))
def test_bytes_flipped_at_random_in_several_variant_files_are_found_and_run_again(
    finished_sweep, tmp_path, capsys, seed
):
    path, whole, uninterrupted = finished_sweep
    out = tmp_path / "out"
    shutil.copytree(whole, out)
    rng = random.Random(seed)
    damaged = sorted(rng.sample(range(6), 3))
    for index in damaged:
        file = store.variant_file(out, index)
        data = file.read_bytes()
        positions = rng.sample(range(len(data)), rng.randint(1, 3))
        file.write_bytes(flip(data, positions, mask=1 << rng.randrange(8)))
    capsys.readouterr()
    res = bs.sweep(path, out=out, progress=False)
    err = capsys.readouterr().err
    for index in damaged:
        name = store.variant_file(out, index).name
        assert len([line for line in err.splitlines() if name in line]) == 1, err
        assert (out / "variants" / "corrupt" / name).is_file()
    assert (res.n_skipped, res.n_done) == (6 - len(damaged), 6)
    pd.testing.assert_frame_equal(res.frame, uninterrupted, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), uninterrupted)
    assert bs.sweep(path, out=out, progress=False).n_skipped == 6
