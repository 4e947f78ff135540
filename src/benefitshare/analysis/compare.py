"""Comparing split rules: gains over standalone, win-win test, bargaining benchmarks, fairness.

Part of the analysis layer, above the model: :func:`compare_rules` turns a
:class:`~benefitshare.model.result.Result` into one row per rule: what each party gains over its
standalone (no-agreement) value, whether every party gains, how far the rule is from the Shapley
and Nash splits, how benefits compare with contributions, and when and how smoothly the money
moves between the cities (``docs/model.md``, sections 3.7 and 3.9). All rules were evaluated on
the same draws, so the rows are directly comparable. Expected NPVs and gains come from
:mod:`benefitshare.analysis.outcomes`; the charts of a :class:`Comparison` are drawn by
:mod:`benefitshare.viz.compare`, imported only when a plot method is called.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from benefitshare.analysis.outcomes import (
    expected_npv_rk,
    expected_standalone_npv_k,
)
from benefitshare.glossary import COST_KINDS, YUAN_PER_YI
from benefitshare.model.metrics import (
    gain_yuan,
    npv_yuan,
    party_discount_factors,
    percentiles,
    revenue_yuan,
)
from benefitshare.model.run import game_from_result
from benefitshare.rules.games import CoalitionGame

__all__ = [
    "Comparison",
    "compare_rules",
    "CRITERIA",
    "DEFAULT_CONTRIBUTION_KINDS",
    "check_contribution_kinds",
    "contribution_npv_k",
    "net_transfer_rdy",
]

#: Cost kinds that count as a party's contribution: capital, land and infrastructure.
DEFAULT_CONTRIBUTION_KINDS: tuple[str, ...] = (
    "infrastructure",
    "land_acquisition",
    "platform_capital",
)

#: Ranking criteria: name -> (direction, description).
CRITERIA: dict[str, tuple[str, str]] = {
    "to_shapley": (
        "ascending",
        "NPV that would have to move between parties to reach the Shapley split",
    ),
    "to_nash": ("ascending", "NPV that would have to move between parties to reach the Nash split"),
    "min_gain": ("descending", "the smaller party gain (maximin)"),
    "gain_gap": ("ascending", "absolute gap between the partner's and the host side's gains"),
    "max_p_loss": ("ascending", "the largest probability that a party loses (draws > 1)"),
    "fairness": ("ascending", "largest |log(benefit share / contribution share)| over parties"),
    "volatility": ("ascending", "volatility of the annual net transfer"),
    "front_loading": ("descending", "the host side's share of receipts NPV in the first years"),
}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The comparison of a run's rules.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per rule, ranked (see :func:`compare_rules` for the columns).
    reference : pandas.DataFrame
        One row per party: ``standalone_npv_yuan`` (no agreement), ``shapley_yuan``,
        ``nash_yuan`` (expected NPVs), ``contribution_yuan`` (NPV of contributions) and, with
        draws, ``standalone_p5_yuan``/``standalone_p95_yuan``.
    game : CoalitionGame
        The coalition game of expected values.
    result : Result
        The run compared.
    by : str
        The ranking criterion.
    loss_threshold : float
    notes : list of str
    """

    table: pd.DataFrame
    reference: pd.DataFrame
    game: CoalitionGame
    result: object
    by: str
    loss_threshold: float
    notes: list[str]

    @property
    def surplus_yuan(self) -> float:
        """Expected cooperative surplus: v(N) minus the sum of standalone values [yuan]."""
        return float(self.game.surplus.mean())

    def net_transfer_rdy(self) -> tuple[np.ndarray, np.ndarray]:
        """Net transfer from the host side to the partner city by rule and year [yuan/year].

        See :func:`net_transfer_rdy`: the mean over all draws, (R, Y), and per kept path,
        (R, D, Y), of the run compared.
        """
        return net_transfer_rdy(self.result)

    def display(self, unit: float = YUAN_PER_YI) -> pd.DataFrame:
        """The table for reading: money in 亿元 and rounded, indexed by rule.

        Parameters
        ----------
        unit : float
            Yuan per unit shown [yuan]; 亿元 (:data:`~benefitshare.glossary.YUAN_PER_YI`).
        """
        t = self.table.set_index("rule").drop(columns=["label"])
        out = pd.DataFrame(index=t.index)
        for col in t.columns:
            if col.endswith("_yuan"):
                out[col.removesuffix("_yuan") + " (亿元)"] = (t[col] / unit).round(2)
            elif t[col].dtype.kind == "f":
                out[col] = t[col].round(3)
            else:
                out[col] = t[col]
        return out

    def to_text(self) -> str:
        """The comparison as printed by ``benefitshare compare``: three blocks of columns."""
        t = self.display()
        parties = list(self.result.party_ids)
        money = lambda cols: [c for c in cols if c in t.columns]  # noqa: E731
        gains = money(
            ["rank"]
            + [f"gain_{p} (亿元)" for p in parties]
            + [f"gain_{p}_p5 (亿元)" for p in parties]
            + [f"gain_{p}_p95 (亿元)" for p in parties]
            + [f"p_loss_{p}" for p in parties]
            + ["win_win"]
        )
        fair = money(
            ["to_shapley (亿元)", "to_nash (亿元)", "gain_gap (亿元)"]
            + [f"fairness_{p}" for p in parties]
        )
        timing = money(
            ["transfer_volatility"]
            + [f"front_loading_{p}" for p in parties]
            + [f"payback_{p}" for p in parties]
        )
        ref = self.reference.set_index("party")
        ref_t = pd.DataFrame(
            {
                c.removesuffix("_yuan") + " (亿元)": (ref[c] / YUAN_PER_YI).round(2)
                for c in ref.columns
            }
        )
        draws = self.result.n_draws
        what = "deterministic run" if draws == 1 else f"{draws} draws (expected values)"
        head = (
            f"{self.result.scenario.spec.header.title}\n"
            f"{len(t)} rules, {what}; ranked by {self.by} ({CRITERIA[self.by][1]}), "
            "win-win rules first; 亿元 = 1e8 yuan, NPV."
        )
        blocks = [
            head,
            "Reference points (no agreement, Shapley, Nash, contributions):",
            ref_t.to_string(),
            f"Expected surplus of the cooperation: {self.surplus_yuan / YUAN_PER_YI:.2f} 亿元",
            "",
            "Gains over standalone and the win-win test"
            + (f" (P(loss) threshold {self.loss_threshold:g})" if draws > 1 else "")
            + ":",
            t[gains].to_string(),
            "",
            "Distance from the bargaining splits and fairness:",
            t[fair].to_string(),
            "",
            "Timing:",
            t[timing].to_string(),
        ]
        blocks += [f"note: {n}" for n in self.notes]
        return "\n".join(blocks)

    def plot_gains(self, **kwargs):
        """Partner's gain against the host side's gain, one point per rule (matplotlib Figure)."""
        from benefitshare.viz import compare as plots_compare

        return plots_compare.gains_scatter(self, **kwargs)

    def plot_transfers(self, **kwargs):
        """Cumulative net transfer between the cities over time, by rule (matplotlib Figure)."""
        from benefitshare.viz import compare as plots_compare

        return plots_compare.cumulative_transfers(self, **kwargs)

    def _repr_html_(self):  # pragma: no cover - notebook display
        return self.display()._repr_html_()

    def __repr__(self) -> str:
        return f"Comparison(by={self.by!r})\n{self.display().to_string()}"


