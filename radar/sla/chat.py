"""A chat's SLA metrics: ``chat_wait_time`` (requested -> accepted) and ``chat_response_time``
(each customer message after acceptance -> the next agent message)."""

from __future__ import annotations

from radar.events import Author, Channel, Event, EventType
from radar.policies import Metric, PolicySet
from radar.sla.interaction import InteractionSla
from radar.sla.records import SlaRecord


class ChatSla(InteractionSla):
    channel = Channel.CHAT
    __slots__ = ("accepted", "ended")

    def __init__(self, interaction_id: str, policies: PolicySet) -> None:
        super().__init__(interaction_id, policies)
        self.ended = False
        self.accepted = False

    @property
    def finished(self) -> bool:
        return self.ended and not self.timers

    def on_event(self, event: Event, now: int) -> list[SlaRecord]:
        self.note(event)
        at = event.occurred_at
        match event.type:
            case EventType.CHAT_REQUESTED if self.policy is None:
                self.select_policy()
                return self.start(Metric.CHAT_WAIT_TIME, at, now)
            case EventType.CHAT_ACCEPTED:
                self.accepted = True
                self.owner = event.agent_id
                return self.achieve(Metric.CHAT_WAIT_TIME, at, now)
            case EventType.CHAT_MESSAGE if self.accepted and event.author is Author.CUSTOMER:
                if self.timers.runs(Metric.CHAT_RESPONSE_TIME):
                    return self.chase(Metric.CHAT_RESPONSE_TIME, event, now)
                return self.start(Metric.CHAT_RESPONSE_TIME, at, now)
            case EventType.CHAT_MESSAGE if event.author is Author.AGENT:
                return self.achieve(Metric.CHAT_RESPONSE_TIME, at, now)
            case EventType.CHAT_TRANSFERRED:
                self.owner = event.to_agent_id
                self.queue = event.to_queue or self.queue
            case EventType.CHAT_ABANDONED | EventType.CHAT_ENDED:
                self.ended = True
                return self.end_all(self.timers.metrics(), at, now)
        return []
