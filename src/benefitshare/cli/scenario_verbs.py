"""Verbs on scenarios and run folders: run, validate, schema, rules, report."""

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from benefitshare.cli.verbs import (
    EXIT_INVALID,
    EXIT_OK,
    add_allow_path,
    add_force_option,
    add_set_option,
    indent,
    load_options,
    parse_overrides,
    parse_rules,
    shown,
    uncertainty_pngs,
    verb,
)
from benefitshare.errors import Problem, ScenarioError
from benefitshare.io import run_folder as _io


# ------------------------------------------------------------------------------------ run
def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument(
        "--out", default="outputs", metavar="DIR", help="output root folder (default: %(default)s)"
    )
    p.add_argument("--name", help="run folder name under --out (default: the scenario file's stem)")
    add_set_option(
        p,
        "override a scenario value, e.g. model.discount_rate=0.05 or "
        "rules[fixed_50_50].params.term_years=5 (repeatable)",
    )
    p.add_argument(
        "--rules", metavar="A,B", help="comma-separated names of the rules to run (default: all)"
    )
    p.add_argument("--draws", type=int, help="number of draws (default: 1, the deterministic run)")
    p.add_argument("--seed", type=int, help="random seed for draws > 1")
    p.add_argument("--sampler", help="sampling method for draws > 1")
    p.add_argument(
        "--flow-rule",
        metavar="RULE",
        help="rule whose split the flow chart shows (default: the first rule that "
        "gives the partner part of the pool)",
    )
    p.add_argument("--no-charts", action="store_true", help="write the tables and manifest only")
    add_force_option(p)
    p.add_argument(
        "--quiet", "-q", action="store_true", help="print only where the run was written"
    )
    add_allow_path(p)


@verb("run", "run a scenario and write its tables, charts and manifest", _configure_run)
def cmd_run(args: argparse.Namespace) -> int:
    import benefitshare as bs

    t0 = time.perf_counter()
    overrides = parse_overrides(args.overrides)
    rules = parse_rules(args.rules)
    if args.name is not None:  # the run name and --out are checked before anything is read
        _io.safe_output_dir(Path(args.out), args.name)
    scenario = bs.load_scenario(args.scenario, overrides=overrides or None, **load_options(args))
    dest = _io.safe_output_dir(Path(args.out), args.name or scenario.name)
    kept = _io.check_output_dir(dest, force=args.force)  # before any computation
    if args.flow_rule is not None:
        chosen = rules if rules is not None else scenario.rule_names
        if args.flow_rule not in chosen:
            raise ScenarioError(
                Problem(
                    "<arguments>",
                    "--flow-rule",
                    f"not a rule of this run; valid: {', '.join(chosen)}",
                    args.flow_rule,
                )
            )
    t_loaded = time.perf_counter()
    kwargs = {"rules": rules}
    for key in ("draws", "seed", "sampler"):
        if getattr(args, key) is not None:
            kwargs[key] = getattr(args, key)
    result = bs.run(scenario, **kwargs)
    t_run = time.perf_counter()

    manifest = _io.run_manifest(
        result,
        command=shlex.join(["benefitshare", *args.argv]),
        overrides=overrides,
        sampler=args.sampler,
        timings={"load_s": round(t_loaded - t0, 4), "run_s": round(t_run - t_loaded, 4)},
    )
    charts, chart_settings = {}, {}
    if not args.no_charts:
        import matplotlib

        matplotlib.use("Agg")
        from benefitshare.viz import run as plots

        flow_rule = args.flow_rule or plots.default_flow_rule(result)
        charts = plots.run_charts(result, flow_rule=flow_rule)
        chart_settings = {"flow_rule": flow_rule}
    pngs = uncertainty_pngs(result, args.no_charts)
    if pngs:
        manifest["uncertainty_charts"] = sorted(pngs)
    _io.write_run(
        result,
        dest,
        manifest=manifest,
        charts={**charts, **pngs},
        chart_settings=chart_settings,
        force=args.force,
    )
    if kept:
        print(
            f"kept in {shown(dest)}/ from the folder it replaced: {', '.join(kept)}",
            file=sys.stderr,
        )

    if not args.quiet:
        from benefitshare.io.report import run_text

        print(
            run_text(
                result.summary(),
                result.headline(),
                title=scenario.spec.header.title,
                years=(int(result.years[0]), int(result.years[-1])),
            )
        )
        print()
    print(f"wrote {shown(dest)}/ ({time.perf_counter() - t0:.2f} s)")
    return EXIT_OK


