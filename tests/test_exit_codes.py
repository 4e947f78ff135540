"""Every user-input failure exits 2, before any computation, with its own message; nothing is
written and no traceback is shown. One row per case: arguments, files to create."""

from __future__ import annotations

import re

import pytest
from conftest import DATA

from benefitshare.cli import main

TINY_TOML = (DATA / "tiny.toml").read_text("utf-8")
TINY_CSV = (DATA / "tiny_projects.csv").read_text("utf-8")


def _cr_only(text: str) -> str:
    return text.replace("\n", "\r")


# (id, arguments, files to create {name: text or None for a symlink loop}, message fragment)
CASES = [
    ("long_name", ["run", "s.toml", "--out", "o", "--name", "x" * 300], {}, "run name"),
    ("nul_name", ["run", "s.toml", "--out", "o", "--name", "a\0b"], {}, "run name"),
    ("nul_out", ["run", "s.toml", "--out", "o\0x", "--name", "r"], {}, "--out"),
    ("out_is_file", ["run", "s.toml", "--out", "afile", "--name", "r"], {"afile": "x"}, "--out"),
    ("out_under_file", ["run", "s.toml", "--out", "afile/sub"], {"afile": "x"}, "is a file"),
    ("newline_name", ["run", "s.toml", "--out", "o", "--name", "a\nb"], {}, "run name"),
    ("cr_name", ["run", "s.toml", "--out", "o", "--name", "a\rb"], {}, "run name"),
    ("rlo_name", ["run", "s.toml", "--out", "o", "--name", "a\u202eb"], {}, "run name"),
    ("space_name", ["run", "s.toml", "--out", "o", "--name", "my run"], {}, "run name"),
    ("dot_name", ["run", "s.toml", "--out", "o", "--name", ".hidden"], {}, "run name"),
    ("compare_name", ["compare", "s.toml", "--out", "o", "--name", "a b"], {}, "run name"),
    (
        "cr_only_csv",
        ["run", "s.toml", "--out", "o"],
        {"tiny_projects.csv": _cr_only(TINY_CSV)},
        "tiny_projects.csv: line 1: has CR-only line endings",
    ),
    (
        "symlink_loop",
        ["run", "s.toml", "--out", "o"],
        {"s.toml": TINY_TOML.replace('"tiny_projects.csv"', '"loop.csv"'), "loop.csv": None},
        "loops back on itself",
    ),
    ("symlink_loop_top", ["run", "loop.csv", "--out", "o"], {"loop.csv": None}, "loop.csv"),
    (
        "long_base_chain",
        ["run", "f1199.toml", "--out", "o"],
        {
            "f0.toml": TINY_TOML,
            **{f"f{i}.toml": f'base = "f{i - 1}.toml"\n' for i in range(1, 1200)},
        },
        "longer than 32 files",
    ),
    (
        "empty_projects",
        ["validate", "s.toml"],
        {"s.toml": TINY_TOML.replace('"tiny_projects.csv"', '""')},
        "model.projects = '': is empty: give the path of the project table",
    ),
    (
        "outside_projects",
        ["run", "s.toml", "--out", "o"],
        {"s.toml": TINY_TOML.replace('"tiny_projects.csv"', '"/etc/passwd"')},
        "outside the scenario's folder",
    ),
    ("bad_allow_path", ["run", "s.toml", "--out", "o", "--allow-path", "nope"], {}, "--allow-path"),
]


@pytest.mark.parametrize(
    ("args", "files", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_user_input_failures_exit_2(tmp_path, monkeypatch, capsys, args, files, fragment):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BENEFITSHARE_ALLOW", raising=False)
    (tmp_path / "s.toml").write_text(TINY_TOML, "utf-8")
    (tmp_path / "tiny_projects.csv").write_text(TINY_CSV, "utf-8")
    for name, text in files.items():
        path = tmp_path / name
        path.unlink(missing_ok=True)
        if text is None:
            path.symlink_to(path)
        else:
            path.write_bytes(text.encode("utf-8"))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(args) == 2
    err = capsys.readouterr().err
    assert fragment in err, err
    assert "Traceback" not in err
    assert not re.search(r"error: \w+Error: ", err), err  # an input error, not an exception's
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_a_valid_cjk_name_is_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(TINY_TOML, "utf-8")
    (tmp_path / "tiny_projects.csv").write_text(TINY_CSV, "utf-8")
    assert (
        main(["run", "s.toml", "--out", "o", "--name", "深汕_2025-a.1", "--no-charts", "-q"]) == 0
    )
    assert (tmp_path / "o" / "深汕_2025-a.1" / "manifest.json").is_file()
