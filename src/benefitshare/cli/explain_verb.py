"""The ``explain`` verb: why a party receives what ``annual.csv`` says, part by part.

``benefitshare explain RUN_DIR --rule R --party P --year Y|all [--format text|csv]`` runs the
model again from the run folder's inputs (the manifest's scenario, overrides, draws, seed and
sampler) and decomposes the party's receipt: pool share (by clause, then by park and project and
by tax and tier), local revenue outside the pool (by project and by tax and tier) and platform
dividends (:func:`benefitshare.analysis.explain.explain_scenario`). The printed amounts are
rounded to the fen so that every block adds up exactly to its line above, and the total is
``annual.csv``'s ``amount_yuan``.
"""

import argparse
import sys
import textwrap
import unicodedata
from pathlib import Path

import numpy as np

from benefitshare.cli.verbs import EXIT_OK, add_allow_path, load_options, shown, verb
from benefitshare.errors import Problem, ScenarioError, unknown_name
from benefitshare.glossary import TAX_LABELS, YUAN_PER_YI
from benefitshare.io import run_folder as _io

FORMATS = ("text", "csv")

#: The line of a clause's share paid in draws and years where its pool is zero.
UNATTRIBUTED = "not attributable to a cell: the clause's pool is zero"


def _configure_explain(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `benefitshare run`")
    add_allow_path(p)
    p.add_argument("--rule", required=True, help="a rule of the run")
    p.add_argument("--party", required=True, help="a party id, e.g. shenzhen")
    p.add_argument(
        "--year", required=True, metavar="Y|all", help="a year of the horizon, or 'all' for its sum"
    )
    p.add_argument(
        "--format",
        default="text",
        help="text (aligned, grouped by part) or csv (one row per cell); default: %(default)s",
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="the scenario file the run was made from, when it is not where the manifest says "
        "(its contents must be unchanged)",
    )


def _arg_problem(flag: str, message: str, value) -> ScenarioError:
    return ScenarioError([Problem("<arguments>", flag, message, value)])


def _check_args(args, manifest: dict, where: str) -> None:
    problems = []
    if args.format not in FORMATS:
        problems.append(
            Problem("<arguments>", "--format", f"must be one of {', '.join(FORMATS)}", args.format)
        )
    rules = [r["name"] for r in manifest.get("rules", [])]
    if args.rule not in rules:
        message = f"{unknown_name('rule', args.rule, rules)} (the rules of {where})"
        problems.append(Problem("<arguments>", "--rule", message, args.rule))
    parties = list(manifest.get("parties", {}))
    if args.party not in parties:
        message = unknown_name("party", args.party, parties)
        problems.append(Problem("<arguments>", "--party", message, args.party))
    first, last = manifest.get("years", [None, None])
    year = args.year.strip().lower()
    if year != "all":
        allowed = f"a year from {first} to {last} (the run's horizon), or 'all'"
        if not year.isdigit():
            problems.append(Problem("<arguments>", "--year", f"must be {allowed}", args.year))
        elif first is not None and not first <= int(year) <= last:
            message = f"outside the horizon; give {allowed}"
            problems.append(Problem("<arguments>", "--year", message, args.year))
    if problems:
        raise ScenarioError(problems)


def _scenario(args, manifest: dict, run_dir: Path):
    import benefitshare as bs

    manifest_file = str(run_dir / "manifest.json")
    recorded = (manifest.get("scenario") or {}).get("path")
    path = args.scenario or recorded
    how = (
        "run explain from the folder where `benefitshare run` was called, or give the file with "
        "--scenario FILE"
    )
    if path is None:
        raise ScenarioError(
            [Problem(manifest_file, "scenario.path", f"the run records no scenario file; {how}")]
        )
    if not Path(path).is_file():
        where = ("<arguments>", "--scenario") if args.scenario else (manifest_file, "scenario.path")
        raise ScenarioError([Problem(*where, f"file not found; {how}", path)])
    scenario = bs.load_scenario(
        path, overrides=manifest.get("overrides") or None, **load_options(args)
    )
    recorded_sha = set((manifest.get("inputs_sha256") or {}).values())
    if recorded_sha:
        changed = [f for f, sha in scenario.input_files.items() if sha not in recorded_sha]
        if changed:
            raise ScenarioError(
                [
                    Problem(
                        f,
                        "(file)",
                        f"changed since the run (its SHA-256 is not in {manifest_file}); "
                        "restore the file, or run the scenario again and explain the new run",
                    )
                    for f in changed
                ]
            )
    return scenario


def _annual_amount(tables: dict, rule: str, party: str, year) -> float:
    ann = tables["annual.csv"]
    sel = ann[(ann["rule"] == rule) & (ann["party"] == party)]
    if year != "all":
        sel = sel[sel["year"] == int(year)]
    return float(sel["amount_yuan"].sum())


@verb(
    "explain",
    "decompose a party's receipt in a run: pool share by clause, project, tax and tier; "
    "revenue outside the pool; dividends",
    _configure_explain,
)
def cmd_explain(args: argparse.Namespace) -> int:
    from benefitshare.analysis.explain import CHECK_TOL_YUAN, explain_scenario

    run_dir = Path(args.run_dir)
    manifest, tables = _io.read_run(run_dir)
    _check_args(args, manifest, str(run_dir))
    scenario = _scenario(args, manifest, run_dir)
    year = "all" if args.year.strip().lower() == "all" else int(args.year)
    frame = explain_scenario(
        scenario,
        rule=args.rule,
        party=args.party,
        year=year,
        draws=int(manifest.get("draws") or 1),
        seed=manifest.get("seed"),
        sampler=manifest.get("sampler"),
    )
    amount = _annual_amount(tables, args.rule, args.party, year)
    explained = float(frame["amount_yuan"].sum())
    if abs(explained - amount) > CHECK_TOL_YUAN:
        raise RuntimeError(
            f"the explained receipt ({explained:,.2f} yuan) does not match annual.csv "
            f"({amount:,.2f} yuan): the run folder was not made by this version of the model"
        )
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False, lineterminator="\n"))
    else:
        print(explain_text(frame, amount, manifest=manifest, run_dir=run_dir))
    return EXIT_OK


