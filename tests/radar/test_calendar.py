"""Business calendars against hand-computed answers: weekends, a lunch break, a Japanese public
holiday, and New York's switch to daylight saving time."""

from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radar.calendar import BusinessCalendar, CalendarTime, parse_hours
from radar.events import iso_to_millis

HOUR = 3_600_000
WEEKDAYS = range(5)


def tokyo() -> BusinessCalendar:
    hours = [parse_hours("09:00-12:00"), parse_hours("13:00-18:00")]
    return BusinessCalendar("tokyo", "Asia/Tokyo", {d: hours for d in WEEKDAYS}, country="JP")


def new_york() -> BusinessCalendar:
    return BusinessCalendar(
        "nyc", "America/New_York", {d: [parse_hours("09:00-17:00")] for d in WEEKDAYS}
    )


def at(text: str) -> int:
    return iso_to_millis(text)


def test_friday_evening_plus_two_hours_is_monday_morning() -> None:
    # Friday 2026-01-09 17:00 JST: one hour left on Friday, one on Monday (Jan 12 is
    # Coming of Age Day, a Japanese holiday), so Tuesday 10:00
    assert tokyo().add(at("2026-01-09T17:00:00+09:00"), 2 * HOUR) == at("2026-01-13T10:00:00+09:00")


def test_a_plain_weekend_is_skipped() -> None:
    assert tokyo().add(at("2026-02-06T17:00:00+09:00"), 2 * HOUR) == at("2026-02-09T10:00:00+09:00")


def test_the_lunch_break_does_not_count() -> None:
    cal = tokyo()
    assert cal.add(at("2026-02-04T11:30:00+09:00"), HOUR) == at("2026-02-04T13:30:00+09:00")
    assert cal.elapsed(at("2026-02-04T11:00:00+09:00"), at("2026-02-04T14:00:00+09:00")) == 2 * HOUR


def test_labour_thanksgiving_day_is_closed() -> None:
    cal = tokyo()
    assert cal.is_holiday(date(2026, 11, 23))
    # Friday 17:30 + 1 h: 30 min on Friday, Monday the 23rd is a holiday, 30 min on Tuesday
    assert cal.add(at("2026-11-20T17:30:00+09:00"), HOUR) == at("2026-11-24T09:30:00+09:00")


def test_explicit_holidays_close_the_day() -> None:
    hours = {d: [parse_hours("09:00-17:00")] for d in WEEKDAYS}
    cal = BusinessCalendar("ops", "Europe/Berlin", hours, holidays=[date(2026, 12, 31)])
    assert cal.elapsed(at("2026-12-31T00:00:00+01:00"), at("2027-01-01T00:00:00+01:00")) == 0


def test_opening_hours_follow_daylight_saving_time() -> None:
    cal = new_york()
    # Friday 16:00 EST (21:00Z) + 2 h: Friday 16-17, then Monday 9-10 *EDT* (13:00Z -> 14:00Z)
    assert cal.add(at("2026-03-06T21:00:00Z"), 2 * HOUR) == at("2026-03-09T14:00:00Z")
    assert cal.elapsed(at("2026-03-06T14:00:00Z"), at("2026-03-09T13:00:00Z")) == 8 * HOUR


def test_a_day_with_the_spring_forward_has_23_hours() -> None:
    around_the_clock = {d: [parse_hours("00:00-24:00")] for d in range(7)}
    cal = BusinessCalendar("nyc-24x7", "America/New_York", around_the_clock)
    assert (
        cal.elapsed(at("2026-03-08T00:00:00-05:00"), at("2026-03-09T00:00:00-04:00")) == 23 * HOUR
    )


def test_bad_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        BusinessCalendar("x", "UTC", {0: [(time(10), time(9))]})
    with pytest.raises(ValueError, match="overlap"):
        BusinessCalendar("x", "UTC", {0: [parse_hours("09:00-12:00"), parse_hours("11:00-13:00")]})
    with pytest.raises(ValueError, match="opening hours"):
        BusinessCalendar("x", "UTC", {})
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hours("nine to five")


instants = st.integers(min_value=at("2025-01-01T00:00:00Z"), max_value=at("2028-01-01T00:00:00Z"))
durations = st.integers(min_value=0, max_value=200 * HOUR)


@given(start=instants, duration=durations)
def test_adding_then_measuring_gives_the_duration_back(start: int, duration: int) -> None:
    for cal in (tokyo(), new_york()):
        assert cal.elapsed(start, cal.add(start, duration)) == duration


@given(start=instants, span=durations)
def test_business_time_never_exceeds_wall_time(start: int, span: int) -> None:
    end = start + span
    for cal in (tokyo(), new_york(), CalendarTime()):
        assert 0 <= cal.elapsed(start, end) <= span
