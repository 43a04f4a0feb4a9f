"""Each gap kind opens and closes; a departing agent's open tickets become gaps."""

from __future__ import annotations

import itertools
from typing import Any

from radar.detector_settings import GapThresholds
from radar.events import Direction, Event, EventType, Priority, TicketStatus, iso_to_millis
from radar.gaps.detector import AssigneeGapDetector, GapKind, GapRecord, GapState
from radar.policies import parse_policies
from radar.sequencer import EventSequencer

E = EventType
_ids = itertools.count(1)


class Floor:
    def __init__(self, thresholds: GapThresholds | None = None) -> None:
        self.detector = AssigneeGapDetector(thresholds)
        self.sequencer = EventSequencer(self.detector, 0)
        self.records: list[GapRecord] = []

    def send(
        self, event_type: EventType, at: str, interaction: str | None = "T1", **fields: Any
    ) -> Floor:
        fields.setdefault("customer_id", "C1" if interaction else None)
        fields.setdefault("queue", "billing")
        when = iso_to_millis(f"2026-02-02T{at}:00Z")
        event = Event(f"e{next(_ids)}", event_type, when, interaction, **fields)
        self.records += self.sequencer.offer(event, when)
        return self

    def until(self, at: str) -> Floor:
        self.records += self.sequencer.advance(iso_to_millis(f"2026-02-02T{at}:00Z"))
        return self

    def states(self, kind: GapKind) -> list[tuple[str, str]]:
        return [(r.state.value, r.interaction_id) for r in self.records if r.kind is kind]


def test_an_answered_call_without_an_agent_is_a_gap_until_the_handler_is_recorded() -> None:
    f = Floor().send(E.CALL_QUEUED, "09:00", "CALL1", direction=Direction.INBOUND)
    f.send(E.CALL_ANSWERED, "09:01", "CALL1")
    f.send(E.CALL_HOLD_STARTED, "09:03", "CALL1", agent_id="A4")
    assert f.states(GapKind.HANDLER_UNRECORDED) == [("opened", "CALL1"), ("closed", "CALL1")]
    closed = f.records[-1]
    assert (closed.open_ms, closed.reason) == (120_000, "owner recorded")
    assert closed.gap_id == f.records[0].gap_id
    assert closed.id != f.records[0].id


def test_a_handler_never_recorded_closes_when_the_call_ends() -> None:
    f = Floor().send(E.CHAT_REQUESTED, "09:00", "CHAT1").send(E.CHAT_ACCEPTED, "09:00", "CHAT1")
    f.send(E.CHAT_ENDED, "09:10", "CHAT1")
    assert f.states(GapKind.HANDLER_UNRECORDED) == [("opened", "CHAT1"), ("closed", "CHAT1")]
    assert f.records[-1].reason == "work ended"
    assert "CHAT1" not in f.detector.work


def test_a_transfer_to_nowhere_is_a_gap() -> None:
    f = Floor().send(E.CALL_QUEUED, "09:00", "CALL1", direction=Direction.INBOUND)
    f.send(E.CALL_ANSWERED, "09:00", "CALL1", agent_id="A1")
    f.send(E.CALL_TRANSFERRED, "09:05", "CALL1", agent_id="A1")
    f.send(
        E.CALL_TRANSFERRED, "09:06", "CALL2", agent_id="A1", to_queue="tech"
    )  # a queue is a target
    f.send(E.CALL_ENDED, "09:09", "CALL1")
    assert f.states(GapKind.TRANSFER_TARGET_UNRECORDED) == [
        ("opened", "CALL1"),
        ("closed", "CALL1"),
    ]


def test_an_unowned_ticket_past_the_threshold_is_a_gap_until_assigned() -> None:
    f = Floor(GapThresholds(ticket_ms=30 * 60_000)).send(
        E.TICKET_CREATED, "09:00", priority=Priority.HIGH
    )
    f.until("09:29")
    assert f.records == []
    f.until("09:31")
    assert f.states(GapKind.UNASSIGNED_TOO_LONG) == [("opened", "T1")]
    assert f.records[0].opened_at == iso_to_millis("2026-02-02T09:30:00Z")  # at the threshold
    f.send(E.TICKET_ASSIGNED, "10:00", agent_id="A2")
    assert f.states(GapKind.UNASSIGNED_TOO_LONG)[-1] == ("closed", "T1")
    assert f.records[-1].open_ms == 30 * 60_000


