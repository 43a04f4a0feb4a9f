"""The input event contract (domain.md section 2) as typed records, and its validation.

Both wire formats end here: JSON records carry ISO-8601 timestamps, Avro records carry epoch
milliseconds; ``parse_event`` accepts either and returns an ``Event`` or a ``Rejection`` that
says why, so that every input gets an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

import orjson


class Channel(StrEnum):
    CALL = "call"
    CHAT = "chat"
    TICKET = "ticket"
    AGENT = "agent"


class EventType(StrEnum):
    CALL_QUEUED = "call.queued"
    CALL_ANSWERED = "call.answered"
    CALL_ABANDONED = "call.abandoned"
    CALL_HOLD_STARTED = "call.hold_started"
    CALL_HOLD_ENDED = "call.hold_ended"
    CALL_TRANSFERRED = "call.transferred"
    CALL_CALLBACK_REQUESTED = "call.callback_requested"
    CALL_ENDED = "call.ended"
    CHAT_REQUESTED = "chat.requested"
    CHAT_ACCEPTED = "chat.accepted"
    CHAT_MESSAGE = "chat.message"
    CHAT_TRANSFERRED = "chat.transferred"
    CHAT_ABANDONED = "chat.abandoned"
    CHAT_ENDED = "chat.ended"
    TICKET_CREATED = "ticket.created"
    TICKET_ASSIGNED = "ticket.assigned"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    TICKET_COMMENTED = "ticket.commented"
    TICKET_PRIORITY_CHANGED = "ticket.priority_changed"
    TICKET_UPDATE_PROMISED = "ticket.update_promised"
    TICKET_CSAT = "ticket.csat"
    AGENT_ACTIVATED = "agent.activated"
    AGENT_DEACTIVATED = "agent.deactivated"

    @property
    def channel(self) -> Channel:
        return _CHANNELS[self]

    @property
    def record_name(self) -> str:
        """The Avro record name, e.g. ``call.hold_started`` -> ``CallHoldStarted``."""
        return "".join(part.capitalize() for part in self.value.replace(".", "_").split("_"))


# looked up several times per event: computed once
_CHANNELS: Final = {t: Channel(t.value.split(".", 1)[0]) for t in EventType}

# The events that begin an interaction; any other event of an unknown interaction is a
# straggler of one that already ended (or began before the history) and starts nothing.
STARTS: Final = frozenset(
    {EventType.CALL_QUEUED, EventType.CHAT_REQUESTED, EventType.TICKET_CREATED}
)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Author(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Event:
    """One valid input event. Times are epoch milliseconds (UTC), the unit on the wire."""

    event_id: str
    type: EventType
    occurred_at: int
    interaction_id: str | None = None
    customer_id: str | None = None
    queue: str | None = None
    agent_id: str | None = None
    direction: Direction | None = None
    announced_seconds: int | None = None
    to_agent_id: str | None = None
    to_queue: str | None = None
    author: Author | None = None
    priority: Priority | None = None
    tier: str | None = None
    status: TicketStatus | None = None
    public: bool | None = None
    promised_at: int | None = None
    score: int | None = None

    @property
    def channel(self) -> Channel:
        return self.type.channel

    @property
    def key(self) -> str:
        """The Kafka key: the interaction, or the agent for roster events."""
        if self.type.channel is Channel.AGENT:
            return self.agent_id or ""
        return self.interaction_id or ""


class RejectReason(StrEnum):
    """Why an input was sent to the dead-letter topic (a closed set: a Prometheus label)."""

    UNDECODABLE = "undecodable"  # neither JSON nor Confluent-framed Avro
    INVALID_JSON = "invalid_json"
    INVALID_AVRO = "invalid_avro"
    UNKNOWN_SCHEMA = "unknown_schema"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    INVALID_ENUM = "invalid_enum"
    INVALID_TIMESTAMP = "invalid_timestamp"
    IMPLAUSIBLE_TIME = "implausible_time"  # far ahead of the clock, or before it could be
    OVERSIZED_FIELD = "oversized_field"


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str


class FieldKind(StrEnum):
    STRING = "string"
    INT = "int"
    BOOL = "boolean"
    TIMESTAMP = "timestamp"
    ENUM = "enum"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of the contract. ``required`` fields must be present and non-null."""

    name: str
    kind: FieldKind
    required: bool
    enum: type[StrEnum] | None = None
    minimum: int | None = None
    maximum: int | None = None


