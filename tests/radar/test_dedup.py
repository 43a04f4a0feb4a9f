from __future__ import annotations

import pytest

from radar.dedup import DedupWindow, Seen, SourcePosition
from radar.events import Rejection, RejectReason
from radar.intake import Duplicate, Intake
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
