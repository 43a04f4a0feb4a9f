"""Drop repeated ``event_id``s with bounded memory.

A repeat seen at the *same* source position is a redelivery (the pipeline restarted before it
committed), not a duplicate: it must be processed again, because downstream writes are
idempotent and state after a crash may not include it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where an input came from: a Kafka topic-partition-offset, or a file and line."""

    topic: str
    partition: int
    offset: int


class Seen(Enum):
    NEW = "new"
    REDELIVERY = "redelivery"
    DUPLICATE = "duplicate"


class DedupWindow:
    """The last ``capacity`` event ids with the position they were first seen at (FIFO)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._first_seen: OrderedDict[str, SourcePosition] = OrderedDict()

    def __len__(self) -> int:
        return len(self._first_seen)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._first_seen

    def observe(self, event_id: str, position: SourcePosition) -> Seen:
        first = self._first_seen.get(event_id)
        if first is None:
            self.remember(event_id, position)
            return Seen.NEW
        return Seen.REDELIVERY if first == position else Seen.DUPLICATE

    def remember(self, event_id: str, position: SourcePosition) -> None:
        """Record an id without asking (used to warm the window after a restart)."""
        if event_id in self._first_seen:
            return
        self._first_seen[event_id] = position
        if len(self._first_seen) > self.capacity:
            self._first_seen.popitem(last=False)
