"""The schema of a scenario file: a pydantic model per section and the whole :class:`ScenarioSpec`.

A scenario is a TOML file with a ``[header]`` and sections for the model horizon, parties, parks,
sectors, tiers, the shareable pool, costs, the platform company, the statistics ledger, the
counterfactual, the candidate split rules (:mod:`benefitshare.rules.spec`) and the uncertain
inputs (:mod:`benefitshare.scenario.uncertainty`); see docs/model.md §2-§3. These models check
each field on its own; checks across sections are in :mod:`benefitshare.scenario.checks`.
Reading files, inheritance and overrides are in :mod:`benefitshare.scenario.load`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from benefitshare.glossary import TAXES
from benefitshare.rules.spec import RuleSpec, StrictModel, Year
from benefitshare.scenario.uncertainty import UncertaintySpec

__all__ = [
    "Header",
    "ModelSettings",
    "Party",
    "Park",
    "Sector",
    "Tiers",
    "Pool",
    "Cost",
    "Platform",
    "Statistics",
    "Counterfactual",
    "ScenarioSpec",
]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
FractionSteps = dict[Year, Fraction]
Payments = dict[Year, NonNegative]


class Header(StrictModel):
    """Who wrote the scenario, what it is, what it is compared against, and its sources."""

    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    baseline: str = Field(
        min_length=1, description="The rule or scenario this one is read against."
    )
    sources: list[str] = Field(default_factory=list)
    expected: dict[str, float] = Field(
        default_factory=dict, description="Headline expected values, checked by the test suite."
    )


class ModelSettings(StrictModel):
    """Horizon, discounting and economy-wide assumptions."""

    start_year: Year
    end_year: Year
    projects: str = Field(min_length=1, description="CSV project table, relative to this file.")
    discount_rate: Annotated[float, Field(ge=0.0, le=0.5)] = 0.06
    price_basis: Literal["nominal", "real"] = "nominal"
    sales_growth_rate: (
        dict[Year, Annotated[float, Field(ge=-0.5, le=0.5)]]
        | Annotated[float, Field(ge=-0.5, le=0.5)]
    ) = 0.0
    depreciation_years: Annotated[int, Field(ge=1, le=60)] = 10
    loss_carryforward_years: Annotated[int, Field(ge=0, le=20)] = 5
    pit_effective_rate: Fraction = 0.03
    property_tax_deduction_rate: Annotated[float, Field(ge=0.1, le=0.3)] = 0.3
    stamp_on_sales: bool = True

    @model_validator(mode="after")
    def _horizon(self) -> ModelSettings:
        if self.end_year < self.start_year:
            raise ValueError(
                f"end_year {self.end_year} is before start_year {self.start_year}: "
                "end_year must be on or after start_year"
            )
        if self.end_year - self.start_year > 100:
            raise ValueError("the horizon may be at most 100 years")
        return self


class Party(StrictModel):
    """A party to the agreement (a city, a county, a platform company)."""

    name: str = Field(min_length=1)
    role: Literal["host", "partner", "other"]
    discount_rate: Annotated[float, Field(ge=0.0, le=0.5)] | None = None


class Park(StrictModel):
    """A park and its local fiscal setting."""

    name: str = Field(min_length=1)
    host: Identifier
    level: Literal["municipal", "county"]
    location_class: Literal["city", "county_town", "other"] = Field(
        description="Location class for urban maintenance and construction tax (UMT Law art. 4)."
    )
    county_share: Fraction = Field(
        0.0,
        description="Share of the sub-provincial local part that the county or zone tier keeps.",
    )
    land_use_tax_yuan_per_m2: Annotated[float, Field(ge=0.0, le=30.0)] = 0.0
    land_price_yuan_per_mu: NonNegative = 0.0
    land_acquisition_cost_yuan_per_mu: NonNegative = 0.0


class Sector(StrictModel):
    """A sector; ``emerging`` marks the five key emerging fields."""

    name: str = Field(min_length=1)
    emerging: bool = False
    additionality: Fraction = Field(
        1.0,
        description="Probability that a project of this sector comes only because of the "
        "cooperation (its counterfactual landing is 1 - additionality).",
    )


class Tiers(StrictModel):
    """Province's share of the local part of each tax, by year (the rest stays below)."""

    provincial_share: dict[str, FractionSteps] = Field(default_factory=dict)


class Pool(StrictModel):
    """What the agreement shares."""

    taxes: list[str] = Field(default_factory=lambda: [t for t in TAXES if t != "land_transfer"])
    tiers: list[Literal["central", "provincial", "city", "county"]] = Field(
        default_factory=lambda: ["city", "county"]
    )
    parks: list[str] | None = Field(None, description="Parks in the pool; all when omitted.")
    groups: list[str] | None = Field(
        None, description="Project groups in the pool; all when omitted."
    )
    net_of_rebates: bool = True


class Cost(StrictModel):
    """A cost borne by one party, paid in the years named (payments do not carry forward)."""

    name: str = Field(min_length=1)
    kind: Literal["infrastructure", "subsidy", "land_acquisition", "platform_capital", "other"]
    party: Identifier
    payments_yuan: Payments


class Platform(StrictModel):
    """The jointly owned platform company: equity, paid-in capital and dividends."""

    name: str = "platform company"
    equity: dict[str, Fraction]
    capital_payments_yuan: Payments = Field(default_factory=dict)
    return_on_capital_rate: dict[Year, Annotated[float, Field(ge=-1.0, le=1.0)]] | float = 0.0
    payout_rate: Fraction = 0.0


class Statistics(StrictModel):
    """How value-added (GDP) credit is attributed, separately from money."""

    method: Literal["host", "shares", "equity", "double"] = "host"
    shares: dict[str, Fraction] | None = None


class Counterfactual(StrictModel):
    """The no-agreement world that each party's standalone value is measured in."""

    origin_local_share: Fraction = Field(
        0.45,
        description="Share of a relocated firm's pre-move tax that the origin city keeps locally "
        "[fraction]; it keeps this stream if the firm does not move.",
    )
    stay_probability: Fraction = Field(
        1.0,
        description="Probability that a relocated firm would have stayed in the origin city "
        "without the cooperation (otherwise it would have moved elsewhere) [fraction].",
    )


class ScenarioSpec(StrictModel):
    """The content of a scenario file after inheritance and overrides."""

    header: Header
    model: ModelSettings
    parties: dict[Identifier, Party]
    parks: dict[Identifier, Park]
    sectors: dict[Identifier, Sector]
    tiers: Tiers = Field(default_factory=Tiers)
    pool: Pool = Field(default_factory=Pool)
    costs: list[Cost] = Field(default_factory=list)
    platform: Platform | None = None
    statistics: Statistics = Field(default_factory=Statistics)
    counterfactual: Counterfactual = Field(default_factory=Counterfactual)
    rules: list[RuleSpec] = Field(min_length=1)
    uncertainty: UncertaintySpec = Field(default_factory=UncertaintySpec)
    provenance: dict[str, str] = Field(
        default_factory=dict,
        description="Source of each number: field path -> 'source: ...' or 'assumption: ...'.",
    )

    @field_validator("provenance")
    @classmethod
    def _provenance_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not text.lower().startswith(("source", "assumption")):
                raise ValueError(
                    f"provenance of {key!r} must start with 'source:' or 'assumption:'"
                )
        return value

    @property
    def party_ids(self) -> list[str]:
        return list(self.parties)

    def party_index(self, role: str) -> int:
        """Index of the first party with ``role``; raises KeyError when there is none."""
        for i, p in enumerate(self.parties.values()):
            if p.role == role:
                return i
        raise KeyError(role)
