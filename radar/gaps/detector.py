"""Missing-assignee detection (domain.md 3.3): work nobody can be named for.

Kinds: ``handler_unrecorded`` (a call answered or chat accepted with no agent id),
``transfer_target_unrecorded`` (a transfer naming neither agent nor queue),
``unassigned_too_long`` (an open ticket or waiting chat without an owner past a threshold) and
``inactive_assignee`` (open work owned by a deactivated agent, including work assigned before
the deactivation). Each gap is emitted once when it opens and once when it closes (an owner
is recorded, the work ends, the agent comes back), with how long it stayed open.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from radar.detector_settings import GapThresholds
from radar.events import STARTS, Channel, Event, EventType, TicketStatus
from radar.records import json_record, record_id


class GapKind(StrEnum):
    HANDLER_UNRECORDED = "handler_unrecorded"
    UNASSIGNED_TOO_LONG = "unassigned_too_long"
    INACTIVE_ASSIGNEE = "inactive_assignee"
    TRANSFER_TARGET_UNRECORDED = "transfer_target_unrecorded"


class GapState(StrEnum):
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class GapRecord:
    id: str
    gap_id: str
    kind: GapKind
    state: GapState
    channel: str
    interaction_id: str
    customer_id: str | None
    queue: str | None
    agent_id: str | None  # the inactive assignee, for that kind
    opened_at: int
    closed_at: int | None
    open_ms: int | None
    detected_at: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return json_record("gap", self, ("opened_at", "closed_at", "detected_at"))


_ENDS: Final = frozenset(
    {EventType.CALL_ENDED, EventType.CALL_ABANDONED, EventType.CHAT_ENDED, EventType.CHAT_ABANDONED}
)
_DONE: Final = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})
# a ticket may predate the history: its assignment still tells who owns it
_TICKET_OWNERSHIP: Final = frozenset({EventType.TICKET_ASSIGNED})


@dataclass
class _Gap:
    gap_id: str
    kind: GapKind
    opened_at: int
    agent_id: str | None


@dataclass(slots=True)
class _Work:
    interaction_id: str
    channel: Channel
    customer_id: str | None = None
    queue: str | None = None
    owner: str | None = None
    started_at: int | None = None
    open: bool = True
    waiting_since: int | None = None  # unowned since (tickets; chats until accepted)
    # made on the first gap: most work never has one, and two empty dicts per open
    # interaction cost more than the rest of it
    gaps: dict[GapKind, _Gap] | None = None
    cycles: dict[GapKind, int] | None = None


class AssigneeGapDetector:
    def __init__(self, thresholds: GapThresholds | None = None) -> None:
        self.thresholds = thresholds or GapThresholds()
        self.work: dict[str, _Work] = {}
        self._inactive: set[str] = set()
        self._owned: defaultdict[str, set[str]] = defaultdict(set)
        self._deadlines: list[tuple[int, str]] = []

    # -- events ------------------------------------------------------------------------

    def apply(self, event: Event, now: int) -> list[GapRecord]:
        if event.type is EventType.AGENT_DEACTIVATED and event.agent_id:
            return self._deactivated(event.agent_id, event.occurred_at, now)
        if event.type is EventType.AGENT_ACTIVATED and event.agent_id:
            self._inactive.discard(event.agent_id)
            return self._close_everywhere(
                GapKind.INACTIVE_ASSIGNEE,
                event.agent_id,
                event.occurred_at,
                now,
                "agent reactivated",
            )
        if event.interaction_id is None or event.type.channel is Channel.AGENT:
            return []
        work = self.work.get(event.interaction_id)
        if work is None:
            if event.type not in STARTS and event.type not in _TICKET_OWNERSHIP:
                return []  # a straggler of finished work
            work = _Work(event.interaction_id, event.type.channel)
            self.work[event.interaction_id] = work
        work.customer_id = event.customer_id or work.customer_id
        work.queue = event.queue or work.queue
        records = self._on_work_event(work, event, now)
        if not work.open and not work.gaps:
            self._forget(work)
        return records

    def _on_work_event(self, work: _Work, event: Event, now: int) -> list[GapRecord]:
        at, kind = event.occurred_at, event.type
        records: list[GapRecord] = []
        if kind in (EventType.TICKET_CREATED, EventType.CHAT_REQUESTED):
            work.started_at = at
            if kind is EventType.TICKET_CREATED and event.agent_id:
                records += self._assign(work, event.agent_id, at, now)
            else:
                self._wait(work, at)
        elif kind is EventType.TICKET_ASSIGNED:
            if event.agent_id:
                records += self._assign(work, event.agent_id, at, now)
            else:
                records += self._unassign(work, at, now)
        elif kind in (EventType.CALL_ANSWERED, EventType.CHAT_ACCEPTED):
            if event.agent_id:
                records += self._assign(work, event.agent_id, at, now)
            else:
                work.waiting_since = None
                records += self._close(work, GapKind.UNASSIGNED_TOO_LONG, at, now, "accepted")
                records += self._open(work, GapKind.HANDLER_UNRECORDED, at, now, None)
        elif kind in (EventType.CALL_TRANSFERRED, EventType.CHAT_TRANSFERRED):
            if event.to_agent_id:
                records += self._assign(work, event.to_agent_id, at, now)
            elif event.to_queue is None:
                records += self._open(work, GapKind.TRANSFER_TARGET_UNRECORDED, at, now, None)
        elif event.agent_id and work.owner is None and work.channel is not Channel.TICKET:
            records += self._assign(work, event.agent_id, at, now)  # the handler, recorded late
        if kind in _ENDS or (kind is EventType.TICKET_STATUS_CHANGED and event.status in _DONE):
            work.open = False
            work.waiting_since = None
            records += self._close_all(work, at, now, "work ended")
        elif kind is EventType.TICKET_STATUS_CHANGED and not work.open:
            work.open = True  # reopened
            if work.owner is None:
                self._wait(work, at)
            elif work.owner in self._inactive:
                records += self._open(work, GapKind.INACTIVE_ASSIGNEE, at, now, work.owner)
        return records

    def _assign(self, work: _Work, agent_id: str, at: int, now: int) -> list[GapRecord]:
        if work.owner:
            self._owned[work.owner].discard(work.interaction_id)
        work.owner = agent_id
        self._owned[agent_id].add(work.interaction_id)
        work.waiting_since = None
        records = []
        for kind in (
            GapKind.UNASSIGNED_TOO_LONG,
            GapKind.HANDLER_UNRECORDED,
            GapKind.TRANSFER_TARGET_UNRECORDED,
        ):
            records += self._close(work, kind, at, now, "owner recorded")
        if agent_id in self._inactive:
            if work.open and GapKind.INACTIVE_ASSIGNEE not in (work.gaps or ()):
                records += self._open(work, GapKind.INACTIVE_ASSIGNEE, at, now, agent_id)
        else:
            records += self._close(work, GapKind.INACTIVE_ASSIGNEE, at, now, "reassigned")
        return records

    def _unassign(self, work: _Work, at: int, now: int) -> list[GapRecord]:
        if work.owner:
            self._owned[work.owner].discard(work.interaction_id)
        work.owner = None
        self._wait(work, at)
        return self._close(work, GapKind.INACTIVE_ASSIGNEE, at, now, "unassigned")

    def _wait(self, work: _Work, at: int) -> None:
        if work.channel is Channel.CALL or not work.open:
            return
        work.waiting_since = at
        due = self.thresholds.due(work.channel, work.queue, at)
        heapq.heappush(self._deadlines, (due, work.interaction_id))

    def _deactivated(self, agent_id: str, at: int, now: int) -> list[GapRecord]:
        self._inactive.add(agent_id)
        records: list[GapRecord] = []
        for interaction_id in sorted(self._owned.get(agent_id, ())):
            work = self.work.get(interaction_id)
            if work is not None and work.open:
                records += self._open(work, GapKind.INACTIVE_ASSIGNEE, at, now, agent_id)
        return records

    def _close_everywhere(
        self, kind: GapKind, agent_id: str, at: int, now: int, reason: str
    ) -> list[GapRecord]:
        records: list[GapRecord] = []
        for interaction_id in sorted(self._owned.get(agent_id, ())):
            work = self.work.get(interaction_id)
            if work is not None:
                records += self._close(work, kind, at, now, reason)
        return records

    # -- time --------------------------------------------------------------------------

    def fire_until(self, upto: int, now: int) -> list[GapRecord]:
        records: list[GapRecord] = []
        while self._deadlines and self._deadlines[0][0] <= upto:
            due, interaction_id = heapq.heappop(self._deadlines)
            work = self.work.get(interaction_id)
            if work is None or work.waiting_since is None or not work.open:
                continue
            if self.thresholds.due(work.channel, work.queue, work.waiting_since) != due:
                continue  # an older wait; a newer deadline is queued
            records += self._open(work, GapKind.UNASSIGNED_TOO_LONG, due, now, None)
        return records

    def next_deadline(self) -> int | None:
        return self._deadlines[0][0] if self._deadlines else None

    # -- records -----------------------------------------------------------------------

    def _open(
        self, work: _Work, kind: GapKind, at: int, now: int, agent_id: str | None
    ) -> list[GapRecord]:
        if work.gaps is None or work.cycles is None:
            work.gaps, work.cycles = {}, {}
        elif kind in work.gaps:
            return []
        cycle = work.cycles[kind] = work.cycles.get(kind, 0) + 1
        # the instant too: work ended and forgotten can start again under the same id, with
        # its cycles counted from 1 again
        gap_id = record_id("gap", work.interaction_id, kind, cycle, at)
        gap = _Gap(gap_id, kind, at, agent_id)
        work.gaps[kind] = gap
        return [self._record(work, gap, GapState.OPENED, None, now, "opened")]

    def _close(self, work: _Work, kind: GapKind, at: int, now: int, reason: str) -> list[GapRecord]:
        gap = work.gaps.pop(kind, None) if work.gaps else None
        if gap is None:
            return []
        return [self._record(work, gap, GapState.CLOSED, max(at, gap.opened_at), now, reason)]

    def _close_all(self, work: _Work, at: int, now: int, reason: str) -> list[GapRecord]:
        return [
            r for kind in list(work.gaps or ()) for r in self._close(work, kind, at, now, reason)
        ]

    def _record(
        self, work: _Work, gap: _Gap, state: GapState, closed_at: int | None, now: int, reason: str
    ) -> GapRecord:
        return GapRecord(
            id=record_id(gap.gap_id, state),
            gap_id=gap.gap_id,
            kind=gap.kind,
            state=state,
            channel=work.channel.value,
            interaction_id=work.interaction_id,
            customer_id=work.customer_id,
            queue=work.queue,
            agent_id=gap.agent_id,
            opened_at=gap.opened_at,
            closed_at=closed_at,
            open_ms=None if closed_at is None else closed_at - gap.opened_at,
            detected_at=now,
            reason=reason,
        )

    def _forget(self, work: _Work) -> None:
        self.work.pop(work.interaction_id, None)
        if work.owner:
            self._owned[work.owner].discard(work.interaction_id)
            if not self._owned[work.owner]:
                del self._owned[work.owner]

    def open_gaps(self) -> list[tuple[GapKind, str | None]]:
        return [(kind, w.queue) for w in self.work.values() for kind in w.gaps or ()]
