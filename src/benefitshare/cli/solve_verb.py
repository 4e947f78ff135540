"""The ``solve`` verb: the parameter of a family of split rules that meets a target.

``benefitshare solve SCENARIO --rule FAMILY --target TARGET`` runs
:func:`benefitshare.analysis.solver.solve_rule` and prints, for a planner, the value(s) that meet
the target, every party's NPV, standalone value and gain at that value (亿元), whether it is
win-win and, with ``--draws N``, each party's probability of a loss. ``--write NEW.toml`` writes a
scenario file that inherits from SCENARIO (``base = ...``), holds the ``--set`` overrides, and
adds the solved rule as a new ``[[rules]]`` entry; it is written only after it has been loaded
back and its run reproduces the solved NPVs.

Exit status: 0 the target is met; 3 no value of the family meets it (the closest is shown and
nothing is written); 2 bad input; 1 any other error.

Examples
--------
.. code-block:: console

    $ benefitshare solve scenarios/reference.toml --rule fixed_ratio --target equal_gains
    $ benefitshare solve scenarios/reference.toml --rule term --target min_share:shanwei=0.6
    $ benefitshare solve scenarios/reference.toml --rule fixed_ratio --target nash:shenzhen=0.6,shanwei=0.4 \\
          --draws 500 --seed 1 --write scenarios/solved.toml
"""

import argparse
import copy
import dataclasses
import math
import os
import shlex
from pathlib import Path
from typing import Any

from benefitshare.cli.verbs import (
    EXIT_OK,
    add_allow_path,
    add_set_option,
    load_options,
    parse_overrides,
    shown,
    verb,
)
from benefitshare.errors import Problem, ScenarioError, unknown_name
from benefitshare.glossary import YUAN_PER_YI

__all__ = ["EXIT_NOT_MET", "TARGET_FORMS", "SolveTarget", "parse_target", "cmd_solve"]

#: Exit status when no value of the family meets the target (the closest is printed).
EXIT_NOT_MET = 3

#: The target forms ``--target`` takes, with what each asks for.
TARGET_FORMS: dict[str, str] = {
    "equal_gains": "the partner and the host side gain the same NPV over standalone",
    "proportional_gains": "gains in proportion to contributions (capital, land, infrastructure)",
    "shapley": "the partner's NPV equals its Shapley value",
    "nash": "the largest Nash product of the gains; nash:shenzhen=0.6,shanwei=0.4 for weights",
    "min_share": "min_share:PARTY=0.4: the host party keeps at least 0.4 of the pool over the "
    "horizon, and the partner gains as much as it can",
}

_ARGS = "<arguments>"


@dataclasses.dataclass(frozen=True)
class SolveTarget:
    """A parsed ``--target``: the solver's target and its arguments."""

    label: str  # as used in the solved rule's name: equal_gains, min_share_shanwei, ...
    target: str  # the solver's target name
    value: float | None = None
    party: str | None = None
    weights: dict[str, float] | None = None


def _unknown(kind: str, name: str, valid) -> str:
    """ "unknown <kind>; did you mean ...?" (from the one suggester), always with the valid names."""
    valid = [str(v) for v in valid]
    msg = unknown_name(kind, name, valid)
    return msg if "valid:" in msg else f"{msg} (valid: {', '.join(valid)})"


def _bad_target(text: str, message: str) -> ScenarioError:
    return ScenarioError(Problem(_ARGS, "--target", message, text))


def _fraction(text: str, whole: str, what: str) -> float:
    """A number in [0, 1] from ``--target``; ``60`` is answered with "write 0.6 for 60%"."""
    try:
        v = float(text)
    except ValueError:
        raise _bad_target(whole, f"{what} must be a number between 0 and 1, got {text!r}") from None
    if not math.isfinite(v) or not 0.0 <= v <= 1.0:
        hint = f"; write {v / 100:g} for {v:g}%" if 1.0 < v <= 100.0 else ""
        raise _bad_target(whole, f"{what} must be between 0 and 1, got {text}{hint}")
    return v


