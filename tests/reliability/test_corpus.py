"""The mutation corpus: every generated bad input exits 2, names what is wrong, writes nothing.

The cases come from :mod:`reliability.corpus` (types, ranges, years, structure, encoding, the
projects table, files and command-line arguments, all made from the tiny scenario).
"""

from __future__ import annotations

import pytest

from reliability.corpus import all_cases, run_case

CASES = all_cases()


def test_the_corpus_is_large_and_covers_every_kind_of_mutation():
    assert len(CASES) >= 300
    kinds = {c.id.split("-")[0] for c in CASES}
    assert {"type", "range", "year", "unknown", "missing", "empty", "toml", "csv"} <= kinds
    assert {"projects", "base", "set", "name", "arg"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_names_the_field_and_writes_nothing(case, tmp_path):
    outcome = run_case(case, tmp_path)
    assert outcome.problems(case) == [], outcome.err
