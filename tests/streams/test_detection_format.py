from __future__ import annotations

import pytest

from radar.events import EventType
from radar.progress import ProgressReport
from streams.detection_format import (
    Command,
    JournalEntry,
    command_headers,
    command_of,
    decode_event,
    decode_events,
    decode_report,
    decode_tick,
    encode_event,
    encode_events,
    encode_report,
    encode_tick,
    entry_order,
    journal_key,
    pack_entry,
    unpack_entry,
)
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


def test_a_tick_and_a_report_are_read_back_with_their_command() -> None:
    assert command_of(command_headers(Command.TICK)) is Command.TICK
    assert command_of(dict(command_headers(Command.WATERMARK))) is Command.WATERMARK
    assert command_of(None) is None  # an event
    assert command_of([("radar.command", b"rewind")]) is None  # unknown: refused as an event
    assert decode_tick(encode_tick(1_795_000_000_123)) == 1_795_000_000_123
    report = ProgressReport(5, {("support.calls", 3): 4}, partitions=16)
    assert decode_report(encode_report(report)) == report


def test_journal_entries_of_both_formats_are_read() -> None:
    entry = unpack_entry(pack_entry(3, b"payload", seq=7, occurred_at=1_795_000_000_000))
    assert entry == JournalEntry(3, 7, 1_795_000_000_000, b"payload")
    first_format = (2).to_bytes(4, "big") + b'{"type":"call.queued"}'
    assert unpack_entry(first_format) == JournalEntry(2, 0, None, b'{"type":"call.queued"}')
    assert entry_order(pack_entry(3, b"payload", 7, -5)) == (3, 7, -5)
    assert entry_order(first_format) == (2, 0, None)


def test_a_batch_of_events_is_read_back_in_order() -> None:
    events = [make_event(t) for t in (EventType.CALL_QUEUED, EventType.AGENT_ACTIVATED)]
    assert decode_events(encode_events([encode_event(e) for e in events])) == events
    assert command_of(command_headers(Command.EVENTS)) is Command.EVENTS
    with pytest.raises(ValueError, match="no list"):
        decode_events(encode_event(events[0]))
