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

from pydantic import ConfigDict, Field, field_validator, model_validator

from benefitshare.glossary import TAXES
from benefitshare.rules.spec import (
    Fraction,
    Identifier,
    RuleSpec,
    StrictModel,
    Year,
    YearKey,
    Yuan,
    bounded,
    doc,
)
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
    "partial_schema",
]

#: The JSON Schema dialect of :func:`benefitshare.scenario.load.json_schema`.
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _editor_schema(schema: dict, cls: type) -> None:
    """Keys that make the scenario schema usable by editors (Taplo / Even Better TOML)."""
    schema["$schema"] = SCHEMA_DIALECT
    schema["description"] = (
        "A benefitshare scenario file (TOML). Write `#:schema ./benefitshare.schema.json` as "
        "its first line for completion and checks in editors that read JSON Schema."
    )


def partial_schema(schema: dict) -> dict:
    """A copy of a JSON Schema with no field required, for a scenario that inherits (``base``).

    A file that inherits gives only what it changes, so nothing is required in it; types,
    ranges, allowed values and unknown keys are still checked.
    """
    if isinstance(schema, dict):
        return {
            k: partial_schema(v) for k, v in schema.items() if k not in ("required", "minItems")
        }
    if isinstance(schema, list):
        return [partial_schema(v) for v in schema]
    return schema


FractionSteps = dict[YearKey, Fraction]
Payments = dict[YearKey, Yuan]
GrowthRate = bounded(-0.5, 0.5)


class Header(StrictModel):
    """Who wrote the scenario, what it is, what it is compared against, and its sources."""

    title: str = Field(
        min_length=1, **doc("Title shown on reports and charts", "Shenzhen-Shanwei reference")
    )
    description: str = Field(
        min_length=1,
        **doc("What the scenario is for, in a sentence or two", "52 projects, 2026-2050"),
    )
    baseline: str = Field(
        min_length=1,
        **doc("The rule or scenario this one is read against", "host_keeps_all"),
    )
    sources: list[str] = Field(
        default_factory=list,
        **doc("Documents the numbers come from", ["深汕特别合作区 2023 statistical bulletin"]),
    )
    expected: dict[str, float] = Field(
        default_factory=dict,
        **doc(
            "Headline expected values, checked by the test suite (name -> number)",
            {"npv_host_keeps_all_shanwei_yi": 25.38},
        ),
    )


class ModelSettings(StrictModel):
    """Horizon, discounting and economy-wide assumptions."""

    start_year: Year = Field(**doc("First model year", 2026, "year"))
    end_year: Year = Field(
        **doc("Last model year, on or after start_year (at most 100 years later)", 2050, "year")
    )
    projects: str = Field(
        min_length=1,
        **doc("CSV project table, relative to this file", "reference_projects.csv", "path"),
    )
    discount_rate: bounded(0.0, 0.5) = Field(
        0.06,
        **doc("Discount rate for NPVs (a party may have its own)", 0.06, "fraction/year"),
    )
    price_basis: Literal["nominal", "real"] = Field(
        "nominal",
        **doc(
            "Whether amounts and the discount rate are nominal or real (a label: the "
            "computation does not convert)",
            "nominal",
        ),
    )
    sales_growth_rate: dict[YearKey, GrowthRate] | GrowthRate = Field(
        0.0,
        **doc(
            "Annual growth of sales at full capacity: one rate, or year steps that carry forward",
            {"2026": 0.03, "2031": 0.02},
            "fraction/year",
        ),
    )
    depreciation_years: Annotated[int, Field(ge=1, le=60)] = Field(
        10, **doc("Straight-line depreciation period of investment", 10, "years")
    )
    loss_carryforward_years: Annotated[int, Field(ge=0, le=20)] = Field(
        5, **doc("Years a tax loss may be carried forward (CIT law: 5)", 5, "years")
    )
    pit_effective_rate: Fraction = Field(
        0.03, **doc("Effective personal income tax rate on wages", 0.03, "fraction")
    )
    property_tax_deduction_rate: bounded(0.1, 0.3) = Field(
        0.3,
        **doc(
            "Deduction from a building's original value before property tax (by province, 10%-30%)",
            0.3,
            "fraction",
        ),
    )
    stamp_on_sales: bool = Field(
        True, **doc("Whether stamp duty is charged on sales contracts", True)
    )

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

    name: str = Field(min_length=1, **doc("Display name (any language)", "深圳 Shenzhen"))
    role: Literal["host", "partner", "other"] = Field(
        **doc(
            "host: hosts parks; partner: the cooperating city; other: any other participant",
            "partner",
        )
    )
    discount_rate: bounded(0.0, 0.5) | None = Field(
        None,
        **doc(
            "The party's own discount rate; model.discount_rate when omitted", 0.05, "fraction/year"
        ),
    )


