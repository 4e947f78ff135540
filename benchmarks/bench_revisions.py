"""Time ``bs.run`` of the reference scenario at another git revision and at the working tree.

Each revision's ``src/`` is exported with ``git archive`` into a temporary folder and imported
from there (``PYTHONPATH``) in its own process, so both run on the same machine, in the same
session, alternately: the ratio of their times is what to read, not the times themselves (the
machine may be shared and noisy). The numba cache of each export is warmed before timing.

Usage::

    python benchmarks/bench_revisions.py c461b7d --draws 5000 --repeats 5

Prints the best and median wall time of each revision and the ratio working tree / revision.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "reference.toml"

_CHILD = """
import sys, time
import benefitshare as bs
scenario = bs.load_scenario(sys.argv[1])
draws = int(sys.argv[2])
bs.run(scenario, draws=64, seed=1, progress=False)  # compile and warm up
t = time.perf_counter()
bs.run(scenario, draws=draws, seed=1, progress=False)
print(time.perf_counter() - t)
"""


def export(revision: str, dest: Path) -> Path:
    """``src/`` of ``revision`` unpacked under ``dest``; returns the folder to put on the path."""
    archive = dest / "src.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def time_once(src: Path, draws: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(SCENARIO), str(draws)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("revision", help="git revision to compare the working tree against")
    ap.add_argument("--draws", type=int, default=5_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        old = export(args.revision, Path(tmp))
        new = ROOT / "src"
        times: dict[str, list[float]] = {"revision": [], "working tree": []}
        for _ in range(args.repeats):  # alternate, so drifting load hits both alike
            times["revision"].append(time_once(old, args.draws))
            times["working tree"].append(time_once(new, args.draws))
    for name, values in times.items():
        print(
            f"{name:>12}: best {min(values):.3f} s, median {statistics.median(values):.3f} s "
            f"({args.draws:,} draws of the reference, {args.repeats} runs)"
        )
    best = min(times["working tree"]) / min(times["revision"])
    median = statistics.median(times["working tree"]) / statistics.median(times["revision"])
    print(f"working tree / {args.revision}: {best:.2f} (best), {median:.2f} (median)")


if __name__ == "__main__":
    main()