# ------------------------------------------------------------------------------------ text
def _cents(values, total_yuan: float) -> np.ndarray:
    """Amounts rounded to the fen so that they add up exactly to ``total_yuan`` rounded.

    Each value is rounded to the nearest fen, then the few fen of difference are moved one by one
    to the values whose rounding moved them most (largest remainder).
    """
    raw = np.asarray(values, dtype=float) * 100.0
    cents = np.round(raw).astype(np.int64)
    diff = int(round(total_yuan * 100.0)) - int(cents.sum())
    if diff and len(cents):
        err = raw - cents
        order = np.argsort(-err if diff > 0 else err, kind="stable")
        step = 1 if diff > 0 else -1
        for i in range(abs(diff)):
            cents[order[i % len(cents)]] += step
    return cents


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class _Table:
    """Lines of (indent, label, amount in fen), printed with aligned amount columns."""

    def __init__(self):
        self.lines: list[tuple[str, int | None]] = []

    def head(self, text: str) -> None:
        self.lines.append((text, None))

    def row(self, depth: int, label: str, cents: int) -> None:
        self.lines.append(("  " * depth + label, int(cents)))

    def blank(self) -> None:
        self.lines.append(("", None))

    def render(self) -> str:
        out = [f"{'亿元':>10}  {'yuan':>20}  "]
        for text, cents in self.lines:
            if cents is None:
                out.append(f"{'':>34}{text}" if text else "")
                continue
            yi = cents / 100.0 / YUAN_PER_YI
            out.append(f"{yi:>12.4f}  {cents / 100.0:>20,.2f}  {text}")
        return "\n".join(line.rstrip() for line in out)


