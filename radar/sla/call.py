"""A call's SLA metrics: ``call_answer_time`` (queued -> answered; an abandon past the target
is a breach), ``call_hold_time`` (due at the announced hold time, else the policy's maximum)
and ``callback_time`` (a callback request, or an abandon after the short-abandon threshold ->
an outbound call queued to that customer; the engine links the two calls)."""

from __future__ import annotations

from radar.events import Channel, Direction, Event, EventType
from radar.policies import Metric, PolicySet
from radar.sla.interaction import InteractionSla
from radar.sla.records import SlaRecord


class CallSla(InteractionSla):
    channel = Channel.CALL
    __slots__ = ("ended", "queued_at")

    def __init__(self, interaction_id: str, policies: PolicySet) -> None:
        super().__init__(interaction_id, policies)
        self.ended = False
        self.queued_at: int | None = None

    @property
    def finished(self) -> bool:
        return self.ended and not self.timers

    @property
    def awaits_callback(self) -> bool:
        return self.timers.runs(Metric.CALLBACK_TIME)

    def on_event(self, event: Event, now: int) -> list[SlaRecord]:
        self.note(event)
        at = event.occurred_at
        match event.type:
            case EventType.CALL_QUEUED if self.queued_at is None:
                self.queued_at = at
                self.select_policy()
                if event.direction is Direction.INBOUND:
                    return self.start(Metric.CALL_ANSWER_TIME, at, now)
            case EventType.CALL_ANSWERED:
                self.owner = event.agent_id
                return self.achieve(Metric.CALL_ANSWER_TIME, at, now)
            case EventType.CALL_ABANDONED:
                self.ended = True
                records = self.end(Metric.CALL_ANSWER_TIME, at, now)
                waited = at - (self.queued_at if self.queued_at is not None else at)
                short = waited < self.policies.queue(self.queue).short_abandon_ms
                if not short and not self.awaits_callback:
                    records += self.start(Metric.CALLBACK_TIME, at, now)
                return records
            case EventType.CALL_CALLBACK_REQUESTED:
                records = self.end(Metric.CALL_ANSWER_TIME, at, now)
                if not self.awaits_callback:
                    records += self.start(Metric.CALLBACK_TIME, at, now)
                return records
            case EventType.CALL_HOLD_STARTED:
                announced = event.announced_seconds
                due = at + announced * 1000 if announced is not None else None
                return self.start(Metric.CALL_HOLD_TIME, at, now, fixed_due=due)
            case EventType.CALL_HOLD_ENDED:
                return self.achieve(Metric.CALL_HOLD_TIME, at, now)
            case EventType.CALL_TRANSFERRED:
                self.owner = event.to_agent_id
                self.queue = event.to_queue or self.queue
            case EventType.CALL_ENDED:
                self.ended = True
                return self.end_all([Metric.CALL_ANSWER_TIME, Metric.CALL_HOLD_TIME], at, now)
        return []

    def called_back(self, at: int, now: int) -> list[SlaRecord]:
        return self.achieve(Metric.CALLBACK_TIME, at, now)
