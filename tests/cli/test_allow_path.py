"""Verbs that load scenarios read files outside the scenario's folder only with --allow-path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benefitshare import cli

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def outside(tmp_path):
    """A child scenario in ``a/`` whose base and project table live in ``b/``."""
    (tmp_path / "a").mkdir()
    shutil.copytree(DATA, tmp_path / "b")
    child = tmp_path / "a" / "child.toml"
    child.write_text(f'base = "{(tmp_path / "b" / "tiny.toml").as_posix()}"\n', encoding="utf-8")
    return child, tmp_path / "b"


@pytest.mark.parametrize(
    "verb",
    [
        lambda s: ["validate", str(s)],
        lambda s: ["diff", str(s), str(s)],
        lambda s: ["solve", str(s), "--rule", "fixed_ratio", "--target", "equal_gains"],
    ],
    ids=["validate", "diff", "solve"],
)
def test_base_outside_the_folder_needs_allow_path(verb, outside, capsys):
    child, allowed = outside
    assert cli.main(verb(child)) == 2
    assert "--allow-path" in capsys.readouterr().err
    # loaded and answered (solve says with exit 3 that tiny has no equal-gains share)
    status = cli.main([*verb(child), "--allow-path", str(allowed)])
    assert status in (0, 3), capsys.readouterr().err
