"""Build ``reference_projects.csv``: a synthetic table of the 52 projects introduced in 2025.

The project-level list of the 52 projects is not public. This script makes a table that matches
the published totals (52 projects, 13.15 billion yuan of planned investment, five emerging fields
plus other sectors, municipal and county parks) with project parameters that are modelling
assumptions, calibrated so that at full operation investment per mu and tax per mu sit near the
Guangdong development-zone benchmarks (see the scenario header). Run it to regenerate the table;
it is deterministic.

    python scenarios/build_reference_projects.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

TOTAL_INVESTMENT_YUAN = 13_150_000_000
N_PROJECTS = 52

# sector: (count, opfa, va_rate, margin, wage_share, vat_category, high_tech share, yuan per mu)
SECTORS = {
    "new_energy": (12, 1.6, 0.22, 0.07, 0.35, "goods", 0.6, 4.5e6),
    "low_altitude": (7, 1.3, 0.28, 0.09, 0.45, "goods", 0.7, 4.0e6),
    "agritech": (8, 1.1, 0.25, 0.06, 0.40, "goods", 0.3, 2.5e6),
    "domestic_os": (5, 0.9, 0.55, 0.12, 0.60, "services", 1.0, 8.0e6),
    "ai": (6, 0.9, 0.50, 0.10, 0.60, "services", 1.0, 8.0e6),
    "advanced_manufacturing": (7, 1.5, 0.22, 0.07, 0.40, "goods", 0.4, 4.0e6),
    "food_processing": (4, 1.8, 0.18, 0.05, 0.35, "goods", 0.0, 3.0e6),
    "logistics": (3, 0.8, 0.35, 0.06, 0.50, "transport", 0.0, 2.0e6),
}
PARKS_BY_SECTOR = {
    "new_energy": ["shenshan_coop_park", "haifeng_park", "lufeng_park"],
    "low_altitude": ["shenshan_coop_park", "city_district_park"],
    "agritech": ["luhe_park", "lufeng_park", "haifeng_park"],
    "domestic_os": ["shenshan_building", "city_district_park"],
    "ai": ["shenshan_building", "shenshan_coop_park"],
    "advanced_manufacturing": ["shenshan_coop_park", "haifeng_park", "lufeng_park"],
    "food_processing": ["luhe_park", "haifeng_park"],
    "logistics": ["city_district_park", "lufeng_park"],
}


def main(path: Path) -> None:
    rng = np.random.default_rng(20250101)
    assert sum(v[0] for v in SECTORS.values()) == N_PROJECTS
    sizes = rng.lognormal(mean=0.0, sigma=0.8, size=N_PROJECTS)
    invest = sizes / sizes.sum() * TOTAL_INVESTMENT_YUAN
    invest = np.round(invest / 1e6) * 1e6  # whole millions
    invest[np.argmax(invest)] += TOTAL_INVESTMENT_YUAN - invest.sum()
    order = np.argsort(-invest)
    rows = []
    i = 0
    for sector, (count, opfa, va, margin, wage, vat, ht_share, per_mu) in SECTORS.items():
        for j in range(count):
            inv = float(invest[order[(i * 7) % N_PROJECTS]])
            i += 1
            park = PARKS_BY_SECTOR[sector][j % len(PARKS_BY_SECTOR[sector])]
            if sector in ("domestic_os", "ai") and park == "shenshan_building":
                per_mu_p = per_mu * 4  # offices in a tower: little land
            else:
                per_mu_p = per_mu
            relocated = (j % 4 == 0) and sector not in ("agritech", "food_processing")
            small = inv < 60e6 and not relocated
            construction = 1 if inv < 150e6 else (2 if inv < 500e6 else 3)
            rows.append(
                {
                    "project_id": f"P{len(rows) + 1:02d}",
                    "name": f"{sector.replace('_', ' ')} project {j + 1}",
                    "park": park,
                    "sector": sector,
                    "group": "relocated" if relocated else "new",
                    "investment_yuan": f"{inv:.0f}",
                    "start_year": 2026 if j % 3 else 2027,
                    "construction_years": construction,
                    "phasing": "",
                    "ramp_up_years": 2 if sector in ("domestic_os", "ai", "logistics") else 3,
                    "output_per_fixed_asset": round(opfa * rng.uniform(0.85, 1.15), 3),
                    "value_added_rate": va,
                    "profit_margin": margin,
                    "wage_share": wage,
                    "vat_category": vat,
                    "land_mu": round(inv / per_mu_p, 1),
                    "building_value_yuan": f"{0.3 * inv:.0f}",
                    "relocated": str(relocated).lower(),
                    "pre_move_annual_tax_yuan": f"{(0.09 * inv * rng.uniform(0.6, 1.0)) if relocated else 0:.0f}",
                    "high_tech": str(bool(rng.uniform() < ht_share)).lower(),
                    "slpe": str(small).lower(),
                    "rebate_rate": 0.5 if j % 3 == 1 else 0.0,
                    "rebate_years": 3 if j % 3 == 1 else 0,
                    "landing_probability": 1.0 if j % 3 else 0.85,
                    "additionality": "",
                }
            )
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    total = sum(float(r["investment_yuan"]) for r in rows)
    print(f"{len(rows)} projects, {total:,.0f} yuan, {sum(r['land_mu'] for r in rows):,.1f} mu")


if __name__ == "__main__":
    main(Path(__file__).with_name("reference_projects.csv"))
