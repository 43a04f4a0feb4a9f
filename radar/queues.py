"""Live queue figures (domain.md 1: the wallboard and the on-call supervisor).

A shard feeds every event here on arrival, not after the grace period: a wallboard must show
a call waiting within seconds. What happened (offered, answered, abandoned, how long they
waited) goes into a tally that the shell drains into Prometheus counters and histograms;
what is true now (waiting, oldest wait, open tickets) is read from state, so it is right
again as soon as a shard is rebuilt. Figures of several shards add up: counts and waiting
contacts sum, the oldest wait is the earliest start of any shard.

An event that arrives before its contact's start (a few seconds of disorder) is kept until
the start comes; events of contacts that began before the history are ignored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, TypeVar

from radar.events import Author, Channel, Direction, Event, EventType, TicketStatus
from radar.policies import PolicySet
from radar.records import json_record, record_id


class Count(StrEnum):
    """Counted per queue and channel."""

    OFFERED = "offered"
    ANSWERED = "answered"
    ANSWERED_WITHIN_THRESHOLD = "answered_within_threshold"
    ABANDONED = "abandoned"  # short abandons included: the ratios subtract them
    SHORT_ABANDONED = "short_abandoned"
    CALLBACKS_REQUESTED = "callbacks_requested"
    CALLBACKS_MADE = "callbacks_made"


class Duration(StrEnum):
    """Observed per queue and channel, in seconds."""

    ANSWER_WAIT = "answer_wait"  # queued or requested -> answered or accepted
    HOLD = "hold"
    HANDLE = "handle"  # answered or accepted -> ended
    FIRST_RESPONSE = "first_response"  # a chat's request -> the agent's first message
    FIRST_REPLY = "first_reply"  # a ticket's creation -> the first public agent comment


class ContactStage(StrEnum):
    """The steps of a call or chat through its queue, each written once (BI aggregates)."""

    OFFERED = "offered"
    ANSWERED = "answered"  # answered or accepted
    ABANDONED = "abandoned"
    HANDLED = "handled"  # ended after being answered


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One step of a contact, for ClickHouse's per-minute queue aggregates: the same facts the
    Prometheus counters count, one row each, so a minute's figures can be recomputed."""

    id: str
    contact_id: str
    stage: ContactStage
    channel: str
    queue: str
    customer_id: str | None
    at: int
    wait_ms: int | None = None  # answered, abandoned: since the contact was offered
    within_threshold: bool = False  # answered within the queue's service-level threshold
    short_abandon: bool = False
    handle_ms: int | None = None  # handled: answered -> ended

    def as_json(self) -> dict[str, Any]:
        return json_record("contact", self, ("at",))


QueueKey = tuple[str, str]  # (queue, channel)
_OPEN_TICKET: Final = frozenset(set(TicketStatus) - {TicketStatus.SOLVED, TicketStatus.CLOSED})
_STARTS: Final = frozenset(
    {EventType.CALL_QUEUED, EventType.CHAT_REQUESTED, EventType.TICKET_CREATED}
)
NO_QUEUE: Final = "none"
EARLY_KEPT_MS: Final = 60_000  # how long an event may wait for its contact's start
CALLBACKS_KEPT: Final = 100_000  # customers owed a callback, at most (the oldest go first)
K = TypeVar("K")


@dataclass
class QueueTally:
    """What happened since the shell last drained it."""

    counts: Counter[tuple[Count, str, str]] = field(default_factory=Counter)
    durations: list[tuple[Duration, str, str, float]] = field(default_factory=list)

    def count(self, what: Count, key: QueueKey) -> None:
        self.counts[(what, *key)] += 1

    def observe(self, what: Duration, key: QueueKey, ms: int) -> None:
        self.durations.append((what, *key, max(0, ms) / 1000))

    def drain(self) -> QueueTally:
        drained = QueueTally(self.counts, self.durations)
        self.counts, self.durations = Counter(), []
        return drained


@dataclass(frozen=True)
class QueueSnapshot:
    """What is true now, for one shard or, added up, for many."""

    waiting: Counter[QueueKey] = field(default_factory=Counter)
    oldest_waiting_since: dict[QueueKey, int] = field(default_factory=dict)
    tickets_open: Counter[tuple[str, str]] = field(default_factory=Counter)  # (queue, status)
    tickets_unassigned: Counter[str] = field(default_factory=Counter)
    oldest_reply_owed_since: dict[str, int] = field(default_factory=dict)
    queues: frozenset[str] = frozenset()

    def plus(self, other: QueueSnapshot) -> QueueSnapshot:
        return QueueSnapshot(
            self.waiting + other.waiting,
            _earliest(self.oldest_waiting_since, other.oldest_waiting_since),
            self.tickets_open + other.tickets_open,
            self.tickets_unassigned + other.tickets_unassigned,
            _earliest(self.oldest_reply_owed_since, other.oldest_reply_owed_since),
            self.queues | other.queues,
        )


