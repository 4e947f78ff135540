"""Stage 1, projects: reading and validating the project table, and the table's accessors.

Every bad cell is reported as ``file: line N (project id), column C = value: what is allowed``,
and every problem of a table is reported at once.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import DATA

import benefitshare as bs
from benefitshare.scenario.projects import PROJECT_COLUMNS, load_projects

TINY_CSV = (DATA / "tiny_projects.csv").read_text("utf-8")


def error_of(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "projects.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(bs.ScenarioError) as info:
        load_projects(path, display="projects.csv")
    return str(info.value)


def replaced(old: str, new: str) -> str:
    assert old in TINY_CSV, old
    return TINY_CSV.replace(old, new, 1)


# ------------------------------------------------------------------------------------ cells


@pytest.mark.parametrize("literal", ["nan", "NaN", "inf", "-Infinity"])
def test_nan_and_infinity_in_a_cell_are_refused(tmp_path, literal):
    msg = error_of(tmp_path, replaced("100000000,2026", f"{literal},2026"))
    assert (
        f"projects.csv: line 2 (T1), column investment_yuan = '{literal}': must be a finite number "
        "(NaN and infinity are not allowed)"
    ) in msg


@pytest.mark.parametrize(
    ("old", "new", "column", "allowed"),
    [
        ("100000000,2026", "-5,2026", "investment_yuan", "greater than 0"),
        ("goods,20,30000000", "goods,-20,30000000", "land_mu", "greater than or equal to 0"),
        (",30000000,true", ",-30000000,true", "building_value_yuan", "greater than or equal to 0"),
        (
            ",true,25000000,",
            ",true,-25000000,",
            "pre_move_annual_tax_yuan",
            "greater than or equal to 0",
        ),
    ],
    ids=["investment", "land", "building", "pre_move_tax"],
)
def test_negative_amounts_are_refused(tmp_path, old, new, column, allowed):
    msg = error_of(tmp_path, replaced(old, new))
    assert re.search(rf"line 2 \(T1\), column {column} = '-\d+': Input should be {allowed}", msg)


def test_fractions_and_durations_out_of_range(tmp_path):
    text = replaced(",0,0,1\nT2", ",0,0,1.5\nT2")
    text = text.replace(
        "T2,county software firm,county,mfg,new,50000000,2026,2,",
        "T2,county software firm,county,mfg,new,50000000,2026,11,",
    )
    msg = error_of(tmp_path, text)
    assert (
        "line 2 (T1), column landing_probability = '1.5': Input should be less than or equal to 1"
        in msg
    )
    assert (
        "line 3 (T2), column construction_years = '11': Input should be less than or equal to 10"
        in msg
    )


def test_wrong_types_in_cells(tmp_path):
    text = replaced("100000000,2026", "100000000,2026.5")
    text = text.replace(",true,25000000", ",maybe,25000000")
    text = text.replace("services", "software")
    msg = error_of(tmp_path, text)
    assert "line 2 (T1), column start_year = '2026.5': Input should be a valid integer" in msg
    assert (
        "line 2 (T1), column relocated = 'maybe': must be true or false (also yes/no, 1/0)" in msg
    )
    assert re.search(
        r"line 3 \(T2\), column vat_category = 'software': Input should be 'goods', 'services' or "
        r"'transport'",
        msg,
    )


def test_a_blank_required_cell(tmp_path):
    msg = error_of(tmp_path, replaced("100000000,2026", ",2026"))
    assert "line 2 (T1), column investment_yuan = '': Input should be a valid number" in msg


@pytest.mark.parametrize(
    ("phasing", "allowed"),
    [
        ("0.5;x", "phasing must be numbers separated by ';'"),
        (
            "0.2;0.3;0.5",
            "phasing has 3 shares but construction_years is 2: give one share per construction year",
        ),
        ("0.5;0.6", "phasing shares must be non-negative and sum to 1"),
        ("1.5;-0.5", "phasing shares must be non-negative and sum to 1"),
        ("nan;1", "phasing shares must be non-negative and sum to 1"),
    ],
    ids=["not_a_number", "count", "sum", "negative", "nan"],
)
def test_bad_phasing_names_the_column(tmp_path, phasing, allowed):
    msg = error_of(tmp_path, replaced("0.5;0.5", phasing))
    assert f"projects.csv: line 3 (T2), column phasing = '{phasing}': {allowed}" in msg


def test_duplicate_project_ids(tmp_path):
    msg = error_of(tmp_path, replaced("T3,", "T2,"))
    assert (
        "projects.csv: line 4, column project_id = 'T2': duplicate project id (first on line 3)"
        in msg
    )


def test_every_bad_cell_is_reported_at_once(tmp_path):
    text = replaced("100000000,2026", "-5,2026").replace("goods,10,", "goods,-10,")
    text = text.replace(
        "T2,county software firm,county,mfg,new,50000000",
        "T2,county software firm,county,mfg,new,nan",
    )
    msg = error_of(tmp_path, text)
    assert msg.startswith("2 problems in the scenario:")
    assert "line 2 (T1), column investment_yuan = '-5'" in msg
    assert "line 3 (T2), column investment_yuan = 'nan'" in msg


# ------------------------------------------------------------------------------------ structure


def test_empty_file_and_header_only(tmp_path):
    assert "projects.csv: (top level): file is empty" in error_of(tmp_path, "")
    assert "projects.csv: (top level): has a header but no data rows" in error_of(
        tmp_path, TINY_CSV.splitlines()[0] + "\n"
    )


def test_truncated_row(tmp_path):
    msg = error_of(tmp_path, TINY_CSV.rstrip("\n")[:-40] + "\n")
    assert re.search(
        r"projects\.csv: line 4 = 'T3,small food plant.*: has \d+ fields but the header has 24: the row "
        r"is truncated or has a stray comma",
        msg,
    )


def test_a_row_with_a_stray_comma(tmp_path):
    msg = error_of(tmp_path, replaced("goods,20,", "goods,20,,"))
    assert (
        "line 2 = 'T1,moved battery plant" in msg and "has 25 fields but the header has 24" in msg
    )


def test_non_utf8_bytes_name_line_and_byte(tmp_path):
    data = TINY_CSV.encode("utf-8").replace(b"moved battery plant", "迁入电池厂".encode("gbk"))
    msg = error_of(tmp_path, data)
    assert re.search(
        r"projects\.csv: line 2, byte \d+ = b'.+': file is not valid UTF-8: save it as UTF-8", msg
    )


def test_missing_required_column(tmp_path):
    lines = [
        ",".join(c for i, c in enumerate(line.split(",")) if i != 11)
        for line in TINY_CSV.splitlines()
    ]
    msg = error_of(tmp_path, "\n".join(lines) + "\n")
    assert "projects.csv: line 1: required column 'value_added_rate' is missing" in msg


def test_unknown_column_suggests_the_nearest(tmp_path):
    msg = error_of(tmp_path, replaced("landing_probability", "landing_prob"))
    assert (
        "projects.csv: line 1, column landing_prob: unknown column; did you mean 'landing_probability'?"
        in msg
    )


def test_unknown_column_without_a_near_name_lists_the_allowed_ones(tmp_path):
    msg = error_of(tmp_path, replaced("landing_probability", "zzzz"))
    assert "unknown column; allowed: project_id, name, park" in msg


def test_duplicated_column_name(tmp_path):
    msg = error_of(tmp_path, replaced("landing_probability", "name"))
    assert "projects.csv: line 1 = 'name': duplicated column name" in msg


def test_text_cells_are_data_not_code(tmp_path):
    code = "__import__('os').system('echo hi')"
    path = tmp_path / "projects.csv"
    path.write_text(replaced("moved battery plant", f'"{code}, quoted"'), encoding="utf-8")
    table = load_projects(path)
    assert table.name[0] == f"{code}, quoted"


# ------------------------------------------------------------------------------------ the table


def test_table_columns_defaults_and_phasing_matrix():
    table = load_projects(DATA / "tiny_projects.csv")
    assert len(table) == 3
    assert table.project_id == ["T1", "T2", "T3"]
    np.testing.assert_array_equal(table.line, [2, 3, 4])
    np.testing.assert_allclose(table.investment_yuan, [1e8, 5e7, 2e7])
    np.testing.assert_array_equal(table.relocated, [True, False, False])
    assert table.additionality == [None, None, None]  # blank: the sector's value applies
    np.testing.assert_allclose(table.phasing_matrix(), [[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    frame = table.to_frame()
    assert list(frame.columns) == list(PROJECT_COLUMNS)
    assert frame["park"].tolist() == ["coop", "county", "coop"]
    with pytest.raises(AttributeError):
        table.no_such_column  # noqa: B018


def test_even_phasing_when_blank(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(replaced("0.5;0.5", ""), encoding="utf-8")
    assert load_projects(path).rows[1].phasing_shares() == [0.5, 0.5]


@pytest.mark.parametrize("bad", ["bad\x00name", "right\u202eleft", "tab\there"])
def test_a_text_cell_with_an_invisible_character_is_refused(tmp_path, bad):
    lines = (DATA / "tiny_projects.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("name")] = bad
    lines[1] = ",".join(row)
    path = tmp_path / "projects.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(bs.ScenarioError, match=r"line 2 \(T1\), column name .*invisible character"):
        load_projects(path)
