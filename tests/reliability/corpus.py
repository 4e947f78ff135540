"""A mutation corpus of bad inputs for the command line, generated from the tiny scenario.

Each :class:`Case` writes a copy of ``tests/data/tiny.toml`` and ``tests/data/tiny_projects.csv``
into a scenario folder, breaks one thing in it (a field's type or range, the structure, the
encoding, the files, or the command-line arguments), and gives the arguments to run
``benefitshare.cli.main`` with. :func:`run_case` runs one case in-process and returns what
happened; every case is expected to exit with status 2, name the field, row, column or file on
stderr, print no traceback and write nothing under ``--out``.

The cases are generated, not listed: every scalar of the parsed scenario gets the type and range
mutations that fit its kind, every table an unknown key and every required key a removal, every
numeric column of the projects table bad cells. Used by ``tests/reliability/test_corpus.py`` and
by ``benchmarks/reliability_slow.py``.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import io
import math
import os
import re
import signal
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
SCENARIO = "tiny.toml"
PROJECTS = "tiny_projects.csv"
UNKNOWN = "unknwn_key"
TIMEOUT_S = 20


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: ``setup(scn, out)`` breaks the files and returns the ``main`` arguments.

    ``names`` are the words of which at least one must appear on stderr (the field, the column,
    the row or the file).
    """

    id: str
    setup: Callable[[Path, Path], list[str]]
    names: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: int | str  # the exit status, or "raised"/"timeout" when main did not return
    err: str
    written: list[str]  # what appeared under --out (or the changed --out file)

    def problems(self, case: Case) -> list[str]:
        """Why this outcome breaks the promise for bad input (empty when it keeps it)."""
        found = []
        if self.status != 2:
            found.append(f"exit {self.status}")
        if "Traceback" in self.err:
            found.append("traceback on stderr")
        if not any(n.lower() in self.err.lower() for n in case.names):
            found.append(f"stderr names none of {list(case.names)}")
        if self.written:
            found.append(f"wrote {self.written[:3]}")
        return found


