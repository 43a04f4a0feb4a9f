"""Small factories for valid events of every type; tests override only what they care about."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from radar.events import (
    Author,
    Direction,
    Event,
    EventType,
    Priority,
    TicketStatus,
    TimestampForm,
    event_to_record,
)

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_ids = itertools.count(1)

REQUIRED_EXTRAS: dict[EventType, dict[str, Any]] = {
    EventType.CALL_QUEUED: {"direction": Direction.INBOUND},
    EventType.CHAT_MESSAGE: {"author": Author.CUSTOMER},
    EventType.TICKET_CREATED: {"priority": Priority.HIGH},
    EventType.TICKET_STATUS_CHANGED: {"status": TicketStatus.PENDING},
    EventType.TICKET_COMMENTED: {"author": Author.AGENT, "public": True},
    EventType.TICKET_PRIORITY_CHANGED: {"priority": Priority.URGENT},
    EventType.TICKET_UPDATE_PROMISED: {"promised_at": BASE_MS + 3_600_000},
    EventType.TICKET_CSAT: {"score": 2},
}


def make_event(event_type: EventType = EventType.CALL_QUEUED, **fields: Any) -> Event:
    n = next(_ids)
    values: dict[str, Any] = {
        "event_id": f"ev-{n}",
        "occurred_at": BASE_MS + n * 1000,
        "customer_id": "cust-1",
        "queue": "billing",
    }
    if event_type.channel.value == "agent":
        values["agent_id"] = f"agent-{n}"
    else:
        values["interaction_id"] = f"{event_type.channel.value}-{n}"
    values |= REQUIRED_EXTRAS.get(event_type, {})
    values |= fields
    return Event(type=event_type, **values)


def make_record(event_type: EventType = EventType.CALL_QUEUED, **fields: Any) -> dict[str, Any]:
    """The JSON record of a valid event, with ``fields`` set (or removed when ``...``)."""
    record = event_to_record(make_event(event_type), TimestampForm.ISO8601)
    for name, value in fields.items():
        if value is ...:
            record.pop(name, None)
        else:
            record[name] = value
    return record


def first_copies(events: Iterable[Event]) -> list[Event]:
    """The events as the pipeline's dedup lets them through: each event id once."""
    seen: set[str] = set()
    kept = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            kept.append(event)
    return kept