def check_contribution_kinds(kinds: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the cost kinds in ``kinds`` that are not :data:`COST_KINDS`."""
    bad = [k for k in kinds if k not in COST_KINDS]
    if bad:
        raise ValueError(f"unknown cost kind(s) {bad}; valid: {', '.join(COST_KINDS)}")


def contribution_npv_k(result, kinds: Sequence[str] = DEFAULT_CONTRIBUTION_KINDS) -> np.ndarray:
    """Expected NPV of each party's contributions [yuan], shape (K,).

    The costs of the kinds ``kinds`` (capital, land and infrastructure by default) that each
    party bears, mean over all draws, at its discount rate.
    """
    m = result.means
    factors_ky = party_discount_factors(result.scenario.spec, result.years)
    total = sum(npv_yuan(m["costs_cdky"][COST_KINDS.index(c)], factors_ky) for c in kinds)
    return np.asarray(total, dtype=float) * np.ones(len(result.party_ids))


def _hosted_pool(result) -> tuple[np.ndarray, np.ndarray]:
    """Pool of the partner's own projects: mean (Y,) and per kept path (D, Y) [yuan/year]."""
    spec = result.scenario.spec
    partner = spec.party_index("partner")
    players = list(spec.parties)
    hosts = {players.index(spec.parks[p].host) for p in result.scenario.projects.park}
    D, Y = result.pool_dy.shape
    if partner not in hosts:
        return np.zeros(Y), np.zeros((D, Y))
    for rs in spec.rules:
        if rs.name in result.rule_names and rs.rule == "host_keeps_all" and rs.clauses is None:
            i = result.rule_names.index(rs.name)
            return result.means["pool_share_rdky"][i, partner], result.pool_share_rdky[
                i, :, partner
            ]
    from benefitshare.model import run as pipeline
    from benefitshare.model.coalitions import host_keeps_all_spec
    from benefitshare.model.inputs import central_inputs, model_setup

    out = pipeline.evaluate(
        model_setup(result.scenario), central_inputs(result.scenario), [host_keeps_all_spec()]
    )
    path = out.pool_share_rdky[0, 0, partner]
    return path, np.broadcast_to(path, (D, Y))


def net_transfer_rdy(result) -> tuple[np.ndarray, np.ndarray]:
    """Net transfer from the host side to the partner city by rule and year [yuan/year].

    The partner's share of the pool less the pool of projects it hosts itself (zero under
    "host keeps all"); negative when money flows to the host side.

    Returns
    -------
    mean_ry : ndarray, shape (R, Y)
        Mean over all draws.
    paths_rdy : ndarray, shape (R, D, Y)
        Per kept path.
    """
    partner = result.scenario.spec.party_index("partner")
    hosted_mean, hosted_paths = _hosted_pool(result)
    mean = result.means["pool_share_rdky"][:, partner] - hosted_mean[None]
    paths = result.pool_share_rdky[:, :, partner] - hosted_paths[None]
    return mean, paths


def _volatility(transfer_dy: np.ndarray) -> np.ndarray:
    """Std of the yearly change over the mean absolute transfer, per path (0 if no transfer)."""
    level = np.abs(transfer_dy).mean(axis=-1)
    change = (
        np.diff(transfer_dy, axis=-1).std(axis=-1)
        if transfer_dy.shape[-1] > 1
        else np.zeros_like(level)
    )
    ok = level > 0.0
    return np.where(ok, change / np.where(ok, level, 1.0), 0.0)


def compare_rules(
    result,
    *,
    by: str = "to_shapley",
    loss_threshold: float = 0.05,
    nash_weights: Mapping[str, float] | None = None,
    contribution_kinds: Sequence[str] = DEFAULT_CONTRIBUTION_KINDS,
    front_years: int = 10,
    win_win_first: bool = True,
) -> Comparison:
    """Compare every rule of a run against the standalone values and the bargaining splits.

    Parameters
    ----------
    result : Result
        From :func:`benefitshare.run`, deterministic or with draws.
    by : str
        Ranking criterion, one of :data:`CRITERIA`.
    loss_threshold : float
        With draws, a rule is win-win only if every party's probability of a loss (NPV below its
        standalone value) is below this [fraction].
    nash_weights : dict of str to float, optional
        Bargaining weights for the Nash split; equal by default.
    contribution_kinds : sequence of str
        Cost kinds that count as contributions (capital, land, infrastructure by default).
    front_years : int
        Years counted as early for front-loading.
    win_win_first : bool
        Put the rules that pass the win-win test first, each group ranked by ``by``.

    Returns
    -------
    Comparison
        ``table`` columns: ``rank``, ``rule``, ``label``; per party ``npv_<party>_yuan`` and
        ``gain_<party>_yuan`` (expected NPV of net benefit and its gain over the standalone
        value); with draws ``gain_<party>_p5_yuan``, ``gain_<party>_p95_yuan`` and
        ``p_loss_<party>``; ``win_win``; ``to_shapley_yuan`` and ``to_nash_yuan``;
        ``fairness_<party>``; ``gain_gap_yuan``; ``transfer_volatility``;
        ``front_loading_<party>``; ``payback_<party>``.

    Raises
    ------
    ValueError
        For an unknown criterion or cost kind, or a threshold outside [0, 1].

    Notes
    -----
    * **Gain**: ``E[NPV_k] - E[standalone_k]``, NPV at each party's discount rate. **P(loss)**:
      share of all draws with ``NPV_k < standalone_k``.
    * **Win-win**: every expected gain >= 0 (to 0.01 yuan); with draws also every P(loss) <
      ``loss_threshold``. This is the test of "two-way cooperation for mutual benefit and
      win-win results".
    * **Distance** to a split ``u``: ``0.5 * sum_k |E[NPV_k] - u_k|``, the NPV that would have
      to move between parties to reach it [yuan] (exact when the parties share a discount rate).
      Shapley and Nash splits are those of the game of expected values
      (:func:`benefitshare.bargaining.game_from_result`).
    * **Fairness**: a party's share of the total gain divided by its share of the NPV of
      contributions (costs of ``contribution_kinds``); 1 is proportional. Missing (NaN) when the
      total gain or the total contribution is not positive, or the party contributes nothing.
    * **Gain gap**: partner's gain less the host side's gain (every other party).
    * **Transfer**: the partner's pool share less the pool of its own projects; **volatility**
      is the standard deviation of its year-on-year change over its mean absolute level, per
      kept path, averaged.
    * **Front-loading**: share of the NPV of a party's receipts (pool share, local revenue kept,
      dividends) that arrives in the first ``front_years`` model years.
    * **Payback**: median over kept draws of the first year from which cumulative net benefit
      stays non-negative (missing when it does not pay back within the horizon).

    These diagnostics are modelling choices of this package, not regulatory definitions.
    """
    if by not in CRITERIA:
        raise ValueError(f"unknown ranking criterion {by!r}; valid: {', '.join(CRITERIA)}")
    if not 0.0 <= loss_threshold <= 1.0:
        raise ValueError(f"loss_threshold must be between 0 and 1, got {loss_threshold}")
    check_contribution_kinds(contribution_kinds)
    scenario = result.scenario
    spec = scenario.spec
    parties = list(result.party_ids)
    K = len(parties)
    partner = spec.party_index("partner")
    others = [k for k in range(K) if k != partner]
    years = result.years
    df_ky = party_discount_factors(spec, years)
    m = result.means
    draws = result.n_draws
    notes: list[str] = []

    npv_rk = expected_npv_rk(result)
    standalone_k = expected_standalone_npv_k(result)
    gain_rk = gain_yuan(npv_rk, standalone_k[None])

    game = game_from_result(result)
    if game.note.startswith("engine at central"):
        notes.append(
            "Shapley and Nash splits use coalition values at central inputs, not means over draws."
        )
    shapley_k = game.shapley()[:, 0]
    weights = None if nash_weights is None else [float(nash_weights.get(p, 0.0)) for p in parties]
    nash_k = game.nash(weights)[:, 0]
    surplus = float(game.surplus[0])
    if surplus < 0:
        notes.append(
            f"The cooperation's expected surplus is negative ({surplus / YUAN_PER_YI:.2f} 亿元): "
            "no split of it leaves every party at least its standalone value, so no rule can be "
            "win-win."
        )

    contrib_k = contribution_npv_k(result, contribution_kinds)

    receipts_rky = revenue_yuan(m["pool_share_rdky"], m["retained_dky"], m["dividends_dky"])
    early = (years < years[0] + front_years).astype(float)
    receipts_npv = npv_yuan(receipts_rky, df_ky[None])
    early_npv = npv_yuan(receipts_rky, (df_ky * early)[None])

    _, transfer_paths = net_transfer_rdy(result)
    volatility_r = _volatility(transfer_paths).mean(axis=1)

    payback = result.scalars["payback_rdk"]
    p_loss_rk = result.counts["gain_below_zero_rk"] / draws if draws > 1 else None
    gains_draws = result.gains_rdk() if draws > 1 else None

    labels = {r.name: (r.label or r.name) for r in spec.rules}
    rows = []
    for r, rule in enumerate(result.rule_names):
        row: dict[str, object] = {"rule": rule, "label": labels.get(rule, rule)}
        for k, p in enumerate(parties):
            row[f"npv_{p}_yuan"] = npv_rk[r, k]
        for k, p in enumerate(parties):
            row[f"gain_{p}_yuan"] = gain_rk[r, k]
        if draws > 1:
            for k, p in enumerate(parties):
                lo, hi = percentiles(gains_draws[r, :, k], [5, 95])
                row[f"gain_{p}_p5_yuan"] = lo
                row[f"gain_{p}_p95_yuan"] = hi
            for k, p in enumerate(parties):
                row[f"p_loss_{p}"] = float(p_loss_rk[r, k])
        win = bool((gain_rk[r] >= -0.01).all())
        if draws > 1:
            win = win and bool((p_loss_rk[r] < loss_threshold).all())
        row["win_win"] = win
        row["to_shapley_yuan"] = 0.5 * np.abs(npv_rk[r] - shapley_k).sum()
        row["to_nash_yuan"] = 0.5 * np.abs(npv_rk[r] - nash_k).sum()
        total_gain = gain_rk[r].sum()
        total_contrib = contrib_k.sum()
        for k, p in enumerate(parties):
            ok = total_gain > 0 and total_contrib > 0 and contrib_k[k] > 0
            row[f"fairness_{p}"] = (
                (gain_rk[r, k] / total_gain) / (contrib_k[k] / total_contrib) if ok else np.nan
            )
        row["gain_gap_yuan"] = gain_rk[r, partner] - gain_rk[r, others].sum()
        row["transfer_volatility"] = volatility_r[r]
        for k, p in enumerate(parties):
            row[f"front_loading_{p}"] = (
                early_npv[r, k] / receipts_npv[r, k] if receipts_npv[r, k] > 0 else np.nan
            )
        for k, p in enumerate(parties):
            pb = payback[r, :, k]
            row[f"payback_{p}"] = (
                float(np.nanmedian(pb)) if np.isfinite(pb).mean() >= 0.5 else np.nan
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    for p in parties:
        table[f"payback_{p}"] = table[f"payback_{p}"].round().astype("Int64")

    key = _criterion_key(table, by, parties, partner, draws)
    order = np.lexsort(
        (
            np.arange(len(table)),
            key.to_numpy(),
            (~table["win_win"]).to_numpy() if win_win_first else np.zeros(len(table)),
        )
    )
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))

    ref = pd.DataFrame(
        {
            "party": parties,
            "standalone_npv_yuan": standalone_k,
            "shapley_yuan": shapley_k,
            "nash_yuan": nash_k,
            "contribution_yuan": contrib_k,
        }
    )
    if draws > 1:
        sa = result.standalone_npv_dk()
        ref["standalone_p5_yuan"] = percentiles(sa, 5, axis=0)
        ref["standalone_p95_yuan"] = percentiles(sa, 95, axis=0)
    return Comparison(
        table=table,
        reference=ref,
        game=game,
        result=result,
        by=by,
        loss_threshold=loss_threshold,
        notes=notes,
    )


