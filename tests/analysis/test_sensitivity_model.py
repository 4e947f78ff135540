"""The model of the uncertain inputs: columns mapped onto inputs; no inputs, no analysis."""

from __future__ import annotations

import numpy as np
import pytest

import benefitshare as bs
from benefitshare.analysis.sensitivity_model import sensitivity_model
from benefitshare.analysis.sobol import sobol
from benefitshare.analysis.tornado import tornado

RULE = "fixed_50_50"
OUTCOME = f"npv:shanwei:{RULE}"


def test_a_scenario_without_uncertain_inputs_is_refused(tiny):
    with pytest.raises(bs.ScenarioError, match=r"declares no uncertain inputs"):
        tornado(tiny, "npv:shanwei:host")
    with pytest.raises(bs.ScenarioError, match=r"declares no uncertain inputs"):
        sobol(tiny, "npv:shanwei:host", n=64)


def test_the_model_function_maps_each_column_onto_the_inputs(reference):
    """One column of x is one draw: here a model-wide additive input against deterministic runs."""
    scn = reference.with_overrides(
        {
            "uncertainty.inputs": [
                {
                    "name": "growth",
                    "target": "model.sales_growth_rate",
                    "apply": "add",
                    "distribution": {"name": "normal", "params": {"mean": 0.0, "sd": 0.01}},
                },
                {
                    "name": "margin",
                    "target": "projects.profit_margin",
                    "sectors": ["ai"],
                    "distribution": {"name": "uniform", "params": {"low": 1.0, "high": 1.0}},
                },
            ],
            "uncertainty.correlation": None,
        }
    )
    m = sensitivity_model(scn, OUTCOME, chunk_draws=2)
    assert m.names == ("growth", "margin")
    x = np.array([[-0.01, 0.0, 0.005, 0.02, -0.003], [1.0] * 5])
    y = m.func(x)
    assert y.shape == (1, 5)
    for j, dg in enumerate(x[0]):
        moved = bs.run(scn.with_overrides({"model.sales_growth_rate": 0.02 + dg}), rules=[RULE])
        assert y[0, j] == pytest.approx(
            moved.summary().set_index("party").loc["shanwei", "npv_yuan"], rel=1e-12
        )
