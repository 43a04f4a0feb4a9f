"""What-if policy replay: the stored events of a window run through the detectors under the
current and a proposed policy file, figures side by side ("how many breaches would last week
have had under the new policy?").

Events before the window warm the detectors up (tickets opened earlier, their owners, their
cycles) as a live worker's state would; only targets started inside the window are counted,
so the figures under the current policy are those of the live ``sla_events`` for the window.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from radar.events import Event
from radar.policies import PolicySet
from radar.replay import EventTimeDetection
from radar.sla.records import SlaKind, SlaRecord

FigureKey = tuple[str, str]  # (queue, metric)


@dataclass
class TargetFigures:
    """One queue's and metric's targets started in the window, as the SLA records tell."""

    targets: set[tuple[str, int]] = field(default_factory=set)  # (interaction, cycle)
    breaches: int = 0  # net of breaches a late event retracted
    achieved_within: int = 0
    elapsed_ms: list[int] = field(default_factory=list)  # of every achieved target

    def count(self, record: SlaRecord) -> None:
        self.targets.add((record.interaction_id, record.cycle))
        if record.kind is SlaKind.BREACH:
            self.breaches += 1
        elif record.kind is SlaKind.RETRACTED:
            self.breaches -= 1
        elif record.kind is SlaKind.ACHIEVED:
            self.elapsed_ms.append(record.elapsed_ms)
            self.achieved_within += not record.late

    @property
    def median_elapsed_ms(self) -> float | None:
        return statistics.median(self.elapsed_ms) if self.elapsed_ms else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "targets": len(self.targets),
            "breaches": self.breaches,
            "achieved_within_target": self.achieved_within,
            "median_elapsed_ms": self.median_elapsed_ms,
        }


def figures(records: Iterable[SlaRecord], since_ms: int) -> dict[FigureKey, TargetFigures]:
    out: defaultdict[FigureKey, TargetFigures] = defaultdict(TargetFigures)
    for record in records:
        if record.started_at >= since_ms:
            out[(record.queue or "", record.metric)].count(record)
    return dict(out)


def sla_records(events: Iterable[Event], policies: PolicySet, until_ms: int) -> list[SlaRecord]:
    """The SLA records live mode would have emitted by ``until_ms`` for these events."""
    detection = EventTimeDetection(policies)
    records: list[SlaRecord] = []
    for event in events:
        records += detection.offer(event).sla
    records += detection.finish(max(until_ms, detection.clock.now())).sla
    return records


@dataclass(frozen=True)
class Comparison:
    queue: str
    metric: str
    current: dict[str, Any]
    proposed: dict[str, Any]

    def difference(self) -> dict[str, Any]:
        return {
            name: None
            if value is None or self.current[name] is None
            else value - self.current[name]
            for name, value in self.proposed.items()
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "metric": self.metric,
            "current": self.current,
            "proposed": self.proposed,
            "difference": self.difference(),
        }


def compare(
    events: Sequence[Event],
    current: PolicySet,
    proposed: PolicySet,
    since_ms: int,
    until_ms: int,
) -> list[Comparison]:
    """Per queue and metric, the figures of targets started in ``[since_ms, until_ms)`` under
    both policy files; ``events`` may start earlier (warm-up)."""
    before = figures(sla_records(events, current, until_ms), since_ms)
    after = figures(sla_records(events, proposed, until_ms), since_ms)
    empty = TargetFigures().as_dict()
    return [
        Comparison(
            queue,
            metric,
            before[(queue, metric)].as_dict() if (queue, metric) in before else empty,
            after[(queue, metric)].as_dict() if (queue, metric) in after else empty,
        )
        for queue, metric in sorted(before.keys() | after.keys())
    ]
