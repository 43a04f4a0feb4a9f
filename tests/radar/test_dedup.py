from __future__ import annotations

import pytest

from radar.dedup import DedupWindow, Seen, SourcePosition
from radar.events import Rejection, RejectReason
from radar.intake import Duplicate, EventTimeWindow, Intake
from tests.factories import make_event

A = SourcePosition("support.calls", 0, 10)
B = SourcePosition("support.calls", 0, 11)


def test_first_sight_is_new_and_a_second_from_elsewhere_is_a_duplicate() -> None:
    window = DedupWindow(10)
    assert window.observe("e1", A) is Seen.NEW
    assert window.observe("e1", B) is Seen.DUPLICATE


def test_the_same_position_again_is_a_redelivery_not_a_duplicate() -> None:
    window = DedupWindow(10)
    window.observe("e1", A)
    assert window.observe("e1", A) is Seen.REDELIVERY


def test_memory_is_bounded_by_capacity_oldest_first() -> None:
    window = DedupWindow(3)
    for i in range(5):
        window.observe(f"e{i}", SourcePosition("t", 0, i))
    assert len(window) == 3
    assert "e0" not in window
    assert "e1" not in window
    assert window.observe("e4", B) is Seen.DUPLICATE
    assert window.observe("e0", B) is Seen.NEW


def test_remember_does_not_overwrite_the_first_position() -> None:
    window = DedupWindow(3)
    window.observe("e1", A)
    window.remember("e1", B)
    assert window.observe("e1", A) is Seen.REDELIVERY


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        DedupWindow(0)


def test_intake_passes_rejections_through_and_flags_duplicates() -> None:
    intake = Intake(DedupWindow(10))
    event = make_event()
    rejection = Rejection(RejectReason.UNDECODABLE, "x")
    assert intake.admit(rejection, A) is rejection
    assert intake.admit(event, A) is event
    assert intake.admit(event, B) == Duplicate(event)


NOW = 1_800_000_000_000


def test_an_event_far_ahead_of_the_clock_is_implausible_and_not_remembered() -> None:
    intake = Intake(DedupWindow(10), EventTimeWindow(ahead_ms=300_000, behind_ms=3_600_000))
    ahead = make_event(event_id="e1", occurred_at=NOW + 301_000)

    rejected = intake.admit(ahead, A, NOW)

    assert isinstance(rejected, Rejection)
    assert rejected.reason is RejectReason.IMPLAUSIBLE_TIME
    assert "ahead" in rejected.detail
    on_time = make_event(event_id="e1", occurred_at=NOW)
    assert intake.admit(on_time, B, NOW) is on_time  # the rejected copy was not remembered


def test_an_event_older_than_the_limit_is_implausible_and_the_limit_can_be_lifted() -> None:
    old = make_event(occurred_at=NOW - 3_600_001)
    window = EventTimeWindow(ahead_ms=300_000, behind_ms=3_600_000)
    rejected = Intake(DedupWindow(10), window).admit(old, A, NOW)
    assert isinstance(rejected, Rejection)
    assert "before" in rejected.detail
    assert Intake(DedupWindow(10), EventTimeWindow(behind_ms=0)).admit(old, A, NOW) is old
    assert Intake(DedupWindow(10), window).admit(old, B, None) is old  # nothing to judge by
