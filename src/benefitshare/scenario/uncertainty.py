"""The ``[uncertainty]`` section of a scenario: uncertain inputs, distributions, correlation.

The schema of what is uncertain (docs/model.md §5): each input names a target (a project column,
a park or sector field, a model setting), an optional filter (sectors, parks, groups, projects),
how a draw is applied (``multiply``, ``add`` or ``replace`` the value in the file), a
distribution and whether each selected project gets its own draw; inputs may be rank-correlated
through a Gaussian copula. It sits in the scenario layer; sampling the draws and applying them to
the model inputs is :mod:`benefitshare.model.draws`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from benefitshare.errors import unknown_name
from benefitshare.rules.spec import MAX_YUAN, StrictModel, doc, name_of

__all__ = [
    "Distribution",
    "UncertainInput",
    "Correlation",
    "UncertaintySpec",
    "TARGETS",
    "normal_correlation",
]

#: Targets an uncertain input can act on -> (pipeline input name, kind, (low, high) allowed range).
#: Drawn values are clipped to the range; amounts of money to at most MAX_YUAN (1e15 yuan).
#: ``kind`` is "project" (per project column), "park" (per park field mapped to projects),
#: "sector" (per sector field mapped to projects) or "model" (scenario wide).
TARGETS: dict[str, tuple[str, str, tuple[float, float], bool]] = {
    "projects.investment_yuan": ("investment_yuan", "project", (1e-9, MAX_YUAN), False),
    "projects.output_per_fixed_asset": ("output_per_fixed_asset", "project", (0.0, 50.0), False),
    "projects.value_added_rate": ("value_added_rate", "project", (0.0, 1.0), False),
    "projects.profit_margin": ("profit_margin", "project", (-1.0, 1.0), False),
    "projects.wage_share": ("wage_share", "project", (0.0, 1.0), False),
    "projects.land_mu": ("land_mu", "project", (0.0, 1e7), False),
    "projects.building_value_yuan": ("building_value_yuan", "project", (0.0, MAX_YUAN), False),
    "projects.rebate_rate": ("rebate_rate", "project", (0.0, 1.0), False),
    "projects.pre_move_annual_tax_yuan": (
        "pre_move_annual_tax_yuan",
        "project",
        (0.0, MAX_YUAN),
        False,
    ),
    "projects.additionality": ("additionality", "project", (0.0, 1.0), False),
    "projects.landing_probability": ("landing", "project", (0.0, 1.0), False),
    "projects.start_year": ("start_year", "project", (1900, 2200), True),
    "projects.construction_years": ("construction_years", "project", (1, 10), True),
    "projects.ramp_up_years": ("ramp_up_years", "project", (1, 20), True),
    "projects.rebate_years": ("rebate_years", "project", (0, 60), True),
    "parks.county_share": ("county_share", "park", (0.0, 1.0), False),
    "parks.land_use_tax_yuan_per_m2": ("land_use_tax_yuan_per_m2", "park", (0.0, 30.0), False),
    "parks.land_price_yuan_per_mu": ("land_price_yuan_per_mu", "park", (0.0, MAX_YUAN), False),
    "parks.land_acquisition_cost_yuan_per_mu": (
        "land_acquisition_cost_yuan_per_mu",
        "park",
        (0.0, MAX_YUAN),
        False,
    ),
    "sectors.additionality": ("additionality", "sector", (0.0, 1.0), False),
    "model.sales_growth_rate": ("sales_growth_rate", "model", (-0.5, 0.5), False),
    "model.pit_effective_rate": ("pit_effective_rate", "model", (0.0, 1.0), False),
    "model.property_tax_deduction_rate": (
        "property_tax_deduction_rate",
        "model",
        (0.1, 0.3),
        False,
    ),
    "model.depreciation_years": ("depreciation_years", "model", (1.0, 60.0), False),
    "platform.return_on_capital_rate": ("return_on_capital_rate", "model", (-1.0, 1.0), False),
}

Finite = Annotated[float, Field(allow_inf_nan=False)]
InputName = name_of("input name")


class Distribution(StrictModel):
    """A distribution by name with its parameters.

    ============ ===================================== =========================================
    name         params                                scipy.stats
    ============ ===================================== =========================================
    uniform      low, high                             uniform(loc=low, scale=high-low)
    triangular   low, mode, high                       triang
    normal       mean, sd                              norm
    truncnormal  mean, sd, low, high                   truncnorm
    lognormal    median, sigma (of the log)            lognorm(s=sigma, scale=median)
    beta         a, b, low=0, high=1                   beta
    bernoulli    p (default: the project's landing     bernoulli
                 probability)
    discrete     values, probabilities                 rv_discrete
    ============ ===================================== =========================================
    """

    name: Literal[
        "uniform",
        "triangular",
        "normal",
        "truncnormal",
        "lognormal",
        "beta",
        "bernoulli",
        "discrete",
    ] = Field(**doc("Distribution family (see the table above for its parameters)", "triangular"))
    params: dict[str, Finite | list[Finite]] = Field(
        default_factory=dict,
        **doc(
            "Parameters of the distribution, in the unit of the target (multiply: a factor; "
            "add or replace: the target's unit)",
            {"low": 0.8, "mode": 1.0, "high": 1.3},
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        need = {
            "uniform": {"low", "high"},
            "triangular": {"low", "mode", "high"},
            "normal": {"mean", "sd"},
            "truncnormal": {"mean", "sd", "low", "high"},
            "lognormal": {"median", "sigma"},
            "beta": {"a", "b"},
            "bernoulli": set(),
            "discrete": {"values", "probabilities"},
        }[self.name]
        optional = {"beta": {"low", "high"}, "bernoulli": {"p"}}.get(self.name, set())
        keys = set(self.params)
        if not need <= keys:
            raise ValueError(
                f"{self.name} needs parameters {sorted(need)}; missing {sorted(need - keys)}"
            )
        extra = keys - need - optional
        if extra:
            raise ValueError(
                f"{self.name} takes parameters {sorted(need | optional)}; unknown {sorted(extra)}"
            )
        p = self.params
        scalar = {k: v for k, v in p.items() if not isinstance(v, list)}
        lists = {k for k, v in p.items() if isinstance(v, list)}
        if self.name != "discrete" and lists:
            raise ValueError(f"parameters {sorted(lists)} must be numbers")
        if self.name in ("uniform", "truncnormal", "triangular") and scalar["low"] > scalar["high"]:
            raise ValueError(f"low ({scalar['low']}) must not exceed high ({scalar['high']})")
        if self.name == "triangular" and not scalar["low"] <= scalar["mode"] <= scalar["high"]:
            raise ValueError("mode must lie between low and high")
        if self.name in ("normal", "truncnormal") and scalar["sd"] < 0:
            raise ValueError(f"sd must be >= 0, got {scalar['sd']}")
        if (
            self.name == "truncnormal"
            and scalar["sd"] > 0
            and not scalar["low"] <= scalar["mean"] <= scalar["high"]
        ):
            raise ValueError("mean must lie between low and high")
        if self.name == "lognormal" and (scalar["median"] <= 0 or scalar["sigma"] < 0):
            raise ValueError("lognormal needs median > 0 and sigma >= 0")
        if self.name == "beta":
            if scalar["a"] <= 0 or scalar["b"] <= 0:
                raise ValueError("beta needs a > 0 and b > 0")
            if scalar.get("low", 0.0) > scalar.get("high", 1.0):
                raise ValueError("low must not exceed high")
        if self.name == "bernoulli" and "p" in scalar and not 0 <= scalar["p"] <= 1:
            raise ValueError(f"p must be between 0 and 1, got {scalar['p']}")
        if self.name == "discrete":
            values, probs = p["values"], p["probabilities"]
            if (
                not isinstance(values, list)
                or not isinstance(probs, list)
                or len(values) != len(probs)
                or not values
            ):
                raise ValueError(
                    "values and probabilities must be lists of the same, non-zero length"
                )
            if any(q < 0 for q in probs) or abs(sum(probs) - 1.0) > 1e-9:
                raise ValueError(
                    f"probabilities must be non-negative and sum to 1 (they sum to {sum(probs):.6g})"
                )
        return self


class UncertainInput(StrictModel):
    """One uncertain input."""

    name: InputName = Field(
        **doc("Name of the input, used in outputs and in correlation.names", "investment_scale")
    )
    target: str = Field(
        json_schema_extra={"enum": list(TARGETS)},
        **doc(
            "The value the draw acts on: a project column, park, sector or model field",
            "projects.investment_yuan",
        ),
    )
    distribution: Distribution = Field(
        **doc(
            "Distribution of the draw",
            {"name": "triangular", "params": {"low": 0.8, "mode": 1.0, "high": 1.3}},
        )
    )
    apply: Literal["multiply", "add", "replace"] = Field(
        "multiply",
        **doc("How a draw is applied to the value in the file", "multiply"),
    )
    independent: bool = Field(
        False,
        **doc("One draw per selected project instead of one shared draw", True),
    )
    sectors: list[str] | None = Field(
        None,
        **doc(
            "Only projects of these sectors; all when omitted", ["new_energy"], "list of sector ids"
        ),
    )
    parks: list[str] | None = Field(
        None, **doc("Only projects in these parks; all when omitted", ["coop"], "list of park ids")
    )
    groups: list[str] | None = Field(
        None,
        **doc(
            "Only projects of these groups; all when omitted", ["relocated"], "list of group names"
        ),
    )
    projects: list[str] | None = Field(
        None, **doc("Only these projects; all when omitted", ["P01", "P02"], "list of project ids")
    )
    description: str = Field(
        "",
        **doc(
            "What the uncertainty is and where its range comes from",
            "capex overruns of comparable parks",
        ),
    )

    @property
    def target_spec(self) -> tuple[str, str, tuple[float, float], bool]:
        """What the target is: ``TARGETS[target]``, as (model input, kind, range, whole)."""
        return TARGETS[self.target]

    @model_validator(mode="after")
    def _target(self) -> UncertainInput:
        if self.target not in TARGETS:
            msg = unknown_name("target", self.target, TARGETS)
            raise ValueError(msg.replace("target", f"target {self.target!r}", 1))
        _, kind, _, _ = TARGETS[self.target]
        if kind == "model" and (
            self.independent or self.sectors or self.parks or self.groups or self.projects
        ):
            raise ValueError(
                f"{self.target} is scenario wide: it takes no filters and cannot be independent"
            )
        if self.distribution.name == "bernoulli" and self.target != "projects.landing_probability":
            raise ValueError(
                "a bernoulli distribution is for projects.landing_probability (whether a project lands)"
            )
        if (
            self.target == "projects.landing_probability"
            and self.distribution.name == "bernoulli"
            and self.apply != "replace"
        ):
            raise ValueError("landing draws replace the landing probability: use apply = 'replace'")
        return self


class Correlation(StrictModel):
    """Rank (Spearman) correlation between shared-draw inputs, by a Gaussian copula."""

    names: list[str] = Field(
        min_length=2,
        **doc(
            "Names of the correlated inputs (shared-draw inputs only)",
            ["investment_scale", "sales_scale"],
            "list of input names",
        ),
    )
    matrix: list[list[Finite]] = Field(
        **doc(
            "Rank correlation matrix, in the order of names: symmetric, ones on the diagonal",
            [[1.0, 0.5], [0.5, 1.0]],
            "correlation, -1 to 1",
        )
    )

    @model_validator(mode="after")
    def _psd(self) -> Correlation:
        n = len(self.names)
        m = np.asarray(self.matrix, dtype=float)
        if m.shape != (n, n):
            raise ValueError(f"matrix must be {n} x {n} to match names, got {m.shape}")
        if not np.allclose(m, m.T):
            raise ValueError("matrix must be symmetric")
        if not np.allclose(np.diag(m), 1.0):
            raise ValueError("matrix must have ones on the diagonal")
        if np.any(np.abs(m) > 1):
            raise ValueError("correlations must lie between -1 and 1")
        eig = np.linalg.eigvalsh(normal_correlation(m))
        if eig.min() < -1e-10:
            raise ValueError(
                f"matrix is not positive semi-definite (smallest eigenvalue {eig.min():.3g}): "
                "these correlations cannot hold together"
            )
        if len(set(self.names)) != n:
            raise ValueError("names must be distinct")
        return self

    def normal_matrix(self) -> np.ndarray:
        """The Pearson correlation of the Gaussian copula that gives these rank correlations."""
        return normal_correlation(np.asarray(self.matrix, dtype=float))


class UncertaintySpec(StrictModel):
    """The ``[uncertainty]`` section."""

    sampler: Literal["mc", "lhs", "sobol"] = Field(
        "lhs",
        **doc("Sampling method: mc (plain Monte Carlo), lhs (Latin hypercube), sobol", "lhs"),
    )
    chunk_draws: Annotated[int, Field(ge=1, le=100_000)] = Field(
        512, **doc("Draws evaluated at once (memory versus speed)", 512, "draws")
    )
    keep_draws: Annotated[int, Field(ge=1)] = Field(
        100_000, **doc("Most draws whose outcomes are kept in the result", 100000, "draws")
    )
    keep_paths: Annotated[int, Field(ge=1)] = Field(
        2_000, **doc("Most draws whose yearly paths are kept for fan charts", 2000, "draws")
    )
    inputs: list[UncertainInput] = Field(
        default_factory=list,
        **doc(
            "The uncertain inputs ([[uncertainty.inputs]])",
            [
                {
                    "name": "investment_scale",
                    "target": "projects.investment_yuan",
                    "distribution": {"name": "uniform", "params": {"low": 0.8, "high": 1.2}},
                }
            ],
        ),
    )
    correlation: Correlation | None = Field(
        None,
        **doc(
            "Rank correlation between shared-draw inputs",
            {"names": ["a", "b"], "matrix": [[1.0, 0.5], [0.5, 1.0]]},
        ),
    )

    @model_validator(mode="after")
    def _names(self) -> UncertaintySpec:
        names = [i.name for i in self.inputs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"input names must be unique; repeated: {sorted(dup)}")
        if self.correlation is not None:
            by = {i.name: i for i in self.inputs}
            for n in self.correlation.names:
                if n not in by:
                    raise ValueError(
                        f"correlation names unknown input {n!r}; inputs: {', '.join(names)}"
                    )
                if by[n].independent:
                    raise ValueError(
                        f"correlation needs shared-draw inputs; {n!r} has independent = true"
                    )
        return self


def normal_correlation(spearman: np.ndarray) -> np.ndarray:
    """Pearson correlation of the Gaussian copula giving a Spearman rank correlation.

    ``rho = 2 sin(pi rho_s / 6)`` (Kruskal 1958).
    """
    return 2.0 * np.sin(np.pi * np.asarray(spearman) / 6.0)
