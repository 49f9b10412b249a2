"""EclipseOutlook: the eclipse that matters at a moment, one at a time and in arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.power.outlook import EclipseAhead, EclipseOutlook
from tests.flightsw.apps.power.power_builders import eclipse_ahead


def test_before_an_eclipse_it_says_when_it_starts_and_how_long_it_lasts():
    o = EclipseOutlook(((100.0, 400.0),), 5760.0)
    assert o.at(0.0) == EclipseAhead(False, 100.0, 300.0)


def test_inside_an_eclipse_it_says_what_is_left():
    o = EclipseOutlook(((-50.0, 400.0),), 5760.0)
    assert o.at(100.0) == EclipseAhead(True, 0.0, 300.0)


def test_after_the_last_window_no_eclipse_is_predicted():
    o = EclipseOutlook(((10.0, 20.0),), 5760.0)
    assert o.at(20.0) == EclipseAhead(False, -1.0, 0.0)
    assert o.sunlit(20.0) and not o.sunlit(19.9)


def test_an_unknown_outlook_assumes_the_longest_eclipse_may_start_now_and_predicts_no_sun():
    o = EclipseOutlook.unknown(2400.0, "no TLE")
    assert o.at(1234.0) == EclipseAhead(False, 0.0, 2400.0)
    assert not o.sunlit(0.0) and not o.valid


def test_windows_out_of_order_are_rejected_naming_the_window():
    with pytest.raises(ValueError, match=r"windows_s\[1\]"):
        EclipseOutlook(((0.0, 100.0), (50.0, 200.0)), 5760.0)


@settings(max_examples=50, deadline=None)
@given(start=st.floats(-3000.0, 6000.0), duration=st.floats(1.0, 2500.0),
       offsets=st.lists(st.floats(0.0, 12000.0), min_size=1, max_size=30))
def test_the_array_form_agrees_with_the_scalar_form(start, duration, offsets):
    o = eclipse_ahead(start, duration, 5760.0)
    inside, starts_in, dur = o.ahead_arrays(np.array(offsets))
    for i, x in enumerate(offsets):
        assert (bool(inside[i]), float(starts_in[i]), float(dur[i])) == pytest.approx(tuple(o.at(x))), \
            f"at offset {x} s the array and scalar answers differ"
