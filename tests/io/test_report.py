"""report.md shows scenario text as written: never as Markdown or HTML markup."""

from __future__ import annotations

import re

import pytest

from benefitshare import cli
from benefitshare.io.report import markdown_code, markdown_text

HOSTILE = "Park <script>alert(1)</script> [click](http://evil) *bold* _x_\n# heading\u202e"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("fixed_50_50", "fixed_50_50"),
        ("[a](b)", r"\[a\]\(b\)"),
        ("<b>x</b>", r"\<b\>x\</b\>"),
        ("*x* _y_", r"\*x\* \_y\_"),
        ("a | b", r"a \| b"),
        ("one\ntwo\r\nthree", "one two three"),
        ("rtl\u202eoverride", r"rtl\\u202eoverride"),
    ],
)
def test_markdown_text_escapes_markup(text, shown):
    assert markdown_text(text) == shown


def test_markdown_code_fences_backticks():
    assert markdown_code("a `b` c") == "``a `b` c``"
    assert markdown_code("plain") == "`plain`"


def test_report_md_escapes_the_scenario_title(tiny, tmp_path, capsys):
    path = tiny.path
    status = cli.main(
        [
            "run",
            str(path),
            "--out",
            str(tmp_path),
            "--name",
            "hostile",
            "--no-charts",
            "-q",
            "--set",
            f"header.title={HOSTILE!r}".replace("'", '"').replace("\n", "\\n"),
        ]
    )
    assert status == 0, capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "hostile")]) == 0
    md = (tmp_path / "hostile" / "report.md").read_text(encoding="utf-8")
    title = md.splitlines()[0]
    assert title.startswith("# Park \\<script\\>")
    # outside code spans (where text is literal) no markup survives
    prose = re.sub(r"(`+).*?\1", "", md)
    assert "<script>" not in prose and "](http://evil)" not in prose and "*bold*" not in prose
    assert "\n# heading" not in md and "\u202e" not in md
