"""Checks of a scenario across its sections and its project table.

Each section of a scenario is validated on its own by its schema
(:mod:`benefitshare.scenario.schema`); this module checks what ties them together: parties,
parks, sectors, taxes and project groups named elsewhere exist, shares sum to one, years fall
within the horizon (and the packaged tax regime covers it), each rule is registered with valid
parameters (:mod:`benefitshare.rules`) and the clauses of a mechanism do not overlap.
"""

from __future__ import annotations

from typing import Any

from benefitshare.errors import Problem, location_text, unknown_name
from benefitshare.glossary import TAXES
from benefitshare.regime import load_tax_regime
from benefitshare.rules import SPLIT_RULES, validate_params
from benefitshare.rules.spec import outside_horizon, shares_sum_problem
from benefitshare.scenario.messages import RENAMED_KEYS, Origins
from benefitshare.scenario.projects import ProjectTable
from benefitshare.scenario.schema import ScenarioSpec

__all__ = ["cross_checks"]


def cross_checks(
    spec: ScenarioSpec, projects: ProjectTable, origins: Origins, proj_file: str
) -> list[Problem]:
    """Problems across sections and files, each naming the file and field path.

    Parameters
    ----------
    spec : ScenarioSpec
        The scenario, each section valid on its own.
    projects : ProjectTable
        Its project table, each row valid on its own.
    origins : Origins
        Which file set each key.
    proj_file : str
        Display name of the project table.

    Returns
    -------
    list of Problem
    """
    problems: list[Problem] = []

    def add(loc: tuple, value: Any, msg: str) -> None:
        problems.append(Problem(origins.file_for(loc), location_text(loc), msg, value))

    parties = list(spec.parties)
    parks = list(spec.parks)
    sectors = list(spec.sectors)
    groups = sorted(set(projects.group))
    start, end = spec.model.start_year, spec.model.end_year

    roles = [p.role for p in spec.parties.values()]
    if len(parties) < 2:
        add(("parties",), parties, "at least two parties are needed")
    if "host" not in roles:
        add(("parties",), ..., "one party must have role = 'host'")
    if "partner" not in roles:
        add(("parties",), ..., "one party must have role = 'partner'")

    for pid, party in spec.parties.items():
        del party
        if pid != pid.lower():
            add(("parties", pid), pid, "party ids must be lower case")
    for park_id, park in spec.parks.items():
        if park.host not in parties:
            add(("parks", park_id, "host"), park.host, unknown_name("party", park.host, parties))
        if park.level == "municipal" and park.county_share > 0:
            add(
                ("parks", park_id, "county_share"),
                park.county_share,
                "a municipal park has no county tier: must be 0",
            )

    def check_year(loc: tuple, year: int, *, earlier_ok: bool = False) -> None:
        problem = outside_horizon(year, start, end, earlier_ok=earlier_ok)
        if problem is not None:
            add(loc, year, problem)

    def check_shares(loc: tuple, shares: dict) -> None:
        problem = shares_sum_problem(sum(shares.values()))
        if problem is not None:
            add(loc, dict(shares), problem)

    def check_steps(loc: tuple, steps: Any) -> None:
        # steps carry forward: one before the first model year applies from it; one after the
        # last model year would never apply and is refused
        if isinstance(steps, dict):
            for year in steps:
                check_year((*loc, str(year)), year, earlier_ok=True)
        if isinstance(steps, dict) and not steps:
            add(
                loc,
                steps,
                f"schedule is empty: give a value for the first model year {start} or earlier",
            )
        elif isinstance(steps, dict) and min(steps) > start:
            add(
                loc,
                steps,
                f"schedule starts in {min(steps)} but the model starts in {start}: "
                "give a value for the first model year or earlier",
            )

    # the packaged tax regime must have a value for every model year
    regime_first = {name: min(p.values) for name, p in load_tax_regime().items()}
    latest = max(regime_first, key=regime_first.get)
    if start < regime_first[latest]:
        add(
            ("model", "start_year"),
            start,
            f"the packaged tax regime has no value before {regime_first[latest]} ({latest}): "
            f"the model must start in {regime_first[latest]} or later",
        )

    check_steps(("model", "sales_growth_rate"), spec.model.sales_growth_rate)
    for tax, steps in spec.tiers.provincial_share.items():
        if tax not in TAXES:
            add(("tiers", "provincial_share", tax), tax, unknown_name("tax", tax, list(TAXES)))
        check_steps(("tiers", "provincial_share", tax), steps)

    for i, tax in enumerate(spec.pool.taxes):
        if tax not in TAXES:
            add(("pool", "taxes", i), tax, unknown_name("tax", tax, list(TAXES)))
    for i, park in enumerate(spec.pool.parks or []):
        if park not in parks:
            add(("pool", "parks", i), park, unknown_name("park", park, parks))
    for i, group in enumerate(spec.pool.groups or []):
        if group not in groups:
            add(("pool", "groups", i), group, unknown_name("project group", group, groups))

    for i, cost in enumerate(spec.costs):
        if cost.party not in parties:
            add(("costs", i, "party"), cost.party, unknown_name("party", cost.party, parties))
        for year in cost.payments_yuan:
            check_year(("costs", i, "payments_yuan", str(year)), year)

    if spec.platform is not None:
        eq = spec.platform.equity
        for pid in eq:
            if pid not in parties:
                add(("platform", "equity", pid), pid, unknown_name("party", pid, parties))
        check_shares(("platform", "equity"), eq)
        for year in spec.platform.capital_payments_yuan:
            check_year(("platform", "capital_payments_yuan", str(year)), year)
        check_steps(("platform", "return_on_capital_rate"), spec.platform.return_on_capital_rate)
    if spec.statistics.method == "shares":
        shares = spec.statistics.shares
        if not shares:
            add(
                ("statistics", "shares"),
                ...,
                "method 'shares' needs shares = {party = fraction, ...}",
            )
        else:
            for pid in shares:
                if pid not in parties:
                    add(("statistics", "shares", pid), pid, unknown_name("party", pid, parties))
            check_shares(("statistics", "shares"), shares)
    if spec.statistics.method == "equity" and spec.platform is None:
        add(
            ("statistics", "method"),
            "equity",
            "method 'equity' needs a [platform] section with equity shares",
        )

    seen_rules: set[str] = set()
    for i, rule in enumerate(spec.rules):
        if rule.name in seen_rules:
            add(("rules", i, "name"), rule.name, "rule names must be unique")
        seen_rules.add(rule.name)
        clauses = rule.all_clauses()
        windows = []
        for j, clause in enumerate(clauses):
            base = ("rules", i) if rule.clauses is None else ("rules", i, "clauses", j)
            if clause.rule not in SPLIT_RULES:
                add(
                    base + ("rule",),
                    clause.rule,
                    unknown_name("rule", clause.rule, sorted(SPLIT_RULES)),
                )
            else:
                issues = validate_params(clause.rule, clause.params, spec, renamed=RENAMED_KEYS)
                for loc, value, msg in issues:
                    add(base + ("params",) + tuple(loc), value, msg)
            sc = clause.scope
            for k, tax in enumerate(sc.taxes or []):
                if tax not in spec.pool.taxes:
                    add(
                        base + ("scope", "taxes", k),
                        tax,
                        unknown_name("tax in the pool", tax, list(spec.pool.taxes)),
                    )
            for k, park in enumerate(sc.parks or []):
                if park not in parks:
                    add(base + ("scope", "parks", k), park, unknown_name("park", park, parks))
            for k, group in enumerate(sc.groups or []):
                if group not in groups:
                    add(
                        base + ("scope", "groups", k),
                        group,
                        unknown_name("project group", group, groups),
                    )
            lo = clause.from_year if clause.from_year is not None else start
            hi = clause.to_year if clause.to_year is not None else end
            for field, value in (("from_year", clause.from_year), ("to_year", clause.to_year)):
                if value is not None:
                    check_year(base + (field,), value)
            if hi < lo and start <= lo <= end and start <= hi <= end:
                add(base + ("to_year",), clause.to_year, f"must be on or after from_year {lo}")
            windows.append((j, lo, hi, sc))
        for a in range(len(windows)):
            for b in range(a + 1, len(windows)):
                ja, loa, hia, sa = windows[a]
                jb, lob, hib, sb = windows[b]
                if max(loa, lob) <= min(hia, hib) and sa.overlaps(sb):
                    add(
                        ("rules", i, "clauses", jb),
                        ...,
                        f"overlaps clause {ja} in years {max(loa, lob)}..{min(hia, hib)}: "
                        "clauses must cover disjoint parts of the pool",
                    )

    project_ids = list(projects.project_id)
    for i, unc in enumerate(spec.uncertainty.inputs):
        for field, valid, kind in (
            ("sectors", sectors, "sector"),
            ("parks", parks, "park"),
            ("groups", groups, "project group"),
            ("projects", project_ids, "project"),
        ):
            for k, name in enumerate(getattr(unc, field) or []):
                if name not in valid:
                    add(
                        ("uncertainty", "inputs", i, field, k),
                        name,
                        unknown_name(kind, name, valid),
                    )
        if unc.target == "platform.return_on_capital_rate" and spec.platform is None:
            add(
                ("uncertainty", "inputs", i, "target"),
                unc.target,
                "the scenario has no [platform] section",
            )

    # projects refer to known parks and sectors, and start within the horizon
    for line, pid, park, sector, year in zip(
        projects.line,
        projects.project_id,
        projects.park,
        projects.sector,
        projects.start_year,
        strict=True,
    ):
        if park not in parks:
            problems.append(
                Problem(
                    proj_file,
                    f"line {line} ({pid}), column park",
                    unknown_name("park", park, parks),
                    park,
                )
            )
        if sector not in sectors:
            problems.append(
                Problem(
                    proj_file,
                    f"line {line} ({pid}), column sector",
                    unknown_name("sector", sector, sectors),
                    sector,
                )
            )
        problem = outside_horizon(int(year), start, end)
        if problem is not None:
            problems.append(
                Problem(proj_file, f"line {line} ({pid}), column start_year", problem, int(year))
            )
    return problems
