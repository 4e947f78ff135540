"""The slow reliability trials: the whole bad-input corpus, hundreds of kills, many writers, and a
bit flipped at every byte of a sweep variant file. Not run by CI (the fast versions are in
``tests/reliability/``).

- **corpus**: every case of ``tests/reliability/corpus.py`` run through ``benefitshare.cli.main``;
  counts of exit statuses, and each case that breaks the promise for bad input (exit 2, the field
  named, no traceback, nothing written), with what it did.
- **kills**: ``run`` replacing a complete run folder, killed with SIGKILL at random moments
  ``--kills`` times; after each kill the folder must hold the old or the new complete run (or the
  old one, complete under a hidden name, which the next run puts back).
- **writers**: ``--writers`` runs started at once into the same ``--out``, half with their own
  names and half with one shared name; no run lost, every visible folder complete.
- **corruption**: one bit flipped at each byte (every ``--stride``-th byte) of a variant file of a
  finished sweep, then the sweep resumed; each change must be found, the file moved aside and its
  variant run again, with results identical to the undamaged sweep.

Usage::

    python benchmarks/reliability_slow.py                       # everything (about an hour)
    python benchmarks/reliability_slow.py --only corpus kills --kills 300
    python benchmarks/reliability_slow.py --only corruption --stride 7 --json slow.json
    python benchmarks/reliability_slow.py --spawn               # a fresh interpreter per run
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from reliability.corpus import all_cases, run_case  # noqa: E402
from reliability.processes import (  # noqa: E402
    concurrent_writers,
    flip,
    kill_trials,
    local_sweep,
)

PARTS = ("corpus", "kills", "writers", "corruption")


def corpus_trial(tmp: Path) -> dict:
    cases = all_cases()
    classes: collections.Counter = collections.Counter()
    failing = []
    t0 = time.perf_counter()
    for i, case in enumerate(cases):
        outcome = run_case(case, tmp / f"c{i}")
        classes[str(outcome.status)] += 1
        problems = outcome.problems(case)
        if problems:
            first = outcome.err.strip().splitlines()[:2]
            failing.append({"case": case.id, "problems": problems, "stderr": " | ".join(first)})
    return {
        "cases": len(cases),
        "exit_classes": dict(sorted(classes.items())),
        "kept_promise": len(cases) - len(failing),
        "failing": failing,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def kills_trial(tmp: Path, kills: int, seed: int, fork: bool, charts: bool) -> dict:
    t0 = time.perf_counter()
    counts = kill_trials(tmp, kills, seed=seed, fork=fork, charts=charts)
    counts["survived"] = counts["old"] + counts["new"] + counts["recovered"]
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def writers_trial(tmp: Path, writers: int, fork: bool, charts: bool) -> dict:
    t0 = time.perf_counter()
    own = writers - writers // 2
    names = [f"own{i}" for i in range(own)] + ["shared"] * (writers - own)
    found = concurrent_writers(tmp, names, fork=fork, charts=charts)
    found["writers"] = writers
    found["exit_classes"] = dict(collections.Counter(found.pop("statuses")))
    found["seconds"] = round(time.perf_counter() - t0, 1)
    return found


def corruption_trial(tmp: Path, stride: int, max_positions: int | None, seed: int) -> dict:
    """Flip one bit at every ``stride``-th byte of variant 1, resume, compare with the original."""
    import pandas as pd

    import benefitshare as bs
    from benefitshare.batch import store

    t0 = time.perf_counter()
    path = local_sweep(tmp)
    whole = tmp / "whole"
    with contextlib.redirect_stderr(io.StringIO()):
        original = bs.sweep(path, out=whole, progress=False).frame
    data = store.variant_file(whole, 1).read_bytes()
    positions = list(range(0, len(data), stride))[:max_positions]
    rng = random.Random(seed)
    outcomes: collections.Counter = collections.Counter()
    examples: dict[str, list] = {}
    for pos in positions:
        out = tmp / "resumed"
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(whole, out)
        store.variant_file(out, 1).write_bytes(flip(data, [pos], mask=1 << rng.randrange(8)))
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                res = bs.sweep(path, out=out, progress=False)
            named = any("v000001.parquet" in line for line in err.getvalue().splitlines())
            moved = (out / "variants" / "corrupt" / "v000001.parquet").is_file()
            same = res.frame.equals(original) and pd.read_parquet(out / "results.parquet").equals(
                original
            )
            kind = "detected" if named and moved and same else "silent" if same else "data changed"
        except Exception as exc:  # noqa: BLE001 - a resume that fails is the finding
            kind = f"resume failed: {type(exc).__name__}"
        outcomes[kind] += 1
        examples.setdefault(kind, []).append(pos)
    return {
        "file_bytes": len(data),
        "positions": len(positions),
        "outcomes": dict(outcomes),
        "data_lost": len(positions) - outcomes["detected"],
        "examples": {k: v[:10] for k, v in examples.items() if k != "detected"},
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--kills", type=int, default=300, help="kills of `run` (default: 300)")
    parser.add_argument("--writers", type=int, default=20, help="concurrent writers (default: 20)")
    parser.add_argument("--stride", type=int, default=1, help="flip every n-th byte (default: 1)")
    parser.add_argument("--max-positions", type=int, help="flip at most this many bytes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--charts", action="store_true", help="runs draw their charts too")
    parser.add_argument(
        "--spawn", action="store_true", help="start each run as a new interpreter, not a fork"
    )
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args()

    trials = {
        "corpus": lambda tmp: corpus_trial(tmp),
        "kills": lambda tmp: kills_trial(tmp, args.kills, args.seed, not args.spawn, args.charts),
        "writers": lambda tmp: writers_trial(tmp, args.writers, not args.spawn, args.charts),
        "corruption": lambda tmp: corruption_trial(tmp, args.stride, args.max_positions, args.seed),
    }
    summary: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for part in PARTS:
            if part in args.only:
                (Path(tmp) / part).mkdir()
                try:
                    summary[part] = trials[part](Path(tmp) / part)
                except Exception as exc:  # noqa: BLE001 - report it and go on with the others
                    summary[part] = {"failed": f"{type(exc).__name__}: {exc}"}
                    print(f"{part}: failed: {type(exc).__name__}: {exc}")

    summary = {k: v for k, v in summary.items() if "failed" not in v} | {
        k: v for k, v in summary.items() if "failed" in v
    }
    done = {k for k, v in summary.items() if "failed" not in v}
    if "corpus" in done:
        c = summary["corpus"]
        print(f"corpus: {c['cases']} cases in {c['seconds']} s; exit classes {c['exit_classes']}")
        print(
            f"  kept the promise for bad input: {c['kept_promise']}; failing: {len(c['failing'])}"
        )
        for f in c["failing"]:
            print(f"  - {f['case']}: {'; '.join(f['problems'])}: {f['stderr'][:160]!r}")
    if "kills" in done:
        k = summary["kills"]
        print(
            f"kills: {k['kills']} in {k['seconds']} s; survived {k['survived']} (old {k['old']}, "
            f"new {k['new']}, put back {k['recovered']}); killed mid-write {k['mid_write']}; "
            f"data lost {k['lost']}; next run exit {k['final_exit']}, leftovers {k['leftovers']}"
        )
        if k["refused"]:
            print(
                f"  runs that refused the folder instead of replacing it: {k['refused']}, the "
                f"first after kill {k['first_refused_at_kill']}: {k['refusals'][0][-200:]!r}"
            )
    if "writers" in done:
        w = summary["writers"]
        print(
            f"writers: {w['writers']} in {w['seconds']} s; exit classes {w['exit_classes']}; "
            f"runs lost {w['lost']}; incomplete {w['incomplete']}; leftovers {w['leftovers']}"
        )
    if "corruption" in done:
        c = summary["corruption"]
        print(
            f"corruption: {c['positions']} of {c['file_bytes']} bytes flipped in {c['seconds']} "
            f"s; outcomes {c['outcomes']}; data lost {c['data_lost']}"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