class Park(StrictModel):
    """A park and its local fiscal setting."""

    name: str = Field(min_length=1, **doc("Display name (any language)", "深汕合作区 coop park"))
    host: Identifier = Field(
        **doc(
            "Id of the party whose territory the park is in; it receives the park's local revenue",
            "shanwei",
            "party id",
        )
    )
    level: Literal["municipal", "county"] = Field(
        **doc("Administrative level of the park (descriptive only)", "municipal")
    )
    location_class: Literal["city", "county_town", "other"] = Field(
        **doc(
            "Location class for urban maintenance and construction tax (UMT Law art. 4): "
            "city 7%, county_town 5%, other 1%",
            "city",
        )
    )
    county_share: Fraction = Field(
        0.0,
        **doc(
            "Share of the sub-provincial local part that the county or zone tier keeps "
            "(0 for a municipal park)",
            0.5,
            "fraction",
        ),
    )
    land_use_tax_yuan_per_m2: Annotated[float, Field(ge=0.0, le=30.0)] = Field(
        0.0, **doc("Annual urban land-use tax rate (legal range 0.6-30)", 6.0, "yuan/m²/year")
    )
    land_price_yuan_per_mu: Yuan = Field(0.0, **doc("Land-transfer price", 200000.0, "yuan/mu"))
    land_acquisition_cost_yuan_per_mu: Yuan = Field(
        0.0, **doc("Host's cost of acquiring the land", 150000.0, "yuan/mu")
    )


class Sector(StrictModel):
    """A sector; ``emerging`` marks the five key emerging fields."""

    name: str = Field(min_length=1, **doc("Display name (any language)", "新能源 New energy"))
    emerging: bool = Field(False, **doc("One of the five key emerging fields (descriptive)", True))
    additionality: Fraction = Field(
        1.0,
        **doc(
            "Probability that a project of this sector comes only because of the "
            "cooperation (its counterfactual landing is 1 - additionality)",
            0.5,
            "fraction",
        ),
    )


class Tiers(StrictModel):
    """Province's share of the local part of each tax, by year (the rest stays below)."""

    provincial_share: dict[str, FractionSteps] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"enum": list(TAXES)}},
        **doc(
            "Province's share of the local part of each tax (tax id -> year steps that carry "
            "forward)",
            {"vat": {"2026": 0.1}, "cit": {"2026": 0.1}},
            "fraction",
        ),
    )


class Pool(StrictModel):
    """What the agreement shares."""

    taxes: list[str] = Field(
        default_factory=lambda: [t for t in TAXES if t != "land_transfer"],
        json_schema_extra={"items": {"type": "string", "enum": list(TAXES)}},
        **doc(
            "Taxes in the pool; every tax but land_transfer when omitted",
            ["vat", "cit"],
            "list of tax ids",
        ),
    )
    tiers: list[Literal["central", "provincial", "city", "county"]] = Field(
        default_factory=lambda: ["city", "county"],
        **doc("Government tiers whose part of each tax is pooled", ["city", "county"]),
    )
    parks: list[str] | None = Field(
        None, **doc("Parks in the pool; all when omitted", ["coop"], "list of park ids")
    )
    groups: list[str] | None = Field(
        None,
        **doc("Project groups in the pool; all when omitted", ["relocated"], "list of group names"),
    )
    net_of_rebates: bool = Field(
        True, **doc("Deduct the local part of tax rebates from the pool", True)
    )


class Cost(StrictModel):
    """A cost borne by one party, paid in the years named (payments do not carry forward)."""

    name: str = Field(min_length=1, **doc("What the cost is", "Park roads"))
    kind: Literal["infrastructure", "subsidy", "land_acquisition", "platform_capital", "other"] = (
        Field(
            **doc(
                "Kind of cost (rules such as cost_recovery_first select by kind)", "infrastructure"
            )
        )
    )
    party: Identifier = Field(**doc("Id of the party that pays", "shenzhen", "party id"))
    payments_yuan: Payments = Field(
        **doc(
            "Payments by year (not carried forward)",
            {"2026": 10000000.0, "2027": 5000000.0},
            "yuan",
        )
    )


class Platform(StrictModel):
    """The jointly owned platform company: equity, paid-in capital and dividends."""

    name: str = Field("platform company", **doc("Display name", "深汕投资控股 platform"))
    equity: dict[str, Fraction] = Field(
        **doc(
            "Equity share of each party (party id -> share, summing to 1)",
            {"shenzhen": 0.6, "shanwei": 0.4},
            "fraction",
        )
    )
    capital_payments_yuan: Payments = Field(
        default_factory=dict,
        **doc(
            "Paid-in capital by year, paid by the parties in proportion to equity",
            {"2026": 10000000.0},
            "yuan",
        ),
    )
    return_on_capital_rate: dict[YearKey, bounded(-1.0, 1.0)] | bounded(-1.0, 1.0) = Field(
        0.0,
        **doc(
            "Profit as a share of cumulative paid-in capital: one rate, or year steps",
            {"2026": 0.0, "2028": 0.1},
            "fraction/year",
        ),
    )
    payout_rate: Fraction = Field(
        0.0, **doc("Share of a positive profit paid out as dividends", 0.5, "fraction")
    )


