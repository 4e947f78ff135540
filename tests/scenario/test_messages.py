"""The messages of the most common mistakes, collected in one table so that they stay good.

Each row is a mistake a planner makes (an override of the tiny scenario, or a small edit of its
TOML) and a fragment the message must contain: the field path, the bad value and how to fix it.
"""

from __future__ import annotations

import sys
import tomllib
import types
from pathlib import Path

import pytest

import benefitshare as bs
from benefitshare import cli
from benefitshare.errors import ScenarioError, id_problem, percent_hint, suggest_id, toml_problem
from benefitshare.scenario.load import parse_override

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "tiny.toml"
TINY_TOML = TINY.read_text("utf-8")
ID_WORDS = (
    "an id may contain only lowercase letters a-z, digits and underscores, "
    "and must start with a letter"
)


def problems_of(overrides: dict) -> str:
    with pytest.raises(ScenarioError) as info:
        bs.load_scenario(TINY, overrides=overrides)
    return str(info.value)


def problems_of_toml(tmp_path: Path, text: str) -> str:
    (tmp_path / "tiny_projects.csv").write_text(
        (DATA / "tiny_projects.csv").read_text("utf-8"), "utf-8"
    )
    path = tmp_path / "s.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ScenarioError) as info:
        bs.load_scenario(path)
    return str(info.value)


TRIGGER = """
[[rules]]
name = "review"
rule = "trigger_switch"
params.before = { rule = "fixed_ratio", params.shares = { shenzhen = 0.5, shanwei = 0.5 } }
params.after = { rule = "fixed_ratio", params.shares = { shenzhen = 0.2, shanwei = 0.8 } }
params.threshold = 60
"""

