"""Explicit clocks. The SLA engine never reads the time itself; a clock gives the watermark.

Replay: the watermark is the newest event time seen, so a replay is deterministic. Live: the
wall clock (never backwards), as domain.md 3.1 asks: due times are held against it, with the
grace period for late events applied by the sequencer. Live equals replay for events that are
delivered when they happen, give or take the grace period.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class EventTimeClock:
    def __init__(self) -> None:
        self.watermark = -(2**62)

    def observe(self, occurred_at: int) -> int:
        self.watermark = max(self.watermark, occurred_at)
        return self.watermark

    def now(self) -> int:
        return self.watermark


class WallClock:
    def __init__(self, wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._wall_ms = wall_ms
        self._last = -(2**62)

    def observe(self, occurred_at: int) -> int:
        return self.now()

    def now(self) -> int:
        self._last = max(self._last, self._wall_ms())
        return self._last