def test_thresholds_differ_by_channel_and_queue() -> None:
    thresholds = GapThresholds(
        ticket_ms=3_600_000, chat_ms=120_000, by_queue={"vip": {E.TICKET_CREATED.channel: 60_000}}
    )
    f = Floor(thresholds)
    f.send(E.TICKET_CREATED, "09:00", "T-vip", queue="vip", priority=Priority.HIGH)
    f.send(E.CHAT_REQUESTED, "09:00", "CHAT1")
    f.send(E.TICKET_CREATED, "09:00", "T-std", priority=Priority.HIGH)
    f.until("09:05")
    assert sorted(f.states(GapKind.UNASSIGNED_TOO_LONG)) == [
        ("opened", "CHAT1"),
        ("opened", "T-vip"),
    ]


def test_a_deactivated_agent_with_three_open_tickets_leaves_three_gaps() -> None:
    f = Floor()
    for ticket in ("T1", "T2", "T3", "T4"):
        f.send(E.TICKET_CREATED, "09:00", ticket, priority=Priority.NORMAL)
        f.send(E.TICKET_ASSIGNED, "09:01", ticket, agent_id="A9")
    f.send(E.TICKET_STATUS_CHANGED, "09:30", "T4", status=TicketStatus.SOLVED)
    f.send(E.AGENT_DEACTIVATED, "10:00", None, agent_id="A9")
    opened = [r for r in f.records if r.kind is GapKind.INACTIVE_ASSIGNEE]
    assert [(r.interaction_id, r.agent_id) for r in opened] == [
        ("T1", "A9"),
        ("T2", "A9"),
        ("T3", "A9"),
    ]
    f.send(E.TICKET_ASSIGNED, "11:00", "T1", agent_id="A3")
    f.send(E.TICKET_STATUS_CHANGED, "11:30", "T2", status=TicketStatus.SOLVED)
    f.send(E.AGENT_ACTIVATED, "12:00", None, agent_id="A9")
    closes = [(r.interaction_id, r.reason) for r in f.records if r.state is GapState.CLOSED]
    assert closes == [("T1", "reassigned"), ("T2", "work ended"), ("T3", "agent reactivated")]


def test_work_assigned_to_an_already_inactive_agent_is_a_gap() -> None:
    f = Floor().send(E.AGENT_DEACTIVATED, "08:00", None, agent_id="A9")
    f.send(E.TICKET_CREATED, "09:00", priority=Priority.LOW).send(
        E.TICKET_ASSIGNED, "09:05", agent_id="A9"
    )
    assert f.states(GapKind.INACTIVE_ASSIGNEE) == [("opened", "T1")]


def test_gap_ids_are_stable_across_runs() -> None:
    def run() -> list[str]:
        f = Floor().send(E.CALL_QUEUED, "09:00", "CALL1", direction=Direction.INBOUND)
        f.send(E.CALL_ANSWERED, "09:01", "CALL1").send(E.CALL_ENDED, "09:02", "CALL1")
        return [r.id for r in f.records]

    assert run() == run()


def test_thresholds_count_business_hours_where_the_queue_has_a_calendar() -> None:
    policies = parse_policies(
        """
calendars:
  office: {timezone: UTC, hours: {mon: 09:00-17:00, tue: 09:00-17:00}}
policies: [{name: a, targets: {}}]
assignee:
  unassigned_after: {ticket: 1h}
  queues: {back-office: {calendar: office}}
""",
        "gaps.yaml",
    )
    f = Floor(policies.gaps)
    # Monday 16:30 in the back office: 30 min left today, 30 min on Tuesday morning
    f.send(E.TICKET_CREATED, "16:30", "T-office", queue="back-office", priority=Priority.LOW)
    f.send(E.TICKET_CREATED, "16:30", "T-24x7", queue="billing", priority=Priority.LOW)
    f.until("17:31")
    assert f.states(GapKind.UNASSIGNED_TOO_LONG) == [("opened", "T-24x7")]
    f.records += f.sequencer.advance(iso_to_millis("2026-02-03T09:31:00Z"))
    assert f.states(GapKind.UNASSIGNED_TOO_LONG)[-1] == ("opened", "T-office")
    assert f.records[-1].opened_at == iso_to_millis("2026-02-03T09:30:00Z")
