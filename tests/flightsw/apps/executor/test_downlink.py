"""Which results go down first: by value, then age, within the byte room."""

from __future__ import annotations

from flightsw.apps.executor.downlink import choose_results, result_value
from tests.flightsw.apps.builders import S


def test_results_are_offered_by_value_then_age():
    pending = [("old_cheap", 10, 1.0), ("rich", 10, 80.0), ("mid", 10, 8.0), ("rich_newer", 10, 80.0)]
    assert choose_results(pending, 1000) == ["rich", "rich_newer", "mid", "old_cheap"]


def test_a_result_that_does_not_fit_is_passed_over_for_smaller_ones():
    pending = [("big", 900, 100.0), ("a", 60, 50.0), ("b", 60, 40.0)]
    assert choose_results(pending, 100) == ["a"]


def test_when_nothing_fits_the_most_valuable_goes_alone():
    assert choose_results([("x", 500, 1.0), ("y", 400, 2.0)], 100) == ["y"]


def test_skipped_results_are_not_offered():
    assert choose_results([("x", 1, 1.0), ("y", 1, 2.0)], 100, skip={"y"}) == ["x"]


def test_a_result_past_its_deadline_is_worth_nothing():
    assert result_value(3, 10.0, 5 * S, 4 * S) == 80.0
    assert result_value(3, 10.0, 5 * S, 6 * S) == 0.0
    assert result_value(0, 10.0, -1, 6 * S) == 10.0
