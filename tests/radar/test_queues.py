"""Queue figures from events: what happened is tallied, what is waiting is read from state."""

from __future__ import annotations

from typing import Any

from radar.events import Author, Direction, Event, EventType, TicketStatus
from radar.policies import parse_policies
from radar.queues import Count, Duration, QueueFigures
from tests.factories import BASE_MS, make_event

E = EventType
POLICIES = parse_policies(
    "policies:\n  - name: t\n    match: {channel: ticket}\n    targets: {first_reply_time: 1h}\n"
    "queues:\n  default: {short_abandon: 10s, service_level: 20s}\n"
)


def at(seconds: float) -> int:
    return BASE_MS + int(seconds * 1000)


def ev(kind: EventType, seconds: float, iid: str, **fields: Any) -> Event:
    fields.setdefault("queue", "billing")
    return make_event(kind, occurred_at=at(seconds), interaction_id=iid, **fields)


def feed(figures: QueueFigures, *events: Event) -> None:
    for event in events:
        figures.apply(event)


def call(iid: str, queued: float, **fields: Any) -> Event:
    return ev(E.CALL_QUEUED, queued, iid, direction=Direction.INBOUND, **fields)


def test_calls_answered_abandoned_and_the_service_level_counts() -> None:
    f = QueueFigures(POLICIES)
    feed(
        f,
        call("c1", 0), ev(E.CALL_ANSWERED, 15, "c1", agent_id="a"),  # within 20 s
        call("c2", 0), ev(E.CALL_ANSWERED, 45, "c2", agent_id="a"),  # not within
        call("c3", 0), ev(E.CALL_ABANDONED, 5, "c3"),  # short abandon
        call("c4", 0), ev(E.CALL_ABANDONED, 60, "c4", customer_id="k4"),
        ev(E.CALL_HOLD_STARTED, 50, "c2"), ev(E.CALL_HOLD_ENDED, 80, "c2"),
        ev(E.CALL_ENDED, 100, "c2"),
        ev(E.CALL_QUEUED, 200, "out", direction=Direction.OUTBOUND, customer_id="k4"),
    )  # fmt: skip
    tally = f.tally.drain()
    key = ("billing", "call")
    assert {what: tally.counts[(what, *key)] for what in Count} == {
        Count.OFFERED: 4,
        Count.ANSWERED: 2,
        Count.ANSWERED_WITHIN_THRESHOLD: 1,
        Count.ABANDONED: 2,
        Count.SHORT_ABANDONED: 1,
        Count.CALLBACKS_REQUESTED: 0,
        Count.CALLBACKS_MADE: 1,  # the long abandon was called back
    }
    durations = sorted((d, s) for d, _, _, s in tally.durations)
    assert durations == [
        (Duration.ANSWER_WAIT, 15.0), (Duration.ANSWER_WAIT, 45.0),
        (Duration.HANDLE, 55.0), (Duration.HOLD, 30.0),
    ]  # fmt: skip
    assert f.tally.drain().counts == {}  # drained once


def test_waiting_now_and_the_oldest_wait_come_from_state() -> None:
    f = QueueFigures(POLICIES)
    feed(f, call("c1", 0), call("c2", 10), call("c3", 20, queue="vip"))
    feed(f, ev(E.CHAT_REQUESTED, 5, "h1"), ev(E.CALL_ANSWERED, 30, "c1", agent_id="a"))
    snapshot = f.snapshot()
    assert snapshot.waiting == {("billing", "call"): 1, ("vip", "call"): 1, ("billing", "chat"): 1}
    assert snapshot.oldest_waiting_since[("billing", "call")] == at(10)
    # another shard's figures add up; the oldest wait is the earliest
    other = QueueFigures(POLICIES)
    feed(other, call("x1", 2))
    both = snapshot.plus(other.snapshot())
    assert both.waiting[("billing", "call")] == 2
    assert both.oldest_waiting_since[("billing", "call")] == at(2)


