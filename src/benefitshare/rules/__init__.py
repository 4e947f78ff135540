"""Split rules: one interface, a registry by name, one module per family.

See :mod:`benefitshare.rules.base` for the interface. Importing this package registers the
built-in rules.
"""

# importing the family modules registers the built-in rules
from benefitshare.rules import (  # noqa: F401
    bargaining_rules,
    fixed_return,
    progressive,
    recovery,
    relocation,
    simple,
    trigger,
)
from benefitshare.rules.base import (
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
from benefitshare.rules.mechanism import PoolCache, apply_mechanism, clause_masks, tax_subsets

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
