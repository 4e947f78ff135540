"""What changed between two agreements, and what the change does to each city.

:func:`diff_scenarios` compares two scenarios (files or loaded) or two run folders written by
``benefitshare run``: every changed input by field path and every added, removed or changed
project (:mod:`benefitshare.analysis.diff_inputs`), then runs both and gives, for each rule of
both, the change in each party's NPV, cumulative receipts and share of the pool, and the largest
contributors to the change of the pool and of each party's receipts, by park, tax and year
(:mod:`benefitshare.analysis.diff_results`). The :class:`ScenarioDiff` it returns holds tidy
tables and renders them as text, Markdown, HTML or CSV (``benefitshare diff A B``).

A scenario file is run deterministically; a run folder is run again from its manifest: the
scenario file it names, with the overrides, rules, draws, seed and sampler it records.

Examples
--------
>>> from benefitshare.analysis.diff import diff_scenarios
>>> d = diff_scenarios("scenarios/reference.toml", "my_variant.toml")  # doctest: +SKIP
>>> print(d.to_text())                                                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benefitshare.analysis.diff_inputs import input_changes, project_changes
from benefitshare.analysis.diff_results import (
    contributor_changes,
    result_changes,
)
from benefitshare.errors import Problem, ScenarioError
from benefitshare.glossary import YUAN_PER_YI
from benefitshare.io.run_folder import read_run
from benefitshare.model.run import run as run_scenario
from benefitshare.scenario.load import Scenario, load_scenario

__all__ = ["ScenarioDiff", "DiffSide", "diff_scenarios", "load_side", "CSV_COLUMNS"]

#: Columns of :meth:`ScenarioDiff.to_csv` (one row per change).
CSV_COLUMNS = ["section", "item", "field", "old", "new", "delta"]


# ------------------------------------------------------------------------------------ the two sides
@dataclasses.dataclass(frozen=True)
class DiffSide:
    """One side of a diff: what to show as its name, the scenario, and how to run it.

    Attributes
    ----------
    label : str
        The file or folder as given.
    kind : str
        ``"scenario"`` (a file or a loaded scenario) or ``"run folder"``.
    scenario : Scenario
    run_kwargs : dict
        Arguments of :func:`benefitshare.model.run.run` (empty for a deterministic run of all
        rules; a run folder's rules, draws, seed and sampler).
    notes : tuple of str
        What the reader should know (an input file changed since the run was made).
    """

    label: str
    kind: str
    scenario: Scenario
    run_kwargs: dict
    notes: tuple[str, ...] = ()


def _seed_of(record: Any, manifest_file: str):
    if record is None or isinstance(record, int):
        return record
    if isinstance(record, dict) and isinstance(record.get("entropy"), int):
        return np.random.SeedSequence(
            record["entropy"], spawn_key=tuple(record.get("spawn_key") or ())
        )
    raise ScenarioError(
        Problem(manifest_file, "seed", "must be a whole number or {entropy, spawn_key}", record)
    )


def _from_run_folder(folder: Path, label: str, allow_paths=()) -> DiffSide:
    manifest, _tables = read_run(folder)
    mfile = str(folder / "manifest.json")
    scenario_path = (manifest.get("scenario") or {}).get("path")
    if not isinstance(scenario_path, str) or not scenario_path:
        raise ScenarioError(
            Problem(
                mfile,
                "scenario.path",
                "records no scenario file (the run was made from Python); diff the scenarios "
                "instead",
                scenario_path,
            )
        )
    path = Path(scenario_path)
    if not path.exists():
        raise ScenarioError(
            Problem(
                mfile,
                "scenario.path",
                "the scenario file of this run is not found from the working folder; run the "
                "diff from the folder the run was made in, or diff the scenario files",
                scenario_path,
            )
        )
    overrides = manifest.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise ScenarioError(
            Problem(mfile, "overrides", "must be a table of path = value", overrides)
        )
    scenario = load_scenario(path, overrides=overrides or None, allow_paths=allow_paths)
    kwargs: dict[str, Any] = {}
    rules = [r.get("name") for r in manifest.get("rules") or [] if isinstance(r, dict)]
    if rules:
        kwargs["rules"] = rules
    draws = manifest.get("draws", 1)
    if not isinstance(draws, int) or isinstance(draws, bool) or draws < 1:
        raise ScenarioError(Problem(mfile, "draws", "must be a whole number >= 1", draws))
    if draws > 1:
        kwargs["draws"] = draws
        kwargs["seed"] = _seed_of(manifest.get("seed"), mfile)
        if manifest.get("sampler"):
            kwargs["sampler"] = manifest["sampler"]
    recorded = manifest.get("inputs_sha256") or {}
    changed = [
        name
        for name, sha in scenario.input_files.items()
        if name in recorded and recorded[name] != sha
    ]
    notes = tuple(
        f"{label}: {name} has changed since the run was made; the diff uses it as it is now"
        for name in changed
    )
    return DiffSide(label, "run folder", scenario, kwargs, notes)


def load_side(source, which: str = "A", *, allow_paths=()) -> DiffSide:
    """A side of a diff from a scenario, a scenario file or a run folder.

    Parameters
    ----------
    source : Scenario, str or path-like
        A loaded scenario, a scenario TOML file, or a folder written by ``benefitshare run``.
    which : str
        ``"A"`` or ``"B"``, for messages.
    allow_paths : sequence of path-like
        Folders besides the scenario's own that its files may be read from (see
        :func:`benefitshare.load_scenario`).

    Raises
    ------
    ScenarioError
        If the file or folder does not exist or its scenario is invalid; a folder without a
        manifest raises :class:`benefitshare.io.run_folder.RunFolderError`.
    """
    if isinstance(source, Scenario):
        return DiffSide(source.name, "scenario", source, {})
    path = Path(source)
    label = str(source)
    if not path.exists():
        raise ScenarioError(
            Problem(
                "<arguments>",
                which,
                "no such file or folder; give a scenario .toml file or a folder written by "
                "`benefitshare run`",
                label,
            )
        )
    if path.is_dir():
        return _from_run_folder(path, label, allow_paths)
    return DiffSide(label, "scenario", load_scenario(path, allow_paths=allow_paths), {})


# ------------------------------------------------------------------------------------ the diff
@dataclasses.dataclass(frozen=True)
class ScenarioDiff:
    """What changed from A to B, as tidy tables.

    Attributes
    ----------
    a, b : str
        The two sides as given.
    inputs : pandas.DataFrame
        Changed scenario fields (:func:`benefitshare.analysis.diff_inputs.input_changes`).
    projects : pandas.DataFrame
        Added, removed and changed projects (:func:`~.diff_inputs.project_changes`).
    results : pandas.DataFrame
        Headline totals and each party's NPV, cumulative receipts and share of the pool per rule
        of both (:func:`benefitshare.analysis.diff_results.result_changes`).
    contributors : pandas.DataFrame
        Every contribution to the change of the pool and of each party's receipts
        (:func:`~.diff_results.contributor_changes`).
    rules_only_a, rules_only_b : list of str
        Rules of one side only (not compared).
    years : tuple of int
        First and last year of B's horizon (A's when they differ is in ``inputs``).
    notes : list of str
        What the reader should know about the inputs (files changed since a run was made).
    top : int
        How many contributors of each list the text, Markdown and HTML show.
    """

    a: str
    b: str
    inputs: pd.DataFrame
    projects: pd.DataFrame
    results: pd.DataFrame
    contributors: pd.DataFrame
    rules_only_a: list[str]
    rules_only_b: list[str]
    years: tuple[int, int]
    notes: list[str]
    top: int = 5

    # ---------------------------------------------------------------- tidy rows
    def rows(self) -> pd.DataFrame:
        """One row per change: ``section``, ``item``, ``field``, ``old``, ``new``, ``delta``.

        Sections: ``inputs`` (item: the table, e.g. ``rules[fixed_50]``, field: the rest of the
        path), ``projects`` (item: project id, field: column, or ``(project)`` for an added or
        removed one), ``rules`` (a rule of one side only), ``results`` (item: ``rule/party``,
        or ``total`` for the headline), ``contributors`` (item: ``pool by park × tax``,
        ``receipts of PARTY under RULE by year``..., field: the cell; only cells that change;
        old and new empty where they are not amounts of either run). Money in yuan.
        """
        rows: list[tuple] = []
        for r in self.inputs.itertuples(index=False):
            item, field = _split_item(r.path)
            rows.append(("inputs", item, field, r.old, r.new, r.delta))
        for r in self.projects.itertuples(index=False):
            field = r.column if r.column is not None else "(project)"
            rows.append(("projects", r.project_id, field, r.old, r.new, r.delta))
        for name in self.rules_only_a:
            rows.append(("rules", name, "(rule)", "present", None, None))
        for name in self.rules_only_b:
            rows.append(("rules", name, "(rule)", None, "present", None))
        for r in self.results.itertuples(index=False):
            item = f"{r.rule}/{r.party}" if r.rule else "total"
            rows.append(("results", item, r.field, r.old, r.new, r.delta))
        changed = self.contributors[self.contributors["delta_yuan"] != 0]
        for r in changed.itertuples(index=False):
            rows.append(
                (
                    "contributors",
                    _target(r.target, r.rule, r.party) + f" by {r.by}",
                    _cell(r),
                    None if pd.isna(r.old_yuan) else r.old_yuan,
                    None if pd.isna(r.new_yuan) else r.new_yuan,
                    r.delta_yuan,
                )
            )
        return pd.DataFrame(rows, columns=CSV_COLUMNS, dtype=object)

    def to_csv(self) -> str:
        """:meth:`rows` as CSV text."""
        return self.rows().to_csv(index=False, lineterminator="\n")

    # ---------------------------------------------------------------- documents
    def _blocks(self) -> list[tuple[str, str | None, list[str], list[list[str]], str]]:
        """The report as (kind, heading, header, rows, alignment) blocks, for every format.

        ``kind`` is ``h`` (heading), ``p`` (a paragraph in ``heading``) or ``t`` (a table).
        """
        out: list = [("h", f"diff: {self.a} → {self.b}", [], [], "")]
        for note in self.notes:
            out.append(("p", f"note: {note}", [], [], ""))
        out.append(("h", f"Inputs ({len(self.inputs)} changed)", [], [], ""))
        if len(self.inputs):
            out.append(
                (
                    "t",
                    None,
                    ["field", "change", "A", "B"],
                    [[r.path, r.change, _show(r.old), _show(r.new)] for r in _it(self.inputs)],
                    "llll",
                )
            )
        else:
            out.append(("p", "no scenario field differs", [], [], ""))
        counts = self.projects.drop_duplicates("project_id")["change"].value_counts()
        head = ", ".join(f"{counts.get(c, 0)} {c}" for c in ("added", "removed", "changed"))
        out.append(("h", f"Projects ({head})", [], [], ""))
        if len(self.projects):
            out.append(
                (
                    "t",
                    None,
                    ["project", "change", "column", "A", "B"],
                    [
                        [r.project_id, r.change, r.column or "", _show(r.old), _show(r.new)]
                        for r in _it(self.projects)
                    ],
                    "lllll",
                )
            )
        else:
            out.append(("p", "no project differs", [], [], ""))
        if self.rules_only_a or self.rules_only_b:
            out.append(
                (
                    "p",
                    "not compared: rules only in A: "
                    + (", ".join(self.rules_only_a) or "none")
                    + "; only in B: "
                    + (", ".join(self.rules_only_b) or "none"),
                    [],
                    [],
                    "",
                )
            )
        out.extend(self._result_blocks())
        out.extend(self._contributor_blocks())
        return out

    def _result_blocks(self) -> list:
        y0, y1 = self.years
        out: list = [("h", f"Results, {y0}-{y1} (亿元; Δ = B - A)", [], [], "")]
        res = self.results
        total = res[res["rule"] == ""]
        out.append(
            (
                "t",
                None,
                ["total", "A", "B", "Δ"],
                [[r.field, _yi(r.old), _yi(r.new), _yi(r.delta, sign=True)] for r in _it(total)],
                "lrrr",
            )
        )
        per = res[res["rule"] != ""]
        if per.empty:
            out.append(("p", "no rule in both", [], [], ""))
            return out
        wide = per.pivot_table(
            index=["rule", "party"], columns="field", values=["old", "new", "delta"], sort=False
        )
        rows = []
        for (rule, party), r in wide.iterrows():
            rows.append(
                [
                    rule,
                    party,
                    _yi(r[("old", "npv_yuan")]),
                    _yi(r[("new", "npv_yuan")]),
                    _yi(r[("delta", "npv_yuan")], sign=True),
                    _yi(r[("old", "cumulative_yuan")]),
                    _yi(r[("new", "cumulative_yuan")]),
                    _yi(r[("delta", "cumulative_yuan")], sign=True),
                    _pct(r[("old", "share_of_pool")]),
                    _pct(r[("new", "share_of_pool")]),
                    _pp(r[("delta", "share_of_pool")]),
                ]
            )
        header = ["rule", "party", "NPV A", "NPV B", "Δ NPV", "cum. A", "cum. B", "Δ cum."]
        header += ["pool % A", "pool % B", "Δ pool %"]
        out.append(("t", None, header, rows, "llrrrrrrrrr"))
        return out

    def _contributor_blocks(self) -> list:
        c = self.contributors
        out: list = [
            (
                "h",
                f"Largest contributors (top {self.top} of each list by size of change; 亿元)",
                [],
                [],
                "",
            ),
            (
                "p",
                "Each list splits one change over the horizon into parts that sum to it. The "
                "pool is the same under every rule. A party's receipts are its pool share, its "
                "revenue outside the pool and its dividends; the change of its pool share is "
                "'pool size' (its old fraction of each year's pool times the change of that "
                "year's pool, by park × tax the pool's cells) and 'split of the pool' (the rest).",
                [],
                [],
                "",
            ),
        ]
        for (target, rule, party), group in c.groupby(
            ["target", "rule", "party"], sort=False, dropna=False
        ):
            by_year = group[group["by"] == "year"]
            total = float(by_year["delta_yuan"].sum())
            if total == 0 and not (group["delta_yuan"] != 0).any():
                continue
            name = _target(target, rule, party)
            for by, cells in group.groupby("by", sort=False):
                moved = cells[cells["delta_yuan"] != 0]
                top = moved.reindex(moved["delta_yuan"].abs().sort_values(ascending=False).index)
                shown = top.head(self.top)
                rows = [[_cell(r), _yi(r.delta_yuan, sign=True)] for r in _it(shown)]
                rest = float(top["delta_yuan"].iloc[self.top :].sum())
                if len(top) > self.top:
                    rows.append([f"{len(top) - self.top} more", _yi(rest, sign=True)])
                rows.append(["total", _yi(float(cells["delta_yuan"].sum()), sign=True)])
                out.append(("t", f"change in the {name}, by {by}", ["cell", "Δ"], rows, "lr"))
        if not any(block[0] == "t" for block in out):
            out.append(
                (
                    "p",
                    "none: the pool and every party's receipts are unchanged; a change of NPV "
                    "comes from discounting or costs",
                    [],
                    [],
                    "",
                )
            )
        return out

    def to_text(self) -> str:
        """Plain text for the terminal: aligned tables, money in 亿元."""
        lines: list[str] = []
        for kind, heading, header, rows, align in self._blocks():
            if kind == "h":
                lines += ["", heading] if lines else [heading]
            elif kind == "p":
                lines.append(f"  {heading}")
            else:
                if heading:
                    lines.append(f"  {heading}:")
                lines += ["    " + line for line in _aligned(header, rows, align)]
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """A Markdown document (pipe tables)."""
        lines: list[str] = []
        level = "#"
        for kind, heading, header, rows, align in self._blocks():
            if kind == "h":
                lines += [f"{level} {_md(heading)}", ""]
                level = "##"
            elif kind == "p":
                lines += [_md(heading), ""]
            else:
                if heading:
                    lines += [f"**{_md(heading)}**", ""]
                lines.append("| " + " | ".join(_md(h) for h in header) + " |")
                lines.append(
                    "|"
                    + "|".join("---:" if a == "r" else "---" for a in align[: len(header)])
                    + "|"
                )
                lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]
                lines.append("")
        return "\n".join(lines)

    def to_html(self) -> str:
        """One self-contained HTML page (every text escaped)."""
        e = html.escape
        body: list[str] = []
        first = True
        for kind, heading, header, rows, align in self._blocks():
            if kind == "h":
                tag = "h1" if first else "h2"
                body.append(f"<{tag}>{e(heading)}</{tag}>")
                first = False
            elif kind == "p":
                body.append(f"<p>{e(heading)}</p>")
            else:
                if heading:
                    body.append(f"<h3>{e(heading)}</h3>")
                head = "".join(f"<th>{e(h)}</th>" for h in header)
                trs = "".join(
                    "<tr>"
                    + "".join(
                        f'<td class="{"num" if a == "r" else "txt"}">{e(v)}</td>'
                        for v, a in zip(row, align, strict=False)
                    )
                    + "</tr>"
                    for row in rows
                )
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
        title = e(f"diff: {self.a} → {self.b}")
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>\n"
            "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2em;max-width:80em}\n"
            "table{border-collapse:collapse;margin:0.5em 0 1.5em}\n"
            "th,td{border:1px solid #ccc;padding:0.2em 0.6em}\n"
            "th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
            "</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
        )

    def render(self, fmt: str = "text") -> str:
        """The diff in one of the formats ``text``, ``md``, ``html``, ``csv``."""
        renderers = {
            "text": self.to_text,
            "md": self.to_markdown,
            "html": self.to_html,
            "csv": self.to_csv,
        }
        if fmt not in renderers:
            raise ScenarioError(
                Problem("<arguments>", "format", f"must be one of {', '.join(renderers)}", fmt)
            )
        return renderers[fmt]()


def diff_scenarios(a, b, *, top: int = 5, allow_paths=()) -> ScenarioDiff:
    """Compare two scenarios, or two run folders: inputs, projects, results and contributors.

    Parameters
    ----------
    a, b : Scenario, str or path-like
        The old (A) and the new (B): two scenarios (loaded, or TOML files) or two folders
        written by ``benefitshare run``. Scenarios are run deterministically with all their
        rules; a run folder is run again as its manifest records (scenario file, overrides,
        rules, draws, seed, sampler).
    top : int
        How many contributors of each list the rendered documents show (the tables hold all).

    Returns
    -------
    ScenarioDiff

    Raises
    ------
    ScenarioError
        If a file or folder does not exist, one side is a scenario and the other a run folder,
        or a scenario is invalid. A folder without a manifest raises
        :class:`benefitshare.io.run_folder.RunFolderError`.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ScenarioError(Problem("<arguments>", "top", "must be a whole number >= 1", top))
    side_a = load_side(a, "A", allow_paths=allow_paths)
    side_b = load_side(b, "B", allow_paths=allow_paths)
    if side_a.kind != side_b.kind:
        raise ScenarioError(
            Problem(
                "<arguments>",
                "A, B",
                f"A is a {side_a.kind} and B a {side_b.kind}; give two scenario files or two "
                "run folders",
                f"{side_a.label}, {side_b.label}",
            )
        )
    scn_a, scn_b = side_a.scenario, side_b.scenario
    res_a = run_scenario(scn_a, progress=False, **side_a.run_kwargs)
    res_b = run_scenario(scn_b, progress=False, **side_b.run_kwargs)
    return ScenarioDiff(
        a=side_a.label,
        b=side_b.label,
        inputs=input_changes(scn_a.raw, scn_b.raw),
        projects=project_changes(scn_a.projects, scn_b.projects),
        results=result_changes(res_a, res_b),
        contributors=contributor_changes(res_a, res_b),
        rules_only_a=[r for r in res_a.rule_names if r not in res_b.rule_names],
        rules_only_b=[r for r in res_b.rule_names if r not in res_a.rule_names],
        years=(int(res_b.years[0]), int(res_b.years[-1])),
        notes=[*side_a.notes, *side_b.notes],
        top=top,
    )


