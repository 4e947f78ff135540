"""Verbs that analyse scenarios: sensitivity, compare, sweep."""

import argparse
import dataclasses
import shlex
import sys
import time
from pathlib import Path

from benefitshare.cli.verbs import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    add_allow_path,
    add_force_option,
    add_set_option,
    load_options,
    parse_overrides,
    parse_rules,
    shown,
    verb,
)
from benefitshare.errors import Problem, ScenarioError
from benefitshare.glossary import YUAN_PER_YI
from benefitshare.io import run_folder as _io

# ------------------------------------------------------------------------------------ sensitivity
_SOBOL_FLAGS = ("--n", "--seed", "--resamples", "--per-project")


def _configure_sensitivity(p: argparse.ArgumentParser) -> None:
    add_allow_path(p)
    p.add_argument("scenario", help="scenario TOML file with an [uncertainty] section")
    add_force_option(p)
    p.add_argument(
        "--outcome",
        required=True,
        metavar="METRIC[:PARTY[:RULE]]",
        help="what to explain: npv, cumulative, gain or pool_share of a party under a "
        "rule (e.g. npv:shanwei:fixed_50_50), or pool (the whole shareable pool)",
    )
    p.add_argument("--party", help="party id, if not in --outcome")
    p.add_argument("--rule", help="rule name, if not in --outcome")
    p.add_argument(
        "--method",
        choices=("tornado", "sobol"),
        default="tornado",
        help="one input at a time between two quantiles, or Sobol indices (default: %(default)s)",
    )
    p.add_argument(
        "--n",
        type=int,
        metavar="N",
        help="sobol: base sample size, a power of two (default: 1024); the model is "
        "run N x (inputs + 2) times",
    )
    p.add_argument(
        "--seed", type=int, help="sobol: random seed (default: fresh, recorded in the manifest)"
    )
    p.add_argument(
        "--resamples", type=int, metavar="B", help="sobol: bootstrap resamples (default: 999)"
    )
    p.add_argument(
        "--per-project",
        choices=("common", "grouped"),
        help="sobol: an input drawn per project takes one draw common to its projects "
        "(common, the default) or one per project as in a run (grouped)",
    )
    p.add_argument("--low-q", type=float, metavar="Q", help="tornado: low quantile (default: 0.1)")
    p.add_argument(
        "--high-q", type=float, metavar="Q", help="tornado: high quantile (default: 0.9)"
    )
    add_set_option(p)
    p.add_argument(
        "--out", default="outputs", metavar="DIR", help="output root folder (default: %(default)s)"
    )
    p.add_argument(
        "--name", help="folder name under --out (default: <scenario>_sensitivity_<method>)"
    )
    p.add_argument("--no-charts", action="store_true", help="write the table and manifest only")
    p.add_argument(
        "--quiet", "-q", action="store_true", help="print only where the analysis was written"
    )


