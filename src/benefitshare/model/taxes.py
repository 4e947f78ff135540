"""Stage 3, taxes: liabilities by tax type from tax bases and year-varying rates.

Pure vectorised functions over ``(draws, projects, years)``. The statutory rates come from the
packaged tax regime (``data/tax_regime.toml``), whose every value carries its legal reference; see
:func:`benefitshare.regime.load_tax_regime`. Figures the law leaves to the province or that no
source fixes are scenario parameters marked as assumptions.
"""

from __future__ import annotations

import numpy as np

from benefitshare.glossary import M2_PER_MU

__all__ = [
    "vat_yuan",
    "cit_rate",
    "cit_yuan",
    "pit_yuan",
    "surcharge_yuan",
    "property_tax_yuan",
    "land_use_tax_yuan",
    "stamp_duty_yuan",
    "land_transfer_yuan",
]


def vat_yuan(value_added_yuan, vat_rate):
    """Domestic VAT payable [yuan/year].

    Parameters
    ----------
    value_added_yuan : ndarray, shape (D, P, Y)
    vat_rate : array_like, shape broadcastable to (D, P, Y) [fraction]

    Notes
    -----
    ``VAT = rate * value added``: output tax on sales less input tax on purchases, with wages,
    depreciation and profit (the value added) as the base that is not credited. Input VAT on
    capital goods is not modelled (a simplification).

    References
    ----------
    全国人民代表大会常务委员会, 中华人民共和国增值税法 (2024-12-25), arts. 9-11.
    """
    return np.asarray(vat_rate) * value_added_yuan


def cit_rate(
    taxable_income_yuan,
    *,
    standard,
    high_tech,
    slpe_rate,
    slpe_threshold_yuan,
    is_high_tech,
    is_slpe,
):
    """Corporate income tax rate for each project-year [fraction], shape (D, P, Y).

    A high-tech enterprise pays the high-tech rate; a small low-profit enterprise pays the SLPE
    effective rate while its taxable income is within the threshold; the lower applicable rate
    wins; everyone else pays the standard rate.

    References
    ----------
    企业所得税法 (2018-12-29) arts. 4 and 28; 财政部 税务总局公告2023年第12号.
    """
    rate = np.broadcast_to(np.asarray(standard, dtype=float), np.shape(taxable_income_yuan))
    rate = np.where(is_high_tech, np.minimum(rate, high_tech), rate)
    small = is_slpe & (taxable_income_yuan <= slpe_threshold_yuan)
    return np.where(small, np.minimum(rate, slpe_rate), rate)


def cit_yuan(taxable_income_yuan, rate):
    """Corporate income tax [yuan/year] = rate * taxable income (企业所得税法 art. 4)."""
    return np.asarray(rate) * np.maximum(taxable_income_yuan, 0.0)


def pit_yuan(wages_yuan, pit_effective_rate):
    """Personal income tax withheld on wages [yuan/year].

    ``PIT = effective rate * wage bill``. The effective average rate is a scenario assumption: the
    progressive schedule applied to a wage distribution is not modelled.
    """
    return np.asarray(pit_effective_rate) * wages_yuan


def surcharge_yuan(vat_yuan_, rate, relief=0.0):
    """A surcharge levied on VAT paid: UMT, education surcharge or local education surcharge.

    Parameters
    ----------
    vat_yuan_ : ndarray, shape (D, P, Y) [yuan/year]
    rate : array_like [fraction]
        UMT by location class (城市维护建设税法 art. 4: 7% city, 5% county seat or town, 1%
        elsewhere); education surcharge 3% (征收教育费附加的暂行规定 art. 3); local education
        surcharge 2% (财综〔2010〕98号).
    relief : array_like [fraction]
        Reduction for small low-profit enterprises (财政部 税务总局公告2023年第12号).
    """
    return np.asarray(rate) * (1.0 - np.asarray(relief)) * vat_yuan_


def property_tax_yuan(building_value_yuan, *, deduction_rate, rate, in_use, relief=0.0):
    """Property tax on the cost basis [yuan/year].

    ``tax = rate * (1 - deduction) * original value`` for each year the buildings are in use.

    References
    ----------
    国务院, 中华人民共和国房产税暂行条例 (2011-01-08), arts. 3-4. The provincial deduction (10-30%)
    Guangdong applies was not found: a scenario assumption.
    """
    return np.where(
        in_use, rate * (1.0 - deduction_rate) * (1.0 - relief) * building_value_yuan, 0.0
    )


def land_use_tax_yuan(land_mu, *, rate_yuan_per_m2, occupied, relief=0.0):
    """Urban land-use tax [yuan/year] = land area [m²] * annual rate [yuan/m²] while occupied.

    References
    ----------
    国务院, 城镇土地使用税暂行条例 (2019-03-02), arts. 4-5 (0.6-30 yuan/m² by city size). The
    Shanwei grades were not found: the rate per park is a scenario assumption.
    """
    return np.where(occupied, land_mu * M2_PER_MU * rate_yuan_per_m2 * (1.0 - relief), 0.0)


def stamp_duty_yuan(sales_yuan, capex, *, sales_rate, construction_rate, relief=0.0):
    """Stamp duty on sale contracts and construction contracts [yuan/year].

    References
    ----------
    中华人民共和国印花税法 (2021-06-10), attached schedule (rates commonly cited; unverified).
    """
    return (sales_rate * sales_yuan + construction_rate * capex) * (1.0 - relief)


def land_transfer_yuan(land_mu, price_yuan_per_mu, start_year, years):
    """Land-transfer revenue [yuan/year]: the land price, paid once in the project's start year.

    Government-fund revenue (预算法 arts. 5 and 9), not tax. Prices are scenario assumptions.
    """
    hit = np.asarray(years)[None, None, :] == start_year
    return np.where(hit, np.asarray(land_mu) * price_yuan_per_mu, 0.0)
