"""Speed and memory of the engine on the reference scenario, with all its rules.

Prints, from one run on this machine (figures are comparable only within a run):

1. throughput in project-year-draws per second at 10^4 draws, for the compiled engine and the
   NumPy engine, both single-threaded;
2. the ratio against evaluating the same draws one at a time (one engine call per draw, as
   exploratory-modelling frameworks call a model once per experiment);
3. peak memory (resident set size of a fresh process) at 10^4, 10^5 and 10^6 draws;
4. the wall time of a Sobol analysis with 8 uncertain inputs and n = 2^12.

Usage::

    python benchmarks/bench_engine.py            # everything (several minutes)
    python benchmarks/bench_engine.py --quick    # smaller sizes, for a smoke check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "scenarios" / "reference.toml"

# one thread for every numeric library, so the figures are per core
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

import benefitshare as bs  # noqa: E402
from benefitshare.model import draws as unc  # noqa: E402
from benefitshare.model import run as pipeline  # noqa: E402
from benefitshare.model.inputs import central_inputs, model_setup  # noqa: E402
from benefitshare.model.result import Accumulator  # noqa: E402


def throughput(scenario, draws: int, engine: str, repeats: int = 3) -> float:
    """Best wall time of a full ``bs.run`` with ``draws`` draws [s]."""
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        _run(scenario, draws, engine)
        best = min(best, time.perf_counter() - t)
    return best


def _run(scenario, draws, engine):
    # bs.run with a chosen engine: the same loop as benefitshare.model.run.run, engine passed through
    return bs.run(scenario, draws=draws, seed=1, engine=engine, progress=False)


def one_call_per_draw(scenario, draws: int, engine: str) -> float:
    """Wall time [s] of evaluating ``draws`` draws with one engine call per draw."""
    setup = model_setup(scenario)
    base = central_inputs(scenario)
    factors = unc.uncertain_factors(scenario)
    source = unc.DrawSource(sum(f.n_dims for f in factors), draws, np.random.SeedSequence(1), "lhs")
    u = source.next(draws)
    specs = list(scenario.spec.rules)
    acc = Accumulator(setup, [r.name for r in specs], n_draws=draws)
    t = time.perf_counter()
    for i in range(draws):
        inputs = unc.apply_draws(base, factors, unc.split_columns(factors, u[i : i + 1]), scenario)
        acc.add(pipeline.evaluate(setup, inputs, specs, engine=engine))
    return time.perf_counter() - t


_MEMORY_CHILD = """
import resource, sys, time, json
import benefitshare as bs
s = bs.load_scenario(sys.argv[1])
bs.run(s, draws=64, seed=1, progress=False)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
r = bs.run(s, draws=int(sys.argv[2]), seed=1, progress=False)
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mib": peak / 1024, "before_mib": base / 1024, "seconds": dt}))
"""


def peak_memory(draws: int) -> dict:
    """Peak RSS of a fresh process running ``draws`` draws of the reference [MiB]."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(REFERENCE), str(draws)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def sobol_time(scenario, n: int) -> tuple[float, int] | None:
    """Wall time [s] of a Sobol analysis over the first 8 uncertain inputs, and their count."""
    try:
        from benefitshare.analysis.sobol import sobol
    except ImportError:
        return None
    inputs = scenario.spec.uncertainty.inputs[:8]
    sub = scenario.with_overrides({"uncertainty.inputs": [i.model_dump() for i in inputs]})
    t = time.perf_counter()
    sobol(sub, "npv", party="shanwei", rule="fixed_50_50", n=n, seed=1)
    return time.perf_counter() - t, len(inputs)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke check")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-sobol", action="store_true")
    args = ap.parse_args(argv)

    scenario = bs.load_scenario(REFERENCE)
    P, Y = len(scenario.projects), len(scenario.years)
    R = len(scenario.spec.rules)
    draws = 2_000 if args.quick else 10_000
    per_call_draws = 200 if args.quick else 1_000
    print(f"reference scenario: {P} projects x {Y} years x {R} rules")
    engines = ["numba", "numpy"] if pipeline.kernels_available() else ["numpy"]
    _run(scenario, 256, engines[0])  # compile and warm up
    results = {}
    for engine in engines:
        wall = throughput(scenario, draws, engine, repeats=1 if args.quick else 3)
        rate = draws * P * Y / wall
        per_call = one_call_per_draw(scenario, per_call_draws, engine) / per_call_draws
        results[engine] = (wall, rate, per_call)
        print(
            f"[{engine:5s}] {draws:,} draws in {wall:.2f} s: {rate / 1e6:.1f} million project-year-draws/s; "
            f"one call per draw: {per_call * 1e3:.2f} ms/draw -> vectorised is "
            f"{per_call * draws / wall:.0f}x faster"
        )
    if "numba" in results and "numpy" in results:
        print(
            f"compiled / NumPy engine throughput: {results['numba'][1] / results['numpy'][1]:.1f}x"
        )

    if not args.skip_memory:
        sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
        for n in sizes:
            m = peak_memory(n)
            print(
                f"peak memory at {n:>9,} draws: {m['peak_mib']:7.0f} MiB "
                f"(after warm-up {m['before_mib']:.0f} MiB; run {m['seconds']:.1f} s)"
            )
    if not args.skip_sobol:
        n = 2**10 if args.quick else 2**12
        got = sobol_time(scenario, n)
        if got is None:
            print("sobol: benefitshare.sensitivity not available")
        else:
            print(f"Sobol analysis, {got[1]} inputs, n = {n}: {got[0]:.1f} s")


if __name__ == "__main__":
    main()