# (override, expected fragment of the message)
OVERRIDE_CASES = {
    # a percentage where a fraction is meant
    "share_as_percent": (
        {"parks.coop.county_share": 60},
        "parks.coop.county_share = 60: must be between 0 and 1 (a fraction, not a percentage): "
        "write 0.6 for 60%",
    ),
    "discount_rate_as_percent": (
        {"model.discount_rate": 6},
        "model.discount_rate = 6: must be between 0 and 0.5 (a fraction, not a percentage): "
        "write 0.06 for 6%",
    ),
    "growth_as_percent": ({"model.sales_growth_rate": 3}, "write 0.03 for 3%"),
    "year_steps_as_percent": (
        {"tiers.provincial_share.vat": {"2026": 10}},
        "tiers.provincial_share.vat.2026 = 10: must be between 0 and 1",
    ),
    "additionality_as_percent": ({"sectors.mfg.additionality": 50}, "write 0.5 for 50%"),
    "equity_as_percent": ({"platform.equity.shenzhen": 60}, "write 0.6 for 60%"),
    "stay_probability_as_percent": (
        {"counterfactual.stay_probability": 80},
        "counterfactual.stay_probability = 80: must be between 0 and 1",
    ),
    "rule_share_as_percent": (
        {"rules[fixed_50_5y].params.shares.shenzhen": 60},
        "rules[1].params.shares.shenzhen = 60: must be between 0 and 1 (a fraction, not a "
        "percentage): write 0.6 for 60%",
    ),
    "bracket_share_as_percent": (
        {"rules[tiered].params.brackets[1].shares.shanwei": 90},
        "rules[6].params.brackets[1].shares.shanwei = 90: must be between 0 and 1",
    ),
    "recovery_rate_as_percent": (
        {"rules[recovery].params.recovery_rate": 50},
        "rules[7].params.recovery_rate = 50: must be between 0 and 1",
    ),
    "payout_as_percent": ({"platform.payout_rate": 40}, "write 0.4 for 40%"),
    # ids
    "party_id_with_capital_and_space": (
        {"parties.Shen Zhen": {"name": "Shenzhen", "role": "other"}},
        f"parties.Shen Zhen = 'Shen Zhen': is not a valid id: {ID_WORDS}; write 'shen_zhen'",
    ),
    "host_with_capitals": (
        {"parks.coop.host": "ShanWei"},
        f"parks.coop.host = 'ShanWei': is not a valid id: {ID_WORDS}; write 'shanwei'",
    ),
    "cost_party_with_hyphen": ({"costs[0].party": "shen-zhen"}, "write 'shen_zhen'"),
    "park_id_in_chinese": (
        {
            "parks.汕尾园": {
                "name": "汕尾园",
                "host": "shanwei",
                "level": "municipal",
                "location_class": "city",
            }
        },
        f"parks.汕尾园 = '汕尾园': is not a valid id: {ID_WORDS}; use a pinyin or English id "
        "such as",
    ),
    "sector_id_starting_with_a_digit": (
        {"sectors.2nd": {"name": "Second"}},
        f"sectors.2nd = '2nd': is not a valid id: {ID_WORDS}",
    ),
    "rule_name_with_slash": (
        {"rules[0].name": "Fixed 50/50"},
        "rules[0].name = 'Fixed 50/50': is not a valid rule name: a rule name may contain only "
        "letters a-z or A-Z, digits, underscores, dots and hyphens, and must start with a "
        "letter or digit; write 'Fixed_50_50'",
    ),
    # typos, anywhere
    "park_field_typo": (
        {"parks.coop.county_shar": 0.5},
        "parks.coop.county_shar = 0.5: unknown field; did you mean 'county_share'?",
    ),
    "park_field_unknown": (
        {"parks.coop.zzz": 1},
        "parks.coop.zzz = 1: unknown field (allowed: name, host, level, location_class, "
        "county_share",
    ),
    "party_field_typo": ({"parties.shenzhen.rol": "partner"}, "did you mean 'role'?"),
    "sector_field_typo": ({"sectors.mfg.additonality": 0.5}, "did you mean 'additionality'?"),
    "section_typo": ({"park": {}}, "park = {}: unknown field; did you mean 'parks'?"),
    "model_field_typo": ({"model.discount_rat": 0.05}, "did you mean 'discount_rate'?"),
    "rule_param_typo": (
        {"rules[fixed_50_5y].params.term_year": 5},
        "rules[1].params.term_year = 5: unknown parameter; did you mean 'term_years'?",
    ),
    "nested_rule_param_typo": (
        {"rules[tiered].params.brackets[0].up_to_yan": 5},
        "rules[6].params.brackets[0].up_to_yan = 5: unknown parameter; did you mean 'up_to_yuan'?",
    ),
    "rule_typo": ({"rules[host].rule": "host_keep_all"}, "did you mean 'host_keeps_all'?"),
    "party_typo_in_shares": (
        {"rules[fixed_50_5y].params.shares": {"shenzen": 0.5, "shanwei": 0.5}},
        "rules[1].params.shares.shenzen = 'shenzen': unknown party; did you mean 'shenzhen'?",
    ),
    "party_typo_in_rule_param": (
        {"rules[recovery].params.recovering_party": "shenzen"},
        "rules[7].params.recovering_party = 'shenzen': unknown party; did you mean 'shenzhen'?",
    ),
    "cost_kind_typo_in_rule_param": (
        {"rules[recovery].params.cost_kinds": ["infrastructur"]},
        "unknown cost kind; did you mean 'infrastructure'?",
    ),
    "park_typo_in_pool": ({"pool.parks": ["cop"]}, "pool.parks[0] = 'cop': unknown park; did"),
    "party_typo_in_cost": ({"costs[0].party": "shenzen"}, "did you mean 'shenzhen'?"),
    "host_typo": ({"parks.coop.host": "shanwie"}, "unknown party; did you mean 'shanwei'?"),
}


@pytest.mark.parametrize("overrides, expected", OVERRIDE_CASES.values(), ids=OVERRIDE_CASES)
def test_common_mistakes_get_a_message_that_says_how_to_fix(overrides, expected):
    assert expected in problems_of(overrides)


def test_a_value_just_above_the_range_is_not_taken_for_a_percentage():
    msg = problems_of({"tiers.provincial_share.vat": {"2026": 1.1}})
    assert "Input should be less than or equal to 1" in msg and "write" not in msg
    assert "percentage" not in problems_of({"parks.coop.county_share": 250})


def test_a_threshold_on_a_share_written_as_a_percentage(tmp_path):
    msg = problems_of_toml(tmp_path, TINY_TOML + TRIGGER)
    assert "a threshold on a share must be between 0 and 1, got 60.0: write 0.6 for 60%" in msg


def test_a_typo_inside_a_parks_table_in_the_file_gets_a_hint_and_the_missing_field(tmp_path):
    text = TINY_TOML.replace(
        'host = "shanwei"\nlevel = "municipal"', 'hostt = "shanwei"\nlevel = "municipal"', 1
    )
    msg = problems_of_toml(tmp_path, text)
    assert "s.toml: parks.coop.hostt = 'shanwei': unknown field; did you mean 'host'?" in msg
    assert "s.toml: parks.coop.host: is required" in msg


