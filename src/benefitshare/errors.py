"""Errors raised on bad input, and the one translation of validation errors into problems.

A leaf of the package (it imports nothing from it): every layer reports bad input through it.
Every problem with a scenario, a project table, a rule or a sweep is reported as one
:class:`Problem` naming the file, the field path (or CSV row and column), the bad value and what
is allowed. All problems found in one load are collected into a single :class:`ScenarioError`.

:func:`validation_problems` (and :func:`validation_issues` under it) turns a pydantic
``ValidationError`` into such problems, with a "did you mean" hint or the allowed names for an
unknown key; :func:`did_you_mean` and :func:`unknown_name` are the one spelling suggester.

Messages that say how to fix a common mistake are built here too: :func:`percent_hint` (``60``
written where the share ``0.6`` was meant), :func:`id_problem` and :func:`suggest_id` (an id with
capitals, spaces, hyphens or Chinese characters) and :func:`toml_problem` (a TOML syntax error,
such as a text value without quotes).
"""

from __future__ import annotations

import difflib
import importlib
import re
import typing
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Problem",
    "ScenarioError",
    "RuleError",
    "did_you_mean",
    "unknown_name",
    "unknown_key",
    "location_text",
    "fields_at",
    "validation_issues",
    "validation_problems",
    "NOT_FINITE",
    "ID_KINDS",
    "percent_hint",
    "id_problem",
    "suggest_id",
    "toml_problem",
]

#: The message for NaN or infinity where a number is expected.
NOT_FINITE = "must be a finite number (NaN and infinity are not allowed)"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Problem:
    """One problem with an input.

    Parameters
    ----------
    file : str
        The file the problem is in (as the user named it), or ``"<overrides>"``.
    location : str
        Field path such as ``rules[2].params.shares.shenzhen``, or ``row 7, column land_mu``.
    message : str
        What is allowed.
    value : object, optional
        The offending value; omitted from the message when it is the sentinel ``...``.
    """

    file: str
    location: str
    message: str
    value: object = ...

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        loc = self.location or "(top level)"
        if self.value is ...:
            return f"{where}{loc}: {self.message}"
        return f"{where}{loc} = {_short(self.value)}: {self.message}"


