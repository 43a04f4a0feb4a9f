from __future__ import annotations

import pytest

from radar.events import EventType
from streams.journal import decode_event, encode_event, journal_key
from tests.factories import make_event


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_survives_the_journal(event_type: EventType) -> None:
    event = make_event(event_type)
    assert decode_event(encode_event(event)) == event


def test_agent_entries_are_one_per_agent_and_partition() -> None:
    first = make_event(EventType.AGENT_ACTIVATED, agent_id="A1")
    later = make_event(EventType.AGENT_DEACTIVATED, agent_id="A1")
    assert journal_key(0, first) == journal_key(0, later) != journal_key(1, later)


def test_contact_entries_are_one_per_event() -> None:
    first, second = make_event(EventType.CALL_QUEUED), make_event(EventType.CALL_QUEUED)
    assert journal_key(0, first) != journal_key(0, second)


def test_an_invalid_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid event"):
        decode_event(b'{"type": "call.queued"}')