def test_tickets_open_by_status_unassigned_and_owed_a_first_reply() -> None:
    f = QueueFigures(POLICIES)
    feed(
        f,
        ev(E.TICKET_CREATED, 0, "t1", agent_id=None), ev(E.TICKET_CREATED, 50, "t2", agent_id=None),
        ev(E.TICKET_ASSIGNED, 60, "t2", agent_id="a"),
        ev(E.TICKET_STATUS_CHANGED, 70, "t2", status=TicketStatus.PENDING),
        ev(E.TICKET_COMMENTED, 90, "t2", agent_id="a", author=Author.AGENT, public=True),
        ev(E.TICKET_CREATED, 100, "t3"),
        ev(E.TICKET_STATUS_CHANGED, 120, "t3", status=TicketStatus.SOLVED),
    )  # fmt: skip
    snapshot = f.snapshot()
    assert snapshot.tickets_open == {("billing", "new"): 1, ("billing", "pending"): 1}
    assert snapshot.tickets_unassigned == {"billing": 1}
    assert snapshot.oldest_reply_owed_since == {"billing": at(0)}
    assert [(d, s) for d, *_, s in f.tally.drain().durations] == [(Duration.FIRST_REPLY, 40.0)]


def test_an_answer_that_arrives_before_its_call_counts_once_the_call_comes() -> None:
    f = QueueFigures(POLICIES)
    feed(f, ev(E.CALL_ANSWERED, 12, "c1", agent_id="a"), call("c1", 0))
    tally = f.tally.drain()
    assert tally.counts[(Count.ANSWERED_WITHIN_THRESHOLD, "billing", "call")] == 1
    assert f.snapshot().waiting == {}
    feed(f, ev(E.CALL_ANSWERED, 500, "older", agent_id="a"))  # began before the history
    feed(f, ev(E.CALL_ENDED, 600, "c9"))
    assert f.snapshot().waiting == {}
    assert "older" not in f._early  # forgotten once it is a minute old


def test_each_step_of_a_call_or_chat_is_one_record_with_the_queue_thresholds_applied() -> None:
    f = QueueFigures(POLICIES)
    feed(
        f,
        call("c1", 0, customer_id="k1"), ev(E.CALL_ANSWERED, 15, "c1", agent_id="a"),
        ev(E.CALL_ENDED, 75, "c1"),
        call("c2", 0), ev(E.CALL_ABANDONED, 5, "c2"),  # short
        ev(E.CHAT_REQUESTED, 0, "h1"), ev(E.CHAT_ACCEPTED, 30, "h1", agent_id="a"),
        ev(E.TICKET_CREATED, 0, "t1"),  # tickets have first-reply records, not queue steps
    )  # fmt: skip
    records = {(r.contact_id, r.stage.value): r for r in f.take_records()}

    assert sorted(records) == [
        ("c1", "answered"), ("c1", "handled"), ("c1", "offered"),
        ("c2", "abandoned"), ("c2", "offered"),
        ("h1", "answered"), ("h1", "offered"),
    ]  # fmt: skip
    assert records[("c1", "answered")].wait_ms == 15_000
    assert records[("c1", "answered")].within_threshold
    assert records[("c1", "handled")].handle_ms == 60_000
    assert records[("c1", "offered")].customer_id == "k1"
    assert records[("c2", "abandoned")].short_abandon
    assert not records[("h1", "answered")].within_threshold  # 30 s > 20 s
    assert records[("h1", "answered")].channel == "chat"
    assert len({r.id for r in records.values()}) == 7
    assert f.take_records() == []


def test_a_contact_step_has_the_same_id_however_often_it_is_computed() -> None:
    first, second = QueueFigures(POLICIES), QueueFigures(POLICIES)
    events = [call("c1", 0), ev(E.CALL_ANSWERED, 15, "c1", agent_id="a")]
    feed(first, *events)
    feed(second, *reversed(events))  # the answer arrives first and waits for the start

    assert first.take_records() == second.take_records()
