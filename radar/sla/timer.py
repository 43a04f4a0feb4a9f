"""One running SLA target: its clock, pauses, and the instants at which it must speak."""

from __future__ import annotations

from dataclasses import dataclass

from radar.calendar import Clock
from radar.policies import Metric


@dataclass(slots=True)  # one per running target: tens of thousands of them
class SlaTimer:
    metric: Metric
    cycle: int
    started_at: int
    target_ms: int
    clock: Clock
    business: bool
    fixed_due: int | None = None  # a promised date, an announced hold: due regardless of clock
    paused_since: int | None = None
    paused_ms: int = 0  # time paused, measured on ``clock``
    fired_warnings: frozenset[float] = frozenset()  # shared while none fired
    breach_id: str | None = None
    escalated_to: int = 1

    def elapsed(self, at: int) -> int:
        """Active time from start to ``at``, pauses excluded."""
        paused = self.paused_ms
        if self.paused_since is not None:
            paused += self.clock.elapsed(self.paused_since, at)
        return max(0, self.clock.elapsed(self.started_at, at) - paused)

    def instant(self, active_ms: int) -> int | None:
        """When ``active_ms`` of active time will have passed; None while paused."""
        if self.paused_since is not None:
            return None
        return self.clock.add(self.started_at, active_ms + self.paused_ms)

    def due_at(self) -> int | None:
        if self.fixed_due is not None:
            return self.fixed_due
        return self.instant(self.target_ms)

    def warning_at(self, fraction: float) -> int | None:
        if self.fixed_due is not None:
            return self.started_at + int((self.fixed_due - self.started_at) * fraction)
        return self.instant(int(self.target_ms * fraction))

    def pause(self, at: int) -> None:
        if self.paused_since is None and self.fixed_due is None:
            self.paused_since = at

    def resume(self, at: int) -> None:
        if self.paused_since is not None:
            self.paused_ms += self.clock.elapsed(self.paused_since, max(at, self.paused_since))
            self.paused_since = None

    def is_late(self, at: int) -> bool:
        due = self.due_at()
        if due is None:  # paused: late if the active time already exceeds the target
            return self.elapsed(at) > self.target_ms
        return at > due
