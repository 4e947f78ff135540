"""Year-varying parameters: sparse steps that carry forward, and one-off payments."""

from __future__ import annotations

import numpy as np
import pytest

from benefitshare.schedules import expand_payments, expand_steps, model_years

YEARS = np.arange(2026, 2032)


def test_model_years_are_inclusive():
    np.testing.assert_array_equal(model_years(2026, 2028), [2026, 2027, 2028])
    assert model_years(2030, 2030).tolist() == [2030]


def test_steps_carry_forward_until_the_next_step():
    np.testing.assert_allclose(
        expand_steps({2026: 0.5, 2028: 0.4, 2031: 0.1}, YEARS), [0.5, 0.5, 0.4, 0.4, 0.4, 0.1]
    )


def test_a_step_before_the_horizon_applies_from_the_first_year_and_order_does_not_matter():
    np.testing.assert_allclose(
        expand_steps({2030: 0.2, 2000: 0.9}, YEARS), [0.9, 0.9, 0.9, 0.9, 0.2, 0.2]
    )


def test_string_keys_from_toml_are_read_as_years():
    np.testing.assert_allclose(expand_steps({"2026": 1.0, "2029": 2.0}, YEARS), [1, 1, 1, 2, 2, 2])


def test_a_number_applies_to_every_year():
    np.testing.assert_allclose(expand_steps(0.25, YEARS), 0.25)
    assert expand_steps(3, YEARS).dtype == float


def test_first_step_after_the_start_year_is_an_error():
    with pytest.raises(ValueError, match="schedule starts in 2027 but the model starts in 2026"):
        expand_steps({2027: 0.5}, YEARS)


def test_empty_schedule_is_an_error():
    with pytest.raises(
        ValueError, match="schedule is empty: give a value for the first model year 2026 or earlier"
    ):
        expand_steps({}, YEARS)


def test_payments_do_not_carry_forward():
    np.testing.assert_allclose(expand_payments({2027: 5.0, 2029: 1.5}, YEARS), [0, 5, 0, 1.5, 0, 0])
    np.testing.assert_allclose(expand_payments({2020: 5.0, 2040: 1.0}, YEARS), 0.0)
    np.testing.assert_allclose(expand_payments({}, YEARS), 0.0)
