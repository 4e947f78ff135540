"""Running a scenario: the orchestrator that calls the stages in order (``docs/model.md`` §3).

This module only wires stages together; every yuan is computed in a stage module:

1. inputs (:mod:`~benefitshare.model.inputs`): the scenario becomes arrays and a
   :class:`~benefitshare.model.inputs.ModelSetup`; below this point nothing reads the scenario;
2-5. economy, taxes, tiers and the pool (:mod:`~benefitshare.model.engine`, or the compiled
   :mod:`~benefitshare.model.kernels`);
6. the counterfactual (:mod:`~benefitshare.model.counterfactual`), formed with stages 2-5;
7. the ledgers (:mod:`~benefitshare.model.ledgers`): costs, platform dividends, statistics;
8. the split rules (:mod:`benefitshare.rules`), all on the same pools;
9. outcomes (:mod:`~benefitshare.model.metrics`), accumulated over draws into a
   :class:`~benefitshare.model.result.Result`.

``run(scenario)`` evaluates the central values (one draw) or samples the scenario's uncertain
inputs in chunks of draws (:func:`input_chunks`, :mod:`~benefitshare.model.draws`). Each chunk
is evaluated with floating-point overflow trapped, and an amount that is not finite is reported
as an input error naming the largest money input, never written.

The other entry points that need the whole engine live here too: :func:`evaluate` (one chunk),
:func:`coalition_game` and :func:`game_from_result` (coalition values, with the engine passed to
:mod:`~benefitshare.model.coalitions` as a function).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping, Sequence

import numpy as np

from benefitshare.errors import Problem, ScenarioError, did_you_mean, location_text
from benefitshare.glossary import COST_KINDS
from benefitshare.model import coalitions, kernels, ledgers
from benefitshare.model.draws import (
    SAMPLERS,
    DrawSource,
    apply_draws,
    correlation_columns,
    describe,
    split_columns,
    uncertain_factors,
)
from benefitshare.model.engine import Fiscal, fiscal_numpy
from benefitshare.model.inputs import ModelSetup, central_inputs, model_setup
from benefitshare.model.result import Accumulator
from benefitshare.rules import RuleContext, apply_mechanism, tax_subsets
from benefitshare.rules.games import CoalitionGame

__all__ = [
    "ENGINES",
    "ChunkOutput",
    "evaluate",
    "run",
    "select_rules",
    "normalise_seed",
    "kernels_available",
    "input_chunks",
    "coalition_game",
    "game_from_result",
]

#: Engines for stages 2-5. "numba" is a fused compiled kernel (optional dependency); "numpy" the
#: whole-array reference. Both give the same numbers to rounding.
ENGINES = ("auto", "numpy", "numba")


@dataclasses.dataclass
class ChunkOutput:
    """Everything one evaluation produces for a chunk of draws (arrays over the chunk's draws).

    Attributes (shapes: D draws, K parties, R rules, T taxes, N parks, Y years)
    ----------
    pool_dy : (D, Y) shareable pool [yuan/year]
    pool_share_rdky : (R, D, K, Y) each party's share of the pool under each rule
    retained_dky : (D, K, Y) local revenue outside the pool, kept by the host
    dividends_dky : (D, K, Y) platform-company dividends
    costs_cdky : (C, D, K, Y) costs by kind (order of :data:`~benefitshare.glossary.COST_KINDS`)
    value_added_credit_dky : (D, K, Y) statistics ledger
    tax_dty : (D, T, Y) tax by type, summed over projects (gross of rebates)
    tier_dt4y : (D, T, 4, Y) tax by type and tier
    rebates_dy : (D, Y) local rebates returned to firms
    flows_nt4y : (N, T, 4, Y) tax by park, type and tier, summed over the chunk's draws
    rebates_n2y : (N, 2, Y) rebates by park and local tier, summed over the chunk's draws
    value_added_dy : (D, Y) value added of all projects
    standalone_dky : (D, K, Y) each party's revenue without the agreement (``docs/model.md``
    §3.6)
    """

    pool_dy: np.ndarray
    pool_share_rdky: np.ndarray
    retained_dky: np.ndarray
    dividends_dky: np.ndarray
    costs_cdky: np.ndarray
    value_added_credit_dky: np.ndarray
    tax_dty: np.ndarray
    tier_dt4y: np.ndarray
    rebates_dy: np.ndarray
    flows_nt4y: np.ndarray
    rebates_n2y: np.ndarray
    value_added_dy: np.ndarray
    standalone_dky: np.ndarray


def kernels_available() -> bool:
    """Whether the compiled engine can run here (numba is installed)."""
    return kernels.available()


def _fiscal(setup: ModelSetup, inp, n_draws: int, engine: str, subsets) -> Fiscal:
    if engine not in ENGINES:
        raise ScenarioError(
            [Problem("<arguments>", "engine", f"must be one of {', '.join(ENGINES)}", engine)]
        )
    if engine in ("auto", "numba"):
        if kernels.available():
            return kernels.fiscal_numba(setup, inp, n_draws, subsets)
        if engine == "numba":
            raise RuntimeError(
                "engine='numba' needs the numba package: pip install 'benefitshare[fast]'"
            )
    return fiscal_numpy(setup, inp, n_draws)


def _rule_context(setup: ModelSetup, inp, costs_cdky) -> RuleContext:
    P = setup.n_projects
    full_prod = inp["start_year"] + inp["construction_years"] + inp["ramp_up_years"] - 1
    return RuleContext(
        years=setup.years,
        party_ids=setup.party_ids,
        host_index=setup.host_index,
        partner_index=setup.partner_index,
        relocated=np.broadcast_to(inp["relocated"], (1, P, 1)),
        pre_move_annual_tax_yuan=inp["pre_move_annual_tax_yuan"],
        full_production_year=full_prod,
        park=setup.project_park,
        group=setup.project_group,
        equity=setup.equity,
        costs_yuan={k: costs_cdky[i] for i, k in enumerate(COST_KINDS)},
    )


def evaluate(
    setup: ModelSetup, inputs: Mapping[str, np.ndarray], rule_specs: Sequence, *, engine="auto"
) -> ChunkOutput:
    """Evaluate every stage for one chunk of draws.

    Parameters
    ----------
    setup : ModelSetup
        From :func:`benefitshare.model.inputs.model_setup`.
    inputs : mapping of str to ndarray
        As from :func:`~benefitshare.model.inputs.central_inputs`, with any input replaced by an
        array with a leading draws axis (D, P, 1) or (D, 1, 1) (or (D, 1, Y) for year schedules).
    rule_specs : sequence of RuleSpec
        The mechanisms to evaluate, all on the same draws.
    engine : {"auto", "numpy", "numba"}
        How stages 2-5 are computed; ``auto`` uses the compiled kernel when numba is installed.

    Returns
    -------
    ChunkOutput
    """
    inp = dict(inputs)
    n_draws = max(np.shape(v)[0] for v in inp.values())
    K, Y = setup.n_parties, len(setup.years)
    subsets = tax_subsets(
        rule_specs,
        setup.pool_taxes,
        parks=setup.project_park,
        groups=setup.project_group,
        years=setup.years,
    )
    # Stages 2-6: economy, taxes, tiers, pool and the counterfactual
    fiscal = _fiscal(setup, inp, n_draws, engine, subsets)

    # Stage 7: the ledgers (the rules may need them): costs, platform dividends, statistics
    costs = ledgers.costs_yuan(setup.explicit_costs_cky, fiscal.acquisition_dky)
    if setup.platform is not None:
        dividends = np.broadcast_to(
            ledgers.platform_dividends_yuan(
                setup.platform.capital_y,
                inp["return_on_capital_rate"],
                setup.platform.payout_rate,
                setup.platform.equity_k,
            ),
            (n_draws, K, Y),
        )
    else:
        dividends = np.zeros((n_draws, K, Y))
    credit = ledgers.statistics_credit_yuan(
        fiscal.credit_host_dky,
        fiscal.value_added_dy,
        method=setup.statistics_method,
        party_roles=setup.party_roles,
        shares_k=setup.statistics_shares_k,
        equity_k=None if setup.platform is None else setup.platform.equity_k,
    )

    # Stage 8: split rules, all on the same pools. Rules may use the standalone values, each
    # party's flows outside the pool and the coalition game (bargaining rules).
    pool_dy = fiscal.pool.total(setup.pool_taxes).sum(axis=1)
    ctx = dataclasses.replace(
        _rule_context(setup, inp, costs),
        standalone_dky=fiscal.standalone_dky,
        outside_pool_net_dky=ledgers.outside_pool_net_yuan(fiscal.retained_dky, dividends, costs),
        pool_total_dy=pool_dy,
        discount_factors_ky=setup.discount_factors_ky,
        coalition_game=coalitions.context_game(
            setup,
            inp,
            functools.partial(evaluate, setup, engine=engine),
            retained_dky=fiscal.retained_dky,
            pool_dy=pool_dy,
            dividends_dky=dividends,
            costs_dky=costs.sum(axis=0),
            standalone_dky=fiscal.standalone_dky,
        ),
    )
    pool_share = np.stack(
        [apply_mechanism(r, fiscal.pool, ctx).transpose(1, 0, 2) for r in rule_specs]
    )
    return ChunkOutput(
        pool_dy=pool_dy,
        pool_share_rdky=pool_share,
        retained_dky=fiscal.retained_dky,
        dividends_dky=np.asarray(dividends),
        costs_cdky=costs,
        value_added_credit_dky=credit,
        tax_dty=fiscal.tax_dty,
        tier_dt4y=fiscal.tier_dt4y,
        rebates_dy=fiscal.rebates_dy,
        flows_nt4y=fiscal.flows_nt4y,
        rebates_n2y=fiscal.rebates_n2y,
        value_added_dy=fiscal.value_added_dy,
        standalone_dky=fiscal.standalone_dky,
    )


#: Money inputs of a scenario that can drive the computation out of float64's range, with the
#: project-table columns of the same kind.
_MONEY_COLUMNS = ("investment_yuan", "building_value_yuan", "pre_move_annual_tax_yuan")


def _money_inputs(scenario) -> list[tuple[float, str, str]]:
    """Every money input of the scenario as ``(amount, file, location)``."""
    spec, out = scenario.spec, []

    def add(loc: tuple, value: float) -> None:
        out.append((float(value), scenario.origins.file_for(loc), location_text(loc)))

    for i, cost in enumerate(spec.costs):
        for year, value in cost.payments_yuan.items():
            add(("costs", i, "payments_yuan", str(year)), value)
    if spec.platform is not None:
        for year, value in spec.platform.capital_payments_yuan.items():
            add(("platform", "capital_payments_yuan", str(year)), value)
    for park_id, park in spec.parks.items():
        for field in ("land_price_yuan_per_mu", "land_acquisition_cost_yuan_per_mu"):
            add(("parks", park_id, field), getattr(park, field))
    table = scenario.projects
    for column in _MONEY_COLUMNS:
        values = np.abs(np.asarray(getattr(table, column), dtype=float))
        if values.size:
            i = int(np.nanargmax(values))
            out.append(
                (
                    float(values[i]),
                    spec.model.projects,
                    f"line {table.line[i]} ({table.project_id[i]}), column {column}",
                )
            )
    return out


def _not_finite(scenario, what: str) -> ScenarioError:
    """The input error for a computation that left float64's range: it names the largest money
    input, the likely cause (every money input is at most 1e15 yuan, so this takes amounts
    combined across many years, projects or draws, or an uncertain input that scales one)."""
    amounts = [a for a in _money_inputs(scenario) if np.isfinite(a[0])]
    hint = (
        "the amounts are too large to compute with: make them smaller (check the unit, yuan "
        "not fen, and the number of zeros)"
    )
    if not amounts:
        return ScenarioError([Problem(scenario.name, "<inputs>", f"{what}: {hint}")])
    value, file, loc = max(amounts)
    return ScenarioError(
        [Problem(file, loc, f"{what}; this is the largest amount in the inputs: {hint}", value)]
    )


def _checked(scenario, out: ChunkOutput) -> ChunkOutput:
    """``out`` when every number in it is finite; otherwise the input error of :func:`_not_finite`."""
    for field in dataclasses.fields(out):
        value = getattr(out, field.name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            if not np.isfinite(value).all():
                raise _not_finite(
                    scenario, f"the computation gave infinite or undefined amounts ({field.name})"
                )
    return out


def _evaluate_finite(scenario, setup, inputs, specs, engine) -> ChunkOutput:
    """:func:`evaluate` with floating-point overflow and invalid operations trapped.

    An overflow (a number beyond about 1.8e308) or an invalid operation (inf - inf, 0 * inf)
    raises the input error of :func:`_not_finite` instead of writing infinity or NaN.
    """
    try:
        with np.errstate(over="raise", invalid="raise"):
            out = evaluate(setup, inputs, specs, engine=engine)
    except FloatingPointError as exc:
        raise _not_finite(scenario, f"the computation overflowed ({exc})") from None
    return _checked(scenario, out)


def select_rules(scenario, rules: Sequence[str] | None):
    """The scenario's rule specs, or those named in ``rules`` (in that order)."""
    specs = list(scenario.spec.rules)
    if rules is None:
        return specs
    by_name = {r.name: r for r in specs}
    unknown = [r for r in rules if r not in by_name]
    if unknown:
        problems = []
        for name in unknown:
            hint = did_you_mean(name, by_name)
            where = f"did you mean {hint!r}?" if hint else f"valid: {', '.join(by_name)}"
            message = f"no rule of that name in the scenario; {where}"
            problems.append(Problem("<arguments>", "rules", message, name))
        raise ScenarioError(problems)
    return [by_name[r] for r in rules]


def normalise_seed(seed) -> np.random.SeedSequence:
    """One seed argument, normalised once: int, SeedSequence, Generator or None.

    ``None`` draws fresh entropy, which is recorded (``SeedSequence.entropy``) so that the run can
    be repeated. A Generator is used to draw the entropy of a new SeedSequence.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ScenarioError(
            [
                Problem(
                    "<arguments>",
                    "seed",
                    "must be a non-negative whole number, a "
                    "numpy Generator or SeedSequence, or None",
                    seed,
                )
            ]
        )
    return np.random.SeedSequence(int(seed))


def input_chunks(scenario, *, draws: int, seed, sampler: str, chunk_draws: int):
    """The model inputs of a run, chunk by chunk: what :func:`run` evaluates.

    Parameters
    ----------
    scenario : Scenario
    draws : int
        1 yields the central values once; more samples the scenario's uncertain inputs.
    seed : numpy.random.SeedSequence
        As from :func:`normalise_seed` (or rebuilt from a result's recorded seed).
    sampler : {"mc", "lhs", "sobol"}
    chunk_draws : int
        Draws per chunk; the same seed gives the same draws whatever the chunk size.

    Yields
    ------
    dict of str to ndarray
        Model inputs with a leading draws axis of at most ``chunk_draws``.
    """
    base = central_inputs(scenario)
    if draws == 1:
        yield base
        return
    factors = uncertain_factors(scenario)
    n_dims = sum(f.n_dims for f in factors)
    correlation = correlation_columns(factors, scenario.spec.uncertainty.correlation)
    source = DrawSource(n_dims, draws, seed, sampler, correlation)
    done = 0
    while done < draws:
        n = min(chunk_draws, draws - done)
        yield apply_draws(base, factors, split_columns(factors, source.next(n)), scenario)
        done += n


def run(
    scenario,
    *,
    draws: int = 1,
    seed=None,
    rules: Sequence[str] | None = None,
    sampler: str | None = None,
    chunk_draws: int | None = None,
    progress: bool | None = None,
    engine: str = "auto",
):
    """Run a scenario: every stage, every rule, on the same draws.

    Parameters
    ----------
    scenario : Scenario
        From :func:`benefitshare.load_scenario`.
    draws : int
        Number of draws. 1 is the deterministic run at the values written in the scenario
        (landing at its probability, so results are expected values); more samples the
        scenario's ``[uncertainty]`` inputs.
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        One seed for all sampling; the same seed gives bit-identical results. ``None`` uses fresh
        entropy, recorded in ``Result.seed``.
    rules : sequence of str, optional
        Names of the scenario's rules to evaluate; all by default.
    sampler : {"mc", "lhs", "sobol"}, optional
        Monte Carlo, Latin hypercube or scrambled Sobol; the scenario's choice by default.
    chunk_draws : int, optional
        Draws evaluated at once; memory stays flat in the number of draws.
    progress : bool, optional
        Show a progress bar; by default shown in a terminal or notebook for runs longer than about
        a second, silent otherwise.
    engine : {"auto", "numpy", "numba"}
        How stages 2-5 are computed (see :func:`evaluate`).

    Returns
    -------
    Result
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ScenarioError([Problem("<arguments>", "draws", "must be a whole number >= 1", draws)])
    unc = scenario.spec.uncertainty
    sampler = sampler or unc.sampler
    if sampler not in SAMPLERS:
        raise ScenarioError(
            [Problem("<arguments>", "sampler", f"must be one of {', '.join(SAMPLERS)}", sampler)]
        )
    if chunk_draws is not None and (
        isinstance(chunk_draws, bool)
        or not isinstance(chunk_draws, (int, np.integer))
        or chunk_draws < 1
    ):
        raise ScenarioError(
            [Problem("<arguments>", "chunk_draws", "must be a whole number >= 1", chunk_draws)]
        )
    specs = select_rules(scenario, rules)
    names = [r.name for r in specs]
    ss = normalise_seed(seed)  # validated even when a deterministic run does not use it
    t0 = time.perf_counter()
    setup = model_setup(scenario)
    base = central_inputs(scenario)
    if draws == 1:
        acc = Accumulator(setup, names, keep_draws=1, keep_paths=1)
        acc.add(_evaluate_finite(scenario, setup, base, specs, engine))
        return acc.finish(
            scenario,
            draws=1,
            seed=None,
            sampler=None,
            timings={"evaluate_s": time.perf_counter() - t0},
        )

    factors = uncertain_factors(scenario)
    chunk = int(chunk_draws or unc.chunk_draws)
    acc = Accumulator(
        setup, names, keep_draws=unc.keep_draws, keep_paths=unc.keep_paths, n_draws=draws
    )
    from tqdm.auto import tqdm

    bar = tqdm(
        total=draws,
        desc=f"{scenario.name}",
        unit="draw",
        delay=1.0,
        disable=(not progress) if progress is not None else None,
        leave=False,
    )
    sample_s = eval_s = 0.0
    chunks = input_chunks(scenario, draws=draws, seed=ss, sampler=sampler, chunk_draws=chunk)
    try:
        while True:
            t1 = time.perf_counter()
            inputs = next(chunks, None)
            if inputs is None:
                break
            t2 = time.perf_counter()
            acc.add(_evaluate_finite(scenario, setup, inputs, specs, engine))
            t3 = time.perf_counter()
            sample_s += t2 - t1
            eval_s += t3 - t2
            bar.update(max(np.shape(v)[0] for v in inputs.values()))
    finally:
        bar.close()
    seed_record = {"entropy": ss.entropy, "spawn_key": list(ss.spawn_key)}
    return acc.finish(
        scenario,
        draws=draws,
        seed=seed_record,
        sampler=sampler,
        timings={
            "sample_s": sample_s,
            "evaluate_s": eval_s,
            "total_s": time.perf_counter() - t0,
            "chunk_draws": chunk,
        },
        factors=describe(factors),
    )


def coalition_game(scenario, inputs: Mapping[str, np.ndarray] | None = None) -> CoalitionGame:
    """Coalition values of a scenario's parties, computed by the engine.

    Parameters
    ----------
    scenario : Scenario
    inputs : mapping of str to ndarray, optional
        Model inputs (with a leading draws axis for sampled values); the central values by
        default.

    Returns
    -------
    CoalitionGame
        Values [yuan, NPV at each party's discount rate], shape (2**K, D); see
        :func:`benefitshare.model.coalitions.coalition_values`.
    """
    setup = model_setup(scenario)
    inp = central_inputs(scenario) if inputs is None else inputs
    return coalitions.coalition_values(setup, inp, functools.partial(evaluate, setup))


def game_from_result(result) -> CoalitionGame:
    """The coalition game of expected values behind a run's comparison, shape (2**K, 1).

    With one host party (not the partner) it is built from the run's mean flows over all draws
    (coalition values are linear in the flows, so this is the mean game exactly). With several
    hosts it is computed by :func:`coalition_game` on the scenario's central values: exact for
    a deterministic run; with draws the note says it is at central values.
    """
    setup = model_setup(result.scenario)
    host = coalitions.single_host(setup)
    if host is not None:
        m = result.means
        shape = (1, *np.shape(m["retained_dky"]))
        return coalitions.game_from_flows(
            players=list(setup.party_ids),
            partner=setup.partner_index,
            host=host,
            retained_dky=np.reshape(m["retained_dky"], shape),
            pool_dy=np.reshape(m["pool_dy"], (1, -1)),
            dividends_dky=np.reshape(np.broadcast_to(m["dividends_dky"], shape[1:]), shape),
            costs_dky=np.reshape(m["costs_cdky"].sum(axis=0), shape),
            standalone_dky=np.reshape(m["standalone_dky"], shape),
            discount_factors_ky=setup.discount_factors_ky,
        )
    game = coalition_game(result.scenario)
    if result.n_draws > 1:
        return CoalitionGame(
            game.players, game.values, "engine at central values (not the mean over draws)"
        )
    return game
