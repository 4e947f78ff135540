"""Names shared by every stage: tax types, government tiers, cost kinds.

One name per quantity, used in every table and file. Money is in yuan (``_yuan``), rates are
fractions (``_rate``, 0.13 not 13), years are calendar integers, durations ``_years``, areas ``_mu``
(1 mu = 10000/15 m²).
"""

from __future__ import annotations

__all__ = ["TAXES", "TAX_LABELS", "TIERS", "LOCAL_TIERS", "COST_KINDS", "M2_PER_MU", "YUAN_PER_YI"]

#: Tax and revenue types, in display order. ``land_transfer`` is government-fund revenue, not tax.
TAXES: tuple[str, ...] = (
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

TAX_LABELS: dict[str, str] = {
    "vat": "VAT 增值税",
    "cit": "Corporate income tax 企业所得税",
    "pit": "Personal income tax 个人所得税",
    "umt": "Urban maintenance & construction tax 城建税",
    "edu": "Education surcharge 教育费附加",
    "local_edu": "Local education surcharge 地方教育附加",
    "property": "Property tax 房产税",
    "land_use": "Urban land-use tax 城镇土地使用税",
    "stamp": "Stamp duty 印花税",
    "land_transfer": "Land-transfer revenue 土地出让收入",
}

#: Government tiers, top down. Central and provincial are tiers, never parties to the split.
TIERS: tuple[str, ...] = ("central", "provincial", "city", "county")
LOCAL_TIERS: tuple[str, ...] = ("city", "county")

#: Kinds of cost a party can bear.
COST_KINDS: tuple[str, ...] = (
    "infrastructure",
    "subsidy",
    "land_acquisition",
    "platform_capital",
    "other",
)

M2_PER_MU: float = 10000.0 / 15.0

#: Yuan in one 亿元 (hundred million yuan), the unit of display. The model computes in yuan.
YUAN_PER_YI: float = 1e8
