from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radar.events import (
    EARLIEST_MS,
    LATEST_MS,
    Channel,
    Event,
    EventType,
    Rejection,
    RejectReason,
    TimestampForm,
    event_to_record,
    fields_of,
    iso_to_millis,
    millis_to_iso,
    parse_event,
    parse_json_event,
)
from tests.factories import make_event, make_record


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_type_round_trips_through_its_json_record(event_type: EventType) -> None:
    event = make_event(event_type)
    assert parse_event(event_to_record(event)) == event


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_required_field_is_enforced(event_type: EventType) -> None:
    for spec in fields_of(event_type):
        if not spec.required:
            continue
        rejected = parse_event(make_record(event_type, **{spec.name: ...}))
        assert rejected == Rejection(RejectReason.MISSING_FIELD, f"{spec.name}: missing")


@pytest.mark.parametrize(
    ("event_type", "field", "value", "reason"),
    [
        (EventType.CALL_QUEUED, "direction", "sideways", RejectReason.INVALID_ENUM),
        (EventType.TICKET_CREATED, "priority", "asap", RejectReason.INVALID_ENUM),
        (EventType.TICKET_STATUS_CHANGED, "status", "done", RejectReason.INVALID_ENUM),
        (EventType.CHAT_MESSAGE, "author", "bot", RejectReason.INVALID_ENUM),
        (EventType.TICKET_CSAT, "score", 6, RejectReason.INVALID_FIELD),
        (EventType.TICKET_CSAT, "score", 0, RejectReason.INVALID_FIELD),
        (EventType.TICKET_CSAT, "score", "5", RejectReason.INVALID_FIELD),
        (EventType.TICKET_COMMENTED, "public", "yes", RejectReason.INVALID_FIELD),
        (EventType.CALL_HOLD_STARTED, "announced_seconds", True, RejectReason.INVALID_FIELD),
        (EventType.CALL_HOLD_STARTED, "announced_seconds", -1, RejectReason.INVALID_FIELD),
        (EventType.CALL_ANSWERED, "event_id", "", RejectReason.INVALID_FIELD),
        (EventType.CALL_ANSWERED, "interaction_id", 42, RejectReason.INVALID_FIELD),
        (EventType.CALL_ANSWERED, "occurred_at", "yesterday", RejectReason.INVALID_TIMESTAMP),
        (
            EventType.CALL_ANSWERED,
            "occurred_at",
            "2026-01-01T10:00:00",
            RejectReason.INVALID_TIMESTAMP,
        ),
        (EventType.CALL_ANSWERED, "occurred_at", 1767225600000, RejectReason.INVALID_TIMESTAMP),
        (EventType.TICKET_UPDATE_PROMISED, "promised_at", "soon", RejectReason.INVALID_TIMESTAMP),
        (EventType.AGENT_ACTIVATED, "agent_id", None, RejectReason.MISSING_FIELD),
        (
            EventType.CALL_QUEUED,
            "occurred_at",
            "9999-12-31T23:59:59Z",
            RejectReason.IMPLAUSIBLE_TIME,
        ),
        (
            EventType.CALL_QUEUED,
            "occurred_at",
            "1970-01-01T00:00:00Z",
            RejectReason.IMPLAUSIBLE_TIME,
        ),
        (
            EventType.TICKET_UPDATE_PROMISED,
            "promised_at",
            "2150-01-01T00:00:00Z",
            RejectReason.IMPLAUSIBLE_TIME,
        ),
        (EventType.CALL_QUEUED, "queue", "q" * 100_000, RejectReason.OVERSIZED_FIELD),
        (EventType.CALL_QUEUED, "customer_id", "c" * 257, RejectReason.OVERSIZED_FIELD),
    ],
)
def test_bad_values_are_rejected_with_the_field_named(
    event_type: EventType, field: str, value: Any, reason: RejectReason
) -> None:
    rejected = parse_event(make_record(event_type, **{field: value}))
    assert isinstance(rejected, Rejection)
    assert rejected.reason is reason
    assert rejected.detail.startswith(field)


def test_unknown_and_missing_types_are_told_apart() -> None:
    assert parse_event(make_record(type="call.teleported")) == Rejection(
        RejectReason.UNKNOWN_TYPE, "type: 'call.teleported' is not a known event type"
    )
    assert parse_event(make_record(type=...)).reason is RejectReason.MISSING_FIELD  # type: ignore[union-attr]


def test_non_objects_and_bad_json_are_rejected() -> None:
    assert parse_json_event(b"[1, 2]").reason is RejectReason.NOT_AN_OBJECT  # type: ignore[union-attr]
    assert parse_json_event(b"{oops").reason is RejectReason.INVALID_JSON  # type: ignore[union-attr]


def test_optional_fields_may_be_absent_and_extra_fields_are_ignored() -> None:
    record = make_record(EventType.CALL_TRANSFERRED, customer_id=..., queue=..., note="vip caller")
    event = parse_event(record)
    assert isinstance(event, Event)
    assert event.customer_id is None
    assert event.to_agent_id is None


def test_timestamps_keep_their_instant_across_offsets() -> None:
    assert iso_to_millis("2026-01-01T09:00:00+09:00") == iso_to_millis("2026-01-01T00:00:00Z")
    assert millis_to_iso(iso_to_millis("2026-03-08T07:30:00.250Z")) == "2026-03-08T07:30:00.250Z"


def test_avro_records_carry_epoch_millis() -> None:
    event = make_event(EventType.TICKET_UPDATE_PROMISED)
    record = event_to_record(event, TimestampForm.EPOCH_MILLIS)
    assert record["occurred_at"] == event.occurred_at
    assert parse_event(record, TimestampForm.EPOCH_MILLIS) == event
    # an ISO string where millis are expected is not silently parsed
    iso = event_to_record(event, TimestampForm.ISO8601)
    assert parse_event(iso, TimestampForm.EPOCH_MILLIS).reason is RejectReason.INVALID_TIMESTAMP  # type: ignore[union-attr]


def test_the_kafka_key_is_the_interaction_or_the_agent() -> None:
    assert make_event(EventType.CHAT_ACCEPTED, interaction_id="chat-9").key == "chat-9"
    assert make_event(EventType.AGENT_DEACTIVATED, agent_id="agent-3").key == "agent-3"
    assert EventType.AGENT_DEACTIVATED.channel is Channel.AGENT


def test_names_up_to_the_limit_are_accepted() -> None:
    assert isinstance(parse_event(make_record(EventType.CALL_QUEUED, queue="q" * 256)), Event)


@given(st.integers(min_value=EARLIEST_MS, max_value=LATEST_MS - 1))
def test_millis_to_iso_writes_what_datetime_writes_and_reads_back(millis: int) -> None:
    seconds, ms = divmod(millis, 1000)
    expected = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
    assert millis_to_iso(millis) == expected
    assert iso_to_millis(millis_to_iso(millis)) == millis