MAX_TEXT_LENGTH: Final = 256  # ids, queue and tier names: longer is a bug upstream, not a name
EARLIEST_MS: Final = 946_684_800_000  # 2000-01-01: before it, an unset clock or a zero
LATEST_MS: Final = 4_102_444_800_000  # 2100-01-01: after it, a placeholder like 9999-12-31


def _required(name: str, kind: FieldKind, **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, required=True, **kw)


def _optional(name: str, kind: FieldKind, **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, required=False, **kw)


_S, _I, _B, _T, _E = (
    FieldKind.STRING,
    FieldKind.INT,
    FieldKind.BOOL,
    FieldKind.TIMESTAMP,
    FieldKind.ENUM,
)

COMMON_FIELDS: Final[tuple[FieldSpec, ...]] = (
    _required("event_id", _S),
    _required("occurred_at", _T),
    _required("interaction_id", _S),
    _optional("customer_id", _S),
    _optional("queue", _S),
    _optional("agent_id", _S),
)

# Roster events are about an agent, not an interaction: the agent is required instead.
AGENT_COMMON_FIELDS: Final[tuple[FieldSpec, ...]] = (
    _required("event_id", _S),
    _required("occurred_at", _T),
    _optional("interaction_id", _S),
    _optional("customer_id", _S),
    _optional("queue", _S),
    _required("agent_id", _S),
)

_TRANSFER = (_optional("to_agent_id", _S), _optional("to_queue", _S))

EXTRA_FIELDS: Final[Mapping[EventType, tuple[FieldSpec, ...]]] = {
    EventType.CALL_QUEUED: (_required("direction", _E, enum=Direction),),
    EventType.CALL_HOLD_STARTED: (_optional("announced_seconds", _I, minimum=0),),
    EventType.CALL_TRANSFERRED: _TRANSFER,
    EventType.CHAT_MESSAGE: (_required("author", _E, enum=Author),),
    EventType.CHAT_TRANSFERRED: _TRANSFER,
    EventType.TICKET_CREATED: (
        _required("priority", _E, enum=Priority),
        _optional("tier", _S),
    ),
    EventType.TICKET_STATUS_CHANGED: (_required("status", _E, enum=TicketStatus),),
    EventType.TICKET_COMMENTED: (
        _required("author", _E, enum=Author),
        _required("public", _B),
    ),
    EventType.TICKET_PRIORITY_CHANGED: (_required("priority", _E, enum=Priority),),
    EventType.TICKET_UPDATE_PROMISED: (_required("promised_at", _T),),
    EventType.TICKET_CSAT: (_required("score", _I, minimum=1, maximum=5),),
}


def fields_of(event_type: EventType) -> tuple[FieldSpec, ...]:
    """Every field of an event type, common ones first, in wire order."""
    common = AGENT_COMMON_FIELDS if event_type.channel is Channel.AGENT else COMMON_FIELDS
    return common + EXTRA_FIELDS.get(event_type, ())


_FIELDS: Final[dict[str, tuple[FieldSpec, ...]]] = {t.value: fields_of(t) for t in EventType}


class TimestampForm(StrEnum):
    ISO8601 = "iso8601"  # JSON
    EPOCH_MILLIS = "epoch_millis"  # Avro timestamp-millis


class _Invalid(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.rejection = Rejection(reason, detail)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)