def _earliest(a: dict[K, int], b: dict[K, int]) -> dict[K, int]:
    return {k: min(v for v in (a.get(k), b.get(k)) if v is not None) for k in a.keys() | b.keys()}


@dataclass(slots=True)
class _Contact:
    channel: Channel
    queue: str
    started_at: int | None = None
    answered_at: int | None = None
    ended: bool = False
    hold_since: int | None = None
    responded: bool = False  # chats: an agent wrote; tickets: an agent replied in public
    status: TicketStatus = TicketStatus.NEW
    owner: str | None = None
    contact_id: str = ""
    customer_id: str | None = None

    @property
    def key(self) -> QueueKey:
        return (self.queue, self.channel.value)

    @property
    def waiting(self) -> bool:
        return self.started_at is not None and self.answered_at is None and not self.ended


class QueueFigures:
    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self.tally = QueueTally()
        self.records: list[ContactRecord] = []  # taken by the shard after each event
        self._contacts: dict[str, _Contact] = {}
        # events whose contact's start has not come (yet): interaction -> (first seen, events)
        self._early: dict[str, tuple[int, list[Event]]] = {}
        self._callbacks_owed: dict[str, str] = {}  # customer -> the queue that owes it
        self._queues: set[str] = set()
        self._roster: dict[str, bool] = {}  # agent -> active

    def apply(self, event: Event) -> None:
        iid = event.interaction_id
        if event.channel is Channel.AGENT:
            if event.agent_id:
                self._roster[event.agent_id] = event.type is EventType.AGENT_ACTIVATED
            return
        if iid is None:
            return
        contact = self._contacts.get(iid)
        if contact is None:
            if event.type not in _STARTS:
                self._hold_early(iid, event)
                return
            contact = self._contacts[iid] = _Contact(
                event.channel, event.queue or NO_QUEUE, contact_id=iid
            )
            self._on(contact, event)
            _, early = self._early.pop(iid, (0, []))
            for held in sorted(early, key=lambda e: (e.occurred_at, e.event_id)):
                if not contact.ended:
                    self._on(contact, held)
        else:
            self._on(contact, event)
        if contact.ended:
            del self._contacts[iid]

    def take_records(self) -> list[ContactRecord]:
        records, self.records = self.records, []
        return records

    def _hold_early(self, iid: str, event: Event) -> None:
        """Keep an event whose start may be a few seconds behind; forget those of contacts
        that began before the history."""
        while self._early:
            oldest = next(iter(self._early))
            if self._early[oldest][0] >= event.occurred_at - EARLY_KEPT_MS:
                break
            del self._early[oldest]
        self._early.setdefault(iid, (event.occurred_at, []))[1].append(event)

    def _on(self, c: _Contact, event: Event) -> None:
        if event.type in _STARTS:
            self._start(c, event)
        elif event.channel is Channel.TICKET:
            self._on_ticket(c, event)
        else:
            self._on_call_or_chat(c, event)

    def _start(self, c: _Contact, event: Event) -> None:
        if c.started_at is None:
            c.queue = event.queue or c.queue
            self._queues.add(c.queue)
            if event.type is EventType.CALL_QUEUED and event.direction is Direction.OUTBOUND:
                c.ended = True  # an agent calling out: no wait to measure
                if event.customer_id and event.customer_id in self._callbacks_owed:
                    key = (self._callbacks_owed.pop(event.customer_id), Channel.CALL.value)
                    self.tally.count(Count.CALLBACKS_MADE, key)
                return
            c.started_at = event.occurred_at
            c.owner = event.agent_id
            c.customer_id = event.customer_id
            self.tally.count(Count.OFFERED, c.key)
            if c.channel is not Channel.TICKET:
                self._record(c, ContactStage.OFFERED, event.occurred_at)

    def _record(self, c: _Contact, stage: ContactStage, at: int, **figures: Any) -> None:
        self.records.append(
            ContactRecord(
                record_id("contact", c.contact_id, stage.value),
                c.contact_id,
                stage,
                c.channel.value,
                c.queue,
                c.customer_id,
                at,
                **figures,
            )
        )

    def _on_call_or_chat(self, c: _Contact, event: Event) -> None:
        at, kind = event.occurred_at, event.type
        rules = self.policies.queue(c.queue)
        if kind in (EventType.CALL_ANSWERED, EventType.CHAT_ACCEPTED):
            if c.waiting and c.started_at is not None:
                c.answered_at = at
                wait = at - c.started_at
                self.tally.count(Count.ANSWERED, c.key)
                self.tally.observe(Duration.ANSWER_WAIT, c.key, wait)
                within = wait <= rules.service_level_ms
                if within:
                    self.tally.count(Count.ANSWERED_WITHIN_THRESHOLD, c.key)
                self._record(
                    c, ContactStage.ANSWERED, at, wait_ms=max(0, wait), within_threshold=within
                )
        elif kind in (EventType.CALL_ABANDONED, EventType.CHAT_ABANDONED):
            if c.waiting and c.started_at is not None:
                self.tally.count(Count.ABANDONED, c.key)
                short = at - c.started_at < rules.short_abandon_ms
                if short:
                    self.tally.count(Count.SHORT_ABANDONED, c.key)
                elif kind is EventType.CALL_ABANDONED and event.customer_id:
                    self._owe_callback(event.customer_id, c.queue)
                self._record(
                    c,
                    ContactStage.ABANDONED,
                    at,
                    wait_ms=max(0, at - c.started_at),
                    short_abandon=short,
                )
            c.ended = True
        elif kind is EventType.CALL_CALLBACK_REQUESTED:
            self.tally.count(Count.CALLBACKS_REQUESTED, c.key)
            if event.customer_id:
                self._owe_callback(event.customer_id, c.queue)
        elif kind is EventType.CALL_HOLD_STARTED:
            c.hold_since = at
        elif kind is EventType.CALL_HOLD_ENDED and c.hold_since is not None:
            self.tally.observe(Duration.HOLD, c.key, at - c.hold_since)
            c.hold_since = None
        elif kind in (EventType.CALL_TRANSFERRED, EventType.CHAT_TRANSFERRED) and event.to_queue:
            c.queue = event.to_queue
            self._queues.add(c.queue)
        elif kind in (EventType.CALL_ENDED, EventType.CHAT_ENDED):
            if c.answered_at is not None:
                self.tally.observe(Duration.HANDLE, c.key, at - c.answered_at)
                self._record(c, ContactStage.HANDLED, at, handle_ms=max(0, at - c.answered_at))
            c.ended = True
        elif (
            kind is EventType.CHAT_MESSAGE
            and event.author is Author.AGENT
            and not c.responded
            and c.started_at is not None
        ):
            c.responded = True
            self.tally.observe(Duration.FIRST_RESPONSE, c.key, at - c.started_at)

    def _owe_callback(self, customer: str, queue: str) -> None:
        self._callbacks_owed.pop(customer, None)
        self._callbacks_owed[customer] = queue
        if len(self._callbacks_owed) > CALLBACKS_KEPT:
            del self._callbacks_owed[next(iter(self._callbacks_owed))]

    def _on_ticket(self, c: _Contact, event: Event) -> None:
        kind = event.type
        if kind is EventType.TICKET_ASSIGNED:
            c.owner = event.agent_id
        elif kind is EventType.TICKET_STATUS_CHANGED and event.status is not None:
            c.status = event.status
            c.ended = event.status not in _OPEN_TICKET  # solved or closed: no longer waiting
        elif (
            kind is EventType.TICKET_COMMENTED
            and event.public
            and event.author is Author.AGENT
            and not c.responded
            and c.started_at is not None
        ):
            c.responded = True
            self.tally.observe(Duration.FIRST_REPLY, c.key, event.occurred_at - c.started_at)

    def roster(self) -> dict[str, int]:
        """Agents by state; every shard sees every agent, so one shard speaks for all."""
        active = sum(self._roster.values())
        return {"active": active, "inactive": len(self._roster) - active}

    def snapshot(self) -> QueueSnapshot:
        snapshot = QueueSnapshot(queues=frozenset(self._queues))
        for c in self._contacts.values():
            if c.started_at is None:
                continue
            if c.channel is Channel.TICKET:  # open: solved and closed ones are forgotten
                snapshot.tickets_open[(c.queue, c.status.value)] += 1
                if c.owner is None:
                    snapshot.tickets_unassigned[c.queue] += 1
                if not c.responded:
                    owed = snapshot.oldest_reply_owed_since
                    owed[c.queue] = min(owed.get(c.queue, c.started_at), c.started_at)
            elif c.waiting:
                snapshot.waiting[c.key] += 1
                oldest = snapshot.oldest_waiting_since
                oldest[c.key] = min(oldest.get(c.key, c.started_at), c.started_at)
        return snapshot
