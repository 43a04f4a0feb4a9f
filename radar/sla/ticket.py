"""A ticket's SLA metrics (domain.md 3.1), driven by its events.

Reply metrics: ``first_reply_time`` (created -> first public agent comment), ``next_reply_time``
(a public customer comment after an agent reply -> the next one), ``periodic_update`` and
``pausable_update`` (each public agent comment while open -> the next; the latter paused while
pending), ``promised_update`` (due at the promised date) and ``feedback_follow_up`` (CSAT <= 2
-> a public agent comment). Resolution metrics run from creation to solve, paused while
pending (``requester_wait_time``) or pending and on hold (``agent_work_time``), or never
(``total_resolution_time``). Solving fulfils the reply metrics; reopening starts them again.
"""

from __future__ import annotations

from typing import Final

from radar.events import Author, Channel, Event, EventType, TicketStatus
from radar.policies import Metric, PolicySet
from radar.sla.interaction import InteractionSla
from radar.sla.records import SlaRecord

M = Metric
REPLY_METRICS: Final = (
    M.FIRST_REPLY_TIME,
    M.NEXT_REPLY_TIME,
    M.PERIODIC_UPDATE,
    M.PAUSABLE_UPDATE,
    M.PROMISED_UPDATE,
    M.FEEDBACK_FOLLOW_UP,
)
RESOLUTION_METRICS: Final = (M.REQUESTER_WAIT_TIME, M.AGENT_WORK_TIME, M.TOTAL_RESOLUTION_TIME)
# metrics whose clocks stop while the ticket is in a status
PAUSED_IN: Final = {
    TicketStatus.PENDING: frozenset({M.REQUESTER_WAIT_TIME, M.AGENT_WORK_TIME, M.PAUSABLE_UPDATE}),
    TicketStatus.ON_HOLD: frozenset({M.AGENT_WORK_TIME}),
}
SOLVED: Final = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})
# A solved ticket is kept this long for a reopen, then forgotten (most help desks close solved
# tickets after a few days; a `closed` status forgets it at once).
REOPEN_WINDOW_MS: Final = 7 * 86_400_000
OWED_REPLIES: Final = (M.FIRST_REPLY_TIME, M.NEXT_REPLY_TIME)


class TicketSla(InteractionSla):
    channel = Channel.TICKET
    __slots__ = ("agent_replied", "created", "solved_at", "status")

    def __init__(self, interaction_id: str, policies: PolicySet) -> None:
        super().__init__(interaction_id, policies)
        self.status = TicketStatus.NEW
        self.created = False
        self.agent_replied = False
        self.solved_at: int | None = None

    @property
    def solved(self) -> bool:
        return self.status in SOLVED

    @property
    def finished(self) -> bool:
        return self.status is TicketStatus.CLOSED and not self.timers

    def expires_at(self) -> int | None:
        if self.solved and self.solved_at is not None and not self.timers:
            return self.solved_at + REOPEN_WINDOW_MS
        return None

    def owes_reply(self) -> Metric | None:
        return next((m for m in OWED_REPLIES if self.timers.runs(m)), None)

    def owed_since(self) -> int | None:
        """Since when a reply has been owed, if one is."""
        owed = self.owes_reply()
        timer = None if owed is None else self.timers.get(owed)
        return None if timer is None else timer.started_at

    def on_event(self, event: Event, now: int) -> list[SlaRecord]:
        self.note(event)
        at = event.occurred_at
        match event.type:
            case EventType.TICKET_CREATED:
                return self._created(event, now)
            case EventType.TICKET_ASSIGNED:
                self.owner = event.agent_id
            case EventType.TICKET_PRIORITY_CHANGED:
                self.priority = event.priority
                return self.reselect(at, now)
            case EventType.TICKET_STATUS_CHANGED:
                assert event.status is not None
                return self._status(event.status, at, now)
            case EventType.TICKET_COMMENTED if event.public:
                if event.author is Author.AGENT:
                    return self._agent_reply(event, now)
                return self._customer_comment(event, now)
            case EventType.TICKET_UPDATE_PROMISED:
                assert event.promised_at is not None
                return self.start(M.PROMISED_UPDATE, at, now, fixed_due=event.promised_at)
            case EventType.TICKET_CSAT if event.score is not None and event.score <= 2:
                return self.start(M.FEEDBACK_FOLLOW_UP, at, now)
        return []

    def _created(self, event: Event, now: int) -> list[SlaRecord]:
        if self.created:
            return []
        self.created = True
        self.priority, self.tier = event.priority, event.tier
        self.owner = event.agent_id or self.owner
        self.select_policy()
        at = event.occurred_at
        records = self.start(M.FIRST_REPLY_TIME, at, now)
        for metric in RESOLUTION_METRICS:
            records += self.start(metric, at, now)
        return records

    def _status(self, status: TicketStatus, at: int, now: int) -> list[SlaRecord]:
        was_solved = self.solved
        self.status = status
        records: list[SlaRecord] = []
        if status in SOLVED:
            if not was_solved:
                self.solved_at = at
                records += self.end_all(REPLY_METRICS, at, now)
                for metric in RESOLUTION_METRICS:
                    records += self.achieve(metric, at, now)
            return records
        if was_solved:
            records += self._reopen(at, now)
        paused = PAUSED_IN.get(status, frozenset())
        self.pause(paused, at)
        self.resume(set(self.timers.metrics()) - paused, at)
        return records

    def _agent_reply(self, event: Event, now: int) -> list[SlaRecord]:
        at = event.occurred_at
        self.agent_replied = True
        self.owner = event.agent_id or self.owner
        records: list[SlaRecord] = []
        for metric in (M.FIRST_REPLY_TIME, M.NEXT_REPLY_TIME, M.FEEDBACK_FOLLOW_UP):
            records += self.achieve(metric, at, now)
        promise = self.timers.get(M.PROMISED_UPDATE)
        if promise is not None and at > promise.started_at:  # not the comment that made it
            records += self.achieve(M.PROMISED_UPDATE, at, now)
        for metric in (M.PERIODIC_UPDATE, M.PAUSABLE_UPDATE):
            records += self.achieve(metric, at, now)
            if not self.solved:
                records += self.start(metric, at, now)
        if self.status in PAUSED_IN:
            self.pause(PAUSED_IN[self.status], at)
        return records

    def _customer_comment(self, event: Event, now: int) -> list[SlaRecord]:
        owed = self.owes_reply()
        if owed is not None:
            return self.chase(owed, event, now)
        if not self.created or not self.agent_replied:
            return []
        at = event.occurred_at
        records = self.start(M.NEXT_REPLY_TIME, at, now)
        if self.solved:  # the customer reopens by writing; the status event may come first or after
            self.status = TicketStatus.OPEN
            records += self._reopen(at, now)
        return records

    def _reopen(self, at: int, now: int) -> list[SlaRecord]:
        """Resolution clocks start a new cycle; a reply is owed only if the customer wrote."""
        records: list[SlaRecord] = []
        for metric in RESOLUTION_METRICS:
            if not self.timers.runs(metric):
                records += self.start(metric, at, now)
        return records