class ScenarioError(ValueError):
    """A scenario, project table or override is invalid.

    The message lists every problem found, one per line, in the form
    ``file: field.path = value: what is allowed``.

    Attributes
    ----------
    problems : list of Problem
    """

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("", "", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the scenario:"
        super().__init__("\n".join([head, *("  " + str(p) for p in self.problems)]))


class RuleError(ValueError):
    """A split rule is unknown, badly parameterised, or broke conservation of money."""


def did_you_mean(name: object, valid: Iterable[object]) -> str | None:
    """The valid name closest to a mistyped ``name``, or ``None`` when none is close.

    The one spelling suggester of the package: scenario fields, rule names, parties, project
    columns, sweep metrics and executors all use it.

    Examples
    --------
    >>> did_you_mean("shenzen", ["shenzhen", "shanwei"])
    'shenzhen'
    """
    names = [str(v) for v in valid if v is not None and str(v)]
    hits = difflib.get_close_matches(str(name), names, n=1)
    return hits[0] if hits else None


def unknown_name(kind: str, name: object, valid: Iterable[object]) -> str:
    """The message for a name that is not one of ``valid``: a suggestion, else the valid names.

    Examples
    --------
    >>> unknown_name("rule", "fixed_5050", ["fixed_50_50", "host_keeps_all"])
    "unknown rule; did you mean 'fixed_50_50'?"
    """
    valid = [str(v) for v in valid]
    hint = did_you_mean(name, valid)
    if hint is not None:
        return f"unknown {kind}; did you mean {hint!r}?"
    return f"unknown {kind}; valid: {', '.join(valid) if valid else '(none)'}"


def unknown_key(kind: str, name: object, allowed: Iterable[object] | None) -> str:
    """The message for a key that a table does not take: a suggestion, else the allowed keys.

    Unlike :func:`unknown_name`, the allowed keys are given in parentheses, and a table whose
    keys are free (``allowed`` empty or ``None``) gives no list.

    Examples
    --------
    >>> unknown_key("field", "discount_rat", ["discount_rate", "start_year"])
    "unknown field; did you mean 'discount_rate'?"
    >>> unknown_key("field", "zzz", ["name", "equity"])
    'unknown field (allowed: name, equity)'
    """
    names = [str(v) for v in allowed or ()]
    hint = did_you_mean(name, names) if names else None
    if hint is not None:
        return f"unknown {kind}; did you mean {hint!r}?"
    return f"unknown {kind}" + (f" (allowed: {', '.join(names)})" if names else "")


def location_text(loc: Iterable[object]) -> str:
    """A field path as written in messages and overrides: ``rules[2].params.shares.shenzhen``.

    Examples
    --------
    >>> location_text(("rules", 2, "params", "shares"))
    'rules[2].params.shares'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and hasattr(ann, "model_fields")


def _unwrap_model(ann: Any) -> Any:
    """The pydantic model in an annotation (``Model``, ``list[Model]``, ``Model | None``, the
    values of ``dict[str, Model]``), or ``None``."""
    if _is_model(ann):
        return ann
    args = typing.get_args(ann)
    if typing.get_origin(ann) is dict and args:
        return _unwrap_model(args[1])
    for a in args:
        m = _unwrap_model(a)
        if m is not None:
            return m
    return None


def fields_at(model: Any, loc: tuple) -> list[str]:
    """The keys allowed in the table that holds ``loc``, in a pydantic ``model``.

    Walks the model's fields along ``loc``: list indices are skipped, and so is the id of an
    entry of a table of models keyed by id (``parks.coop``). Empty when the keys there are free:
    ``fields_at(ScenarioSpec, ("parks", "coop", "hostt"))`` gives the fields of a park.
    """
    keyed = False  # the last field was a table of models keyed by id
    for part in loc[:-1]:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        keyed = typing.get_origin(field.annotation) is dict
        model = _unwrap_model(field.annotation)
        if model is None:
            return []
    return [] if keyed else list(model.model_fields)


#: Pydantic error types that only say the value has the wrong type, with what to give instead.
_WRONG_TYPE = {
    "dict_type": "a table (such as year steps { 2026 = 0.5 })",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "list_type": "a list",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _is_type_tag(part: object) -> bool:
    """Pydantic names the branch of a union in an error's location (``constrained-float``)."""
    return isinstance(part, str) and (
        "[" in part
        or part.startswith(("constrained-", "function-"))
        or part in ("float", "int", "str", "bool", "dict", "list")
    )


def _kept_errors(errors: list[dict]) -> list[tuple[tuple, dict]]:
    """Errors with union branch tags dropped from their location; one error per failed union.

    For a union (a number or year steps), the branch that matches the value's kind is reported;
    when every branch only failed on the type, one "wrong type" error lists what to give.
    """
    by_loc: dict[tuple, list[dict]] = {}
    for err in errors:
        by_loc.setdefault(tuple(p for p in err["loc"] if not _is_type_tag(p)), []).append(err)
    kept: list[tuple[tuple, dict]] = []
    for loc, errs in by_loc.items():
        deeper = any(len(other) > len(loc) and other[: len(loc)] == loc for other in by_loc)
        specific = [e for e in errs if e["type"] not in _WRONG_TYPE]
        if specific:
            kept.extend((loc, e) for e in specific)
        elif deeper:
            continue  # another branch of the union went further: report that one
        elif len(errs) > 1:
            wanted = " or ".join(dict.fromkeys(_WRONG_TYPE[e["type"]] for e in errs))
            merged = {**errs[0], "type": "union_type", "msg": f"has the wrong type: give {wanted}"}
            kept.append((loc, merged))
        else:
            kept.extend((loc, e) for e in errs)
    return kept


def validation_issues(
    exc: Any,
    *,
    kind: str = "field",
    hint_fields: type | Sequence[str] | Callable[[tuple], Sequence[str] | None] | None = None,
    renamed: Mapping[str, str] | None = None,
    hide_tables: bool = True,
) -> list[tuple[tuple, object, str]]:
    """The problems of a pydantic ``ValidationError`` as ``(location, value, message)``.

    Parameters
    ----------
    exc : pydantic.ValidationError
    kind : str
        What a key is called in messages: ``"field"``, ``"parameter"``, ``"column"``.
    hint_fields : pydantic model class, sequence of str, or callable, optional
        The keys allowed where an unknown key was found, for the "did you mean" hint or the
        list of allowed keys: the validated model (the keys of the table the key is in, see
        :func:`fields_at`), a fixed list, or a function of the key's location.
    renamed : mapping of str to str, optional
        Keys that were renamed (old -> new): an old key is answered with its new name.
    hide_tables : bool
        Leave a table (dict) out of the message as the value (it is the whole section).

    Returns
    -------
    list of (tuple, object, str)
        The location (union branch tags dropped), the bad value (``...`` when there is none)
        and what is allowed, in the order pydantic found them.
    """
    out: list[tuple[tuple, object, str]] = []
    for loc, err in _kept_errors(exc.errors(include_url=False)):
        value = err.get("input", ...)
        if err["type"] == "extra_forbidden":
            key = loc[-1] if loc else ""
            if _is_model(hint_fields):
                names = fields_at(hint_fields, loc)
            elif callable(hint_fields):
                names = hint_fields(loc)
            else:
                names = hint_fields
            if renamed and key in renamed and (not names or renamed[key] in names):
                msg = f"unknown {kind}; it was renamed to {renamed[key]!r}"
            else:
                msg = unknown_key(kind, key, names)
        elif err["type"] == "finite_number":
            msg = NOT_FINITE
        elif err["type"] == "missing":
            msg, value = "is required", ...
        else:
            msg = err["msg"].removeprefix("Value error, ")
        if hide_tables and isinstance(value, dict) and err["type"] != "extra_forbidden":
            value = ...
        out.append((loc, value, msg))
    return out


def validation_problems(
    exc: Any,
    file: str | Callable[[tuple], str] = "",
    *,
    prefix: tuple = (),
    kind: str = "field",
    hint_fields: type | Sequence[str] | Callable[[tuple], Sequence[str] | None] | None = None,
    renamed: Mapping[str, str] | None = None,
    hide_tables: bool = True,
) -> list[Problem]:
    """The problems of a pydantic ``ValidationError``, one :class:`Problem` each.

    Parameters
    ----------
    exc : pydantic.ValidationError
    file : str or callable
        The file the validated data came from, or a function of a problem's full location
        giving it (when the data was merged from several files).
    prefix : tuple
        Location of the validated data in its file, put before each problem's location.
    kind, hint_fields, renamed, hide_tables
        As in :func:`validation_issues` (``hint_fields`` is called with the location without
        ``prefix``).

    Returns
    -------
    list of Problem

    Examples
    --------
    >>> from pydantic import BaseModel, ConfigDict, ValidationError
    >>> class Model(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     discount_rate: float = 0.06
    >>> try:
    ...     Model.model_validate({"discount_rat": 0.05})
    ... except ValidationError as exc:
    ...     print(validation_problems(exc, "s.toml", prefix=("model",), hint_fields=Model)[0])
    s.toml: model.discount_rat = 0.05: unknown field; did you mean 'discount_rate'?
    """
    issues = validation_issues(
        exc, kind=kind, hint_fields=hint_fields, renamed=renamed, hide_tables=hide_tables
    )
    out = []
    for loc, value, msg in issues:
        full = (*prefix, *loc)
        where = file(full) if callable(file) else file
        out.append(Problem(where, location_text(full), msg, value))
    return out


# ------------------------------------------------------------------------ messages that say how to fix
def percent_hint(value: object, low: float = 0.0, high: float = 1.0) -> str | None:
    """The fix for a percentage written where a fraction was meant, or ``None``.

    A number above ``high``, of at least 2, that would lie within ``[low, high]`` once divided by
    100 was most likely written as a percentage (a value between 1 and 2, such as 1.1, is as
    likely a slip, and gets no hint).

    Examples
    --------
    >>> percent_hint(60)
    'write 0.6 for 60%'
    >>> percent_hint(6, 0.0, 0.5)
    'write 0.06 for 6%'
    >>> percent_hint(0.6) is None, percent_hint(250) is None, percent_hint(0.9, 0.0, 0.5) is None
    (True, True, True)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not (value > high and value >= 2) or not low <= value / 100 <= high:
        return None
    return f"write {value / 100:.10g} for {value:.10g}%"


#: The kinds of names a scenario uses: kind -> (pattern, what it may contain in words, lower case).
ID_KINDS: dict[str, tuple[str, str, bool]] = {
    "id": (
        r"^[a-z][a-z0-9_]*$",
        "an id may contain only lowercase letters a-z, digits and underscores, "
        "and must start with a letter",
        True,
    ),
    "input name": (
        r"^[A-Za-z][A-Za-z0-9_]*$",
        "an input name may contain only letters a-z or A-Z, digits and underscores, "
        "and must start with a letter",
        False,
    ),
    "rule name": (
        r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        "a rule name may contain only letters a-z or A-Z, digits, underscores, dots and "
        "hyphens, and must start with a letter or digit",
        False,
    ),
}


def _has_cjk(text: str) -> bool:
    return any(unicodedata.category(ch) == "Lo" for ch in text)


def _pinyin(text: str) -> list[str] | None:
    """The pinyin syllables of ``text`` when the pypinyin library is installed, else ``None``."""
    try:
        pypinyin = importlib.import_module("pypinyin")
    except ImportError:
        return None
    return [str(s) for s in pypinyin.lazy_pinyin(text)]


def suggest_id(text: object, kind: str = "id") -> str | None:
    """A valid name of ``kind`` close to ``text``, or ``None`` when there is no sensible one.

    Spaces, hyphens and dots become underscores and (for ids) capitals lower case. Chinese
    characters are turned into pinyin only when the pypinyin library is installed; no
    transliteration is guessed otherwise.

    Examples
    --------
    >>> suggest_id("Shen Zhen")
    'shen_zhen'
    >>> suggest_id("haifeng-park")
    'haifeng_park'
    >>> suggest_id("Fixed 50/50", "rule name")
    'Fixed_50_50'
    """
    pattern, _, lower = ID_KINDS[kind]
    text = str(text).strip()
    if _has_cjk(text):
        syllables = _pinyin(text)
        if syllables is None:
            return None
        text = "_".join(s.strip() for s in syllables if s.strip())
    if lower:
        text = text.lower()
    keep = r"A-Za-z0-9_" + (r".\-" if kind == "rule name" else "")
    text = re.sub(rf"[^{keep}]+", "_", text)
    text = re.sub(r"_+", "_", text).strip("_")
    return text if text and re.match(pattern, text) else None


def id_problem(value: object, kind: str = "id") -> str | None:
    """What is wrong with a name of ``kind`` (see :data:`ID_KINDS`) and a valid one, or ``None``.

    Examples
    --------
    >>> print(id_problem("Shen Zhen"))
    is not a valid id: an id may contain only lowercase letters a-z, digits and underscores, and must start with a letter; write 'shen_zhen'
    >>> id_problem("shenzhen") is None
    True
    """
    if not isinstance(value, str):
        return None
    pattern, words, _ = ID_KINDS[kind]
    if re.match(pattern, value):
        return None
    msg = f"is not a valid {kind}: {words}"
    suggestion = suggest_id(value, kind)
    if suggestion is not None:
        return f"{msg}; write {suggestion!r}"
    if _has_cjk(value):
        example = "'shanwei' or 'haifeng_park'" if kind == "id" else "'Shanwei' or 'haifeng_park'"
        return (
            f"{msg}; use a pinyin or English {kind} such as {example} "
            "(a Chinese name can go in the name or label field)"
        )
    return msg


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_KEYWORDS = ("true", "false", "inf", "nan")


def toml_problem(file: str, text: str, exc: Exception) -> Problem:
    """A TOML syntax error as a :class:`Problem` naming the line and saying how to fix it.

    A text value written without quotes (``host = shanwei``), a percentage (``share = 60%``) and
    a Chinese key without quotes get their own message; an error at the end of the file says it
    may be cut short.

    Parameters
    ----------
    file : str
        The file as the user named it.
    text : str
        Its content.
    exc : tomllib.TOMLDecodeError
    """
    msg = str(exc)
    at = _TOML_AT.search(msg)
    if at is None:
        return Problem(file, "", f"is not valid TOML ({msg}); the file may be truncated")
    lineno, col = int(at.group(1)), int(at.group(2))
    lines = text.splitlines()
    line = lines[lineno - 1] if lineno <= len(lines) else ""
    where = f"line {lineno}, column {col}"
    rest = line[col - 1 :]
    before = line[: col - 1]
    key = before.rstrip().rstrip("=").strip().split(",")[-1].split("{")[-1].strip()
    number = re.search(r"(-?\d+(?:\.\d+)?)\s*$", before)
    if rest.startswith("%") and number:
        pct = float(number.group(1))
        fix = percent_hint(pct, 0.0, 1.0) or f"write {pct / 100:.10g} for {pct:.10g}%"
        msg = f"is not valid TOML: a share or rate is a fraction, not a percentage: {fix}"
        return Problem(file, where, msg, line)
    word = re.match(r"[^,}\]#]*", rest).group(0).strip()
    if (
        before.rstrip().endswith("=")
        and word
        and (word[0].isalpha() or _has_cjk(word[0]))
        and word.lower() not in _KEYWORDS
    ):
        return Problem(
            file,
            where,
            f'is not valid TOML: a text value must be in quotes: write {key} = "{word}"',
            line,
        )
    if _has_cjk(line.split("=")[0]):
        return Problem(
            file,
            where,
            "is not valid TOML: a key may not contain Chinese characters without quotes: "
            f"{ID_KINDS['id'][1]}; "
            "use a pinyin or English id (a Chinese name can go in the name field)",
            line,
        )
    return Problem(file, where, f"is not valid TOML ({msg})", line)
