"""Small scenarios and sweep files written next to a test, shared by the batch tests."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


PLUGIN = '''
"""A user rule for the tests: host keeps all, but it breaks when break_at is above one half."""
import benefitshare as bs
from benefitshare.rules.base import host_totals


def fragile_split(pool_yuan, ctx, *, break_at=0.0):
    """Host keeps all; raises when break_at > 0.5 (a rule that fails at run time)."""
    if break_at > 0.5:
        raise RuntimeError(f"fragile_split cannot split at break_at={break_at}")
    return host_totals(pool_yuan, ctx)


bs.register_rule("fragile_split", fragile_split, replace=True)
'''


def write_scenario(folder: Path, *, fragile: bool = False) -> Path:
    """The tiny scenario with an uncertain land-use tax (and optionally a rule that can fail)."""
    text = f'''
        base = "{(DATA / "tiny.toml").as_posix()}"

        [uncertainty]
        sampler = "mc"

        [[uncertainty.inputs]]
        name = "land_use_tax"
        target = "parks.land_use_tax_yuan_per_m2"
        distribution = {{ name = "uniform", params = {{ low = 0.8, high = 1.2 }} }}
    '''
    if fragile:
        text += """
        [[rules]]
        name = "host"
        rule = "host_keeps_all"

        [[rules]]
        name = "fixed_50_5y"
        rule = "fixed_ratio"
        params = { shares = { shenzhen = 0.5, shanwei = 0.5 }, term_years = 5 }

        [[rules]]
        name = "fragile"
        rule = "fragile_split"
        params = { break_at = 0.0 }
        """
    path = folder / ("fragile.toml" if fragile else "tiny_uncertain.toml")
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def sweep_dict(
    scenario: Path,
    *,
    draws: int = 6,
    shares=(0.2, 0.5, 0.8),
    growth=(0.0, 0.02),
    seed: int = 11,
    uncertainty=("growth", "model.sales_growth_rate"),
) -> dict:
    """A grid of partner shares × sales growth (or another input) on the test scenario, as a dict."""
    return {
        "sweep": {
            "scenarios": [str(scenario)],
            "rules": ["host", "fixed_50_5y", "equity"],
            "draws": draws,
            "seed": seed,
        },
        "report": {"metric": "npv_yuan", "rule": "fixed_50_5y", "party": "shenzhen"},
        "levers": {
            "design": "grid",
            "inputs": [
                {
                    "name": "partner_share",
                    "path": "rules[fixed_50_5y].params.shares.shenzhen",
                    "complement": "rules[fixed_50_5y].params.shares.shanwei",
                    "values": list(shares),
                }
            ],
        },
        "uncertainties": {
            "design": "grid",
            "inputs": [{"name": uncertainty[0], "path": uncertainty[1], "values": list(growth)}],
        },
    }


def write_sweep_file(folder: Path, scenario: Path, name: str = "grid.toml", **kwargs) -> Path:
    """The same sweep as a TOML file."""
    spec = sweep_dict(scenario, **kwargs)
    sw, lev, unc = spec["sweep"], spec["levers"]["inputs"][0], spec["uncertainties"]["inputs"][0]
    text = f'''
        [sweep]
        title = "test grid"
        scenarios = ["{scenario.name}"]
        rules = {json.dumps(sw["rules"])}
        draws = {sw["draws"]}
        seed = {sw["seed"]}

        [report]
        rule = "fixed_50_5y"
        party = "shenzhen"

        [levers]
        design = "grid"
        [[levers.inputs]]
        name = "partner_share"
        path = "{lev["path"]}"
        complement = "{lev["complement"]}"
        values = {json.dumps(lev["values"])}

        [uncertainties]
        design = "grid"
        [[uncertainties.inputs]]
        name = "{unc["name"]}"
        path = "{unc["path"]}"
        values = {json.dumps(unc["values"])}
    '''
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
