"""What the policy file sets for the detectors besides SLA targets: churn weights and the
missing-assignee thresholds. A module of its own, so the policy model and the detectors both
depend on it and not on each other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from radar.calendar import CALENDAR_TIME, DAY_MS, Clock
from radar.events import Channel


@dataclass(frozen=True)
class ChurnSettings:
    """Weights and thresholds; the defaults are documented in the README."""

    half_life_ms: int = 14 * DAY_MS
    watch: float = 2.0
    at_risk: float = 4.0
    exit_factor: float = 0.7  # a level is left only below factor x its entry threshold
    silence_multiple: float = 3.0
    min_silence_ms: int = 2 * DAY_MS
    default_gap_ms: int = 7 * DAY_MS  # the usual gap assumed until a customer has 3 contacts
    gap_weight: float = 0.3  # of the newest gap in the moving mean
    breach_weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "first_reply_time": 1.5,
            "next_reply_time": 1.0,
            "promised_update": 2.0,
            "feedback_follow_up": 2.0,
            "callback_time": 1.5,  # an abandoned call not called back in time
            "call_answer_time": 1.0,
            "chat_wait_time": 1.0,
            "total_resolution_time": 1.0,
        }
    )
    default_breach_weight: float = 0.5
    chase: float = 1.0
    chat_abandoned: float = 0.5
    low_csat: float = 2.0
    reopened: float = 1.0
    repeat_contact: float = 1.0  # had to explain again on another channel
    happy_csat: float = -3.0
    achieved_early: float = -0.25  # a wait the customer sees, met in under half its target
    early_metrics: frozenset[str] = frozenset(
        {"first_reply_time", "next_reply_time", "call_answer_time", "chat_wait_time"}
    )


@dataclass(frozen=True)
class GapThresholds:
    """How long open work may go without an owner, by channel, with per-queue overrides,
    counted on the queue's business calendar when it has one (else around the clock)."""

    ticket_ms: int = 30 * 60_000
    chat_ms: int = 2 * 60_000
    by_queue: dict[str, dict[Channel, int]] = field(default_factory=dict)
    calendar: Clock = CALENDAR_TIME
    calendars: dict[str, Clock] = field(default_factory=dict)

    def unassigned_after(self, channel: Channel, queue: str | None) -> int:
        override = self.by_queue.get(queue or "", {}).get(channel)
        if override is not None:
            return override
        return self.chat_ms if channel is Channel.CHAT else self.ticket_ms

    def due(self, channel: Channel, queue: str | None, since: int) -> int:
        clock = self.calendars.get(queue or "", self.calendar)
        return clock.add(since, self.unassigned_after(channel, queue))
