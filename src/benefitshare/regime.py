"""The packaged tax regime: statutory rates and central/local shares by year, with references.

A leaf of the package (it imports only the other leaves). The regime is read from
``data/tax_regime.toml``, in which every value carries its legal reference and a confidence label
(docs/model.md §3.3). The scenario checks that the model horizon is covered by it; the tax stage
(``model/taxes.py``) and the tier split read their rates and shares from it.
"""

from __future__ import annotations

import dataclasses
import tomllib
from functools import cache
from importlib import resources

import numpy as np

from benefitshare.glossary import TAXES
from benefitshare.schedules import expand_steps

__all__ = ["TaxParameter", "load_tax_regime", "regime_schedule", "VAT_CATEGORY_RATE"]

#: Which regime rate applies to each project VAT category.
VAT_CATEGORY_RATE = {"goods": "vat_goods", "services": "vat_services", "transport": "vat_transport"}


@dataclasses.dataclass(frozen=True)
class TaxParameter:
    """A packaged tax parameter: steps by year with its legal reference."""

    name: str
    description: str
    unit: str
    values: dict[int, float]
    reference: str
    confidence: str


@cache
def load_tax_regime() -> dict[str, TaxParameter]:
    """The packaged tax regime, keyed ``central_share.vat``, ``rates.cit_standard``, ...

    Returns
    -------
    dict of str to TaxParameter
    """
    text = resources.files("benefitshare").joinpath("data/tax_regime.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    out = {}
    for group, entries in raw.items():
        for key, entry in entries.items():
            name = f"{group}.{key}"
            out[name] = TaxParameter(
                name=name,
                description=entry["description"],
                unit=entry["unit"],
                values={int(k): float(v) for k, v in entry["values"].items()},
                reference=entry["reference"],
                confidence=entry["confidence"],
            )
    missing = [t for t in TAXES if f"central_share.{t}" not in out]
    if missing:
        raise RuntimeError(f"packaged tax regime lacks central shares for {missing}")
    return out


def regime_schedule(name: str, years: np.ndarray) -> np.ndarray:
    """Dense per-year values of a packaged parameter, shape (Y,) [its unit]."""
    return expand_steps(load_tax_regime()[name].values, years)
