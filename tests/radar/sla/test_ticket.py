"""Ticket metrics, scenario by scenario; expected values worked out by hand from domain.md 3.1."""

from __future__ import annotations

from radar.events import Author, EventType, Priority, TicketStatus
from radar.policies import Metric
from radar.sla.records import SlaKind
from tests.radar.sla.scenario import Scenario

E = EventType
MIN = 60_000
HOUR = 60 * MIN

POLICIES = """
policies:
  - name: urgent
    match: {channel: ticket, priority: urgent}
    group: tier2
    targets: {first_reply_time: 1h, requester_wait_time: 4h}
  - name: standard
    match: {channel: ticket}
    group: tier1
    targets:
      first_reply_time: 4h
      next_reply_time: 2h
      periodic_update: 4h
      pausable_update: 4h
      requester_wait_time: 10h
      agent_work_time: 8h
      total_resolution_time: 24h
      feedback_follow_up: 2h
    escalations: [{after: 1h, group: lead}, {after: 3h, group: head}]
grace: 0s
"""


def ticket(s: Scenario, at: str, priority: Priority = Priority.NORMAL) -> Scenario:
    return s.send(E.TICKET_CREATED, at, priority=priority)


def agent_reply(s: Scenario, at: str) -> Scenario:
    return s.send(E.TICKET_COMMENTED, at, agent_id="A1", author=Author.AGENT, public=True)


def customer_writes(s: Scenario, at: str) -> Scenario:
    return s.send(E.TICKET_COMMENTED, at, author=Author.CUSTOMER, public=True)


def status(s: Scenario, at: str, value: TicketStatus) -> Scenario:
    return s.send(E.TICKET_STATUS_CHANGED, at, status=value)


def test_first_reply_in_time_warns_at_half_and_is_achieved() -> None:
    s = ticket(Scenario(POLICIES), "2026-02-02T09:00")
    agent_reply(s, "2026-02-02T11:10")  # 2h10 of 4h: past the 0.5 warning, before 0.75
    assert s.kinds("first_reply_time") == ["warning", "achieved"]
    assert s.records[0].fraction == 0.5
    assert s.records[0].elapsed_ms == 2 * HOUR
    achieved = s.only(SlaKind.ACHIEVED, "first_reply_time")
    assert achieved.elapsed_ms == 130 * MIN
    assert achieved.late is False
    assert achieved.owner == "A1"


def test_a_missed_first_reply_breaches_escalates_then_is_achieved_late() -> None:
    s = ticket(Scenario(POLICIES), "2026-02-02T09:00").until("2026-02-02T16:30")
    assert s.kinds("first_reply_time") == [
        "warning",
        "warning",
        "breach",
        "escalation",
        "escalation",
    ]
    breach = s.only(SlaKind.BREACH, "first_reply_time")
    assert breach.due_at == s.t("2026-02-02T13:00")
    assert breach.group == "tier1"
    escalations = [r for r in s.records if r.kind is SlaKind.ESCALATION]
    assert [(r.level, r.group) for r in escalations] == [(2, "lead"), (3, "head")]
    agent_reply(s, "2026-02-02T16:40")
    achieved = s.only(SlaKind.ACHIEVED, "first_reply_time")
    assert achieved.late is True
    assert achieved.elapsed_ms == 460 * MIN


def test_pending_pauses_requester_wait_and_on_hold_pauses_agent_work() -> None:
    s = ticket(Scenario(POLICIES), "2026-02-02T00:00")
    agent_reply(s, "2026-02-02T00:30")
    status(s, "2026-02-02T02:00", TicketStatus.PENDING)
    status(s, "2026-02-02T05:00", TicketStatus.OPEN)  # 3 h paused for both
    status(s, "2026-02-02T06:00", TicketStatus.ON_HOLD)
    status(s, "2026-02-02T07:00", TicketStatus.OPEN)  # 1 h more paused for agent work only
    status(s, "2026-02-02T12:00", TicketStatus.SOLVED)
    requester = s.only(SlaKind.ACHIEVED, "requester_wait_time")
    assert (requester.elapsed_ms, requester.late) == (9 * HOUR, False)
    agent_work = s.only(SlaKind.ACHIEVED, "agent_work_time")
    assert (agent_work.elapsed_ms, agent_work.late) == (8 * HOUR, False)  # exactly on target
    total = s.only(SlaKind.ACHIEVED, "total_resolution_time")
    assert total.elapsed_ms == 12 * HOUR
    assert not [r for r in s.records if r.kind is SlaKind.BREACH and "wait" in r.metric]


