"""Explicit clocks. The SLA engine never reads the time itself; a clock gives the watermark.

Replay: the watermark is the newest event time seen (a replay is deterministic). Live: the
same, advanced by wall-clock time while no newer event comes, so deadlines fire on a quiet
queue; while events keep pace with the wall clock, it is the wall clock.
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


class LiveClock:
    """``max_future_ms``: an event stamped further ahead of the wall clock than this (a skewed
    upstream clock) does not move the watermark, or it would fire every deadline early."""

    def __init__(
        self,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        max_future_ms: int = 60_000,
    ) -> None:
        self._wall_ms = wall_ms
        self._max_future_ms = max_future_ms
        self._newest: int | None = None
        self._newest_seen_at = 0
        self._last = -(2**62)

    def observe(self, occurred_at: int) -> int:
        wall = self._wall_ms()
        if occurred_at > wall + self._max_future_ms:
            return self.now()
        if self._newest is None or occurred_at > self._newest:
            self._newest, self._newest_seen_at = occurred_at, wall
        return self.now()

    def now(self) -> int:
        wall = self._wall_ms()
        current = wall if self._newest is None else self._newest + (wall - self._newest_seen_at)
        self._last = max(self._last, current)  # never backwards
        return self._last
