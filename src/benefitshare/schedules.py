"""Year-varying parameters written as sparse steps that carry forward.

A schedule ``{2026: 0.5, 2031: 0.4}`` means 0.5 from 2026 to 2030 and 0.4 from 2031 on, as
Tax-Calculator and OpenFisca write dated parameters. One function turns steps into a dense array.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["expand_steps", "expand_payments", "model_years"]


def model_years(start_year: int, end_year: int) -> np.ndarray:
    """Calendar years of the model horizon, inclusive [year]."""
    return np.arange(int(start_year), int(end_year) + 1, dtype=np.int64)


def expand_steps(steps: Mapping[int, float] | float, years: np.ndarray) -> np.ndarray:
    """Turn sparse year steps into one value per model year.

    Parameters
    ----------
    steps : mapping of int to float, or float
        Values keyed by the calendar year from which they apply; a plain number applies to all
        years.
    years : ndarray of int, shape (Y,)
        Model years [year].

    Returns
    -------
    ndarray of float, shape (Y,)

    Raises
    ------
    ValueError
        If the first model year precedes the first step, so that the schedule does not cover the
        horizon.

    Examples
    --------
    >>> expand_steps({2026: 0.5, 2028: 0.4}, np.arange(2026, 2030))
    array([0.5, 0.5, 0.4, 0.4])
    """
    years = np.asarray(years)
    if not isinstance(steps, Mapping):
        return np.full(years.shape, float(steps))
    keys = np.array(sorted(int(k) for k in steps), dtype=np.int64)
    if keys.size == 0:
        raise ValueError(
            f"schedule is empty: give a value for the first model year {int(years[0])} or earlier"
        )
    if years[0] < keys[0]:
        raise ValueError(
            f"schedule starts in {int(keys[0])} but the model starts in {int(years[0])}: "
            "give a value for the first model year or earlier"
        )
    vals = np.array([float(steps[k]) for k in sorted(steps, key=int)])
    idx = np.searchsorted(keys, years, side="right") - 1
    return vals[idx]


def expand_payments(payments: Mapping[int, float], years: np.ndarray) -> np.ndarray:
    """One-off amounts in the years named, zero elsewhere (payments do not carry forward).

    Parameters
    ----------
    payments : mapping of int to float
        Amount paid in each named year [yuan].
    years : ndarray of int, shape (Y,)

    Returns
    -------
    ndarray of float, shape (Y,)
    """
    out = np.zeros(np.shape(years), dtype=float)
    for year, amount in payments.items():
        hit = np.asarray(years) == int(year)
        out[hit] += float(amount)
    return out
