"""Customer ids replaced by a keyed HMAC at intake: stable, key-dependent, not reversible."""

from __future__ import annotations

import pytest

from radar.dedup import DedupWindow, SourcePosition
from radar.events import Event
from radar.intake import Intake
from radar.pseudonyms import Pseudonymizer
from tests.factories import make_event

AT = SourcePosition("support.calls", 0, 1)


def test_the_same_customer_gets_the_same_pseudonym_and_another_key_another() -> None:
    one, other = Pseudonymizer(b"key-one"), Pseudonymizer(b"key-two")
    assert one.pseudonym("cust-42") == one.pseudonym("cust-42")
    assert one.pseudonym("cust-42") != one.pseudonym("cust-43")
    assert one.pseudonym("cust-42") != other.pseudonym("cust-42")
    assert "cust" not in one.pseudonym("cust-42")
    assert one.pseudonym("cust-42").startswith("p-")
    assert len(one.pseudonym("cust-42")) == 34


def test_intake_pseudonymizes_what_it_admits_and_nothing_else_changes() -> None:
    intake = Intake(DedupWindow(10), pseudonyms=Pseudonymizer(b"k"))
    event = make_event(customer_id="cust-42")

    admitted = intake.admit(event, AT)

    assert isinstance(admitted, Event)
    assert admitted.customer_id == Pseudonymizer(b"k").pseudonym("cust-42")
    assert admitted.event_id == event.event_id
    assert admitted.interaction_id == event.interaction_id
    anonymous = make_event(customer_id=None)
    assert intake.admit(anonymous, AT) == anonymous


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        Pseudonymizer(b"")
