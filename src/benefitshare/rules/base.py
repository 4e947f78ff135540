"""The split-rule interface and registry.

Every split rule is a function::

    fn(pool_yuan, ctx, **params) -> shares_yuan

where ``pool_yuan`` is the part of the shareable pool the rule covers, shaped
``(draws, projects, years)``, ``ctx`` is a :class:`RuleContext`, and ``shares_yuan`` is what each
party receives of it, summed over projects, shaped ``(parties, draws, years)``. For every draw
and year the parties' shares sum to the pool: ``shares_yuan.sum(0) == pool_yuan.sum(1)``. Rules
that need per-project logic (caps per firm) work per project inside and sum at the end. Rules are
registered by name with a pydantic model of their parameters.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from benefitshare.errors import RuleError, did_you_mean, unknown_name, validation_issues
from benefitshare.rules.spec import INPUT_CONFIG, shares_sum_problem, toml_text

__all__ = [
    "RuleContext",
    "RuleDef",
    "RuleParams",
    "ParamDoc",
    "SPLIT_RULES",
    "register_rule",
    "get_rule",
    "validate_params",
    "host_matrix",
    "host_totals",
    "pool_total",
    "split_totals",
    "check_shares",
    "CONSERVATION_TOL_YUAN",
]

#: Largest allowed difference between the parties' shares and the pool in one cell [yuan].
CONSERVATION_TOL_YUAN = 1e-6


@dataclasses.dataclass(frozen=True)
class ParamDoc:
    """What a rule parameter is, as ``benefitshare rules --params`` lists it.

    Attributes
    ----------
    name : str
        The parameter's path within ``params``: ``shares``, ``brackets[].up_to_yuan``.
    type : str
        Its type in words, with its range or allowed values: ``number 0..1``.
    default : str
        Its default as written in a scenario, ``"required"``, or ``"omitted"`` (none).
    unit : str
        Its unit (``fraction``, ``yuan``, ``year``), or ``""``.
    meaning : str
        What it is.
    example : str
        An example value as written in a scenario.
    """

    name: str
    type: str
    default: str
    unit: str
    meaning: str
    example: str


_DOC_PARTS = re.compile(
    r"^(?P<meaning>.*?)(?: \[(?P<unit>[^\]]+)\])?\. Example: (?P<example>.*)$", re.S
)


def _type_text(schema: dict) -> str:
    """A JSON Schema type in words: ``number 0..1``, ``list of text``, ``table of number``."""
    if "$ref" in schema:
        return "table"
    if "anyOf" in schema:
        kinds = [_type_text(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind in ("number", "integer"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        above = schema.get("exclusiveMinimum")
        if above is not None:
            return f"{kind} above {above:g}" + ("" if hi is None else f", at most {hi:g}")
        if lo is not None and hi is not None:
            return f"{kind} {lo:g}..{hi:g}"
        if lo is not None:
            return f"{kind} >= {lo:g}"
        return kind if hi is None else f"{kind} <= {hi:g}"
    if kind == "array":
        return "list of " + _type_text(schema.get("items", {}))
    if kind == "object":
        values = schema.get("additionalProperties")
        if values is None and schema.get("patternProperties"):
            values = next(iter(schema["patternProperties"].values()))
        return "table of " + _type_text(values) if isinstance(values, dict) else "table"
    return {"string": "text", "boolean": "true/false"}.get(kind, "any")


def _model_in(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """The model in a parameter's type (a table, or a list of tables), as (path suffix, model)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "", annotation
    origin = typing.get_origin(annotation)
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return ("[]" if origin is list else found[0]), found[1]
    return None


def _param_docs(model: type[BaseModel], prefix: str) -> list[ParamDoc]:
    out = []
    properties = model.model_json_schema().get("properties", {})
    for name, field in model.model_fields.items():
        prop = properties.get(name, {})
        parts = _DOC_PARTS.match(prop.get("description", ""))
        meaning, unit, example = (
            (parts["meaning"], parts["unit"] or "", parts["example"])
            if parts
            else (prop.get("description", ""), "", "")
        )
        if field.is_required():
            default = "required"
        else:
            value = field.get_default(call_default_factory=True)
            default = "omitted" if value is None else toml_text(value)
        out.append(ParamDoc(prefix + name, _type_text(prop), default, unit, meaning, example))
        inner = _model_in(field.annotation)
        if inner is not None:
            out.extend(_param_docs(inner[1], f"{prefix}{name}{inner[0]}."))
    return out


class RuleParams(BaseModel):
    """Base class of rule parameter models: unknown keys rejected, NaN refused, immutable,
    strict types (a boolean or a number in a string is not a number)."""

    model_config = INPUT_CONFIG

    def check(self, spec) -> list[tuple[tuple, Any, str]]:
        """Cross-checks against the scenario: ``(location, value, message)`` per problem."""
        return []

    @classmethod
    def param_docs(cls) -> list[ParamDoc]:
        """Each parameter's type, default, unit, meaning and example, from this model.

        Parameters inside a table or a list of tables follow their table
        (``brackets[].up_to_yuan``).
        """
        return _param_docs(cls, "")


