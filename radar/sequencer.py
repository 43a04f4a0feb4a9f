"""Feeds a detector (SLA engine, assignee gaps, churn) events in event-time order.

Each event is held for a grace period; deadlines fire at their exact instants in between. So
events shuffled within the grace period, as Kafka partitions and upstream retries do, give the
same records, and replay equals live. An event that arrives after its grace period is applied
at once (the SLA engine may then retract a breach it declared).
"""

from __future__ import annotations

import heapq
from typing import Generic, Protocol, TypeVar

from radar.events import Event

R = TypeVar("R")


class Detector(Protocol[R]):
    """What the sequencer drives: the SLA engine, the missing-assignee detector."""

    def apply(self, event: Event, now: int) -> list[R]: ...

    def fire_until(self, upto: int, now: int) -> list[R]: ...

    def next_deadline(self) -> int | None:
        """The earliest scheduled instant, or ``None``; may be early, never late."""
        ...


class EventSequencer(Generic[R]):
    def __init__(self, engine: Detector[R], grace_ms: int) -> None:
        self.engine = engine
        self.grace_ms = grace_ms
        # (occurred_at, event_id): events of the same millisecond are applied in an order that
        # depends on the events alone, not on how they arrived
        self._held: list[tuple[int, str, Event]] = []
        self.applied_until = -(2**62)  # event time up to which everything was applied

    def offer(self, event: Event, watermark: int) -> list[R]:
        if event.occurred_at <= self.applied_until:  # late: its moment has passed
            return self.engine.apply(event, watermark) + self.advance(watermark)
        heapq.heappush(self._held, (event.occurred_at, event.event_id, event))
        return self.advance(watermark)

    def advance(self, watermark: int) -> list[R]:
        """Apply held events and fire deadlines up to ``watermark - grace``."""
        horizon = watermark - self.grace_ms
        records: list[R] = []
        while self._held and self._held[0][0] <= horizon:
            occurred_at, _, event = heapq.heappop(self._held)
            records += self.engine.fire_until(occurred_at - 1, watermark)
            records += self.engine.apply(event, watermark)
        records += self.engine.fire_until(horizon, watermark)
        self.applied_until = max(self.applied_until, horizon)
        return records

    def next_due(self) -> int | None:
        """The wall-clock instant at which ``advance`` next has work: a held event to apply
        or a deadline to fire, each ``grace`` after its event time."""
        candidates = [self.engine.next_deadline()]
        if self._held:
            candidates.append(self._held[0][0])
        earliest = min((c for c in candidates if c is not None), default=None)
        return None if earliest is None else earliest + self.grace_ms

    @property
    def held(self) -> int:
        return len(self._held)