def _sensitivity_text(df, method: str) -> str:
    """The table of a sensitivity analysis as printed (amounts in 亿元 = 1e8 yuan)."""
    s = df.attrs["settings"]
    lines = [f"{method}: {s.outcome} ({s.outcome_description})"]
    if method == "tornado":
        lines.append(
            f"amounts in 亿元 (1e8 yuan); central value {s.central_yuan / YUAN_PER_YI:,.3f}; "
            f"each input at its P{100 * s.low_q:g} and P{100 * s.high_q:g}"
        )
        table = df.assign(
            outcome_low=df["outcome_low_yuan"] / YUAN_PER_YI,
            outcome_high=df["outcome_high_yuan"] / YUAN_PER_YI,
            swing=df["swing_yuan"] / YUAN_PER_YI,
        )
        table = table[
            [
                "input",
                "value_unit",
                "low_value",
                "high_value",
                "outcome_low",
                "outcome_high",
                "swing",
            ]
        ]
        lines.append(table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    else:
        lines.append(
            f"n = {s.n}, {s.n_evaluations} model evaluations, "
            f"{100 * s.confidence_level:g}% bootstrap intervals "
            f"({s.n_resamples} resamples)"
        )
        if s.common_draw:
            lines.append(
                "per-project inputs analysed with one draw common to their projects "
                "(--per-project grouped analyses them as in a run): " + ", ".join(s.common_draw)
            )
        if s.ignored_correlation:
            lines.append(
                "correlation not used (the indices assume independent inputs): "
                + ", ".join(s.ignored_correlation)
            )
        lines.append(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return "\n".join(lines)


@verb(
    "sensitivity",
    "which uncertain inputs drive an outcome: tornado or Sobol indices",
    _configure_sensitivity,
)
def cmd_sensitivity(args: argparse.Namespace) -> int:

    import benefitshare as bs
    from benefitshare.analysis.sobol import sobol
    from benefitshare.analysis.tornado import tornado

    t0 = time.perf_counter()
    given = {
        "--n": args.n,
        "--seed": args.seed,
        "--resamples": args.resamples,
        "--per-project": args.per_project,
        "--low-q": args.low_q,
        "--high-q": args.high_q,
    }
    wrong = [
        flag
        for flag, value in given.items()
        if value is not None and (flag in _SOBOL_FLAGS) != (args.method == "sobol")
    ]
    if wrong:
        raise ScenarioError(
            [
                Problem(
                    "<arguments>",
                    flag,
                    "applies only to --method " + ("sobol" if flag in _SOBOL_FLAGS else "tornado"),
                    given[flag],
                )
                for flag in wrong
            ]
        )
    overrides = parse_overrides(args.overrides)
    if args.name is not None:  # the name and --out are checked before anything is read
        _io.safe_output_dir(Path(args.out), args.name)
    scenario = bs.load_scenario(args.scenario, overrides=overrides or None, **load_options(args))
    name = args.name or f"{scenario.name}_sensitivity_{args.method}"
    dest = _io.safe_output_dir(Path(args.out), name)
    _io.check_output_dir(dest, force=args.force)  # before any computation
    if args.method == "tornado":
        df = tornado(
            scenario,
            args.outcome,
            rule=args.rule,
            party=args.party,
            low_q=0.1 if args.low_q is None else args.low_q,
            high_q=0.9 if args.high_q is None else args.high_q,
        )
    else:
        df = sobol(
            scenario,
            args.outcome,
            rule=args.rule,
            party=args.party,
            n=1024 if args.n is None else args.n,
            seed=args.seed,
            n_resamples=999 if args.resamples is None else args.resamples,
            per_project=args.per_project or "common",
        )
    t_done = time.perf_counter()
    charts = {}
    if not args.no_charts:
        import matplotlib

        matplotlib.use("Agg")
        from benefitshare.viz import uncertainty as plots_uncertainty
        from benefitshare.viz.style import to_png

        draw = {"tornado": plots_uncertainty.tornado_chart, "sobol": plots_uncertainty.sobol_chart}
        charts[f"{args.method}.png"] = to_png(draw[args.method](df))
    settings = dataclasses.asdict(df.attrs["settings"])
    manifest = _io.base_manifest(
        scenario, command=shlex.join(["benefitshare", *args.argv]), overrides=overrides
    )
    manifest.update(
        method=args.method,
        outcome=settings["outcome"],
        settings=settings,
        timings_s={"analysis_s": round(t_done - t0, 4)},
    )
    _io.write_output_folder(
        dest, tables={"sensitivity.csv": df}, charts=charts, manifest=manifest, force=args.force
    )
    if not args.quiet:
        print(_sensitivity_text(df, args.method))
        print()
    print(f"wrote {shown(dest)}/ ({time.perf_counter() - t0:.2f} s)")
    return EXIT_OK


# ------------------------------------------------------------------------------------ compare
def _configure_compare(p: argparse.ArgumentParser) -> None:
    add_allow_path(p)
    from benefitshare.analysis.compare import CRITERIA

    p.add_argument("scenario", help="scenario TOML file")
    add_force_option(p)
    p.add_argument("--draws", type=int, help="number of draws (default: 1, the deterministic run)")
    p.add_argument("--seed", type=int, help="random seed for draws > 1")
    p.add_argument(
        "--by",
        default="to_shapley",
        choices=list(CRITERIA),
        help="ranking criterion (default: %(default)s)",
    )
    p.add_argument(
        "--loss-threshold",
        type=float,
        default=0.05,
        metavar="P",
        help="with draws, a rule is win-win only if every party's probability of a loss "
        "is below P (default: %(default)s)",
    )
    p.add_argument(
        "--rules",
        metavar="A,B",
        help="comma-separated names of the rules to compare (default: all)",
    )
    add_set_option(p)
    p.add_argument(
        "--out", default="outputs", metavar="DIR", help="output root folder (default: %(default)s)"
    )
    p.add_argument("--name", help="folder name under --out (default: <scenario>_compare)")
    p.add_argument("--no-charts", action="store_true", help="write the tables and manifest only")
    p.add_argument(
        "--quiet", "-q", action="store_true", help="print only where the comparison was written"
    )


@verb(
    "compare",
    "compare split rules: gains, win-win, Shapley/Nash distance, fairness, timing",
    _configure_compare,
)
def cmd_compare(args: argparse.Namespace) -> int:
    import benefitshare as bs

    t0 = time.perf_counter()
    if not 0.0 <= args.loss_threshold <= 1.0:
        raise ScenarioError(
            Problem(
                "<arguments>", "--loss-threshold", "must be between 0 and 1", args.loss_threshold
            )
        )
    if args.draws is not None and args.draws < 1:
        raise ScenarioError(
            Problem("<arguments>", "--draws", "must be a whole number >= 1", args.draws)
        )
    overrides = parse_overrides(args.overrides)
    rules = parse_rules(args.rules)
    if args.name is not None:  # the name and --out are checked before anything is read
        _io.safe_output_dir(Path(args.out), args.name)
    scenario = bs.load_scenario(args.scenario, overrides=overrides or None, **load_options(args))
    dest = _io.safe_output_dir(Path(args.out), args.name or f"{scenario.name}_compare")
    _io.check_output_dir(dest, force=args.force)  # before any computation
    kwargs = {"rules": rules}
    if args.draws is not None:
        kwargs["draws"] = args.draws
    if args.seed is not None:
        kwargs["seed"] = args.seed
    result = bs.run(scenario, **kwargs)
    cmp = bs.compare_rules(result, by=args.by, loss_threshold=args.loss_threshold)
    t_done = time.perf_counter()
    charts = {}
    if not args.no_charts:
        import matplotlib

        matplotlib.use("Agg")
        from benefitshare.viz.compare import comparison_charts

        charts = comparison_charts(cmp)
    manifest = _io.run_manifest(
        result,
        command=shlex.join(["benefitshare", *args.argv]),
        overrides=overrides,
        timings={"compare_s": round(t_done - t0, 4)},
    )
    manifest.update(
        by=args.by,
        loss_threshold=args.loss_threshold,
        surplus_yuan=cmp.surplus_yuan,
        notes=cmp.notes,
    )
    _io.write_output_folder(
        dest,
        tables={"comparison.csv": cmp.table, "reference_points.csv": cmp.reference},
        charts=charts,
        manifest=manifest,
        force=args.force,
    )
    if not args.quiet:
        print(cmp.to_text())
        print()
    print(f"wrote {shown(dest)}/ ({time.perf_counter() - t0:.2f} s)")
    return EXIT_OK


# ------------------------------------------------------------------------------------ sweep
def _configure_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "sweep_file", metavar="SWEEP.toml", help="sweep file (examples in scenarios/sweeps/)"
    )
    p.add_argument(
        "--executor",
        choices=("serial", "processes", "dask"),
        default="serial",
        help="where variants run: this process, local worker processes, or a Dask cluster "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes (processes: default the number of CPUs; dask: workers of the "
        "local cluster started when no --scheduler is given)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler, e.g. tcp://host:8786 or tls://host:8786 (see the README on Dask security) (with --executor dask)",
    )
    p.add_argument(
        "--out", metavar="DIR", help="results folder (default: outputs/<sweep file stem>)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="resume into a folder written by a changed sweep file or from changed scenario "
        "files, keeping only the variants whose inputs did not change",
    )
    p.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="module every worker imports first, e.g. one that registers your own split rule "
        "(repeatable)",
    )
    p.add_argument(
        "--metric",
        help="metric the summary ranks variants by (default: the sweep file's "
        "[report] metric, else npv_yuan)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--quiet", "-q", action="store_true", help="print only the counts and the results folder"
    )


@verb(
    "sweep",
    "run the variants of a sweep file, resumably, on local cores or a Dask cluster",
    _configure_sweep,
)
def cmd_sweep(args: argparse.Namespace) -> int:
    """Exit status 0 when every variant finished, 1 when any failed (the rest are kept), 2 for
    invalid input (the sweep file, a variant's overrides, an executor option, or a results folder
    holding a different sweep without --force)."""
    from benefitshare.analysis.sweep_effects import SUMMARY_METRICS
    from benefitshare.batch.executors import ExecutorError
    from benefitshare.batch.run import sweep

    if args.metric is not None and args.metric not in SUMMARY_METRICS:
        raise ScenarioError(
            Problem("<arguments>", "--metric", f"valid: {', '.join(SUMMARY_METRICS)}", args.metric)
        )
    try:
        res = sweep(
            args.sweep_file,
            executor=args.executor,
            workers=args.workers,
            out=args.out,
            scheduler=args.scheduler,
            resume="force" if args.force else True,
            imports=args.imports,
            progress=False if args.no_progress else None,
            command=shlex.join(["benefitshare", *args.argv]),
        )
    except ExecutorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    text = res.report_text(args.metric)
    print(text.splitlines()[0] if args.quiet else text)
    if not args.quiet:
        print()
    print(f"results in {shown(res.out)}/ (pandas: bs.load_sweep({str(shown(res.out))!r}))")
    if res.n_failed:
        print(
            f"{res.n_failed} variant{'s' if res.n_failed != 1 else ''} failed: their errors are in "
            f"{shown(res.out)}/sweep.json; run the same command again to retry them",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK
