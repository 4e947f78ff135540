"""A scalar, pure-Python reference implementation of the deterministic model.

It reproduces what :func:`benefitshare.run` computes for a scenario, from the validated scenario
(``scenario.spec`` and ``scenario.projects.rows``) and the packaged tax-regime data file, with
plain floats and explicit loops over projects and years: no numpy, and none of the package's
stage functions. Where the vectorised engine and this module disagree, one of them is wrong; the
docstrings of the stage modules and ``docs/model.md`` say which.

Conventions follow the package: money in yuan, rates as fractions, calendar years; the
deterministic run weights every project by its landing probability.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from importlib import resources

TAXES = (
    "vat",
    "cit",
    "pit",
    "umt",
    "edu",
    "local_edu",
    "property",
    "land_use",
    "stamp",
    "land_transfer",
)
TIERS = ("central", "provincial", "city", "county")
LOCAL_TIERS = ("city", "county")
COST_KINDS = ("infrastructure", "subsidy", "land_acquisition", "platform_capital", "other")
REBATED_TAXES = ("vat", "cit")
M2_PER_MU = 10000.0 / 15.0
PAYBACK_TOL_YUAN = 1e-6


# ------------------------------------------------------------------------------------ helpers


def load_regime() -> dict[str, dict[int, float]]:
    """The packaged tax regime as ``{"rates.vat_goods": {2019: 0.13}, ...}``, read from TOML."""
    text = resources.files("benefitshare").joinpath("data/tax_regime.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    return {
        f"{group}.{key}": {int(y): float(v) for y, v in entry["values"].items()}
        for group, entries in raw.items()
        for key, entry in entries.items()
    }


def step_value(steps, year: int) -> float:
    """Value of sparse steps in ``year``: the last step on or before it (a number is constant)."""
    if not isinstance(steps, dict):
        return float(steps)
    best = None
    for key in sorted(int(k) for k in steps):
        if key <= year:
            best = key
    if best is None:
        raise ValueError(f"no step on or before {year} in {steps}")
    for key, value in steps.items():
        if int(key) == best:
            return float(value)
    raise AssertionError("unreachable")


def phasing_shares(row) -> list[float]:
    """Capex shares by construction year of one project row."""
    if row.phasing:
        return [float(x) for x in row.phasing.split(";")]
    return [1.0 / row.construction_years] * row.construction_years


def taxable_after_losses(profits: list[float], carryforward_years: int) -> list[float]:
    """Taxable income per year: losses are set against later profits, oldest first, and expire.

    A loss of year ``i`` may be deducted in years ``i+1 .. i+N`` only.
    """
    losses: list[list] = []  # [year index, remaining loss]
    out = []
    for i, profit in enumerate(profits):
        losses = [entry for entry in losses if i - entry[0] <= carryforward_years]
        if profit > 0:
            remaining = profit
            for entry in losses:  # oldest first
                use = min(remaining, entry[1])
                entry[1] -= use
                remaining -= use
            out.append(remaining)
        else:
            out.append(0.0)
            if profit < 0 and carryforward_years > 0:
                losses.append([i, -profit])
    return out


def npv(flows: list[float], rate: float) -> float:
    """Net present value, the first year undiscounted."""
    return sum(f / (1.0 + rate) ** i for i, f in enumerate(flows))


def payback(flows: list[float], years: list[int]) -> float:
    """First year from which the cumulative flow stays non-negative; NaN if it ends negative."""
    cum = 0.0
    last_negative = None
    for i, f in enumerate(flows):
        cum += f
        if cum < -PAYBACK_TOL_YUAN:
            last_negative = i
    if last_negative is None:
        return float(years[0])
    if last_negative == len(years) - 1:
        return math.nan
    return float(years[last_negative + 1])


# ------------------------------------------------------------------------------------ rules
# Each scalar rule takes the clause's pool as pool[p][y] and returns party -> [amount per year],
# summed over projects (the engine also spreads aggregate amounts over projects; the sums are what
# the ledgers use).


@dataclasses.dataclass
class Ctx:
    years: list[int]
    parties: list[str]
    host: list[str]  # host party of each project
    partner: str
    relocated: list[bool]
    pre_move_tax: list[float]
    full_production_year: list[int]
    equity: dict[str, float] | None
    costs: dict[str, dict[str, list[float]]]  # kind -> party -> per year (the cost ledger)


def _zeros(ctx: Ctx) -> dict[str, list[float]]:
    return {k: [0.0] * len(ctx.years) for k in ctx.parties}


def _to_hosts(pool, ctx, out):
    for p, row in enumerate(pool):
        for y, amount in enumerate(row):
            out[ctx.host[p]][y] += amount


def _shares_each_year(pool, ctx, shares_of_year):
    out = _zeros(ctx)
    for p, row in enumerate(pool):
        for y, amount in enumerate(row):
            shares = shares_of_year(y)
            if shares is None:
                out[ctx.host[p]][y] += amount
            else:
                for k in ctx.parties:
                    out[k][y] += shares.get(k, 0.0) * amount
    return out


def rule_host_keeps_all(pool, ctx):
    out = _zeros(ctx)
    _to_hosts(pool, ctx, out)
    return out


def rule_fixed_ratio(pool, ctx, shares, term_years=None, start_year=None):
    first = ctx.years[0] if start_year is None else start_year

    def of_year(y):
        year = ctx.years[y]
        active = year >= first and (term_years is None or year < first + term_years)
        return shares if active else None

    return _shares_each_year(pool, ctx, of_year)


def rule_phased_schedule(pool, ctx, schedule):
    def of_year(y):
        year = ctx.years[y]
        best = max(int(k) for k in schedule if int(k) <= year)
        return next(v for k, v in schedule.items() if int(k) == best)

    return _shares_each_year(pool, ctx, of_year)


def rule_equity_proportional(pool, ctx, equity=None):
    shares = equity if equity is not None else ctx.equity
    return _shares_each_year(pool, ctx, lambda y: shares)


def rule_relocation_cap_sunset(
    pool,
    ctx,
    origin=None,
    origin_share=0.5,
    base_years=3,
    extension_years=2,
    cap_years_of_pre_move_tax=3.0,
    eligibility_threshold_yuan=20_000_000.0,
):
    origin = ctx.partner if origin is None else origin
    out = _zeros(ctx)
    for p, row in enumerate(pool):
        eligible = ctx.relocated[p] and ctx.pre_move_tax[p] >= eligibility_threshold_yuan
        first = ctx.full_production_year[p]
        cap = cap_years_of_pre_move_tax * ctx.pre_move_tax[p]
        base_take = sum(
            origin_share * amount
            for y, amount in enumerate(row)
            if first <= ctx.years[y] < first + base_years
        )
        last = first + base_years + (extension_years if base_take < cap else 0)
        taken = 0.0
        for y, amount in enumerate(row):
            take = 0.0
            if eligible and first <= ctx.years[y] < last:
                take = min(origin_share * amount, max(cap - taken, 0.0))
                taken += take
            out[origin][y] += take
            out[ctx.host[p]][y] += amount - take
    return out


def _year_totals(pool, ctx):
    return [sum(pool[p][y] for p in range(len(pool))) for y in range(len(ctx.years))]


def rule_incremental_over_baseline(pool, ctx, shares, base_year=None, base_yuan=None):
    totals = _year_totals(pool, ctx)
    if base_yuan is not None:
        base = base_yuan
    else:
        base = totals[ctx.years.index(ctx.years[0] if base_year is None else base_year)]
    out = _zeros(ctx)
    for y, total in enumerate(totals):
        increment = max(total - base, 0.0)
        for k in ctx.parties:
            out[k][y] += shares.get(k, 0.0) * increment
        # the base part stays with the hosts, each in proportion to its own projects' pool
        for p in range(len(pool)):
            if total != 0.0:
                out[ctx.host[p]][y] += pool[p][y] / total * (total - increment)
    return out


def rule_tiered(pool, ctx, brackets):
    totals = _year_totals(pool, ctx)
    out = _zeros(ctx)
    for y, total in enumerate(totals):
        lower = 0.0
        for bracket in brackets:
            upper = math.inf if bracket["up_to_yuan"] is None else bracket["up_to_yuan"]
            piece = max(0.0, min(total, upper) - lower)
            for k in ctx.parties:
                out[k][y] += bracket["shares"].get(k, 0.0) * piece
            lower = upper
    return out


def rule_cost_recovery_first(
    pool,
    ctx,
    shares,
    recovering_party=None,
    outlay_yuan=None,
    cost_kinds=("infrastructure",),
    recovery_rate=1.0,
):
    party = ctx.partner if recovering_party is None else recovering_party
    if outlay_yuan is None:
        outlay_yuan = sum(sum(ctx.costs[kind][party]) for kind in cost_kinds)
    totals = _year_totals(pool, ctx)
    out = _zeros(ctx)
    recovered = 0.0
    cumulative_pool = 0.0
    for y, total in enumerate(totals):
        cumulative_pool += max(total, 0.0)
        now = min(outlay_yuan, recovery_rate * cumulative_pool)
        recovery = now - recovered
        recovered = now
        out[party][y] += recovery
        for k in ctx.parties:
            out[k][y] += shares.get(k, 0.0) * (total - recovery)
    return out


def _plain(value):
    """Rule parameters as plain Python data (pydantic models become dicts)."""
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


SCALAR_RULES = {
    "host_keeps_all": rule_host_keeps_all,
    "fixed_ratio": rule_fixed_ratio,
    "phased_schedule": rule_phased_schedule,
    "equity_proportional": rule_equity_proportional,
    "relocation_cap_sunset": rule_relocation_cap_sunset,
    "incremental_over_baseline": rule_incremental_over_baseline,
    "tiered": rule_tiered,
    "cost_recovery_first": rule_cost_recovery_first,
}


def apply_rule(name: str, pool, ctx: Ctx, params: dict):
    """Party totals per year of one scalar rule on ``pool[p][y]``."""
    kwargs = {}
    for key, value in params.items():
        if name == "phased_schedule" and key == "schedule":
            value = {int(k): v for k, v in value.items()}
        if name == "tiered" and key == "brackets":
            value = [
                {"up_to_yuan": b.get("up_to_yuan"), "shares": b["shares"]} for b in _plain(value)
            ]
        kwargs[key] = value
    return SCALAR_RULES[name](pool, ctx, **kwargs)


# ------------------------------------------------------------------------------------ the model


@dataclasses.dataclass
class Reference:
    """Outputs of the reference model (lists run over model years)."""

    years: list[int]
    parties: list[str]
    tax: dict[str, list[float]]  # tax -> per year, all projects
    tier: dict[str, dict[str, list[float]]]  # tax -> tier -> per year
    rebates: list[float]
    pool: list[float]
    pool_share: dict[str, dict[str, list[float]]]  # rule -> party -> per year
    retained: dict[str, list[float]]
    dividends: dict[str, list[float]]
    costs: dict[str, dict[str, list[float]]]  # kind -> party -> per year
    value_added: list[float]
    statistics: dict[str, list[float]]
    discount_rate: dict[str, float]

    def revenue(self, rule: str, party: str) -> list[float]:
        return [
            s + r + d
            for s, r, d in zip(
                self.pool_share[rule][party],
                self.retained[party],
                self.dividends[party],
                strict=True,
            )
        ]

    def party_costs(self, party: str) -> list[float]:
        return [
            sum(self.costs[kind][party][y] for kind in COST_KINDS) for y in range(len(self.years))
        ]

    def net(self, rule: str, party: str) -> list[float]:
        return [
            r - c for r, c in zip(self.revenue(rule, party), self.party_costs(party), strict=True)
        ]

    def npv(self, rule: str, party: str) -> float:
        return npv(self.net(rule, party), self.discount_rate[party])

    def payback_year(self, rule: str, party: str) -> float:
        return payback(self.net(rule, party), self.years)


def run_reference(scenario) -> Reference:
    """Evaluate a scenario's deterministic run with scalar loops."""
    spec = scenario.spec
    rows = scenario.projects.rows
    regime = load_regime()
    years = list(range(spec.model.start_year, spec.model.end_year + 1))
    parties = list(spec.parties)
    Y = len(years)
    m = spec.model

    def rate(name, year):
        return step_value(regime[name], year)

    growth = [0.0] + [step_value(m.sales_growth_rate, y) for y in years[1:]]
    index = []
    level = 1.0
    for g in growth:
        level *= 1.0 + g
        index.append(level)

    tax = {t: [0.0] * Y for t in TAXES}
    tier = {t: {tr: [0.0] * Y for tr in TIERS} for t in TAXES}
    rebates = [0.0] * Y
    pool_by_tax = {t: [[0.0] * Y for _ in rows] for t in spec.pool.taxes}
    retained = {k: [0.0] * Y for k in parties}
    costs = {kind: {k: [0.0] * Y for k in parties} for kind in COST_KINDS}
    value_added_total = [0.0] * Y
    value_added_host = {k: [0.0] * Y for k in parties}

    for p, row in enumerate(rows):
        park = spec.parks[row.park]
        host = park.host
        land = row.landing_probability
        shares = phasing_shares(row)
        op_start = row.start_year + row.construction_years
        depreciation = row.investment_yuan / m.depreciation_years
        in_pool = (spec.pool.parks is None or row.park in spec.pool.parks) and (
            spec.pool.groups is None or row.group in spec.pool.groups
        )
        profits, capex, sales, va, operating = [], [], [], [], []
        for i, year in enumerate(years):
            k = year - row.start_year
            capex.append(row.investment_yuan * shares[k] if 0 <= k < len(shares) else 0.0)
            on = year >= op_start
            capacity = min(1.0, max(0.0, (year - op_start + 1) / row.ramp_up_years))
            full_sales = row.investment_yuan * row.output_per_fixed_asset * index[i]
            sales.append(full_sales * capacity)
            va.append(sales[-1] * row.value_added_rate)
            operating.append(on)
            profits.append(
                capacity * (row.profit_margin * full_sales + depreciation) - depreciation
                if on
                else 0.0
            )
        taxable = taxable_after_losses(profits, m.loss_carryforward_years)

        for i, year in enumerate(years):
            relief = rate("rates.slpe_local_relief", year) if row.slpe else 0.0
            cit_rate = rate("rates.cit_standard", year)
            if row.high_tech:
                cit_rate = min(cit_rate, rate("rates.cit_high_tech", year))
            if row.slpe and taxable[i] <= rate("rates.slpe_income_threshold_yuan", year):
                cit_rate = min(cit_rate, rate("rates.cit_slpe", year))
            vat = rate(f"rates.vat_{row.vat_category}", year) * va[i]
            wages = va[i] * row.wage_share
            amounts = {
                "vat": vat,
                "cit": cit_rate * taxable[i],
                "pit": m.pit_effective_rate * wages,
                "umt": rate(f"rates.umt_{park.location_class}", year) * (1 - relief) * vat,
                "edu": rate("rates.edu", year) * (1 - relief) * vat,
                "local_edu": rate("rates.local_edu", year) * (1 - relief) * vat,
                "property": (
                    rate("rates.property_cost_basis", year)
                    * (1 - m.property_tax_deduction_rate)
                    * (1 - relief)
                    * row.building_value_yuan
                    if operating[i]
                    else 0.0
                ),
                "land_use": (
                    row.land_mu * M2_PER_MU * park.land_use_tax_yuan_per_m2 * (1 - relief)
                    if year >= row.start_year
                    else 0.0
                ),
                "stamp": (
                    rate("rates.stamp_sales_contract", year)
                    * (sales[i] if m.stamp_on_sales else 0.0)
                    + rate("rates.stamp_construction_contract", year) * capex[i]
                )
                * (1 - relief),
                "land_transfer": row.land_mu * park.land_price_yuan_per_mu
                if year == row.start_year
                else 0.0,
            }
            in_rebate_window = operating[i] and year < op_start + row.rebate_years
            local_net = 0.0
            local_in_pool = 0.0
            for t in TAXES:
                amount = amounts[t] * land
                central = rate(f"central_share.{t}", year)
                prov_steps = spec.tiers.provincial_share.get(t)
                provincial = step_value(prov_steps, year) if prov_steps else 0.0
                parts = {
                    "central": amount * central,
                    "provincial": amount * (1 - central) * provincial,
                }
                local = amount - parts["central"] - parts["provincial"]
                parts["county"] = local * park.county_share
                parts["city"] = local - parts["county"]
                tax[t][i] += amount
                for tr in TIERS:
                    tier[t][tr][i] += parts[tr]
                rebate = {"city": 0.0, "county": 0.0}
                if t in REBATED_TAXES and in_rebate_window:
                    total_rebate = row.rebate_rate * local
                    rebate["county"] = total_rebate * park.county_share
                    rebate["city"] = total_rebate - rebate["county"]
                    rebates[i] += total_rebate
                local_net += local - rebate["city"] - rebate["county"]
                if t in spec.pool.taxes and in_pool:
                    in_tiers = sum(parts[tr] for tr in spec.pool.tiers)
                    local_tiers = sum(parts[tr] for tr in spec.pool.tiers if tr in LOCAL_TIERS)
                    if spec.pool.net_of_rebates:
                        cut = sum(rebate[tr] for tr in spec.pool.tiers if tr in LOCAL_TIERS)
                        in_tiers -= cut
                        local_tiers -= cut
                    pool_by_tax[t][p][i] = in_tiers
                    local_in_pool += local_tiers
            retained[host][i] += local_net - local_in_pool
            value_added_total[i] += va[i] * land
            value_added_host[host][i] += va[i] * land
            if year == row.start_year:
                costs["land_acquisition"][host][i] += (
                    row.land_mu * park.land_acquisition_cost_yuan_per_mu * land
                )

    # costs and the platform company
    for cost in spec.costs:
        for year, amount in cost.payments_yuan.items():
            costs[cost.kind][cost.party][years.index(year)] += amount
    dividends = {k: [0.0] * Y for k in parties}
    equity = dict(spec.platform.equity) if spec.platform else None
    if spec.platform is not None:
        paid_in = 0.0
        for i, year in enumerate(years):
            capital = spec.platform.capital_payments_yuan.get(year, 0.0)
            paid_in += capital
            profit = step_value(spec.platform.return_on_capital_rate, year) * paid_in
            for k in parties:
                share = equity.get(k, 0.0)
                costs["platform_capital"][k][i] += share * capital
                dividends[k][i] += spec.platform.payout_rate * max(profit, 0.0) * share
    # statistics ledger
    st = spec.statistics
    if st.method == "host":
        statistics = value_added_host
    elif st.method == "double":
        # counted in full where the activity is (the host) and by the cooperating partner city
        statistics = {
            k: list(value_added_total) if spec.parties[k].role == "partner" else value_added_host[k]
            for k in parties
        }
    else:
        weights = st.shares if st.method == "shares" else equity
        statistics = {k: [weights.get(k, 0.0) * v for v in value_added_total] for k in parties}

    # split rules
    ctx = Ctx(
        years=years,
        parties=parties,
        host=[spec.parks[r.park].host for r in rows],
        partner=next(k for k, v in spec.parties.items() if v.role == "partner"),
        relocated=[r.relocated for r in rows],
        pre_move_tax=[r.pre_move_annual_tax_yuan for r in rows],
        full_production_year=[
            r.start_year + r.construction_years + r.ramp_up_years - 1 for r in rows
        ],
        equity=equity,
        costs=costs,
    )
    pool_total = [
        sum(pool_by_tax[t][p][i] for t in pool_by_tax for p in range(len(rows))) for i in range(Y)
    ]
    pool_share = {}
    for rule_spec in spec.rules:
        got = _zeros(ctx)
        covered = [[0.0] * Y for _ in rows]
        for clause in rule_spec.all_clauses():
            scope = clause.scope
            taxes = [t for t in spec.pool.taxes if scope.taxes is None or t in scope.taxes]
            if not taxes:
                continue
            sub = []
            for p, row in enumerate(rows):
                in_scope = (scope.parks is None or row.park in scope.parks) and (
                    scope.groups is None or row.group in scope.groups
                )
                line = []
                for i, year in enumerate(years):
                    in_window = (clause.from_year is None or year >= clause.from_year) and (
                        clause.to_year is None or year <= clause.to_year
                    )
                    amount = (
                        sum(pool_by_tax[t][p][i] for t in taxes) if in_scope and in_window else 0.0
                    )
                    line.append(amount)
                    covered[p][i] += amount
                sub.append(line)
            part = apply_rule(clause.rule, sub, ctx, _plain(dict(clause.params)))
            for k in parties:
                for i in range(Y):
                    got[k][i] += part[k][i]
        rest = [
            [sum(pool_by_tax[t][p][i] for t in pool_by_tax) - covered[p][i] for i in range(Y)]
            for p in range(len(rows))
        ]
        _to_hosts(rest, ctx, got)
        pool_share[rule_spec.name] = got

    return Reference(
        years=years,
        parties=parties,
        tax=tax,
        tier=tier,
        rebates=rebates,
        pool=pool_total,
        pool_share=pool_share,
        retained=retained,
        dividends=dividends,
        costs=costs,
        value_added=value_added_total,
        statistics=statistics,
        discount_rate={
            k: v.discount_rate if v.discount_rate is not None else m.discount_rate
            for k, v in spec.parties.items()
        },
    )
