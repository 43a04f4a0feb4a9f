"""Life cycles of calls, chats and tickets, each written out as its events at once.

A life cycle may carry an ``Anomaly``: a deliberate fault (a breach, a missing handler) that
later detectors must find; the generator records each one as ground truth.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from radar.events import Author, Direction, Event, EventType, Priority, TicketStatus
from radar.simulate.center import HOUR_MS, Agent, Roster

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
SHORT_ABANDON_MS = 10 * SECOND_MS


class Anomaly(StrEnum):
    CALL_ANSWER_BREACH = "call_answer_breach"
    HANDLER_UNRECORDED = "handler_unrecorded"
    TRANSFER_TARGET_UNRECORDED = "transfer_target_unrecorded"
    CHAT_WAIT_BREACH = "chat_wait_breach"
    FIRST_REPLY_BREACH = "first_reply_breach"
    UNASSIGNED_TOO_LONG = "unassigned_too_long"
    BROKEN_PROMISE = "broken_promise"
    CSAT_NOT_FOLLOWED_UP = "csat_not_followed_up"


@dataclass
class Interaction:
    """Events of one call, chat or ticket, built in order of occurrence."""

    interaction_id: str
    customer_id: str | None
    queue: str
    new_event_id: Callable[[], str]
    events: list[Event] = field(default_factory=list)

    def add(self, at_ms: int, event_type: EventType, **fields: Any) -> None:
        fields.setdefault("customer_id", self.customer_id)
        fields.setdefault("queue", self.queue)
        self.events.append(
            Event(
                event_id=self.new_event_id(),
                type=event_type,
                occurred_at=at_ms,
                interaction_id=self.interaction_id,
                **fields,
            )
        )

    def transfer(
        self, at_ms: int, event_type: EventType, handler: str | None, target: Agent
    ) -> str:
        """Hand the interaction to ``target``; returns the new handler."""
        self.add(
            at_ms, event_type, agent_id=handler, to_agent_id=target.agent_id, to_queue=target.queue
        )
        return target.agent_id

    def reply(self, at_ms: int, agent_id: str | None) -> int:
        """A public agent comment; returns its time."""
        self.add(
            at_ms, EventType.TICKET_COMMENTED, agent_id=agent_id, author=Author.AGENT, public=True
        )
        return at_ms

    def customer_writes(self, at_ms: int) -> int:
        self.add(at_ms, EventType.TICKET_COMMENTED, author=Author.CUSTOMER, public=True)
        return at_ms

    def status(self, at_ms: int, status: TicketStatus, agent_id: str | None = None) -> int:
        self.add(at_ms, EventType.TICKET_STATUS_CHANGED, agent_id=agent_id, status=status)
        return at_ms


@dataclass(frozen=True)
class Context:
    rng: random.Random
    roster: Roster
    start_ms: int


def _minutes(rng: random.Random, mean: float) -> int:
    return max(SECOND_MS, int(rng.expovariate(1 / mean) * MINUTE_MS))


def call(it: Interaction, ctx: Context, anomaly: Anomaly | None = None) -> bool:
    """An inbound call; returns whether the caller hung up after the short-abandon threshold."""
    rng, t = ctx.rng, ctx.start_ms
    it.add(t, EventType.CALL_QUEUED, direction=Direction.INBOUND)
    wait = int(rng.expovariate(1 / 40) * SECOND_MS)
    patience = int(rng.expovariate(1 / 180) * SECOND_MS)
    if anomaly is Anomaly.CALL_ANSWER_BREACH:
        wait = 12 * MINUTE_MS + rng.randrange(3 * MINUTE_MS)
    if anomaly is not None:  # the fault needs an answered call
        patience = wait + MINUTE_MS
    if patience < wait:
        it.add(t + patience, EventType.CALL_ABANDONED)
        return patience >= SHORT_ABANDON_MS
    t += wait
    agent = ctx.roster.on_shift(rng, it.queue, t)
    handler = None if anomaly is Anomaly.HANDLER_UNRECORDED else agent.agent_id
    it.add(t, EventType.CALL_ANSWERED, agent_id=handler)
    t += _minutes(rng, 3)
    if rng.random() < 0.2:
        announced = rng.choice((30, 60, 120))
        it.add(t, EventType.CALL_HOLD_STARTED, agent_id=handler, announced_seconds=announced)
        t += int(rng.expovariate(1 / announced) * SECOND_MS) + SECOND_MS
        it.add(t, EventType.CALL_HOLD_ENDED, agent_id=handler)
    if anomaly is Anomaly.TRANSFER_TARGET_UNRECORDED:
        it.add(t, EventType.CALL_TRANSFERRED, agent_id=handler)
        t += _minutes(rng, 2)
    elif rng.random() < 0.08:
        target = ctx.roster.on_shift(rng, rng.choice(ctx.roster.model.queues), t)
        handler = it.transfer(t, EventType.CALL_TRANSFERRED, handler, target)
        t += _minutes(rng, 2)
    it.add(t, EventType.CALL_ENDED, agent_id=handler)
    return False


def callback(it: Interaction, ctx: Context) -> None:
    """The outbound call that returns a caller's abandoned call."""
    rng, t = ctx.rng, ctx.start_ms
    agent = ctx.roster.on_shift(rng, it.queue, t)
    it.add(t, EventType.CALL_QUEUED, direction=Direction.OUTBOUND, agent_id=agent.agent_id)
    t += int(rng.uniform(5, 25) * SECOND_MS)
    it.add(t, EventType.CALL_ANSWERED, agent_id=agent.agent_id)
    it.add(t + _minutes(rng, 3), EventType.CALL_ENDED, agent_id=agent.agent_id)


