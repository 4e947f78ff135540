"""Explaining one number: what a party receives under a rule, part by part, down to the cells.

A party's receipt in a year (``amount_yuan`` of ``annual.csv``) is the sum of three parts:

* ``pool_share``: its share of the shareable pool under the rule; split further by the clause of
  the mechanism that paid it (cells of the pool no clause covers stay with their host, as
  :func:`benefitshare.rules.apply_mechanism` does), and, within each clause, by project (and so
  park), tax and government tier;
* ``retained``: the host's local revenue outside the pool (local revenue net of rebates, less the
  pool's local part), by project, tax and local tier;
* ``dividends``: platform-company dividends.

The parts and the clauses are exact: each clause is evaluated on its own masked pool, with the
same rule context, by the engine itself (:func:`benefitshare.model.run.evaluate`). Within a clause
the party's share is *attributed* to the cells of the clause's pool pro rata (share of the clause
× cell / clause pool, per draw and year): exact by construction, but an accounting attribution,
not a legal allocation. The pool by tier and the local revenue by project, tax and tier come from
the engine's own stages (:func:`benefitshare.model.engine.fiscal_numpy`, whose pool stage
:func:`benefitshare.model.pool.pool_by_tax_yuan` is evaluated one tier at a time), never from a
second copy of the formulas. With draws, every amount is the mean over the run's draws.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from benefitshare.errors import Problem, ScenarioError, unknown_name
from benefitshare.glossary import LOCAL_TIERS, TAXES
from benefitshare.model.draws import (
    SAMPLERS,
)
from benefitshare.model.engine import fiscal_numpy
from benefitshare.model.inputs import model_setup
from benefitshare.model.run import evaluate, input_chunks, normalise_seed
from benefitshare.rules import clause_masks
from benefitshare.rules.spec import RuleSpec

__all__ = [
    "PARTS",
    "PART_LABELS",
    "ATTRIBUTION_NOTE",
    "EXPLAIN_COLUMNS",
    "CHECK_TOL_YUAN",
    "explain",
    "explain_scenario",
    "clause_label",
]

#: The parts of a receipt, in the order of ``annual.csv``'s columns.
PARTS = ("pool_share", "retained", "dividends")

PART_LABELS = {
    "pool_share": "share of the pool",
    "retained": "local revenue outside the pool (retained by the host)",
    "dividends": "platform dividends",
}

#: What the attribution of a clause's share to projects, taxes and tiers means.
ATTRIBUTION_NOTE = (
    "Within a clause, the party's share is attributed to the cells of the clause's pool "
    "(project, tax, tier) pro rata: share of the clause x cell / clause pool, per draw and year. "
    "The attribution is exact by construction but it is an accounting view, not a legal "
    "allocation."
)

#: Columns of :func:`explain`'s table.
EXPLAIN_COLUMNS = [
    "rule",
    "party",
    "first_year",
    "last_year",
    "part",
    "clause",
    "clause_label",
    "park",
    "project",
    "tax",
    "tier",
    "amount_yuan",
]

#: Largest allowed gap between the explained total and the run's amount [yuan].
CHECK_TOL_YUAN = 0.01

#: Rows smaller than this are left out (rounding residues of cells that are zero) [yuan].
NEGLIGIBLE_YUAN = 1e-6

#: Draws evaluated at once (the draws are consumed in order, so chunks do not change results).
_CHUNK_DRAWS = 128


def clause_label(clause, *, single: bool = False) -> str:
    """A clause in words: its rule, scope and years (``"whole pool"`` for a one-rule mechanism)."""
    bits = []
    scope = clause.scope
    for name in ("taxes", "parks", "groups"):
        values = getattr(scope, name)
        if values is not None:
            bits.append(f"{name} {', '.join(values)}")
    if clause.from_year is not None:
        bits.append(f"from {clause.from_year}")
    if clause.to_year is not None:
        bits.append(f"to {clause.to_year}")
    if not bits:
        bits.append("whole pool" if single else "all cells")
    return f"{clause.rule} ({'; '.join(bits)})"


def _problem(field: str, message: str, value) -> ScenarioError:
    return ScenarioError([Problem("<arguments>", field, message, value)])


def _year_mask(year, years: np.ndarray) -> np.ndarray:
    if isinstance(year, str) and year.strip().lower() == "all":
        return np.ones(len(years), dtype=bool)
    try:
        y = int(year)
        ok = not isinstance(year, bool) and float(year) == y
    except (TypeError, ValueError):
        ok = False
    horizon = f"a year of the horizon {int(years[0])}-{int(years[-1])}, or 'all' for the horizon"
    if not ok:
        raise _problem("year", f"must be {horizon}", year)
    mask = years == y
    if not mask.any():
        raise _problem("year", f"outside the horizon; give {horizon}", year)
    return mask


def _seed_sequence(seed) -> np.random.SeedSequence:
    """The seed as recorded by a run (``{"entropy", "spawn_key"}``) or as given to ``run``."""
    if isinstance(seed, dict) and "entropy" in seed:
        return np.random.SeedSequence(
            entropy=seed["entropy"], spawn_key=tuple(seed.get("spawn_key") or ())
        )
    return normalise_seed(seed)


def _input_chunks(scenario, draws: int, seed, sampler):
    """The model inputs of a run, chunk by chunk, with the draws ``run`` would make."""
    if draws == 1:
        yield from input_chunks(scenario, draws=1, seed=None, sampler="mc", chunk_draws=1)
        return
    if seed is None:
        raise _problem(
            "seed",
            "a run with draws > 1 is explained from its seed; give the run's seed "
            "(Result.seed or the manifest's seed)",
            seed,
        )
    sampler = sampler or scenario.spec.uncertainty.sampler
    if sampler not in SAMPLERS:
        raise _problem("sampler", f"must be one of {', '.join(SAMPLERS)}", sampler)
    yield from input_chunks(
        scenario, draws=draws, seed=_seed_sequence(seed), sampler=sampler, chunk_draws=_CHUNK_DRAWS
    )


@dataclasses.dataclass
class _Sums:
    """Sums over draws and the selected years (divided by the draws at the end)."""

    pool_cells: np.ndarray  # (C+1, P, Tp, Lp): 0 = no clause, 1.. = clauses
    unattributed: np.ndarray  # (C+1,): a clause's share where its pool is zero
    retained_cells: np.ndarray  # (P, T, 2): by project, tax, local tier
    dividends: float = 0.0
    pool_share: float = 0.0  # as the engine gives it, for the check
    retained: float = 0.0  # as the engine gives it, for the check

    def __iadd__(self, other: _Sums) -> _Sums:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


def _chunk_sums(setup, inp, spec: RuleSpec, k: int, ysel: np.ndarray) -> _Sums:
    """Every part of party ``k``'s receipt for one chunk of draws, summed over draws and years."""
    n = max(np.shape(v)[0] for v in inp.values())
    P = setup.n_projects
    clauses = spec.all_clauses()
    one_clause = [
        RuleSpec(name=f"{spec.name}.clause{i + 1}", clauses=[c]) for i, c in enumerate(clauses)
    ]
    out = evaluate(setup, inp, [spec, *one_clause], engine="numpy")
    host = np.asarray(setup.host_index) == k  # (P,)
    ptaxes, ptiers = list(setup.pool_taxes), list(setup.pool_tiers)

    # the pool by tax and tier, one tier at a time through the engine's own pool stage
    cells = {
        tier: fiscal_numpy(dataclasses.replace(setup, pool_tiers=(tier,)), inp, n).pool.by_tax
        for tier in ptiers
    }
    shape = (n, P, len(setup.years))
    total = np.zeros(shape)
    for tier in ptiers:
        for t in ptaxes:
            total += cells[tier][t]

    def host_k(x):  # what party k hosts of a (D, P, Y) pool, (D, Y)
        return x[:, host, :].sum(axis=1)

    masks = []
    for c in clauses:
        taxes, proj, yr = clause_masks(
            c,
            pool_taxes=ptaxes,
            parks=setup.project_park,
            groups=setup.project_group,
            years=setup.years,
        )
        live = bool(taxes) and proj.any() and yr.any()
        masks.append((set(taxes) if live else set(), proj, yr))

    C = len(clauses)
    pool_cells = np.zeros((C + 1, P, len(ptaxes), len(ptiers)))
    unattributed = np.zeros(C + 1)
    covered = {t: np.zeros((1, P, len(setup.years))) for t in ptaxes}
    for i, (taxes, proj, yr) in enumerate(masks):
        if not taxes:
            continue
        cell_mask = (proj[None, :, None] & yr[None, None, :]).astype(float)
        sub = np.zeros(shape)
        for t in taxes:
            sub += _pool_of_tax(cells, ptiers, t) * cell_mask
            covered[t] = covered[t] + cell_mask
        # the clause's share: the one-clause mechanism less what it leaves to the hosts
        share = out.pool_share_rdky[1 + i, :, k, :] - host_k(total) + host_k(sub)
        clause_pool = sub.sum(axis=1)
        zero = clause_pool == 0.0
        factor = np.divide(share, clause_pool, out=np.zeros_like(share), where=~zero)
        unattributed[1 + i] = share[:, ysel][zero[:, ysel]].sum()
        for j, t in enumerate(ptaxes):
            if t not in taxes:
                continue
            for m, tier in enumerate(ptiers):
                cell = cells[tier][t][:, :, ysel] * cell_mask[:, :, ysel]
                pool_cells[1 + i, :, j, m] = np.einsum("dpy,dy->p", cell, factor[:, ysel])
    # cells no clause covers stay with their host (apply_mechanism's rest), cell by cell
    for j, t in enumerate(ptaxes):
        for m, tier in enumerate(ptiers):
            rest = cells[tier][t] * (1.0 - covered[t])
            pool_cells[0, :, j, m] = np.where(host, rest[:, :, ysel].sum(axis=(0, 2)), 0.0)

    # local revenue outside the pool: local revenue net of rebates (the pool stage over every
    # tax and project, one local tier at a time) less the pool's part of that tier
    everything = dataclasses.replace(
        setup, pool_taxes=TAXES, in_pool_p=np.ones(P, dtype=bool), net_of_rebates=True
    )
    retained_cells = np.zeros((P, len(TAXES), len(LOCAL_TIERS)))
    for m, tier in enumerate(LOCAL_TIERS):
        local = fiscal_numpy(dataclasses.replace(everything, pool_tiers=(tier,)), inp, n).pool
        for j, t in enumerate(TAXES):
            kept = local.by_tax[t]
            if tier in ptiers and t in ptaxes:
                kept = kept - cells[tier][t]
            retained_cells[:, j, m] = np.where(host, kept[:, :, ysel].sum(axis=(0, 2)), 0.0)

    return _Sums(
        pool_cells=pool_cells,
        unattributed=unattributed,
        retained_cells=retained_cells,
        dividends=float(out.dividends_dky[:, k, ysel].sum()),
        pool_share=float(out.pool_share_rdky[0, :, k, ysel].sum()),
        retained=float(out.retained_dky[:, k, ysel].sum()),
    )