def parse_target(text: str, parties: dict[str, str]) -> SolveTarget:
    """Read ``--target`` (see :data:`TARGET_FORMS`) against the scenario's parties.

    Parameters
    ----------
    text : str
        ``equal_gains``, ``proportional_gains``, ``shapley``, ``nash``,
        ``nash:shenzhen=0.6,shanwei=0.4`` or ``min_share:shanwei=0.4``.
    parties : dict
        Party id -> role, in the scenario's order.

    Raises
    ------
    ScenarioError
        Naming ``--target``, the value, what is allowed, with a "did you mean".
    """
    name, colon, arg = text.strip().partition(":")
    name = name.strip()
    if name not in TARGET_FORMS:
        raise _bad_target(
            text,
            f"{_unknown('target', name, TARGET_FORMS)}; write min_share as "
            "min_share:PARTY=0.4, and nash weights as nash:PARTY=w,PARTY=w",
        )
    hosts = [p for p, role in parties.items() if role == "host"][:1]
    if name == "min_share":
        example = f"min_share:{hosts[0] if hosts else 'PARTY'}=0.4"
        party, eq, value = arg.partition("=")
        party = party.strip()
        if not colon or not eq or not party or not value.strip():
            raise _bad_target(text, f"needs a party and a share of the pool, e.g. {example}")
        if party not in parties:
            raise _bad_target(
                text,
                f"{unknown_name('party', party, parties)}; min_share takes "
                f"{', '.join(hosts) or '(no host party)'}",
            )
        if party not in hosts:
            raise _bad_target(
                text,
                f"min_share can be set only for the host side (the solver keeps the host "
                f"side's share of the pool at or above the minimum and gives the partner as much "
                f"as it can); {party!r} is the {parties[party]}; valid: {', '.join(hosts)}",
            )
        v = _fraction(value.strip(), text, f"the minimum share of {party}")
        return SolveTarget(f"min_share_{party}", "min_host_share", value=v, party=party)
    if name == "nash" and colon:
        weights: dict[str, float] = {}
        for item in arg.split(","):
            party, eq, value = item.partition("=")
            party = party.strip()
            if not eq or not party:
                raise _bad_target(
                    text,
                    "write the weights as nash:PARTY=w,PARTY=w, e.g. nash:shenzhen=0.6,shanwei=0.4",
                )
            if party not in parties:
                raise _bad_target(text, _unknown("party", party, parties))
            if party in weights:
                raise _bad_target(text, f"the weight of {party!r} is given twice")
            weights[party] = _fraction(value.strip(), text, f"the weight of {party}")
        if not sum(weights.values()) > 0:
            raise _bad_target(text, "at least one weight must be above 0")
        return SolveTarget("nash", "nash", weights=weights)
    if colon:
        raise _bad_target(text, f"{name} takes no arguments; write --target {name}")
    return SolveTarget(name, name)


# ------------------------------------------------------------------------------------ the file
def _write_problem(path: Path, message: str) -> ScenarioError:
    return ScenarioError(Problem(_ARGS, "--write", message, str(path)))


def _check_write_path(dest: Path, scenario) -> None:
    """Refuse a ``--write`` path that is not a new ``.toml`` file beside an existing folder."""
    if dest.suffix != ".toml":
        raise _write_problem(dest, "must be a scenario file ending in .toml, e.g. solved.toml")
    if not dest.parent.is_dir():
        raise _write_problem(dest, f"the folder {shown(dest.parent)} does not exist; create it")
    if dest.is_dir():
        raise _write_problem(dest, "is a folder; give a file name ending in .toml")
    chain = {Path(f).resolve() for f in scenario.input_files} | {scenario.path.resolve()}
    if dest.resolve() in chain:
        raise _write_problem(
            dest, "is the scenario itself or a file it reads; give a new file name"
        )


