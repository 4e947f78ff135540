"""Readable tables of a run, and a shareable report built from a run folder.

The same two tables are printed by ``benefitshare run`` and written into ``report.md`` and
``report.html`` by ``benefitshare report``: the headline (tax by tier, the pool) and the
comparison of rules (per rule and party: NPV, share of the pool, cumulative revenue). Amounts are
shown in 亿元 (1 亿元 = 1e8 yuan); the tables they come from stay in yuan.

This module is in the io layer: it formats a run's tables (or reads the folder written by
:func:`benefitshare.io.run_folder.write_run`) and computes nothing of the model.
"""

from __future__ import annotations

import base64
import html
import re
import textwrap
import unicodedata
from pathlib import Path

import pandas as pd

from benefitshare.glossary import YUAN_PER_YI
from benefitshare.io.files import atomic_write_json, atomic_write_text, file_sha256
from benefitshare.io.run_folder import read_run

__all__ = [
    "comparison_table",
    "headline_table",
    "format_text_table",
    "format_markdown_table",
    "run_text",
    "build_report",
    "CHARTS",
]

#: Charts of a run folder and their captions, in report order.
CHARTS: dict[str, str] = {
    "annual_allocation.png": "Annual pool revenue by party under each rule",
    "cumulative_share.png": "The partner's cumulative share of the pool, by rule",
    "flows.png": "Where the tax goes: tax types, government tiers, pool and parties",
}

NOTES = (
    "NPV: net benefit (revenue received less costs borne), discounted to the first model year "
    "at each party's discount rate. Cumulative: revenue received over the horizon, undiscounted "
    "(pool share + local revenue outside the pool + platform dividends). Share of pool: the "
    "party's part of the shareable pool over the horizon. Means over draws; with several draws, "
    "P5 and P95 of the NPV and the probability that it is negative. 1 亿元 = 1e8 yuan."
)


