"""benefitshare: tax and revenue flows of Shenzhen-Shanwei co-built parks, and how they divide.

>>> import benefitshare as bs
>>> scn = bs.load_scenario("scenarios/reference.toml")      # doctest: +SKIP
>>> res = bs.run(scn)                                        # doctest: +SKIP
>>> res.summary()                                            # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .bargaining import nash_split, shapley_values
from .compare import compare_rules
from .errors import RuleError, ScenarioError
from .pipeline import run
from .result import Result
from .rules import SPLIT_RULES, register_rule
from .scenario import Scenario, load_scenario
from .solver import solve_rule
from .store import load_sweep
from .sweep import sweep

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
    "solve_rule",
    "shapley_values",
    "nash_split",
    "sweep",
    "load_sweep",
]