# ------------------------------------------------------------------------------------ validate
def _configure_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario TOML files")
    p.add_argument(
        "--resolved",
        action="store_true",
        help="print each valid scenario after inheritance (and --set), as TOML, each value "
        "with the file that set it",
    )
    add_set_option(
        p,
        "override a scenario value before checking, as in `run` (repeatable)",
    )
    add_allow_path(p)


@verb("validate", "check scenario files and report every problem", _configure_validate)
def cmd_validate(args: argparse.Namespace) -> int:
    from benefitshare.scenario.load import load_scenario, resolved_toml

    overrides = parse_overrides(args.overrides) or None
    status = EXIT_OK
    for i, name in enumerate(args.files):
        try:
            scenario = load_scenario(name, overrides=overrides, **load_options(args))
        except ScenarioError as exc:
            status = EXIT_INVALID
            print(f"invalid: {name}\n{indent(str(exc))}", file=sys.stderr)
        else:
            if args.resolved:
                print(("\n" if i else "") + resolved_toml(scenario), end="")
            else:
                print(f"ok: {name}")
    return status


# ------------------------------------------------------------------------------------ schema
def _configure_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--partial",
        action="store_true",
        help="no field required: for scenarios that inherit with base = (see docs/schema.md)",
    )


@verb("schema", "print the JSON Schema of scenario files (for editors)", _configure_schema)
def cmd_schema(args: argparse.Namespace) -> int:
    from benefitshare.scenario.load import json_schema
    from benefitshare.scenario.schema import partial_schema

    schema = partial_schema(json_schema()) if args.partial else json_schema()
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return EXIT_OK


# ------------------------------------------------------------------------------------ rules
_ALL_RULES = "*"


def _configure_rules(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--params",
        nargs="?",
        const=_ALL_RULES,
        metavar="RULE",
        help="list each rule's parameters (of RULE only, when given) with type, default, unit "
        "and meaning",
    )


@verb("rules", "list the registered split rules and their parameters", _configure_rules)
def cmd_rules(args: argparse.Namespace) -> int:
    from benefitshare.rules import SPLIT_RULES, get_rule

    if args.params is None:
        width = max(len(n) for n in SPLIT_RULES)
        for name in sorted(SPLIT_RULES):
            print(f"{name:<{width}}  {SPLIT_RULES[name].summary}")
        return EXIT_OK
    names = sorted(SPLIT_RULES) if args.params == _ALL_RULES else [get_rule(args.params).name]
    print("\n\n".join(_rule_params_text(SPLIT_RULES[name]) for name in names))
    return EXIT_OK


def _rule_params_text(rule) -> str:
    """A rule's parameters as a table: name, type, default, unit, then meaning and example."""
    lines = [f"{rule.name}: {rule.summary}"]
    if rule.params_model is None:
        return "\n".join([*lines, "  (parameters are not declared: passed to the rule unchecked)"])
    docs = rule.params_model.param_docs()
    if not docs:
        return "\n".join([*lines, "  no parameters"])
    head = ("parameter", "type", "default", "unit")
    long = {d.name for d in docs if len(d.type) > 30}
    rows = [
        (d.name, "see below" if d.name in long else d.type, d.default, d.unit or "-") for d in docs
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for row, d in zip([head, *rows], [None, *docs], strict=True):
        lines.append("  " + "  ".join(f"{c:<{w}}" for c, w in zip(row, widths, strict=True)))
        if d is not None:
            key = d.name.rsplit(".", 1)[-1]
            example = f"; e.g. {key} = {d.example}" if d.example else ""
            lines.append(f"      {d.meaning}{example}")
            if d.name in long:
                lines.append(f"      type: {d.type}")
    return "\n".join(line.rstrip() for line in lines)


# ------------------------------------------------------------------------------------ report
def _configure_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by `benefitshare run`")


@verb("report", "write report.md and report.html into a run folder", _configure_report)
def cmd_report(args: argparse.Namespace) -> int:
    from benefitshare.io.report import build_report

    for path in build_report(args.run_dir):
        print(f"wrote {shown(path)}")
    return EXIT_OK