# ------------------------------------------------------------------------------------ formatting
def _it(frame: pd.DataFrame):
    return frame.itertuples(index=False)


def _split_item(path: str) -> tuple[str, str]:
    """``rules[x].params.a`` -> (``rules[x]``, ``params.a``); ``model.discount_rate`` ->
    (``model``, ``discount_rate``)."""
    cut = len(path)
    for sep in (".", "["):
        i = path.find(sep)
        if i > 0:
            cut = min(cut, i)
    if cut < len(path) and path[cut] == "[":
        end = path.find("]", cut)
        cut = end + 1 if end > 0 else cut
    item, rest = path[:cut], path[cut:]
    return item, rest[1:] if rest.startswith(".") else rest


def _target(target: str, rule: str, party: str) -> str:
    return "pool" if target == "pool" else f"receipts of {party} under {rule}"


def _cell(r) -> str:
    if r.by == "year":
        return f"{r.year} {r.component}" if isinstance(r.component, str) else str(r.year)
    if isinstance(r.park, str) and r.park:
        return f"{r.park} × {r.tax}"
    return str(r.component)


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1e4:
            return f"{value:,.0f}"
        return repr(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 1e4 else str(value)
    if isinstance(value, str):
        return value
    return str(value)


def _yi(yuan: float, sign: bool = False) -> str:
    value = float(yuan) / YUAN_PER_YI
    if value == 0:
        return "0" if not sign else "±0"
    return f"{value:+,.4f}" if sign else f"{value:,.4f}"


def _pct(fraction: float) -> str:
    return "—" if pd.isna(fraction) else f"{100 * float(fraction):.2f}%"


def _pp(fraction: float) -> str:
    return "—" if pd.isna(fraction) else f"{100 * float(fraction):+.2f} pp"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _width(text: str) -> int:
    """Display width: East Asian wide characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _aligned(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    table = [header, *rows]
    widths = [max(_width(str(row[i])) for row in table) for i in range(len(header))]
    lines = []
    for n, row in enumerate(table):
        cells = []
        for i, value in enumerate(row):
            pad = " " * (widths[i] - _width(str(value)))
            cells.append(pad + str(value) if align[i] == "r" else str(value) + pad)
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