def test_pausable_update_waits_out_pending_while_periodic_update_does_not() -> None:
    s = ticket(Scenario(POLICIES), "2026-02-02T00:00")
    agent_reply(s, "2026-02-02T00:30")  # both update clocks start: due 04:30
    status(s, "2026-02-02T02:00", TicketStatus.PENDING)
    status(s, "2026-02-02T05:00", TicketStatus.OPEN)  # pausable due moves to 07:30
    agent_reply(s, "2026-02-02T07:00")
    periodic = [r for r in s.records if r.metric == "periodic_update" and r.cycle == 1]
    pausable = [r for r in s.records if r.metric == "pausable_update" and r.cycle == 1]
    # the policy escalates 1 h after the 04:30 breach, before the 07:00 update
    assert [r.kind.value for r in periodic] == [
        "warning",
        "warning",
        "breach",
        "escalation",
        "achieved",
    ]
    assert periodic[2].due_at == s.t("2026-02-02T04:30")
    assert [r.kind.value for r in pausable][-1] == "achieved"
    assert SlaKind.BREACH not in [r.kind for r in pausable]
    assert pausable[-1].elapsed_ms == 3 * HOUR + 30 * MIN


def test_a_priority_change_recomputes_due_times_from_the_original_start() -> None:
    s = ticket(Scenario(POLICIES), "2026-02-02T00:00")
    status(s, "2026-02-02T01:00", TicketStatus.PENDING)
    status(s, "2026-02-02T02:00", TicketStatus.OPEN)
    s.send(E.TICKET_PRIORITY_CHANGED, "2026-02-02T02:30", priority=Priority.URGENT)
    # first reply: urgent 1h from 00:00 -> already late at the change: breached at once
    first = s.only(SlaKind.BREACH, "first_reply_time")
    assert (first.policy, first.due_at) == ("urgent", s.t("2026-02-02T01:00"))
    s.until("2026-02-02T06:00")
    # requester wait: urgent 4h from 00:00, plus the hour already paused -> due 05:00
    wait = s.only(SlaKind.BREACH, "requester_wait_time")
    assert wait.due_at == s.t("2026-02-02T05:00")
    # metrics the urgent policy has no target for stop applying
    assert s.only(SlaKind.FULFILLED, "agent_work_time").policy == "urgent"


def test_solving_fulfils_reply_targets_and_reopening_starts_them_again() -> None:
    s = ticket(Scenario(POLICIES), "2026-02-02T00:00")
    agent_reply(s, "2026-02-02T00:10")
    status(s, "2026-02-02T01:00", TicketStatus.SOLVED)
    assert {r.metric for r in s.records if r.kind is SlaKind.FULFILLED} == {
        "periodic_update",
        "pausable_update",
    }
    customer_writes(s, "2026-02-02T05:00")
    status(s, "2026-02-02T05:00", TicketStatus.OPEN)
    agent_reply(s, "2026-02-02T05:30")
    next_reply = s.only(SlaKind.ACHIEVED, "next_reply_time")
    assert (next_reply.started_at, next_reply.elapsed_ms) == (s.t("2026-02-02T05:00"), 30 * MIN)
    restarted = [r for r in s.records if r.metric == "total_resolution_time"]
    assert [r.cycle for r in restarted] == [1]  # cycle 2 is running, not ended
    running = s.engine.interactions["T1"].timers.get(Metric.TOTAL_RESOLUTION_TIME)
    assert running is not None
    assert running.started_at == s.t("2026-02-02T05:00")


def test_a_kept_promise_and_a_broken_one() -> None:
    kept = ticket(Scenario(POLICIES), "2026-02-02T09:00")
    agent_reply(kept, "2026-02-02T09:30")
    kept.send(E.TICKET_UPDATE_PROMISED, "2026-02-02T10:00", promised_at=kept.t("2026-02-02T14:00"))
    agent_reply(kept, "2026-02-02T13:00")
    assert kept.kinds("promised_update")[-1] == "achieved"
    assert kept.only(SlaKind.ACHIEVED, "promised_update").late is False

    broken = ticket(Scenario(POLICIES), "2026-02-02T09:00")
    agent_reply(broken, "2026-02-02T09:30")
    broken.send(
        E.TICKET_UPDATE_PROMISED, "2026-02-02T10:00", promised_at=broken.t("2026-02-02T14:00")
    )
    broken.until("2026-02-02T14:30")
    assert broken.only(SlaKind.BREACH, "promised_update").due_at == broken.t("2026-02-02T14:00")
    agent_reply(broken, "2026-02-02T15:00")
    assert broken.only(SlaKind.ACHIEVED, "promised_update").late is True


