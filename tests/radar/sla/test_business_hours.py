"""Business-hours targets through the engine: weekend, lunch break, a Japanese holiday, DST."""

from __future__ import annotations

from radar.events import EventType, Priority
from radar.sla.records import SlaKind
from tests.radar.sla.scenario import Scenario

TOKYO = """
calendars:
  tokyo:
    timezone: Asia/Tokyo
    hours: {mon: [09:00-12:00, 13:00-18:00], tue: [09:00-12:00, 13:00-18:00],
            wed: [09:00-12:00, 13:00-18:00], thu: [09:00-12:00, 13:00-18:00],
            fri: [09:00-12:00, 13:00-18:00]}
    country_holidays: JP
policies:
  - name: tickets
    match: {channel: ticket}
    calendar: tokyo
    targets: {first_reply_time: {business: 2h}, total_resolution_time: 3d}
grace: 0s
"""

NEW_YORK = """
calendars:
  nyc:
    timezone: America/New_York
    hours: {mon: 09:00-17:00, tue: 09:00-17:00, wed: 09:00-17:00,
            thu: 09:00-17:00, fri: 09:00-17:00}
policies:
  - name: tickets
    match: {channel: ticket}
    calendar: nyc
    targets: {first_reply_time: {business: 2h}}
grace: 0s
"""


def breach_due(s: Scenario, created: str, until: str) -> int | None:
    s.send(EventType.TICKET_CREATED, created, priority=Priority.NORMAL).until(until)
    breach = s.only(SlaKind.BREACH, "first_reply_time")
    assert breach.business_hours is True
    return breach.due_at


def test_a_friday_evening_ticket_is_due_on_monday_morning() -> None:
    s = Scenario(TOKYO, zone="+09:00")
    assert breach_due(s, "2026-02-06T17:00", "2026-02-10T00:00") == s.t("2026-02-09T10:00")
    warning = [r for r in s.records if r.kind is SlaKind.WARNING and r.metric == "first_reply_time"]
    assert [r.fraction for r in warning] == [0.5, 0.75]
    assert warning[0].elapsed_ms == 3_600_000  # one business hour, Friday 18:00


def test_the_lunch_break_moves_the_due_time() -> None:
    s = Scenario(TOKYO, zone="+09:00")
    assert breach_due(s, "2026-02-04T11:30", "2026-02-05T00:00") == s.t("2026-02-04T14:30")


def test_labour_thanksgiving_day_is_skipped() -> None:
    s = Scenario(TOKYO, zone="+09:00")
    # Friday 17:30: 30 min Friday, Monday 23 Nov is a holiday, 90 min on Tuesday
    assert breach_due(s, "2026-11-20T17:30", "2026-11-25T00:00") == s.t("2026-11-24T10:30")


def test_calendar_targets_ignore_the_calendar() -> None:
    s = Scenario(TOKYO, zone="+09:00")
    s.send(EventType.TICKET_CREATED, "2026-02-06T17:00", priority=Priority.NORMAL)
    s.until("2026-02-09T18:00")
    breach = s.only(SlaKind.BREACH, "total_resolution_time")
    assert breach.due_at == s.t("2026-02-09T17:00")
    assert breach.business_hours is False


def test_new_york_business_hours_across_the_spring_forward() -> None:
    s = Scenario(NEW_YORK)
    # Friday 6 March 16:00 EST = 21:00Z; Monday 9 March 10:00 EDT = 14:00Z
    assert breach_due(s, "2026-03-06T21:00", "2026-03-10T00:00") == s.t("2026-03-09T14:00")
