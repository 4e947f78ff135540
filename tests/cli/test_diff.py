"""`benefitshare diff`: two scenario files or two run folders, the four formats, --out, exit codes."""

from __future__ import annotations

import io
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from benefitshare.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def files(tmp_path, monkeypatch):
    """tiny.toml and a child that raises the discount rate and gives T1 more investment."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "tiny.toml", tmp_path / "tiny.toml")
    shutil.copy(DATA / "tiny_projects.csv", tmp_path / "tiny_projects.csv")
    rows = (
        (DATA / "tiny_projects.csv")
        .read_text(encoding="utf-8")
        .replace(",100000000,", ",150000000,")
    )
    (tmp_path / "more.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "child.toml").write_text(
        'base = "tiny.toml"\n\n[model]\ndiscount_rate = 0.08\nprojects = "more.csv"\n',
        encoding="utf-8",
    )
    return tmp_path


def test_text_to_the_terminal(files, capsys):
    assert main(["diff", "tiny.toml", "child.toml"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("diff: tiny.toml → child.toml")
    assert "model.discount_rate" in out and "0.05" in out and "0.08" in out
    assert "T1" in out and "investment_yuan" in out and "150,000,000" in out
    assert "Results, 2026-2035 (亿元; Δ = B - A)" in out
    assert "change in the pool, by park × tax" in out
    assert "change in the receipts of shanwei under host, by year" in out


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "text"])
def test_formats_written_with_out(files, capsys, fmt):
    dest = files / f"diff.{fmt}"
    assert main(["diff", "tiny.toml", "child.toml", "--format", fmt, "--out", str(dest)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote diff.{fmt}"
    text = dest.read_text(encoding="utf-8")
    assert not list(files.glob(".diff*"))  # no temporary file left behind
    if fmt == "csv":
        back = pd.read_csv(io.StringIO(text))
        assert list(back.columns) == ["section", "item", "field", "old", "new", "delta"]
        rate = back[(back["item"] == "model") & (back["field"] == "discount_rate")]
        assert rate[["old", "new", "delta"]].astype(float).values.tolist() == [[0.05, 0.08, 0.03]]
        inv = back[(back["section"] == "projects") & (back["item"] == "T1")]
        assert inv["field"].tolist() == ["investment_yuan"]
        assert float(inv["delta"].item()) == 5e7
    elif fmt == "md":
        assert text.startswith("# diff: tiny.toml → child.toml")
        assert (
            "| model | " not in text and "| model.discount_rate | changed | 0.05 | 0.08 |" in text
        )
    elif fmt == "html":
        tags = []

        class Parser(HTMLParser):
            def handle_starttag(self, tag, attrs):
                tags.append(tag)

        Parser().feed(text)
        assert text.startswith("<!DOCTYPE html>") and tags.count("table") >= 4
        assert "<script" not in text and "<link" not in text  # one self-contained page
    else:
        assert "model.discount_rate" in text


def test_run_folders(files, capsys):
    for name in ("tiny", "child"):
        argv = ["run", f"{name}.toml", "--out", "o", "--no-charts", "-q", "--draws", "6"]
        assert main([*argv, "--seed", "1"]) == 0
    capsys.readouterr()
    assert main(["diff", "o/tiny", "o/child", "--top", "2", "--format", "csv"]) == 0
    back = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert "model.discount_rate" in set(back["item"] + "." + back["field"])
    assert (back["section"] == "contributors").any()


def test_bad_input_exits_2(files, capsys):
    assert main(["run", "tiny.toml", "--out", "o", "--no-charts", "-q"]) == 0
    (files / "empty").mkdir()
    cases = {
        ("tiny.toml", "missing.toml"): "no such file or folder",
        ("tiny.toml", "o/tiny"): "A is a scenario and B a run folder",
        ("empty", "o/tiny"): "manifest.json: file not found",
        ("tiny.toml", "child.toml", "--out", "nowhere/diff.md"): "folder that does not exist",
        ("tiny.toml", "child.toml", "--format", "pdf"): "invalid choice",
    }
    for args, message in cases.items():
        capsys.readouterr()
        assert main(["diff", *args]) == 2, args
        captured = capsys.readouterr()
        assert message in captured.err and "Traceback" not in captured.err
        assert captured.out == ""
    assert not (files / "nowhere").exists()