def iso_to_millis(text: str) -> int:
    """Parse an ISO-8601 instant that names its offset; naive times are ambiguous, so refused."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no time zone offset")
    return (moment - _EPOCH) // _MILLISECOND  # exact: timestamp() * 1000 is a float and drifts


def _timestamp(spec: FieldSpec, value: Any, form: TimestampForm) -> int:
    if form is TimestampForm.EPOCH_MILLIS:
        if type(value) is int:
            return value
        raise _Invalid(RejectReason.INVALID_TIMESTAMP, f"{spec.name}: expected epoch millis")
    if not isinstance(value, str):
        raise _Invalid(RejectReason.INVALID_TIMESTAMP, f"{spec.name}: expected ISO-8601 string")
    try:
        return iso_to_millis(value)
    except ValueError as exc:
        raise _Invalid(
            RejectReason.INVALID_TIMESTAMP,
            f"{spec.name}: {value!r} is not an ISO-8601 instant ({exc})",
        ) from None


def _coerce(spec: FieldSpec, value: Any, form: TimestampForm) -> Any:
    kind = spec.kind
    if kind is FieldKind.STRING:
        if not isinstance(value, str):
            raise _Invalid(RejectReason.INVALID_FIELD, f"{spec.name}: expected a string")
        if spec.required and not value:
            raise _Invalid(RejectReason.INVALID_FIELD, f"{spec.name}: must not be empty")
        if len(value) > MAX_TEXT_LENGTH:
            raise _Invalid(
                RejectReason.OVERSIZED_FIELD,
                f"{spec.name}: {len(value)} characters, at most {MAX_TEXT_LENGTH}",
            )
        return value
    if kind is FieldKind.TIMESTAMP:
        millis = _timestamp(spec, value, form)
        if not EARLIEST_MS <= millis < LATEST_MS:
            raise _Invalid(
                RejectReason.IMPLAUSIBLE_TIME,
                f"{spec.name}: {value!r} is not between 2000 and 2100",
            )
        return millis
    if kind is FieldKind.ENUM:
        assert spec.enum is not None
        try:
            return spec.enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in spec.enum)
            raise _Invalid(
                RejectReason.INVALID_ENUM, f"{spec.name}: {value!r} is not one of {allowed}"
            ) from None
    if kind is FieldKind.BOOL:
        if not isinstance(value, bool):
            raise _Invalid(RejectReason.INVALID_FIELD, f"{spec.name}: expected true or false")
        return value
    # FieldKind.INT; bool is an int subclass in Python but not in the contract
    if type(value) is not int:
        raise _Invalid(RejectReason.INVALID_FIELD, f"{spec.name}: expected an integer")
    if (spec.minimum is not None and value < spec.minimum) or (
        spec.maximum is not None and value > spec.maximum
    ):
        raise _Invalid(
            RejectReason.INVALID_FIELD,
            f"{spec.name}: {value} is outside {spec.minimum}..{spec.maximum}",
        )
    return value


def parse_event(record: Any, form: TimestampForm = TimestampForm.ISO8601) -> Event | Rejection:
    """Validate a decoded record against the contract. Unknown extra fields are ignored."""
    if not isinstance(record, Mapping):
        return Rejection(
            RejectReason.NOT_AN_OBJECT, f"expected an object, got {type(record).__name__}"
        )
    type_name = record.get("type")
    specs = _FIELDS.get(type_name) if isinstance(type_name, str) else None
    if specs is None:
        if type_name is None:
            return Rejection(RejectReason.MISSING_FIELD, "type: missing")
        return Rejection(
            RejectReason.UNKNOWN_TYPE, f"type: {type_name!r} is not a known event type"
        )
    values: dict[str, Any] = {}
    try:
        for spec in specs:
            value = record.get(spec.name)
            if value is None:
                if spec.required:
                    raise _Invalid(RejectReason.MISSING_FIELD, f"{spec.name}: missing")
                continue
            values[spec.name] = _coerce(spec, value, form)
    except _Invalid as invalid:
        return invalid.rejection
    return Event(type=EventType(str(type_name)), **values)


def parse_json_event(data: bytes | str) -> Event | Rejection:
    """One JSON-encoded event (a Kafka value, a JSON Lines line)."""
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Rejection(RejectReason.INVALID_JSON, str(exc))
    return parse_event(record, TimestampForm.ISO8601)


def event_to_record(event: Event, form: TimestampForm = TimestampForm.ISO8601) -> dict[str, Any]:
    """The wire record of an event: the fields of its type only, in contract order."""
    record: dict[str, Any] = {"type": event.type.value}
    for spec in fields_of(event.type):
        value = getattr(event, spec.name)
        if spec.kind is FieldKind.TIMESTAMP and value is not None and form is TimestampForm.ISO8601:
            value = millis_to_iso(value)
        elif isinstance(value, StrEnum):
            value = value.value
        record[spec.name] = value
    return record


def millis_to_iso(millis: int) -> str:
    """ISO-8601 UTC with millisecond precision and a ``Z`` suffix."""
    day, in_day = divmod(millis, 86_400_000)
    seconds, ms = divmod(in_day, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_iso_date(day)}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"


@lru_cache(maxsize=1024)
def _iso_date(day: int) -> str:
    """``YYYY-MM-DD`` of a UTC day number (days since 1970-01-01): records of a day share it."""
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()