def _override_tables(raw: dict, overrides: dict, out_dir: Path) -> dict:
    """The ``--set`` overrides as the tables of a child scenario file.

    A value in a table is written at its path (a child's tables merge into the inherited ones);
    a value inside an entry of an array that merges by name (``[[rules]]``, ``[[costs]]``, ...:
    ``rules[fixed_50].params.term_years``) writes that whole entry, as overridden, under its
    name; a value inside any other list writes the whole list (a child's list replaces it).
    """
    from benefitshare.scenario.load import MERGED_ARRAYS, split_path

    child: dict = {}
    for path in overrides:
        parts = split_path(path)
        node: Any = raw
        into = child
        for i, part in enumerate(parts):
            value = node[part]
            if i == len(parts) - 1:
                if parts == ["model", "projects"]:  # relative to the new file, not the cwd
                    value = Path(os.path.relpath(Path(value).resolve(), out_dir)).as_posix()
                into[part] = copy.deepcopy(value)
                break
            if isinstance(value, dict):
                into, node = into.setdefault(part, {}), value
                continue
            # a list: the next part is an index or a name
            nxt = parts[i + 1]
            if isinstance(nxt, str):
                nxt = [x.get("name") if isinstance(x, dict) else None for x in value].index(nxt)
            entry = value[nxt]
            if tuple(parts[: i + 1]) in MERGED_ARRAYS and isinstance(into.get(part, []), list):
                entries = into.setdefault(part, [])
                entries[:] = [e for e in entries if e.get("name") != entry["name"]]
                entries.append(copy.deepcopy(entry))
            else:
                into[part] = copy.deepcopy(value)
            break
    return child


def _rule_name(family: str, target: SolveTarget) -> str:
    return f"solved_{family}_{target.label}"


def _npv_gap(written, rule_name: str, sol, parties: list[str], draws: int, seed) -> float:
    """Largest difference [yuan] between a scenario's NPVs for the rule and the solver's."""
    import benefitshare as bs

    kwargs = {"draws": draws, "seed": seed, "progress": False} if draws > 1 else {}
    npv = bs.run(written, rules=[rule_name], **kwargs).npv_mean_rk()[0]
    return max(abs(float(npv[k]) - sol.metrics[f"npv_{p}_yuan"]) for k, p in enumerate(parties))


def _write_scenario(
    dest: Path, scenario, sol, rule_name: str, overrides: dict, header: str, draws: int, seed
) -> None:
    """Write the child scenario, once it loads back and reproduces the solved NPVs."""
    import tomli_w

    import benefitshare as bs
    from benefitshare.io.files import atomic_write_text

    out_dir = dest.resolve().parent
    base = Path(os.path.relpath(scenario.path.resolve(), out_dir)).as_posix()
    doc = {"base": base, **_override_tables(scenario.raw, overrides, out_dir)}
    entry = {"name": rule_name, **sol.rule}
    doc["rules"] = [e for e in doc.get("rules", []) if e.get("name") != rule_name] + [entry]
    text = header + tomli_w.dumps(doc)
    parties = list(scenario.spec.parties)
    tmp = dest.with_name(f".{dest.stem}.checking.toml")
    try:
        tmp.write_text(text, encoding="utf-8")
        allow = [scenario.path.resolve().parent]  # the file inherits from the input's folder
        gap = _npv_gap(
            bs.load_scenario(tmp, allow_paths=allow), rule_name, sol, parties, draws, seed
        )
    finally:
        tmp.unlink(missing_ok=True)
    scale = max(abs(sol.metrics[f"npv_{p}_yuan"]) for p in parties)
    if not gap <= max(1.0, 1e-9 * scale):
        raise RuntimeError(
            f"the scenario file for {shown(dest)} would not reproduce the solved NPVs (off by "
            f"{gap:,.3g} yuan); nothing was written"
        )
    atomic_write_text(dest, text)


# ------------------------------------------------------------------------------------ the text
def _pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def _yi(v: float) -> str:
    return f"{v / YUAN_PER_YI:,.3f}"


def _split(shares: dict) -> str:
    return ", ".join(f"{p} {_pct(s)}" for p, s in shares.items())


