"""Split rules: one interface, a registry by name, one module per family.

See :mod:`benefitshare.rules.base` for the interface. Importing this package registers the
built-in rules.
"""

from . import bargaining_rules, fixed_return, progressive, recovery, relocation, simple, trigger  # noqa: F401  (register the built-ins)  # noqa: F401  (register more built-ins)
from .base import (
    CONSERVATION_TOL_YUAN,
    SPLIT_RULES,
    RuleContext,
    RuleDef,
    RuleParams,
    get_rule,
    parse_params,
    register_rule,
    validate_params,
)
from .mechanism import PoolCache, apply_mechanism, clause_masks, tax_subsets

__all__ = [
    "CONSERVATION_TOL_YUAN",
    "PoolCache",
    "tax_subsets",
    "SPLIT_RULES",
    "RuleContext",
    "RuleDef",
    "RuleParams",
    "apply_mechanism",
    "clause_masks",
    "get_rule",
    "parse_params",
    "register_rule",
    "validate_params",
]