def chat(it: Interaction, ctx: Context, anomaly: Anomaly | None = None) -> None:
    rng, t = ctx.rng, ctx.start_ms
    it.add(t, EventType.CHAT_REQUESTED)
    wait = int(rng.expovariate(1 / 30) * SECOND_MS)
    if anomaly is Anomaly.CHAT_WAIT_BREACH:
        wait = 15 * MINUTE_MS + rng.randrange(5 * MINUTE_MS)
    elif anomaly is None and rng.random() < 0.05:
        it.add(t + wait, EventType.CHAT_ABANDONED)
        return
    t += wait
    agent = ctx.roster.on_shift(rng, it.queue, t)
    handler = None if anomaly is Anomaly.HANDLER_UNRECORDED else agent.agent_id
    it.add(t, EventType.CHAT_ACCEPTED, agent_id=handler)
    for _ in range(rng.randint(2, 6)):
        t += int(rng.expovariate(1 / 40) * SECOND_MS) + SECOND_MS
        it.add(t, EventType.CHAT_MESSAGE, author=Author.CUSTOMER)
        t += int(rng.expovariate(1 / 30) * SECOND_MS) + SECOND_MS
        it.add(t, EventType.CHAT_MESSAGE, author=Author.AGENT, agent_id=handler)
    if rng.random() < 0.05:
        target = ctx.roster.on_shift(rng, it.queue, t)
        handler = it.transfer(t, EventType.CHAT_TRANSFERRED, handler, target)
    it.add(t + _minutes(rng, 1), EventType.CHAT_ENDED, agent_id=handler)


PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)
PRIORITY_WEIGHTS = (0.2, 0.55, 0.2, 0.05)