def _criterion_key(table: pd.DataFrame, by: str, parties, partner: int, draws: int) -> pd.Series:
    """Sort key (ascending = better) for a criterion; missing values sort last."""
    direction, _ = CRITERIA[by]
    if by == "to_shapley":
        key = table["to_shapley_yuan"]
    elif by == "to_nash":
        key = table["to_nash_yuan"]
    elif by == "min_gain":
        key = table[[f"gain_{p}_yuan" for p in parties]].min(axis=1)
    elif by == "gain_gap":
        key = table["gain_gap_yuan"].abs()
    elif by == "max_p_loss":
        if draws > 1:
            key = table[[f"p_loss_{p}" for p in parties]].max(axis=1)
        else:
            key = (table[[f"gain_{p}_yuan" for p in parties]] < 0).any(axis=1).astype(float)
    elif by == "fairness":
        f = table[[f"fairness_{p}" for p in parties]].astype(float)
        key = np.abs(np.log(f.where(f > 0))).max(axis=1, skipna=False)
    elif by == "volatility":
        key = table["transfer_volatility"]
    else:  # front_loading of the host side: the mean over non-partner parties
        cols = [f"front_loading_{p}" for i, p in enumerate(parties) if i != partner]
        key = table[cols].mean(axis=1)
    key = key.astype(float)
    if direction == "descending":
        key = -key
    return key.fillna(np.inf)
