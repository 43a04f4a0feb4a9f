"""One running SLA target: its clock, pauses, and the instants at which it must speak."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from radar.calendar import Clock
from radar.policies import Metric


@dataclass(slots=True)
class TimerProgress:
    """What happens to a timer after it starts: most never pause, warn, breach or carry a
    promised date, so this is made on the first of those, not with every timer."""

    fixed_due: int | None = None  # a promised date, an announced hold: due regardless of clock
    paused_since: int | None = None
    paused_ms: int = 0  # time paused, measured on the timer's clock
    fired_warnings: frozenset[float] = frozenset()  # shared while none fired
    breach_id: str | None = None
    escalated_to: int = 1


_NONE_YET: Final = TimerProgress()  # read, never written: what a timer has before progress


@dataclass(slots=True)  # one per running target: hundreds of thousands of them
class SlaTimer:
    metric: Metric
    cycle: int
    started_at: int
    target_ms: int
    clock: Clock
    business: bool
    progress: TimerProgress | None = None

    @property
    def fixed_due(self) -> int | None:
        return (self.progress or _NONE_YET).fixed_due

    @property
    def paused_since(self) -> int | None:
        return (self.progress or _NONE_YET).paused_since

    @property
    def paused_ms(self) -> int:
        return (self.progress or _NONE_YET).paused_ms

    @property
    def fired_warnings(self) -> frozenset[float]:
        return (self.progress or _NONE_YET).fired_warnings

    @property
    def breach_id(self) -> str | None:
        return (self.progress or _NONE_YET).breach_id

    @property
    def escalated_to(self) -> int:
        return (self.progress or _NONE_YET).escalated_to

    def _progress(self) -> TimerProgress:
        if self.progress is None:
            self.progress = TimerProgress()
        return self.progress

    def warned(self, fractions: frozenset[float]) -> None:
        progress = self._progress()
        progress.fired_warnings |= fractions

    def breached(self, breach_id: str, warnings: frozenset[float]) -> None:
        """Breached: every warning counts as given."""
        progress = self._progress()
        progress.breach_id = breach_id
        progress.fired_warnings |= warnings

    def escalated(self, level: int) -> None:
        self._progress().escalated_to = level

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
            self._progress().paused_since = at

    def resume(self, at: int) -> None:
        progress = self.progress
        if progress is not None and progress.paused_since is not None:
            since = progress.paused_since
            progress.paused_ms += self.clock.elapsed(since, max(at, since))
            progress.paused_since = None

    def is_late(self, at: int) -> bool:
        due = self.due_at()
        if due is None:  # paused: late if the active time already exceeds the target
            return self.elapsed(at) > self.target_ms
        return at > due


class RunningTimers(list[SlaTimer]):
    """An interaction's running timers, found by metric. A list, not a dict: an interaction
    runs a handful, and a dict's table costs more than three timers' worth of list (memory
    per open interaction is a target, see the README's benchmarks)."""

    __slots__ = ()

    def get(self, metric: Metric) -> SlaTimer | None:
        for timer in self:
            if timer.metric is metric:
                return timer
        return None

    def runs(self, metric: Metric) -> bool:
        return any(timer.metric is metric for timer in self)

    def put(self, timer: SlaTimer) -> None:
        """Run ``timer``, in place of the one of its metric if any."""
        for index, running in enumerate(self):
            if running.metric is timer.metric:
                self[index] = timer
                return
        self.append(timer)

    def take(self, metric: Metric) -> SlaTimer | None:
        """Stop running the timer of ``metric``; it is returned."""
        for index, timer in enumerate(self):
            if timer.metric is metric:
                del self[index]
                return timer
        return None

    def metrics(self) -> list[Metric]:
        return [timer.metric for timer in self]