def ticket(
    it: Interaction,
    ctx: Context,
    anomaly: Anomaly | None = None,
    *,
    chase: bool = False,
    rated: bool = True,
) -> None:
    """A web ticket from creation to solve (and sometimes CSAT and a reopen).

    ``chase`` has the customer write again while the first reply is still owed.
    """
    rng = ctx.rng
    urgent = anomaly is Anomaly.FIRST_REPLY_BREACH
    priority = Priority.URGENT if urgent else rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
    t = ctx.start_ms
    it.add(t, EventType.TICKET_CREATED, priority=priority, tier=rng.choice(("gold", "standard")))
    if anomaly is Anomaly.UNASSIGNED_TOO_LONG:
        t += 30 * HOUR_MS + rng.randrange(6 * HOUR_MS)
    else:
        t += _minutes(rng, 10)
    agent_id = ctx.roster.on_shift(rng, it.queue, t).agent_id
    it.add(t, EventType.TICKET_ASSIGNED, agent_id=agent_id)
    it.status(t, TicketStatus.OPEN, agent_id)
    reply_delay = 20 * HOUR_MS + rng.randrange(10 * HOUR_MS) if urgent else _minutes(rng, 45)
    if chase:
        it.customer_writes(t + reply_delay // 2)
    t = it.reply(t + reply_delay, agent_id)
    t = _ticket_conversation(it, ctx, anomaly, agent_id, t)
    t = it.status(t + _minutes(rng, 20), TicketStatus.SOLVED, agent_id)
    if rated:
        _ticket_after_solve(it, ctx, anomaly, agent_id, t)


def _ticket_conversation(
    it: Interaction, ctx: Context, anomaly: Anomaly | None, agent_id: str, t: int
) -> int:
    """Back and forth after the first reply; returns when it ended."""
    rng = ctx.rng
    if anomaly is Anomaly.BROKEN_PROMISE:
        promised = t + 4 * HOUR_MS
        it.add(t, EventType.TICKET_UPDATE_PROMISED, agent_id=agent_id, promised_at=promised)
        t = it.reply(promised + 3 * HOUR_MS + rng.randrange(HOUR_MS), agent_id)
    elif rng.random() < 0.1:  # research takes time: a promised update, kept
        promised = t + 4 * HOUR_MS
        it.add(t, EventType.TICKET_UPDATE_PROMISED, agent_id=agent_id, promised_at=promised)
        t = it.reply(promised - rng.randrange(1, 3 * HOUR_MS), agent_id)
    elif rng.random() < 0.5:
        t = it.customer_writes(t + _minutes(rng, 90))
        t = it.reply(t + _minutes(rng, 60), agent_id)
    if rng.random() < 0.2:  # waiting on the customer for a while
        t = it.status(t + _minutes(rng, 30), TicketStatus.PENDING, agent_id)
        t = it.customer_writes(t + _minutes(rng, 180))
        it.status(t, TicketStatus.OPEN)
        t = it.reply(t + _minutes(rng, 30), agent_id)
    return t


def _ticket_after_solve(
    it: Interaction, ctx: Context, anomaly: Anomaly | None, agent_id: str, t: int
) -> None:
    rng = ctx.rng
    if anomaly is Anomaly.CSAT_NOT_FOLLOWED_UP:
        it.add(t + _minutes(rng, 60), EventType.TICKET_CSAT, score=1)
        return
    if rng.random() < 0.3:
        t += _minutes(rng, 60)
        score = rng.choices((1, 2, 3, 4, 5), (0.05, 0.07, 0.13, 0.35, 0.4))[0]
        it.add(t, EventType.TICKET_CSAT, score=score)
        if score <= 2:  # closed-loop follow-up of an unhappy answer
            t = it.reply(t + _minutes(rng, 60), agent_id)
    if rng.random() < 0.05:  # reopened
        t = it.customer_writes(t + _minutes(rng, 600))
        it.status(t, TicketStatus.OPEN)
        t = it.reply(t + _minutes(rng, 60), agent_id)
        it.status(t + MINUTE_MS, TicketStatus.SOLVED, agent_id)


def orphaned_ticket(
    it: Interaction, ctx: Context, owner: str, deactivated_at: int, successor: str
) -> None:
    """A ticket whose owner leaves while it is open; a successor takes it over hours later."""
    rng, t = ctx.rng, ctx.start_ms
    it.add(t, EventType.TICKET_CREATED, priority=Priority.NORMAL, tier="standard")
    it.add(t + MINUTE_MS, EventType.TICKET_ASSIGNED, agent_id=owner)
    it.status(t + MINUTE_MS, TicketStatus.OPEN, owner)
    t = deactivated_at + 2 * HOUR_MS + rng.randrange(HOUR_MS)
    it.add(t, EventType.TICKET_ASSIGNED, agent_id=successor)
    t = it.reply(t + _minutes(rng, 20), successor)
    it.status(t + _minutes(rng, 30), TicketStatus.SOLVED, successor)