def _pool_of_tax(cells, tiers, t):
    """The pool of tax ``t`` summed over the tiers the pool takes, (D, P, Y)."""
    acc = cells[tiers[0]][t].copy()
    for tier in tiers[1:]:
        acc += cells[tier][t]
    return acc


def _rows(sums: _Sums, n: int, *, spec, party, years_sel, setup, project_ids) -> pd.DataFrame:
    clauses = spec.all_clauses()
    single = spec.clauses is None
    labels = ["not covered by any clause: stays with the host"] + [
        clause_label(c, single=single) for c in clauses
    ]
    ptaxes, ptiers = list(setup.pool_taxes), list(setup.pool_tiers)
    first, last = int(years_sel[0]), int(years_sel[-1])
    rows = []

    def add(part, clause, park, project, tax, tier, amount):
        if abs(amount) / n > NEGLIGIBLE_YUAN:
            label = labels[clause] if clause is not None else ""
            rows.append((part, clause, label, park, project, tax, tier, amount / n))

    for c in range(len(clauses) + 1):
        block = sums.pool_cells[c]
        for p, j, m in zip(*np.nonzero(block), strict=True):
            park = setup.project_park[p]
            add("pool_share", c, park, project_ids[p], ptaxes[j], ptiers[m], float(block[p, j, m]))
        add("pool_share", c, "", "(clause pool is zero)", "", "", float(sums.unattributed[c]))
    for p, j, m in zip(*np.nonzero(sums.retained_cells), strict=True):
        amount = float(sums.retained_cells[p, j, m])
        add(
            "retained",
            None,
            setup.project_park[p],
            project_ids[p],
            TAXES[j],
            LOCAL_TIERS[m],
            amount,
        )
    add("dividends", None, "", "", "", "", sums.dividends)

    frame = pd.DataFrame(rows, columns=EXPLAIN_COLUMNS[4:])
    frame["clause"] = frame["clause"].astype("Int64")
    frame.insert(0, "last_year", last)
    frame.insert(0, "first_year", first)
    frame.insert(0, "party", party)
    frame.insert(0, "rule", spec.name)
    return frame[EXPLAIN_COLUMNS]


