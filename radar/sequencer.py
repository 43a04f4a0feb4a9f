"""Feeds detectors events in event-time order, and says when live mode would have known.

Each event is held for a grace period; deadlines fire at their exact instants in between, one
instant at a time, so events shuffled within the grace period, as Kafka partitions and upstream
retries do, give the same records however the clock happens to move (one big step in a replay,
many small ones live). An event that arrives after its grace period is applied at once (the
SLA engine may then retract a breach it declared).

Records are stamped with what a live worker would stamp, not with whenever the clock reached
them: a deadline at ``t`` is known at ``t + grace``, an event applied in order at its time plus
the grace, a late event when it arrives. So replay equals live field by field, and a worker
that catches up after a crash stamps what it would have stamped without one.
"""

from __future__ import annotations

import heapq
from typing import Generic, Protocol, TypeVar

from radar.events import Event

R = TypeVar("R")


class Detector(Protocol[R]):
    """What the sequencer drives: the SLA engine, the missing-assignee detector, churn."""

    def apply(self, event: Event, now: int) -> list[R]:
        """Apply ``event``; ``now`` is the records' ``detected_at``."""
        ...

    def fire_until(self, upto: int, now: int) -> list[R]:
        """Fire what is due at or before ``upto``, stamped ``now``."""
        ...

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
            records += self._fire_until(occurred_at - 1)
            records += self.engine.apply(event, occurred_at + self.grace_ms)
        records += self._fire_until(horizon)
        self.applied_until = max(self.applied_until, horizon)
        return records

    def _fire_until(self, upto: int) -> list[R]:
        """Deadlines one instant at a time, each stamped as live would stamp it."""
        records: list[R] = []
        while (instant := self.engine.next_deadline()) is not None and instant <= upto:
            records += self.engine.fire_until(instant, instant + self.grace_ms)
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