def _parameter_lines(sol, years) -> list[str]:
    """The parameters found, and what the rule does with them, in words."""
    rule, params = sol.rule, sol.rule["params"]
    out = []
    for k, v in sol.params.items():
        if k == "cap_yuan":
            out.append(f"  {k} = {v:,.0f} yuan ({_yi(v)} 亿元)")
        elif k == "term_years":
            out.append(f"  {k} = {v}")
        else:
            out.append(f"  {k} = {v:.6g}")
    if sol.family == "fixed_ratio":
        out.append(f"  each year's pool: {_split(params['shares'])}")
    elif sol.family == "term":
        first = int(params.get("start_year", years[0]))
        last = first + int(params["term_years"]) - 1
        out.append(
            f"  {_split(params['shares'])} of the pool in {first}-{last}, then the host keeps all"
        )
    elif sol.family == "cap":
        p = params["recovering_party"]
        out.append(
            f"  {p} takes {_pct(params['recovery_rate'])} of the pool until it has received "
            f"{_yi(params['outlay_yuan'])} 亿元 in all, then the host keeps all"
        )
    elif sol.family == "taper":
        steps = list(params["schedule"].items())
        (y0, s0), (y1, s1) = steps[0], steps[-1]
        out.append(f"  {y0}: {_split(s0)}, changing each year to {y1}: {_split(s1)}, then constant")
    if rule["rule"] != sol.family:
        out.append(f"  written as the rule {rule['rule']!r}")
    return out