def explain_scenario(
    scenario, *, rule: str, party: str, year, draws: int = 1, seed=None, sampler=None
) -> pd.DataFrame:
    """Decompose a party's receipt under a rule, running the scenario's model again.

    Parameters
    ----------
    scenario : Scenario
    rule : str
        A rule of the scenario.
    party : str
        A party id.
    year : int or "all"
        A year of the horizon, or ``"all"`` for the sum over the horizon.
    draws : int
        1 for the deterministic run; more to explain the mean over the draws of a run made with
        ``seed`` and ``sampler`` (the draws are made again exactly as :func:`~benefitshare.run`
        makes them).
    seed : int, dict or SeedSequence, optional
        The run's seed: as given to ``run`` or as recorded (``Result.seed``, the manifest's
        ``seed``). Needed when ``draws > 1``.
    sampler : str, optional
        The run's sampler; the scenario's by default.

    Returns
    -------
    pandas.DataFrame
        See :func:`explain`.
    """
    names = [r.name for r in scenario.spec.rules]
    if rule not in names:
        raise _problem("rule", unknown_name("rule", rule, names), rule)
    parties = list(scenario.spec.parties)
    if party not in parties:
        raise _problem("party", unknown_name("party", party, parties), party)
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise _problem("draws", "must be a whole number >= 1", draws)
    setup = model_setup(scenario)
    ysel = _year_mask(year, setup.years)
    spec = scenario.spec.rules[names.index(rule)]
    k = parties.index(party)
    sums = None
    n = 0
    for inp in _input_chunks(scenario, int(draws), seed, sampler):
        part = _chunk_sums(setup, inp, spec, k, ysel)
        n += max(np.shape(v)[0] for v in inp.values())
        sums = part if sums is None else sums.__iadd__(part)
    frame = _rows(
        sums,
        n,
        spec=spec,
        party=party,
        years_sel=setup.years[ysel],
        setup=setup,
        project_ids=list(scenario.projects.project_id),
    )
    engine_total = (sums.pool_share + sums.retained + sums.dividends) / n
    explained = float(frame["amount_yuan"].sum())
    gap = abs(explained - engine_total)
    if gap > CHECK_TOL_YUAN:  # the decomposition must add up; anything else is a bug
        raise RuntimeError(
            f"the decomposition of {party}'s receipt under {rule} adds up to {explained:.2f} "
            f"yuan, not the engine's {engine_total:.2f} yuan"
        )
    frame.attrs.update(
        rule=rule,
        party=party,
        year=int(year) if _is_year(year) else "all",
        first_year=int(setup.years[ysel][0]),
        last_year=int(setup.years[ysel][-1]),
        n_draws=n,
        amount_yuan=explained,
        parts_yuan={p: float(frame.loc[frame["part"] == p, "amount_yuan"].sum()) for p in PARTS},
        clauses=[clause_label(c, single=spec.clauses is None) for c in spec.all_clauses()],
        note=ATTRIBUTION_NOTE,
    )
    return frame


