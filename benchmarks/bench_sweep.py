"""Benchmark: one sweep on the serial, local-process and Dask executors.

A sweep of ``--variants`` variants (Shenzhen's share under the reference's fixed-ratio rule, over a
Latin hypercube from 0.2 to 0.6) with ``--draws`` draws each, of the reference scenario with all
its rules, run three times: serially, on ``--workers`` local processes, and on a Dask
``LocalCluster`` with ``--workers`` single-threaded worker processes. Wall times include starting
the workers, as a user would see them.

Prints each wall time (the best of ``--repeat`` rounds, run round-robin so that a burst of other
load on the machine hits every executor alike), the mean time a worker spent on one variant, the
speedups over serial, Dask's overhead relative to local processes, and whether the three gave
bit-identical results. Targets (issue 5): 2-process speedup >= 1.7x over serial; Dask within 20%
of local processes. The speedups need as many idle CPUs as workers: the load average is printed
before and after.

Usage::

    python benchmarks/bench_sweep.py                      # 200 variants x 1,000 draws
    python benchmarks/bench_sweep.py --variants 40 --draws 500 --repeat 3 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import benefitshare as bs

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "scenarios" / "reference.toml"


def sweep_spec(variants: int, draws: int, seed: int) -> dict:
    """The benchmark sweep: a Latin hypercube over the partner's fixed-ratio share."""
    return {
        "sweep": {
            "title": "benchmark",
            "scenarios": [str(REFERENCE)],
            "draws": draws,
            "seed": seed,
        },
        "levers": {
            "design": "lhs",
            "samples": variants,
            "inputs": [
                {
                    "name": "partner_share",
                    "path": "rules[fixed_50_50].params.shares.shenzhen",
                    "complement": "rules[fixed_50_50].params.shares.shanwei",
                    "low": 0.2,
                    "high": 0.6,
                }
            ],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=200)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the best wall time counts")
    parser.add_argument(
        "--executors",
        default="serial,processes,dask",
        help="comma-separated executors to time (default: %(default)s)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures to this JSON file")
    args = parser.parse_args()

    spec = sweep_spec(args.variants, args.draws, args.seed)
    names = [n.strip() for n in args.executors.split(",") if n.strip()]
    print(
        f"sweep: {args.variants} variants x {args.draws} draws of {REFERENCE.name} (all rules); "
        f"{args.workers} workers; {os.cpu_count()} CPUs; load average before: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    times: dict[str, float] = {}
    per_variant, frames, failed = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            for name in names:
                kwargs = {} if name == "serial" else {"workers": args.workers}
                t0 = time.perf_counter()
                res = bs.sweep(
                    spec, executor=name, out=Path(tmp) / f"{name}{round_}", progress=False, **kwargs
                )
                wall = time.perf_counter() - t0
                times[name] = min(wall, times.get(name, wall))
                per_variant[name] = float(res.status["seconds"].mean())
                frames[name] = res.frame
                failed[name] = res.n_failed
                print(
                    f"round {round_ + 1}: {name:>10}: {wall:8.1f} s wall  ({args.variants / wall:.2f} variants/s; "
                    f"{per_variant[name]:.3f} s per variant in a worker; {res.n_done} done, {res.n_failed} failed)",
                    flush=True,
                )
    out = {
        "variants": args.variants,
        "draws": args.draws,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "wall_s": {k: round(v, 2) for k, v in times.items()},
        "variant_s": {k: round(v, 4) for k, v in per_variant.items()},
        "repeat": args.repeat,
        "failed": failed,
        "loadavg_after": os.getloadavg(),
    }
    if "serial" in times:
        for name in names:
            if name != "serial":
                out[f"speedup_{name}"] = round(times["serial"] / times[name], 3)
                print(
                    f"speedup of {name} over serial: {out[f'speedup_{name}']:.2f}x"
                    + ("  (target >= 1.7x)" if name == "processes" else "")
                )
    if "processes" in times and "dask" in times:
        out["dask_overhead_vs_processes"] = round(times["dask"] / times["processes"] - 1.0, 3)
        print(
            f"Dask overhead relative to local processes: {out['dask_overhead_vs_processes']:+.1%}  "
            "(target within 20%)"
        )
    print("best wall times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    first, base = next(iter(frames.items()))
    same = {name: frame.equals(base) for name, frame in frames.items()}
    out["identical"] = all(same.values())
    print(
        f"bit-identical results on {', '.join(frames)}: {'yes' if out['identical'] else 'NO'}"
        + ("" if out["identical"] else f" (against {first}: {same})")
    )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":  # required: the process and Dask executors start workers by spawning
    main()