# ------------------------------------------------------------------------------------ TOML
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: object) -> str:
    k = str(k)
    return k if _BARE.match(k) else '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def dumps(doc: dict) -> str:
    """TOML text for a parsed scenario: top-level scalars, then one table per section."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in doc.items() if not _is_section(v)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"\n[{_key(k)}]")
            lines += [f"{_key(kk)} = {_value(vv)}" for kk, vv in v.items()]
        elif _is_section(v):
            for item in v:
                lines.append(f"\n[[{_key(k)}]]")
                lines += [f"{_key(kk)} = {_value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


def _is_section(v: object) -> bool:
    return isinstance(v, dict) or (
        isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
    )


def base_doc() -> dict:
    return tomllib.loads((DATA / SCENARIO).read_text(encoding="utf-8"))


def base_rows() -> list[list[str]]:
    with open(DATA / PROJECTS, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def scalars(node: object, path: tuple = ()) -> Iterator[tuple[tuple, object]]:
    """Every scalar of a parsed TOML document, with its path (keys and list indices)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from scalars(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from scalars(v, (*path, i))
    else:
        yield path, node


def tables(node: object, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from tables(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from tables(v, (*path, i))


def _get(doc: object, path: tuple) -> object:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: dict, path: tuple, value: object) -> dict:
    doc = copy.deepcopy(doc)
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _label(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _names(path: tuple) -> tuple[str, ...]:
    """The field a message must name: the leaf key, or its table for a keyed entry (a year, a party)."""
    keys = [str(p) for p in path if isinstance(p, str)]
    leaf = keys[-1]
    if leaf.isdigit() or not path or isinstance(path[-1], int) or leaf in ("shenzhen", "shanwei"):
        return tuple(keys[-2:])
    return (leaf,)


def _write_doc(doc: dict) -> Callable[[Path, Path], None]:
    def write(scn: Path, out: Path) -> None:
        (scn / SCENARIO).write_text(dumps(doc), encoding="utf-8")

    return write


def _run(write, verb: str = "run", extra: tuple = ()) -> Callable[[Path, Path], list[str]]:
    def setup(scn: Path, out: Path) -> list[str]:
        write(scn, out)
        if verb == "validate":
            return ["validate", str(scn / SCENARIO), *extra]
        return ["run", str(scn / SCENARIO), "--out", str(out), "--no-charts", "-q", *extra]

    return setup


# ------------------------------------------------------------------------------------ schema
def _schema() -> dict:
    from benefitshare.scenario.load import json_schema

    return json_schema()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    for option in node.get("anyOf", []):
        option = _resolve(schema, option)
        if option.get("type") in ("object", "array"):
            return option
    return node


def required_keys(schema: dict, path: tuple) -> list[str]:
    """The keys a table at ``path`` of a scenario must have, by the JSON Schema."""
    node = _resolve(schema, schema)
    for p in path:
        if isinstance(p, int):
            node = _resolve(schema, node.get("items", {}))
        elif p in node.get("properties", {}):
            node = _resolve(schema, node["properties"][p])
        elif node.get("patternProperties"):
            node = _resolve(schema, next(iter(node["patternProperties"].values())))
        elif isinstance(node.get("additionalProperties"), dict):
            node = _resolve(schema, node["additionalProperties"])
        else:
            return []
    return list(node.get("required", []))


# ------------------------------------------------------------------------------------ cases
def _money(path: tuple) -> bool:
    return any("yuan" in str(p) for p in path)


def _yearish(path: tuple, value: object) -> bool:
    return isinstance(value, int) and 1900 <= value <= 2200


def type_cases(doc: dict) -> Iterator[Case]:
    for path, value in scalars(doc):
        label, names = _label(path), _names(path)
        if isinstance(value, bool):
            bad = {"int": 1, "string": "yes", "list": [value], "table": {"v": value}}
        elif isinstance(value, int | float):
            bad = {
                "string": "abc",
                "bool": True,
                "numstring": str(value),
                "list": [value],
                "table": {"v": value},
            }
        else:
            if path[0] == "header" and path[-1] in ("description", "title"):
                bad = {"list": [value], "table": {"v": value}}
            else:
                bad = {"number": 7, "bool": False, "list": [value], "table": {"v": value}}
        for kind, new in bad.items():
            yield Case(f"type-{kind}-{label}", _run(_write_doc(_set(doc, path, new))), names)


def range_cases(doc: dict) -> Iterator[Case]:
    for path, value in scalars(doc):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        label, names = _label(path), _names(path)
        bad: dict[str, object] = {"negative": -5 if isinstance(value, int) else -5.0}
        bad |= {"nan": math.nan, "inf": math.inf, "neginf": -math.inf}
        if isinstance(value, float) and 0.0 <= value <= 1.0 and not _money(path):
            bad["above1"] = 1.5
        if _money(path):
            bad["1e308"] = 1e308
            bad["1e16"] = 1e16
        if _yearish(path, value):
            bad["year1800"] = 1800
            bad["year2500"] = 2500
        elif isinstance(value, int):
            bad["fraction"] = 1.5
        for kind, new in bad.items():
            yield Case(f"range-{kind}-{label}", _run(_write_doc(_set(doc, path, new))), names)


def _year_key(path: tuple, new_key: str, doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    table = _get(doc, path[:-1])
    table[new_key] = table.pop(path[-1])
    return doc


def year_cases(doc: dict) -> Iterator[Case]:
    """Dated inputs outside the horizon (2026-2035) and year keys that are not years.

    Payments are dated; a step schedule's key is the year a value starts to apply.
    """
    payments = [
        ("costs", 0, "payments_yuan", "2026"),
        ("platform", "capital_payments_yuan", "2026"),
    ]
    steps = [
        ("platform", "return_on_capital_rate", "2028"),
        ("tiers", "provincial_share", "vat", "2026"),
    ]
    for path in payments + steps:
        for new in (
            ("2070", "1999", "20x6", "-2026") if path in payments else ("2070", "20x6", "-2026")
        ):
            yield Case(
                f"year-key-{new}-{_label(path)}",
                _run(_write_doc(_year_key(path, new, doc))),
                (new, path[-2]),
            )
    for path, new in [
        (("model", "end_year"), 2020),
        (("model", "start_year"), 2040),
        (("rules", 5, "params", "base_year"), 2070),
        (("rules", 1, "params", "term_years"), 0),
    ]:
        yield Case(
            f"year-{new}-{_label(path)}", _run(_write_doc(_set(doc, path, new))), (path[-1],)
        )


def structure_cases(doc: dict, schema: dict) -> Iterator[Case]:
    for path, table in tables(doc):
        label = _label(path) or "top"
        new = copy.deepcopy(doc)
        _get(new, path)[UNKNOWN] = 1
        yield Case(f"unknown-key-{label}", _run(_write_doc(new)), (UNKNOWN,))
        for key in required_keys(schema, path):
            if key in table:
                new = copy.deepcopy(doc)
                del _get(new, path)[key]
                yield Case(f"missing-{label}.{key}", _run(_write_doc(new)), (key,))
    references = [
        (("parks", "coop", "host"), "nobody"),
        (("costs", 0, "party"), "nobody"),
        (("pool", "tiers", 0), "nobody"),
        (("rules", 4, "scope", "taxes", 0), "nobody"),
        (("rules", 8, "clauses", 0, "scope", "parks", 0), "nobody"),
    ]
    for path, new in references:
        yield Case(f"unknown-ref-{_label(path)}", _run(_write_doc(_set(doc, path, new))), (new,))
    for path in [
        ("platform", "equity", "shenzhen"),
        ("rules", 1, "params", "shares", "shenzhen"),
        ("rules", 2, "params", "schedule", "2026", "shanwei"),
    ]:
        yield Case(
            f"unknown-party-{_label(path)}",
            _run(_write_doc(_year_key(path, "nobody", doc))),
            ("nobody",),
        )
    for path in [
        ("parties",),
        ("parks",),
        ("sectors",),
        ("platform", "equity"),
        ("rules", 1, "params", "shares"),
        ("rules", 6, "params", "brackets"),
        ("rules", 8, "clauses"),
        ("rules",),
    ]:
        empty = [] if isinstance(_get(doc, path), list) else {}
        names = (path[-1], "sector") if path == ("sectors",) else (path[-1],)
        yield Case(f"empty-{_label(path)}", _run(_write_doc(_set(doc, path, empty))), names)
    dup = copy.deepcopy(doc)
    dup["rules"].append(copy.deepcopy(dup["rules"][1]))
    yield Case("duplicate-rule-name", _run(_write_doc(dup)), ("fixed_50_5y",))
    for verb in ("run", "validate"):
        yield Case(
            f"duplicate-toml-key-{verb}",
            _run(
                _raw(
                    lambda b: b.replace(
                        b"discount_rate = 0.05", b"discount_rate = 0.05\ndiscount_rate = 0.06"
                    )
                ),
                verb,
            ),
            (SCENARIO, "discount_rate"),
        )
    yield Case(
        "duplicate-toml-table",
        _run(_raw(lambda b: b + b'\n[parks.coop]\nname = "again"\n')),
        (SCENARIO, "coop"),
    )


def _raw(fn: Callable[[bytes], bytes], name: str = SCENARIO) -> Callable[[Path, Path], None]:
    def write(scn: Path, out: Path) -> None:
        (scn / name).write_bytes(fn((scn / name).read_bytes()))

    return write


def encoding_cases() -> Iterator[Case]:
    edits: dict[str, Callable[[bytes], bytes]] = {
        "invalid-utf8-in-string": lambda b: b.replace(
            b"Tiny test scenario", b"Tiny \xff\xfe scenario"
        ),
        "invalid-utf8-in-comment": lambda b: b.replace(b"# A tiny", b"# A \xc3\x28 tiny"),
        "truncated-utf8": lambda b: b.replace(b"Tiny test", b"Tiny \xe6\xb7"),
        "bom-twice": lambda b: b"\xef\xbb\xbf\xef\xbb\xbf" + b,
        "cr-only": lambda b: b.replace(b"\n", b"\r"),
        "nul-byte": lambda b: b.replace(b"discount_rate", b"discount\x00_rate"),
        "nul-in-string": lambda b: b.replace(b"Tiny test", b"Tiny\x00test"),
        "utf16": lambda b: b.decode("utf-8").encode("utf-16"),
        "truncated-file": lambda b: b[: len(b) // 2] + b"[parks.x",
        "binary-garbage": lambda b: bytes(range(256)) * 4,
    }
    for verb in ("run", "validate"):
        for name, fn in edits.items():
            yield Case(f"toml-{name}-{verb}", _run(_raw(fn), verb), (SCENARIO,))
    csv_edits: dict[str, Callable[[bytes], bytes]] = {
        "invalid-utf8": lambda b: b.replace(b"moved battery plant", b"moved \xff battery"),
        "cr-only": lambda b: b.replace(b"\n", b"\r"),
        "nul-byte": lambda b: b.replace(b"100000000,2026", b"100000\x00000,2026"),
        "utf16": lambda b: b.decode("utf-8").encode("utf-16"),
        "bom-twice": lambda b: b"\xef\xbb\xbf\xef\xbb\xbf" + b,
        "unclosed-quote": lambda b: b.replace(b"small food plant", b'"small food plant'),
    }
    for verb in ("run", "validate"):
        for name, fn in csv_edits.items():
            yield Case(f"csv-{name}-{verb}", _run(_raw(fn, PROJECTS), verb), (PROJECTS,))


def _rows(fn: Callable[[list[list[str]]], list[list[str]]]) -> Callable[[Path, Path], None]:
    def write(scn: Path, out: Path) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(fn(copy.deepcopy(base_rows())))
        (scn / PROJECTS).write_text(buf.getvalue(), encoding="utf-8")

    return write


def _cell(col: int, row: int, value: str):
    def fn(rows):
        rows[row][col] = value
        return rows

    return fn


def _drop(col: int):
    return lambda rows: [r[:col] + r[col + 1 :] for r in rows]


OPTIONAL_COLUMNS = {
    "name", "group", "phasing", "construction_years", "ramp_up_years", "relocated",
    "pre_move_annual_tax_yuan", "high_tech", "slpe", "rebate_rate", "rebate_years",
    "landing_probability", "building_value_yuan", "land_mu", "vat_category",
}  # fmt: skip


def csv_cases() -> Iterator[Case]:
    rows = base_rows()
    header = rows[0]
    numeric = [i for i, v in enumerate(rows[1]) if re.fullmatch(r"-?[0-9.]+", v)]
    for i in numeric:
        col = header[i]
        bad = {"text": "abc", "nan": "nan", "inf": "inf", "negative": "-5", "bool": "true"}
        if col.endswith("_yuan"):
            bad["1e308"] = "1e308"
        if col in ("value_added_rate", "profit_margin", "wage_share", "rebate_rate",
                   "landing_probability"):  # fmt: skip
            bad["above1"] = "1.5"
        for kind, value in bad.items():
            yield Case(f"csv-cell-{kind}-{col}", _run(_rows(_cell(i, 1, value))), (col,))
    for i, col in enumerate(header):
        if col not in OPTIONAL_COLUMNS:
            yield Case(f"csv-missing-column-{col}", _run(_rows(_drop(i))), (col,))
    refs = {"park": "nowhere", "sector": "nosector", "project_id": "T1"}
    for col, value in refs.items():
        yield Case(
            f"csv-bad-ref-{col}", _run(_rows(_cell(header.index(col), 2, value))), (value, col)
        )
    yield Case(
        "csv-extra-column",
        _run(_rows(lambda r: [r[0] + ["colour"]] + [x + ["red"] for x in r[1:]])),
        ("colour",),
    )
    yield Case("csv-short-row", _run(_rows(lambda r: [*r[:2], r[2][:5]])), (PROJECTS,))
    yield Case("csv-long-row", _run(_rows(lambda r: [*r[:2], [*r[2], "x"]])), (PROJECTS,))
    yield Case("csv-empty", _run(_raw(lambda b: b"", PROJECTS)), (PROJECTS,))
    yield Case("csv-header-only", _run(_rows(lambda r: r[:1])), (PROJECTS,))
    yield Case(
        "csv-bad-phasing", _run(_rows(_cell(header.index("phasing"), 2, "0.5;0.7"))), ("phasing",)
    )


def _chain(n: int) -> Callable[[Path, Path], list[str]]:
    """A scenario inheriting through ``n`` files, each naming the next as its base."""

    def setup(scn: Path, out: Path) -> list[str]:
        for i in range(n):
            text = f'base = "{"tiny.toml" if i == n - 1 else f"c{i + 1}.toml"}"\n'
            (scn / f"c{i}.toml").write_text(text, encoding="utf-8")
        return ["run", str(scn / "c0.toml"), "--out", str(out), "--no-charts", "-q"]

    return setup


def _projects(
    value: str,
    make: Callable[[Path, Path], None] | None = None,
    verb: str = "run",
    extra: tuple = (),
):
    doc = _set(base_doc(), ("model", "projects"), value)

    def write(scn: Path, out: Path) -> None:
        if make is not None:
            make(scn, out)
        (scn / SCENARIO).write_text(
            dumps(doc).replace("@OUTSIDE@", str(scn.parent)), encoding="utf-8"
        )

    return _run(write, verb)


def _mkfifo(scn: Path, out: Path) -> None:
    os.mkfifo(scn / "fifo.csv")


def _loop(scn: Path, out: Path) -> None:
    (scn / "loop_a.csv").symlink_to(scn / "loop_b.csv")
    (scn / "loop_b.csv").symlink_to(scn / "loop_a.csv")


def _outside(scn: Path, out: Path) -> None:
    (scn.parent / "outside.csv").write_bytes((scn / PROJECTS).read_bytes())


def _link_outside(scn: Path, out: Path) -> None:
    _outside(scn, out)
    (scn / "link.csv").symlink_to(scn.parent / "outside.csv")


def _dir(scn: Path, out: Path) -> None:
    (scn / "folder.csv").mkdir()


def _base(value: str, make=None):
    def write(scn: Path, out: Path) -> None:
        if make is not None:
            make(scn, out)
        text = f'base = "{value}"\n'.replace("@OUTSIDE@", str(scn.parent))
        (scn / "child.toml").write_text(text + '[header]\ntitle = "child"\n', encoding="utf-8")

    def setup(scn: Path, out: Path) -> list[str]:
        write(scn, out)
        return ["run", str(scn / "child.toml"), "--out", str(out), "--no-charts", "-q"]

    return setup


def _outside_toml(scn: Path, out: Path) -> None:
    (scn.parent / "outside.toml").write_bytes((scn / SCENARIO).read_bytes())
    (scn.parent / PROJECTS).write_bytes((scn / PROJECTS).read_bytes())


def _self_base(scn: Path, out: Path) -> None:
    pass


def file_cases() -> Iterator[Case]:
    for verb in ("run", "validate"):
        yield Case(
            f"projects-missing-{verb}", _projects("nothere.csv", verb=verb), ("nothere.csv",)
        )
        yield Case(f"projects-folder-{verb}", _projects("folder.csv", _dir, verb), ("folder.csv",))
        yield Case(f"projects-fifo-{verb}", _projects("fifo.csv", _mkfifo, verb), ("fifo.csv",))
        yield Case(
            f"projects-symlink-loop-{verb}", _projects("loop_a.csv", _loop, verb), ("loop_a.csv",)
        )
        yield Case(
            f"projects-dotdot-{verb}", _projects("../outside.csv", _outside, verb), ("outside.csv",)
        )
        yield Case(
            f"projects-absolute-{verb}",
            _projects("@OUTSIDE@/outside.csv", _outside, verb),
            ("outside.csv", "model.projects"),
        )
        yield Case(
            f"projects-link-outside-{verb}",
            _projects("link.csv", _link_outside, verb),
            ("link.csv",),
        )
    yield Case("projects-empty-string", _projects(""), ("projects",))
    yield Case("projects-dev-zero", _projects("/dev/zero"), ("/dev/zero", "zero"))
    yield Case("projects-etc-passwd", _projects("/etc/passwd"), ("passwd",))
    yield Case("projects-proc-environ", _projects("/proc/self/environ"), ("environ",))
    yield Case("projects-toml-file", _projects(SCENARIO), (SCENARIO,))
    yield Case("base-missing", _base("nothere.toml"), ("nothere.toml",))
    yield Case("base-self", _base("child.toml"), ("child.toml",))
    yield Case("base-folder", _base("folder.csv", _dir), ("folder.csv",))
    yield Case("base-fifo", _base("fifo.csv", _mkfifo), ("fifo.csv",))
    yield Case("base-symlink-loop", _base("loop_a.csv", _loop), ("loop_a.csv",))
    yield Case("base-dotdot", _base("../outside.toml", _outside_toml), ("outside.toml",))
    yield Case(
        "base-absolute", _base("@OUTSIDE@/outside.toml", _outside_toml), ("outside.toml", "base =")
    )
    yield Case("base-dev-zero", _base("/dev/zero"), ("/dev/zero", "zero"))
    yield Case("base-etc-passwd", _base("/etc/passwd"), ("passwd",))

    limit = "BENEFITSHARE_MAX_INPUT_MB"
    more = _rows(lambda r: r + [[f"P{i}", *r[3][1:]] for i in range(40)])
    yield Case("size-projects-over-limit", _run(more), (PROJECTS,), ((limit, "0.004"),))
    yield Case(
        "size-scenario-over-limit",
        _run(_raw(lambda b: b + b"# padding" * 200)),
        (SCENARIO,),
        ((limit, "0.001"),),
    )
    yield Case("size-limit-not-a-number", _run(lambda s, o: None), (limit,), ((limit, "abc"),))
    yield Case("size-limit-negative", _run(lambda s, o: None), (limit,), ((limit, "-1"),))
    yield Case(
        "projects-outside-other-allowed",
        _projects("../outside.csv", _outside, extra=("--allow-path", "/usr")),
        ("outside.csv",),
    )
    yield Case(
        "projects-outside-env-other-allowed",
        _projects("../outside.csv", _outside),
        ("outside.csv",),
        (("BENEFITSHARE_ALLOW", "/usr"),),
    )
    yield Case("base-chain-40", _chain(40), ("base",))

    def missing(scn: Path, out: Path) -> list[str]:
        return ["run", str(scn / "nothere.toml"), "--out", str(out)]

    def folder(scn: Path, out: Path) -> list[str]:
        return ["run", str(scn), "--out", str(out)]

    def validate_some(scn: Path, out: Path) -> list[str]:
        return ["validate", str(scn / SCENARIO), str(scn / "nothere.toml")]

    yield Case("scenario-missing", missing, ("nothere.toml",))
    yield Case("scenario-is-folder", folder, ("scn",))
    yield Case("validate-one-missing", validate_some, ("nothere.toml",))


def _args(*extra: str, verb: str = "run") -> Callable[[Path, Path], list[str]]:
    def setup(scn: Path, out: Path) -> list[str]:
        filled = [e.replace("@OUT@", str(out)) for e in extra]
        if verb == "validate":
            return ["validate", str(scn / SCENARIO), *filled]
        if "--out" in extra:
            return ["run", str(scn / SCENARIO), "--no-charts", "-q", *filled]
        return ["run", str(scn / SCENARIO), "--out", str(out), "--no-charts", "-q", *filled]

    return setup


def cli_cases() -> Iterator[Case]:
    sets = {
        "unknown-field": ("model.nosuch=1", "nosuch"),
        "unknown-section": ("nosuch.x=1", "nosuch"),
        "unknown-rule": ("rules[nosuch].params.term_years=5", "nosuch"),
        "no-equals": ("model.discount_rate", "model.discount_rate"),
        "empty-path": ("=0.05", "="),
        "bad-value": ("model.discount_rate=abc", "discount_rate"),
        "unclosed-list": ("model.discount_rate=[", "discount_rate"),
        "bool-for-number": ("model.discount_rate=true", "discount_rate"),
        "string-for-number": ('model.discount_rate="0.05"', "discount_rate"),
        "out-of-range": ("model.discount_rate=7", "discount_rate"),
        "nan": ("model.discount_rate=nan", "discount_rate"),
        "year": ("model.end_year=1800", "end_year"),
        "index-out-of-range": ("rules[99].name=x", "rules"),
        "bad-index": ("rules[x.name=x", "rules"),
        "money-1e308": ("parks.coop.land_price_yuan_per_mu=1e308", "land_price_yuan_per_mu"),
        "projects-outside": ("model.projects=/etc/passwd", "passwd"),
    }
    for verb in ("run", "validate"):
        for name, (value, word) in sets.items():
            yield Case(f"set-{name}-{verb}", _args("--set", value, verb=verb), (word,))
    names = {
        "nul": "a\x00b",
        "newline": "a\nb",
        "cr": "a\rb",
        "long": "x" * 300,
        "leading-dot": ".hidden",
        "dotdot": "..",
        "slash": "a/b",
        "parent": "../escape",
        "empty": "",
        "space": "a b",
        "rtl-override": "a\u202eb",
        "tab": "a\tb",
    }
    for name, value in names.items():
        yield Case(f"name-{name}", _args("--name", value), ("--name", "name"))

    def out_file(scn: Path, out: Path) -> list[str]:
        out.write_text("a file\n")
        return ["run", str(scn / SCENARIO), "--out", str(out), "--no-charts", "-q"]

    def out_under_file(scn: Path, out: Path) -> list[str]:
        out.write_text("a file\n")
        return ["run", str(scn / SCENARIO), "--out", str(out / "sub"), "--no-charts", "-q"]

    yield Case("out-is-a-file", out_file, ("--out", "out"))
    yield Case("out-under-a-file", out_under_file, ("--out", "out"))
    yield Case("out-nul", _args("--out", "@OUT@\x00x"), ("--out", "out"))
    others = {
        "draws-0": (("--draws", "0"), "draws"),
        "draws-negative": (("--draws", "-3"), "draws"),
        "draws-text": (("--draws", "many"), "draws"),
        "seed-negative": (("--draws", "3", "--seed", "-1"), "seed"),
        "sampler-unknown": (("--draws", "3", "--sampler", "nosuch"), "sampler"),
        "rules-unknown": (("--rules", "nosuch"), "nosuch"),
        "rules-empty": (("--rules", ","), "--rules"),
        "flow-rule-unknown": (("--flow-rule", "nosuch"), "flow-rule"),
        "unknown-option": (("--nosuch",), "--nosuch"),
    }
    for name, (extra, word) in others.items():
        yield Case(f"arg-{name}", _args(*extra), (word,))


def all_cases() -> list[Case]:
    doc, schema = base_doc(), _schema()
    cases = [
        *type_cases(doc),
        *range_cases(doc),
        *year_cases(doc),
        *structure_cases(doc, schema),
        *encoding_cases(),
        *csv_cases(),
        *file_cases(),
        *cli_cases(),
    ]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    return cases


# ------------------------------------------------------------------------------------ running
class CaseTimeout(BaseException):
    """A case ran longer than TIMEOUT_S (a read that never ends, say)."""


def _alarm(signum, frame):
    raise CaseTimeout


def prepare(root: Path) -> tuple[Path, Path]:
    scn, out = root / "scn", root / "out"
    scn.mkdir(parents=True)
    for name in (SCENARIO, PROJECTS):
        (scn / name).write_bytes((DATA / name).read_bytes())
    return scn, out


def _listing(out: Path) -> list[str]:
    if out.is_file():
        return [] if out.read_text() == "a file\n" else [out.name]
    if not out.exists():
        return []
    return sorted(str(p.relative_to(out)) for p in out.rglob("*"))


def run_case(case: Case, root: Path, timeout: int = TIMEOUT_S) -> Outcome:
    """Run one case in a fresh folder ``root`` through ``benefitshare.cli.main``, in-process."""
    from benefitshare import cli

    scn, out = prepare(root)
    argv = case.setup(scn, out)
    err, sink = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    saved = {k: os.environ.get(k) for k, _ in case.env}
    os.environ.update(dict(case.env))
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(sink):
            status: int | str = cli.main(argv)
    except CaseTimeout:
        status = "timeout"
    except BaseException as exc:  # noqa: BLE001 - anything escaping main is a finding
        status = "raised"
        err.write(f"Traceback (escaped main): {type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Outcome(status, err.getvalue(), _listing(out))