def _block(table: _Table, frame, keys: list, total_cents: int, depth: int, labels=None) -> None:
    """Rows of ``frame`` grouped by ``keys[0]`` (then nested by the other keys), in fen.

    Groups are listed largest first (``labels`` keeps the given order and names the groups).
    """
    key = keys[0]
    groups = frame.groupby(key, sort=False)["amount_yuan"].sum()
    if labels is None:
        groups = groups.iloc[np.argsort(-groups.abs().to_numpy(), kind="stable")]
    cents = _cents(groups.to_numpy(), total_cents / 100.0)
    for (name, _), c in zip(groups.items(), cents, strict=True):
        text = labels(name) if labels else (str(name) or UNATTRIBUTED)
        table.row(depth, text, c)
        if len(keys) > 1:
            _block(table, frame[frame[key] == name], keys[1:], int(c), depth + 1)


def _tax_label(key) -> str:
    tax, tier = key.split("|") if "|" in key else (key, "")
    label = f"{TAX_LABELS.get(tax, tax)} ({tax})" if tax else "(no cell)"
    return f"{label}, {tier}" if tier else label


def explain_text(frame, amount_yuan: float, *, manifest: dict, run_dir: Path) -> str:
    """The decomposition as aligned text: parts, clauses, then each clause and the retained part
    by park and project and by tax and tier; every block adds up to its line above."""
    from benefitshare.analysis.explain import PART_LABELS, PARTS

    a = frame.attrs
    party_name = (manifest.get("parties") or {}).get(a["party"], a["party"])
    when = str(a["year"]) if a["year"] != "all" else f"{a['first_year']}-{a['last_year']}"
    n = a["n_draws"]
    runs = "deterministic run" if n == 1 else f"mean over the run's {n} draws"
    title = (
        f"{party_name} ({a['party']}) under {a['rule']}, {when}: what it receives, part by part\n"
        f"{runs} of {shown(run_dir)}; amounts in 亿元 and yuan\n\n"
    )
    t = _Table()
    parts = [frame[frame["part"] == p]["amount_yuan"].sum() for p in PARTS]
    part_cents = _cents(parts, amount_yuan)
    pool = frame[frame["part"] == "pool_share"]
    clause_names = {0: "not covered by any clause: stays with the host"}
    for i, label in enumerate(a["clauses"], start=1):
        clause_names[i] = f"clause {i}: {label}" if len(a["clauses"]) > 1 else label
    clause_cents = {}
    for part, cents in zip(PARTS, part_cents, strict=True):
        t.row(0, PART_LABELS[part], cents)
        if part == "pool_share" and len(pool):
            by_clause = pool.groupby("clause", sort=True)["amount_yuan"].sum()
            by_clause = by_clause.iloc[np.argsort(by_clause.index == 0, kind="stable")]
            cc = _cents(by_clause.to_numpy(), cents / 100.0)
            for c, v in zip(by_clause.index, cc, strict=True):
                clause_cents[int(c)] = int(v)
                t.row(1, clause_names[int(c)], v)
    t.row(0, "total (= annual.csv amount_yuan)", int(round(amount_yuan * 100.0)))

    for c, cents in clause_cents.items():
        rows = pool[pool["clause"] == c]
        t.blank()
        t.head(f"Share of the pool, {clause_names[c]}")
        t.head("  by park and project")
        _block(t, rows, ["park", "project"], cents, 2)
        t.head("  by tax and tier")
        keyed = rows.assign(key=rows["tax"] + "|" + rows["tier"])
        _block(t, keyed, ["key"], cents, 2, labels=_tax_label)
    kept = frame[frame["part"] == "retained"]
    if len(kept):
        t.blank()
        t.head(f"{PART_LABELS['retained']}")
        t.head("  by park and project")
        _block(t, kept, ["park", "project"], int(part_cents[1]), 2)
        t.head("  by tax and tier")
        keyed = kept.assign(key=kept["tax"] + "|" + kept["tier"])
        _block(t, keyed, ["key"], int(part_cents[1]), 2, labels=_tax_label)
    notes = ["Amounts are rounded to the fen so that each block adds up to the line above."]
    if len(pool):
        notes.insert(0, a["note"])
    wrapped = [
        textwrap.fill(n, 100, initial_indent="Note: ", subsequent_indent="  ") for n in notes
    ]
    return title + t.render() + "\n\n" + "\n".join(wrapped)