def _party_table(sol, parties: dict[str, str], with_draws: bool) -> list[str]:
    m = sol.metrics
    head = ["party", "role", "NPV", "standalone", "gain", "pool share", "Shapley"]
    if with_draws:
        head.append("P(gain<0)")
    rows = [head]
    for p, role in parties.items():
        npv, gain = m[f"npv_{p}_yuan"], m[f"gain_{p}_yuan"]
        row = [
            p,
            role,
            _yi(npv),
            _yi(npv - gain),
            ("+" if gain >= 0 else "") + _yi(gain),
            _pct(m[f"share_of_pool_{p}"]),
            _yi(m[f"shapley_{p}_yuan"]),
        ]
        if with_draws:
            row.append(_pct(m[f"p_loss_{p}"]))
        rows.append(row)
    widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
    return [
        "  "
        + "  ".join(
            cell.ljust(w) if c < 2 else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]


def _report(sol, scenario, target: SolveTarget, draws: int, seed, source: str) -> str:
    from benefitshare.analysis.solver import TARGETS

    parties = {p: party.role for p, party in scenario.spec.parties.items()}
    m = sol.metrics
    lines = [f"solve: {sol.family} for {target.label} in {source}"]
    if target.weights:
        w = ", ".join(f"{p} {target.weights.get(p, 0.0):g}" for p in parties)
        lines.append(f"Nash weights: {w} (scaled to sum to 1; a party not listed has weight 0)")
    what = TARGETS[target.target]
    if target.target == "min_host_share":
        what = f"{target.party} keeps at least {_pct(target.value)} of the pool over the horizon"
    verdict = "Target met" if sol.success else "Target NOT met: no value meets it"
    lines.append(f"{verdict} ({what}).")
    if sol.note:
        lines.append(sol.note)
    lines.append("")
    lines.append("Value found:" if sol.success else "Closest value found (it does not meet it):")
    lines.extend(_parameter_lines(sol, scenario.years))
    lines.append("")
    over = f"mean over {draws} draws, seed {seed}" if draws > 1 else "deterministic run"
    lines.append(f"Each party at this value (亿元 = 1e8 yuan, {over}):")
    lines.extend(_party_table(sol, parties, draws > 1))
    lines.append(
        "  NPV: discounted net benefit; standalone: the NPV without cooperating; "
        "gain = NPV - standalone"
    )
    win = "yes: every party gains" if m["win_win"] else "no: "
    if not m["win_win"]:
        losers = [p for p in parties if m[f"gain_{p}_yuan"] < -0.01]
        win += f"{', '.join(losers)} would lose against not cooperating"
    lines.append(f"Win-win{' (on the mean)' if draws > 1 else ''}: {win}.")
    if draws > 1:
        worst = max(parties, key=lambda p: m[f"p_loss_{p}"])
        lines.append(
            f"With uncertainty, {worst} has the highest probability of a loss: "
            f"{_pct(m[f'p_loss_{worst}'])} of the draws."
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ the verb
def _configure_solve(p: argparse.ArgumentParser) -> None:
    p.epilog = (
        "Exit status: 0 the target is met; 3 no value meets it (the closest is printed, "
        "nothing is written); 2 bad input; 1 other errors."
    )
    p.add_argument("scenario", help="scenario TOML file")
    add_allow_path(p)
    p.add_argument(
        "--rule",
        required=True,
        metavar="FAMILY",
        help="the family of rules to tune: fixed_ratio (the partner's share of the pool), taper "
        "(a share falling from start_share to end_share over 15 years), cap (the partner takes "
        "half the pool until it has received cap_yuan), term (50:50 for term_years years)",
    )
    p.add_argument(
        "--target",
        required=True,
        metavar="TARGET",
        help="equal_gains, proportional_gains, shapley, nash, nash:shenzhen=0.6,shanwei=0.4 "
        "(weights), or min_share:shanwei=0.4 (the host keeps at least 40%% of the pool)",
    )
    p.add_argument(
        "--draws", type=int, default=1, help="solve on the mean over N draws (default: 1)"
    )
    p.add_argument(
        "--seed", type=int, help="random seed for --draws > 1 (default: fresh, and printed)"
    )
    add_set_option(
        p,
        "override a scenario value (repeatable); also written by --write",
    )
    p.add_argument(
        "--write",
        metavar="NEW.toml",
        help="write a scenario file inheriting from SCENARIO, with the --set values and the "
        "solved rule added as [[rules]] solved_<family>_<target>",
    )


@verb(
    "solve",
    "find the rule parameter that meets a target (equal gains, Shapley, ...)",
    _configure_solve,
)
def cmd_solve(args: argparse.Namespace) -> int:
    import numpy as np

    import benefitshare as bs
    from benefitshare.analysis.rule_families import FAMILIES

    if args.rule not in FAMILIES:
        raise ScenarioError(
            Problem(
                _ARGS,
                "--rule",
                f"{_unknown('rule family', args.rule, FAMILIES)}; the rules already in a "
                "scenario file are compared with `benefitshare compare`",
                args.rule,
            )
        )
    if args.draws < 1:
        raise ScenarioError(Problem(_ARGS, "--draws", "must be a whole number >= 1", args.draws))
    try:
        overrides = parse_overrides(args.overrides)
        scenario = bs.load_scenario(
            args.scenario, overrides=overrides or None, **load_options(args)
        )
    except ScenarioError as exc:  # name the flag of a bad override
        raise ScenarioError(
            [
                dataclasses.replace(p, file="--set") if p.file == "<overrides>" else p
                for p in exc.problems
            ]
        ) from None
    parties = {p: party.role for p, party in scenario.spec.parties.items()}
    target = parse_target(args.target, parties)
    dest = Path(args.write) if args.write else None
    if dest is not None:
        _check_write_path(dest, scenario)
    seed = args.seed
    if args.draws > 1 and seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    sol = bs.solve_rule(
        scenario,
        args.rule,
        target.target,
        value=target.value,
        nash_weights=target.weights,
        draws=args.draws,
        seed=seed,
    )
    print(_report(sol, scenario, target, args.draws, seed, shown(Path(args.scenario))))
    if not sol.success:
        if dest is not None:
            print(f"\nnothing written to {shown(dest)}: the target is not met")
        return EXIT_NOT_MET
    if dest is not None:
        rule_name = _rule_name(args.rule, target)
        command = shlex.join(["benefitshare", *args.argv])
        header = (
            f"# The rule {rule_name} solved for {target.label} ({sol.family}); written by\n"
            f"# {command}\n# Inherits everything else from {shown(Path(args.scenario))}.\n\n"
        )
        _write_scenario(dest, scenario, sol, rule_name, overrides, header, args.draws, seed)
        again = f" --draws {args.draws} --seed {seed}" if args.draws > 1 else ""
        inputs = Path(args.scenario).resolve().parent
        if inputs not in dest.resolve().parents:  # its base lies outside its own folder
            again += f" --allow-path {shlex.quote(shown(inputs))}"
        print(
            f"\nwrote {shown(dest)}: inherits from {shown(Path(args.scenario))} and adds the rule "
            f"{rule_name!r}; its run reproduces these NPVs:\n"
            f"  benefitshare run {shlex.quote(shown(dest))} --rules {rule_name}{again}"
        )
    return EXIT_OK