def test_low_csat_needs_a_follow_up() -> None:
    followed = ticket(Scenario(POLICIES), "2026-02-02T09:00")
    followed.send(E.TICKET_CSAT, "2026-02-02T10:00", score=2)
    agent_reply(followed, "2026-02-02T11:00")
    assert followed.only(SlaKind.ACHIEVED, "feedback_follow_up").elapsed_ms == HOUR

    ignored = ticket(Scenario(POLICIES), "2026-02-02T09:00")
    ignored.send(E.TICKET_CSAT, "2026-02-02T10:00", score=1).until("2026-02-02T12:30")
    assert ignored.only(SlaKind.BREACH, "feedback_follow_up").due_at == ignored.t(
        "2026-02-02T12:00"
    )

    happy = ticket(Scenario(POLICIES), "2026-02-02T09:00")
    happy.send(E.TICKET_CSAT, "2026-02-02T10:00", score=4).until("2026-02-02T12:30")
    assert "feedback_follow_up" not in {r.metric for r in happy.records}


def chases(s: Scenario) -> list[tuple[str, str, int]]:
    return [
        (r.interaction_id, r.metric, r.occurred_at)
        for r in s.records
        if r.kind is SlaKind.CUSTOMER_CHASE
    ]


def test_writing_again_while_a_reply_is_owed_is_a_chase_on_any_channel() -> None:
    s = ticket(Scenario(POLICIES), "2026-02-02T09:00")
    customer_writes(s, "2026-02-02T09:20")
    s.send(E.CALL_QUEUED, "2026-02-02T09:40", interaction="CALL1", direction="inbound")
    assert chases(s) == [
        ("T1", "first_reply_time", s.t("2026-02-02T09:20")),
        ("T1", "first_reply_time", s.t("2026-02-02T09:40")),
    ]
    found = [r for r in s.records if r.kind is SlaKind.CUSTOMER_CHASE]
    assert found[0].id != found[1].id
    assert found[0].elapsed_ms == 20 * MIN
    agent_reply(s, "2026-02-02T10:00")
    customer_writes(s, "2026-02-02T10:30")  # a new question: next reply owed, not a chase
    assert len([r for r in s.records if r.kind is SlaKind.CUSTOMER_CHASE]) == 2


def test_the_opening_message_exported_with_the_ticket_is_not_a_chase() -> None:
    for opening_first in (False, True):  # the two events share an instant, in either order
        s = Scenario(POLICIES)
        created = s.make(E.TICKET_CREATED, "2026-02-02T09:00", priority=Priority.NORMAL)
        opening = s.make(
            E.TICKET_COMMENTED, "2026-02-02T09:00", author=Author.CUSTOMER, public=True
        )
        for event in (opening, created) if opening_first else (created, opening):
            s.deliver(event)
        s.until("2026-02-02T09:10")
        assert chases(s) == []
        assert "next_reply_time" not in {r.metric for r in s.records}
        customer_writes(s, "2026-02-02T09:30")  # writing again after it is a chase
        assert chases(s) == [("T1", "first_reply_time", s.t("2026-02-02T09:30"))]


def test_one_new_contact_is_one_chase_on_the_ticket_owed_longest() -> None:
    s = Scenario(POLICIES)
    for ticket_id, at in (("T2", "09:30"), ("T1", "09:00"), ("T3", "10:00")):
        s.send(
            E.TICKET_CREATED, f"2026-02-02T{at}", interaction=ticket_id, priority=Priority.NORMAL
        )
    # T1 came late, after T2: the order of creation decides, not the order of arrival; and
    # T3 is itself a new contact, so it chases T1
    assert chases(s) == [("T1", "first_reply_time", s.t("2026-02-02T10:00"))]
    s.send(E.CHAT_REQUESTED, "2026-02-02T10:30", interaction="CHAT1")
    assert chases(s)[1:] == [("T1", "first_reply_time", s.t("2026-02-02T10:30"))]
    s.send(E.TICKET_COMMENTED, "2026-02-02T10:40", interaction="T1", agent_id="A1",
           author=Author.AGENT, public=True)  # fmt: skip
    s.send(E.CALL_QUEUED, "2026-02-02T10:50", interaction="CALL1", direction="inbound")
    assert chases(s)[2:] == [("T2", "first_reply_time", s.t("2026-02-02T10:50"))]
    s.send(E.TICKET_COMMENTED, "2026-02-02T11:00", interaction="T3",
           author=Author.CUSTOMER, public=True)  # fmt: skip
    assert chases(s)[3:] == [("T3", "first_reply_time", s.t("2026-02-02T11:00"))]  # it names T3