def _is_year(year) -> bool:
    return not (isinstance(year, str) and year.strip().lower() == "all")


def explain(result, *, rule: str, party: str, year) -> pd.DataFrame:
    """Decompose what a party receives under a rule in a year (or over the horizon).

    The model is run again from the result's scenario, draws, seed and sampler; with draws, every
    amount is the mean over the run's draws (as ``annual.csv`` is).

    Parameters
    ----------
    result : Result
        From :func:`benefitshare.run`.
    rule : str
        One of ``result.rule_names``.
    party : str
        One of ``result.party_ids``.
    year : int or "all"
        A year of the horizon, or ``"all"`` for the sum over it.

    Returns
    -------
    pandas.DataFrame
        One row per non-zero cell, columns :data:`EXPLAIN_COLUMNS`: ``part`` (``pool_share``,
        ``retained``, ``dividends``); for the pool share the ``clause`` (1, 2, ... in the order of
        the rule's clauses; 0 for cells no clause covers, which stay with their host) and its
        ``clause_label``; ``park``, ``project``, ``tax`` and ``tier`` (empty where they do not
        apply); ``amount_yuan``. The rows sum to the party's ``amount_yuan`` in
        :meth:`Result.annual` (summed over the horizon with ``year="all"``) to 0.01 yuan.
        Clause amounts are exact; within a clause the attribution to projects, taxes and tiers
        is pro rata (share of the clause × cell / clause pool, per draw and year), an accounting
        attribution, not a legal allocation (:data:`ATTRIBUTION_NOTE`). ``frame.attrs`` holds
        ``rule``, ``party``, ``year``, ``first_year``, ``last_year``, ``n_draws``,
        ``amount_yuan``, ``parts_yuan``, ``clauses`` and ``note``.

    Raises
    ------
    ScenarioError
        For a rule or party the result does not have (with a suggestion) or a year outside the
        horizon.

    Examples
    --------
    >>> import benefitshare as bs
    >>> res = bs.run(bs.load_scenario("scenarios/reference.toml"))           # doctest: +SKIP
    >>> bs.explain(res, rule="fixed_50_50", party="shenzhen", year=2035)     # doctest: +SKIP
    """
    if rule not in result.rule_names:
        raise _problem("rule", unknown_name("rule", rule, result.rule_names), rule)
    if party not in result.party_ids:
        raise _problem("party", unknown_name("party", party, result.party_ids), party)
    return explain_scenario(
        result.scenario,
        rule=rule,
        party=party,
        year=year,
        draws=int(result.n_draws),
        seed=result.seed,
        sampler=result.sampler,
    )