def test_an_override_from_the_command_line_gets_the_same_message(capsys):
    key, value = parse_override("parks.coop.host=Shan Wei")
    assert value == "Shan Wei"  # not TOML: taken as text
    assert "write 'shan_wei'" in problems_of({key: value})
    status = cli.main(["validate", str(TINY), "--set", "parks.coop.county_share=60"])
    assert status == 2
    err = capsys.readouterr().err
    assert "parks.coop.county_share = 60" in err and "write 0.6 for 60%" in err


# ------------------------------------------------------------------------------- the helpers
@pytest.mark.parametrize(
    "value, low, high, expected",
    [
        (60, 0.0, 1.0, "write 0.6 for 60%"),
        (12.5, 0.0, 1.0, "write 0.125 for 12.5%"),
        (6, 0.0, 0.5, "write 0.06 for 6%"),
        (30, 0.1, 0.3, "write 0.3 for 30%"),
        (5, 0.1, 0.3, None),  # 0.05 is out of range too
        (0.6, 0.0, 1.0, None),
        (1.5, 0.0, 1.0, None),  # between 1 and 2: as likely a slip
        (150, 0.0, 1.0, None),
        (True, 0.0, 1.0, None),
        ("60", 0.0, 1.0, None),
    ],
)
def test_percent_hint(value, low, high, expected):
    assert percent_hint(value, low, high) == expected


@pytest.mark.parametrize(
    "text, kind, expected",
    [
        ("Shen Zhen", "id", "shen_zhen"),
        ("haifeng-park", "id", "haifeng_park"),
        ("  Coop.Park ", "id", "coop_park"),
        ("新能源", "id", None),  # no transliteration without a pinyin library
        ("2nd", "id", None),
        ("capex scale", "input name", "capex_scale"),
        ("Capex-Scale", "input name", "Capex_Scale"),
        ("Fixed 50/50", "rule name", "Fixed_50_50"),
        ("fixed-50.v2", "rule name", "fixed-50.v2"),
    ],
)
def test_suggest_id(text, kind, expected):
    assert suggest_id(text, kind) == expected


def test_a_pinyin_id_is_suggested_only_through_an_installed_pinyin_library(monkeypatch):
    monkeypatch.setitem(sys.modules, "pypinyin", None)  # not installed
    assert suggest_id("汕尾") is None
    assert "use a pinyin or English id" in id_problem("汕尾")
    fake = types.SimpleNamespace(lazy_pinyin=lambda text: {"汕尾": ["shan", "wei"]}[text])
    monkeypatch.setitem(sys.modules, "pypinyin", fake)
    assert suggest_id("汕尾") == "shan_wei"
    assert id_problem("汕尾").endswith("write 'shan_wei'")


def test_valid_names_have_no_problem():
    assert id_problem("shenzhen") is None
    assert id_problem("Capex_2", "input name") is None
    assert id_problem("fixed_50-50.v2", "rule name") is None
    assert id_problem(3) is None  # the type error is pydantic's


def toml_message(text: str):
    with pytest.raises(tomllib.TOMLDecodeError) as info:
        tomllib.loads(text)
    return toml_problem("s.toml", text, info.value)


@pytest.mark.parametrize(
    "text, location, expected",
    [
        (
            "host = shanwei\n",
            "line 1, column 8",
            'a text value must be in quotes: write host = "shanwei"',
        ),
        ("[x]\nrule = fixed_ratio  # the rule\n", "line 2, column 8", 'write rule = "fixed_ratio"'),
        ("name = 汕尾\n", "line 1, column 8", 'write name = "汕尾"'),
        (
            "shares = { shenzhen = half, shanwei = 0.5 }\n",
            "line 1, column 23",
            'write shenzhen = "half"',
        ),
        ("county_share = 60%\n", "line 1, column 18", "not a percentage: write 0.6 for 60%"),
        ("[parties.深圳]\nname = 'x'\n", "line 1, column 10", "without quotes: an id may contain"),
        ("x = [1, 2\ny = 3\n", "line 2, column 1", "is not valid TOML"),
    ],
)
def test_toml_syntax_errors_say_how_to_fix(text, location, expected):
    problem = toml_message(text)
    assert problem.file == "s.toml" and problem.location == location
    assert expected in problem.message, problem.message


def test_a_toml_file_cut_short_says_it_may_be_truncated():
    problem = toml_message('title = "abc')
    assert "the file may be truncated" in problem.message
