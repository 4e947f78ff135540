"""benefitshare: tax and revenue flows of Shenzhen-Shanwei co-built parks, and how they divide.

>>> import benefitshare as bs
>>> scn = bs.load_scenario("scenarios/reference.toml")      # doctest: +SKIP
>>> res = bs.run(scn)                                        # doctest: +SKIP
>>> res.summary()                                            # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from benefitshare.analysis.compare import compare_rules
from benefitshare.analysis.diff import diff_scenarios
from benefitshare.analysis.explain import explain
from benefitshare.analysis.sobol import sobol
from benefitshare.analysis.solver import solve_rule
from benefitshare.analysis.tornado import tornado
from benefitshare.batch.run import sweep
from benefitshare.batch.store import load_sweep
from benefitshare.errors import RuleError, ScenarioError
from benefitshare.model.result import Result
from benefitshare.model.run import run
from benefitshare.rules import SPLIT_RULES, register_rule
from benefitshare.rules.games import nash_split, shapley_values
from benefitshare.scenario.load import Scenario, load_scenario

try:
    __version__ = version("benefitshare")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "load_scenario",
    "run",
    "Result",
    "Scenario",
    "ScenarioError",
    "RuleError",
    "SPLIT_RULES",
    "register_rule",
    "compare_rules",
    "diff_scenarios",
    "explain",
    "solve_rule",
    "shapley_values",
    "nash_split",
    "sweep",
    "load_sweep",
    "tornado",
    "sobol",
]
