"""Every verb that writes an output folder refuses one it did not write, before computing."""

from __future__ import annotations

from pathlib import Path

import pytest

from benefitshare import cli
from benefitshare.analysis import compare as compare_module
from benefitshare.analysis import tornado as tornado_module

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = {"compare": "tests/data/tiny.toml", "sensitivity": "scenarios/reference.toml"}

VERBS = {
    "compare": (["compare"], "tiny_compare", compare_module, "compare_rules"),
    "sensitivity": (
        [
            "sensitivity",
            "--outcome",
            "npv",
            "--party",
            "shanwei",
            "--rule",
            "fixed_50_50",
            "--method",
            "tornado",
        ],
        "reference_sensitivity_tornado",
        tornado_module,
        "tornado",
    ),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_a_folder_with_user_files_is_refused_before_computing_and_kept_with_force(
    verb, tmp_path, monkeypatch, capsys
):
    args, name, module, fn_name = VERBS[verb]
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    (out / name / "notes.txt").write_text("mine", encoding="utf-8")
    calls = []
    real = getattr(module, fn_name)

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(module, fn_name, spy)
    base = [
        *args[:1],
        str(ROOT / SCENARIO[verb]),
        *args[1:],
        "--out",
        str(out),
        "--no-charts",
        "-q",
    ]
    assert cli.main(base) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and "--force" in err and "Traceback" not in err
    assert calls == []  # refused before the analysis ran
    assert (out / name / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert cli.main([*base, "--force"]) == 0, capsys.readouterr().err
    assert (out / name / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / name / "manifest.json").is_file()