@dataclasses.dataclass(frozen=True)
class RuleContext:
    """What a rule may know besides the pool.

    Attributes
    ----------
    years : ndarray of int, shape (Y,)
    party_ids : tuple of str
        Party ids; axis 0 of the rule output follows this order.
    host_index : ndarray of int, shape (P,)
        Index of each project's host party (the host of its park).
    partner_index : int
        Index of the partner city (first party with role ``partner``).
    relocated : ndarray of bool, shape (1, P, 1)
    pre_move_annual_tax_yuan : ndarray, shape (1, P, 1) [yuan/year]
    full_production_year : ndarray of int, shape (D or 1, P, 1)
        First year at full capacity [year].
    park : tuple of str, length P
    group : tuple of str, length P
    equity : dict of str to float or None
        Platform-company equity by party.
    costs_yuan : dict of str to ndarray
        Cost kind -> (D, K, Y) array of what each party pays [yuan/year], including the land
        acquisition of each project borne by its host.
    standalone_dky : ndarray, shape (D, K, Y), optional
        Each party's revenue without the agreement [yuan/year] (docs/model.md §3.6).
    outside_pool_net_dky : ndarray, shape (D, K, Y), optional
        Each party's net flows outside the pool: local revenue it keeps, dividends, less its
        costs [yuan/year].
    pool_total_dy : ndarray, shape (D, Y), optional
        The whole shareable pool, whatever part a clause covers [yuan/year].
    discount_factors_ky : ndarray, shape (K, Y), optional
        Each party's discount factors.
    coalition_game : callable, optional
        Returns the parties' :class:`~benefitshare.rules.games.CoalitionGame` (computed on first
        use); bargaining rules need it.
    """

    years: np.ndarray
    party_ids: tuple[str, ...]
    host_index: np.ndarray
    partner_index: int
    relocated: np.ndarray
    pre_move_annual_tax_yuan: np.ndarray
    full_production_year: np.ndarray
    park: tuple[str, ...]
    group: tuple[str, ...]
    equity: dict[str, float] | None
    costs_yuan: dict[str, np.ndarray]
    memo: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    standalone_dky: np.ndarray | None = None
    outside_pool_net_dky: np.ndarray | None = None
    pool_total_dy: np.ndarray | None = None
    discount_factors_ky: np.ndarray | None = None
    coalition_game: Callable[[], Any] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    @property
    def n_parties(self) -> int:
        return len(self.party_ids)

    def index(self, party: str) -> int:
        return self.party_ids.index(party)

    def share_vector(self, shares: Mapping[str, float]) -> np.ndarray:
        """Shares by party as a (K,) vector in party order (missing parties get 0)."""
        return np.array([float(shares.get(p, 0.0)) for p in self.party_ids])


@dataclasses.dataclass(frozen=True)
class RuleDef:
    """A registered split rule."""

    name: str
    fn: Callable[..., np.ndarray]
    params_model: type[RuleParams] | None
    summary: str
    builtin: bool = False


#: Registry of split rules by name.
SPLIT_RULES: dict[str, RuleDef] = {}


def register_rule(
    name: str,
    fn: Callable | None = None,
    *,
    params=None,
    summary: str | None = None,
    replace: bool = False,
    _builtin: bool = False,
):
    """Register a split rule under ``name``; usable as a decorator.

    Parameters
    ----------
    name : str
        Name used in scenario files (``rule = "name"``).
    fn : callable
        ``fn(pool_yuan, ctx, **params) -> shares_yuan``: pool (D, P, Y) in, party totals
        (K, D, Y) out, as in this module's doc.
    params : type of RuleParams, optional
        Pydantic model of the parameters; without it, parameters are passed through unchecked.
    summary : str, optional
        One line for listings; defaults to the first line of ``fn``'s docstring.
    replace : bool
        Allow replacing a registered rule of the same name.

    Examples
    --------
    >>> import numpy as np, benefitshare as bs
    >>> def all_to_partner(pool_yuan, ctx):
    ...     out = np.zeros((ctx.n_parties, pool_yuan.shape[0], pool_yuan.shape[2]))
    ...     out[ctx.partner_index] = pool_yuan.sum(axis=1)
    ...     return out
    >>> bs.register_rule("all_to_partner", all_to_partner, replace=True)  # doctest: +ELLIPSIS
    <function all_to_partner at ...>
    """

    def deco(f: Callable) -> Callable:
        if not callable(f):
            raise RuleError(f"rule {name!r}: expected a function, got {type(f).__name__}")
        if not isinstance(name, str) or not name:
            raise RuleError("a rule needs a non-empty name")
        if name in SPLIT_RULES and not replace:
            raise RuleError(
                f"a rule named {name!r} is already registered; pass replace=True to replace it"
            )
        doc = (f.__doc__ or "").strip().splitlines()
        SPLIT_RULES[name] = RuleDef(name, f, params, summary or (doc[0] if doc else name), _builtin)
        return f

    return deco(fn) if fn is not None else deco


