"""Build ``pessimistic_projects.csv`` from ``reference_projects.csv``: slower, later, less certain.

The pessimistic ramp-up scenario keeps the reference projects (same ids, parks, sectors,
investment, land and margins) and changes only how fast and how surely they arrive:

- every project takes ``EXTRA_RAMP_UP_YEARS`` more years to reach full capacity;
- every landing probability is multiplied by ``LANDING_FACTOR``;
- every second project (by position in the table: P02, P04, ...) starts
  ``START_DELAY_YEARS`` later.

All three numbers are modelling assumptions (no source): a stress case in which the 2025 intake
comes in as slowly as co-built parks in lagging regions often do. Every other cell is copied
unchanged, as text. The script is deterministic; run it to regenerate the table:

    python scenarios/build_pessimistic_projects.py
"""

from __future__ import annotations

import csv
from pathlib import Path

EXTRA_RAMP_UP_YEARS = 2
LANDING_FACTOR = 0.8
START_DELAY_YEARS = 1
DELAY_EVERY = 2

#: Upper bound of ``ramp_up_years`` accepted by the project table.
MAX_RAMP_UP_YEARS = 20


def pessimistic_row(row: dict[str, str], position: int) -> dict[str, str]:
    """The pessimistic version of one reference row (``position`` counts from 1).

    Parameters
    ----------
    row : dict of str to str
        One CSV row of the reference table, cells as text.
    position : int
        The row's position in the table, from 1.

    Returns
    -------
    dict of str to str
        The same row with ``ramp_up_years``, ``landing_probability`` and, for every
        ``DELAY_EVERY``-th row, ``start_year`` changed.
    """
    out = dict(row)
    ramp_up_years = min(int(row["ramp_up_years"]) + EXTRA_RAMP_UP_YEARS, MAX_RAMP_UP_YEARS)
    out["ramp_up_years"] = str(ramp_up_years)
    out["landing_probability"] = repr(round(float(row["landing_probability"]) * LANDING_FACTOR, 6))
    if position % DELAY_EVERY == 0:
        out["start_year"] = str(int(row["start_year"]) + START_DELAY_YEARS)
    return out


def main(source: Path, target: Path) -> None:
    with open(source, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        rows = [pessimistic_row(row, i) for i, row in enumerate(reader, start=1)]
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    delayed = len(rows) // DELAY_EVERY
    print(f"{len(rows)} projects; {delayed} start {START_DELAY_YEARS} year(s) later")


if __name__ == "__main__":
    here = Path(__file__).parent
    main(here / "reference_projects.csv", here / "pessimistic_projects.csv")