class Statistics(StrictModel):
    """How value-added (GDP) credit is attributed, separately from money."""

    method: Literal["host", "shares", "equity", "double"] = Field(
        "host",
        **doc(
            "host: by location; shares: fixed shares; equity: platform equity; double: hosts "
            "and every partner count all",
            "host",
        ),
    )
    shares: dict[str, Fraction] | None = Field(
        None,
        **doc(
            "Fixed shares of value added for method = 'shares' (party id -> share)",
            {"shenzhen": 0.5, "shanwei": 0.5},
            "fraction",
        ),
    )


class Counterfactual(StrictModel):
    """The no-agreement world that each party's standalone value is measured in."""

    origin_local_share: Fraction = Field(
        0.45,
        **doc(
            "Share of a relocated firm's pre-move tax that the origin city keeps locally; it "
            "keeps this stream if the firm does not move",
            0.45,
            "fraction",
        ),
    )
    stay_probability: Fraction = Field(
        1.0,
        **doc(
            "Probability that a relocated firm would have stayed in the origin city without "
            "the cooperation (otherwise it would have moved elsewhere)",
            0.8,
            "fraction",
        ),
    )


class ScenarioSpec(StrictModel):
    """The content of a scenario file after inheritance and overrides."""

    model_config = ConfigDict(json_schema_extra=_editor_schema)

    header: Header = Field(**doc("Title, description, baseline and sources", {"title": "..."}))
    model: ModelSettings = Field(
        **doc(
            "Horizon, discounting, project table and economy-wide assumptions",
            {"start_year": 2026, "end_year": 2050, "projects": "projects.csv"},
        )
    )
    parties: dict[Identifier, Party] = Field(
        **doc(
            "Parties to the agreement by id ([parties.<id>])",
            {"shenzhen": {"name": "Shenzhen", "role": "partner"}},
        )
    )
    parks: dict[Identifier, Park] = Field(
        **doc(
            "Parks by id ([parks.<id>])",
            {
                "coop": {
                    "name": "Coop park",
                    "host": "shanwei",
                    "level": "municipal",
                    "location_class": "city",
                }
            },
        )
    )
    sectors: dict[Identifier, Sector] = Field(
        **doc(
            "Sectors by id ([sectors.<id>]); the project table's sector column names them",
            {"mfg": {"name": "Manufacturing", "additionality": 0.5}},
        )
    )
    tiers: Tiers = Field(
        default_factory=Tiers,
        **doc(
            "Province's share of the local part of each tax",
            {"provincial_share": {"vat": {"2026": 0.1}}},
        ),
    )
    pool: Pool = Field(
        default_factory=Pool,
        **doc(
            "What the agreement shares: taxes, tiers, parks and groups",
            {"taxes": ["vat", "cit"], "tiers": ["city", "county"]},
        ),
    )
    costs: list[Cost] = Field(
        default_factory=list,
        **doc(
            "Costs borne by the parties ([[costs]])",
            [
                {
                    "name": "Park roads",
                    "kind": "infrastructure",
                    "party": "shenzhen",
                    "payments_yuan": {"2026": 10000000.0},
                }
            ],
        ),
    )
    platform: Platform | None = Field(
        None,
        **doc(
            "The jointly owned platform company, when there is one",
            {"equity": {"shenzhen": 0.6, "shanwei": 0.4}},
        ),
    )
    statistics: Statistics = Field(
        default_factory=Statistics,
        **doc("How value-added (GDP) credit is attributed", {"method": "double"}),
    )
    counterfactual: Counterfactual = Field(
        default_factory=Counterfactual,
        **doc("The no-agreement world", {"stay_probability": 0.8}),
    )
    rules: list[RuleSpec] = Field(
        min_length=1,
        **doc(
            "Candidate split mechanisms ([[rules]]), at least one",
            [
                {
                    "name": "fixed_50_50",
                    "rule": "fixed_ratio",
                    "params": {"shares": {"shenzhen": 0.5, "shanwei": 0.5}},
                }
            ],
        ),
    )
    uncertainty: UncertaintySpec = Field(
        default_factory=UncertaintySpec,
        **doc("Uncertain inputs, their distributions and correlation", {"sampler": "lhs"}),
    )
    provenance: dict[str, str] = Field(
        default_factory=dict,
        **doc(
            "Source of each number: field path -> 'source: ...' or 'assumption: ...'",
            {"model.discount_rate": "assumption: social discount rate"},
        ),
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