def get_rule(name: str) -> RuleDef:
    """Look up a rule; an unknown name lists the valid ones."""
    try:
        return SPLIT_RULES[name]
    except KeyError:
        hint = did_you_mean(name, SPLIT_RULES)
        extra = f"; did you mean {hint!r}?" if hint else ""
        raise RuleError(
            f"unknown rule {name!r}{extra} (valid: {', '.join(sorted(SPLIT_RULES))})"
        ) from None


def validate_params(
    name: str, params: Mapping[str, Any], spec=None, *, renamed: Mapping[str, str] | None = None
) -> list[tuple[tuple, Any, str]]:
    """Problems with a rule's parameters as ``(location, value, message)``; empty when valid.

    Parameters
    ----------
    name : str
        A registered rule.
    params : mapping
        Its parameters, as written in the scenario.
    spec : ScenarioSpec, optional
        The scenario, for the rule's cross-checks (parties named in shares, years in the
        horizon); without it only the parameters themselves are checked.
    renamed : mapping of str to str, optional
        Parameters that were renamed (old -> new), answered with their new name.
    """
    rule = get_rule(name)
    if rule.params_model is None:
        return []
    try:
        model = rule.params_model.model_validate(dict(params))
    except ValidationError as exc:
        return validation_issues(
            exc,
            kind="parameter",
            hint_fields=rule.params_model,
            renamed=renamed,
            hide_tables=False,
        )
    return model.check(spec) if spec is not None else []


def parse_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validated keyword arguments for a rule function."""
    rule = get_rule(name)
    if rule.params_model is None:
        return dict(params)
    model = rule.params_model.model_validate(dict(params))
    return {k: getattr(model, k) for k in rule.params_model.model_fields}


def check_shares(
    shares: Mapping[str, float] | None, spec, loc: tuple
) -> list[tuple[tuple, Any, str]]:
    """Shares name known parties and sum to 1."""
    if shares is None or spec is None:
        return []
    out = []
    parties = list(spec.parties)
    for pid in shares:
        if pid not in parties:
            out.append((loc + (pid,), pid, unknown_name("party", pid, parties)))
    problem = shares_sum_problem(sum(shares.values()))
    if problem is not None:
        out.append((loc, dict(shares), problem))
    return out


def host_matrix(ctx: RuleContext) -> np.ndarray:
    """One-hot (K, P) matrix: 1 where party k hosts project p."""
    m = np.zeros((ctx.n_parties, len(ctx.host_index)))
    m[ctx.host_index, np.arange(len(ctx.host_index))] = 1.0
    return m


def host_totals(pool_yuan: np.ndarray, ctx: RuleContext) -> np.ndarray:
    """What each party would keep as host of its own projects, shape (K, D, Y) [yuan/year].

    The result is remembered in ``ctx.memo`` for the lifetime of ``pool_yuan``, since several rules
    of one run split the same pool.
    """
    key = ("host_totals", id(pool_yuan))
    hit = ctx.memo.get(key)
    if hit is not None and hit[0] is pool_yuan:
        return hit[1].copy()
    out = _host_totals(pool_yuan, ctx)
    ctx.memo[key] = (pool_yuan, out)
    return out.copy()


def pool_total(pool_yuan: np.ndarray, ctx: RuleContext) -> np.ndarray:
    """The pool summed over projects, shape (D, Y), remembered in ``ctx.memo`` like host totals."""
    return host_totals(pool_yuan, ctx).sum(axis=0)


def _host_totals(pool_yuan: np.ndarray, ctx: RuleContext) -> np.ndarray:
    hosts = np.unique(ctx.host_index)
    if hosts.size == 1:
        out = np.zeros((ctx.n_parties, pool_yuan.shape[0], pool_yuan.shape[2]))
        out[int(hosts[0])] = pool_yuan.sum(axis=1)
        return out
    return np.einsum("kp,dpy->kdy", host_matrix(ctx), pool_yuan)


def split_totals(total_dy: np.ndarray, shares, host_kdy: np.ndarray) -> np.ndarray:
    """Give each party ``share * total``; the hosts absorb the rounding residue exactly.

    Parameters
    ----------
    total_dy : ndarray, shape (D, Y)
        The pool total [yuan/year].
    shares : array_like, broadcastable to (K, D, Y)
        Shares by party; they sum to 1 over K.
    host_kdy : ndarray, shape (K, D, Y)
        Each host's own part of the pool (from :func:`host_totals`): the residue
        ``total - sum(share * total)`` is spread over the hosts in proportion to it, so the shares
        sum to the total to rounding.

    Returns
    -------
    ndarray, shape (K, D, Y)
    """
    out = np.asarray(shares) * total_dy[None]
    out = np.broadcast_to(out, host_kdy.shape).copy()
    residue = total_dy - out.sum(axis=0)
    safe = np.where(total_dy != 0.0, total_dy, 1.0)
    weight = np.where(total_dy != 0.0, host_kdy / safe, 0.0)
    # where the total is zero, put the residue on the first host with a part (it is zero anyway)
    out += weight * residue[None]
    return out