def comparison_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Rule x party comparison from :meth:`Result.summary` (or ``summary.csv``).

    Returns
    -------
    pandas.DataFrame
        Columns ``rule``, ``party``, ``npv_yi``, ``share_of_pool``, ``cumulative_yi`` (亿元), and
        when the summary has percentiles (draws > 1) ``npv_p5_yi``, ``npv_p95_yi`` and
        ``prob_net_negative``; in the summary's row order.
    """
    out = pd.DataFrame(
        {
            "rule": summary["rule"].to_numpy(),
            "party": summary["party"].to_numpy(),
            "npv_yi": summary["npv_yuan"].to_numpy() / YUAN_PER_YI,
            "share_of_pool": summary["share_of_pool"].to_numpy(),
            "cumulative_yi": summary["cumulative_yuan"].to_numpy() / YUAN_PER_YI,
        }
    )
    if "npv_p5_yuan" in summary:
        out["npv_p5_yi"] = summary["npv_p5_yuan"].to_numpy() / YUAN_PER_YI
        out["npv_p95_yi"] = summary["npv_p95_yuan"].to_numpy() / YUAN_PER_YI
        out["prob_net_negative"] = summary["prob_net_negative"].to_numpy()
    return out


def _comparison(summary: pd.DataFrame) -> tuple[list[str], list[list[str]], set[int]]:
    """Header, rows and right-aligned columns of the comparison, formatted for display."""
    table = comparison_table(summary)
    spread = "npv_p5_yi" in table
    header = ["rule", "party", "NPV (亿元)"]
    header += ["NPV P5", "NPV P95", "P(NPV<0)"] if spread else []
    header += ["share of pool", "cumulative (亿元)"]
    rows, last = [], None
    for rec in table.itertuples(index=False):
        row = [rec.rule if rec.rule != last else "", rec.party, f"{rec.npv_yi:,.2f}"]
        if spread:
            row += [
                f"{rec.npv_p5_yi:,.2f}",
                f"{rec.npv_p95_yi:,.2f}",
                f"{rec.prob_net_negative:.0%}",
            ]
        share = "—" if pd.isna(rec.share_of_pool) else f"{rec.share_of_pool:.1%}"
        rows.append([*row, share, f"{rec.cumulative_yi:,.2f}"])
        last = rec.rule
    return header, rows, set(range(2, len(header)))


def headline_table(headline: dict[str, float]) -> list[list[str]]:
    """Rows (label, 亿元, share of total tax) of the headline totals of :meth:`Result.headline`."""
    total = headline["total_tax_yuan"]

    def row(label: str, key: str, share: bool = True) -> list[str]:
        value = headline[key]
        pct = f"{value / total:.1%}" if share and total else ""
        return [label, f"{value / YUAN_PER_YI:,.2f}", pct]

    return [
        row("total tax", "total_tax_yuan"),
        row("  central", "central_yuan"),
        row("  provincial", "provincial_yuan"),
        row("  local (city + county)", "local_yuan"),
        row("    city", "city_yuan"),
        row("    county / zone", "county_yuan"),
        row("shareable pool", "pool_yuan"),
        row("rebates to firms", "rebates_yuan"),
        row("land-transfer revenue (not tax)", "land_transfer_yuan", share=False),
    ]


_MD_SPECIAL = re.compile(r"([\\`*{}\[\]()#+!|<>~])")
_MD_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def _visible(text: object) -> str:
    """``text`` on one line, with control and bidirectional formatting characters shown as
    ``\\uXXXX`` (a newline or a right-to-left override in a name must not reshape the page)."""
    out = []
    for ch in " ".join(str(text).split()):
        cat = unicodedata.category(ch)
        out.append(f"\\u{ord(ch):04x}" if cat in ("Cc", "Cf") else ch)
    return "".join(out)


def markdown_text(text: object) -> str:
    """Text from a scenario made safe to embed in Markdown: shown as written, never as markup.

    Escapes the characters that start links, images, emphasis, code, HTML and table cells, and
    underscores at the edges of words (those inside a word, as in ``fixed_50_50``, are literal
    in CommonMark).
    """
    return _MD_EDGE_UNDERSCORE.sub(r"\\_", _MD_SPECIAL.sub(r"\\\1", _visible(text)))


def markdown_code(text: object) -> str:
    """``text`` as an inline code span, fenced with more backticks than it contains."""
    body = _visible(text)
    fence = "`" * (max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_text_table(
    header: list[str], rows: list[list[str]], *, right: set[int] | None = None
) -> str:
    """A plain-text table aligned for a terminal (wide characters such as 亿 count double)."""
    right = set(range(1, len(header))) if right is None else right
    widths = [max(_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells) -> str:
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - _width(str(cell)))
            out.append(pad + str(cell) if i in right else str(cell) + pad)
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def format_markdown_table(
    header: list[str], rows: list[list[str]], *, right: set[int] | None = None
) -> str:
    """A GitHub-flavoured Markdown table."""
    right = set(range(1, len(header))) if right is None else right
    align = ["---:" if i in right else ":---" for i in range(len(header))]
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, header)) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines)


def run_text(
    summary: pd.DataFrame, headline: dict[str, float], *, title: str, years: tuple[int, int]
) -> str:
    """What ``benefitshare run`` prints: the headline and the rule x party comparison."""
    span = f"{years[0]}–{years[1]}"
    header, rows, right = _comparison(summary)
    parts = [
        title,
        "",
        f"Headline, {span} totals (亿元 = 1e8 yuan)",
        format_text_table(["", "亿元", "of tax"], headline_table(headline)),
        "",
        f"Rules compared, {span}",
        format_text_table(header, rows, right=right),
        "",
        textwrap.fill(NOTES, 100),
    ]
    return "\n".join(parts)


def _web_indent(rows: list[list[str]]) -> list[list[str]]:
    """Leading spaces of the first cell as em spaces, which Markdown and HTML do not collapse."""
    out = []
    for first, *rest in rows:
        body = first.lstrip(" ")
        out.append(["\u2003" * ((len(first) - len(body)) // 2) + body, *rest])
    return out


def build_report(run_dir: str | Path) -> list[Path]:
    """Write ``report.md`` and ``report.html`` into a run folder, from its tables and manifest.

    The Markdown report links the folder's PNG charts (those of :data:`CHARTS` first, with their
    captions, then any other PNG of the folder); the HTML report embeds them, so it can be shared
    as one file.

    Returns
    -------
    list of pathlib.Path
        The two files written.

    Raises
    ------
    benefitshare.io.run_folder.RunFolderError
        If the folder is not a complete run folder.
    """
    run_dir = Path(run_dir)
    manifest, tables = read_run(run_dir)
    summary = tables["summary.csv"]
    scn = manifest.get("scenario", {})
    title = scn.get("title") or scn.get("name") or run_dir.name
    years = manifest.get("years") or [
        int(tables["annual.csv"]["year"].min()),
        int(tables["annual.csv"]["year"].max()),
    ]
    span = f"{years[0]}–{years[1]}"
    headline = manifest.get("headline_yuan")
    labels = [(r["name"], r.get("label") or r["name"]) for r in manifest.get("rules", [])]
    charts = [(name, caption) for name, caption in CHARTS.items() if (run_dir / name).is_file()]
    charts += [
        (p.name, p.stem.replace("_", " "))
        for p in sorted(run_dir.glob("*.png"))
        if p.name not in CHARTS
    ]
    flow_rule = manifest.get("charts", {}).get("flow_rule")

    meta = [
        [
            "scenario",
            f"{markdown_text(scn.get('name', ''))} ({markdown_text(scn.get('path') or 'no file')})",
        ],
        ["benefitshare", str(manifest.get("benefitshare_version", "unknown"))],
        ["git commit", str(manifest.get("git_commit") or "not in a git repository")],
        ["created (UTC)", str(manifest.get("created_utc", ""))],
        [
            "draws, seed, sampler",
            f"{manifest.get('draws')}, {manifest.get('seed')}, {manifest.get('sampler')}",
        ],
        [
            "command",
            markdown_code(manifest["command"]) if manifest.get("command") else "(Python API)",
        ],
    ]
    overrides = manifest.get("overrides") or {}
    inputs = [
        [markdown_code(k), markdown_code(v)]
        for k, v in (manifest.get("inputs_sha256") or {}).items()
    ]
    comp_header, comp_rows, comp_right = _comparison(summary)

    md = [
        f"# {markdown_text(title)}",
        "",
        f"Run {markdown_code(run_dir.name)}: {len(labels) or summary['rule'].nunique()} rules compared over {span}.",
        "",
    ]
    if headline:
        md += [
            f"## Headline ({span} totals, 亿元)",
            "",
            format_markdown_table(["", "亿元", "of tax"], _web_indent(headline_table(headline))),
            "",
        ]
    md += [
        "## Rules compared",
        "",
        format_markdown_table(comp_header, comp_rows, right=comp_right),
        "",
        NOTES,
        "",
    ]
    if labels:
        md += [
            "### The rules",
            "",
            format_markdown_table(
                ["rule", "description"],
                [[markdown_text(n), markdown_text(lab)] for n, lab in labels],
                right=set(),
            ),
            "",
        ]
    if charts:
        md += ["## Charts", ""]
        for name, caption in charts:
            if name == "flows.png" and flow_rule:
                caption += f" (split under {markdown_code(flow_rule)})"
            md += [f"![{caption}]({name})", "", f"*{caption}.*", ""]
    md += ["## Provenance", "", format_markdown_table(["", ""], meta, right=set()), ""]
    if overrides:
        md += [
            "Overrides:",
            "",
            *(f"- {markdown_code(f'{k} = {v!r}')}" for k, v in overrides.items()),
            "",
        ]
    if inputs:
        md += [
            "Input files (SHA-256):",
            "",
            format_markdown_table(["file", "sha256"], inputs, right=set()),
            "",
        ]
    md_text = "\n".join(md)

    def html_table(header, rows, right=None) -> str:
        right = set(range(1, len(header))) if right is None else right
        th = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="{"num" if i in right else ""}">{html.escape(str(c)).replace("`", "")}</td>'
                for i, c in enumerate(r)
            )
            + "</tr>"
            for r in rows
        )
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Run <code>{html.escape(run_dir.name)}</code>: rules compared over {span}.</p>",
    ]
    if headline:
        parts += [
            f"<h2>Headline ({span} totals, 亿元)</h2>",
            html_table(["", "亿元", "of tax"], _web_indent(headline_table(headline))),
        ]
    parts += [
        "<h2>Rules compared</h2>",
        html_table(comp_header, comp_rows, right=comp_right),
        f'<p class="note">{html.escape(NOTES)}</p>',
    ]
    if labels:
        parts += [
            "<h3>The rules</h3>",
            html_table(["rule", "description"], [[n, lab] for n, lab in labels], right=set()),
        ]
    if charts:
        parts.append("<h2>Charts</h2>")
        for name, caption in charts:
            data = base64.b64encode((run_dir / name).read_bytes()).decode("ascii")
            if name == "flows.png" and flow_rule:
                caption += f" (split under {flow_rule})"
            parts.append(
                f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    parts += ["<h2>Provenance</h2>", html_table(["", ""], meta, right=set())]
    if overrides:
        parts.append(
            "<p>Overrides:</p><ul>"
            + "".join(
                f"<li><code>{html.escape(f'{k} = {v!r}')}</code></li>" for k, v in overrides.items()
            )
            + "</ul>"
        )
    if inputs:
        parts += [
            "<p>Input files (SHA-256):</p>",
            html_table(["file", "sha256"], inputs, right=set()),
        ]
    html_text = _HTML_PAGE.format(title=html.escape(title), body="\n".join(parts))

    md_path, html_path = run_dir / "report.md", run_dir / "report.html"
    atomic_write_text(md_path, md_text)
    atomic_write_text(html_path, html_text)
    # the reports are the package's own files: listed in the manifest, so a later run may replace
    # the folder without --force (a report edited by hand no longer matches and is kept)
    outputs = dict(manifest.get("outputs_sha256") or {})
    outputs.update({p.name: file_sha256(p) for p in (md_path, html_path)})
    atomic_write_json(run_dir / "manifest.json", {**manifest, "outputs_sha256": outputs})
    return [md_path, html_path]


_HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
figcaption, .note {{ color: #555; font-size: 0.9em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
