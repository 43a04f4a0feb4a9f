"""All detectors of one slice of customers, driven together: what a partition's worker runs.

The SLA engine, the missing-assignee detector and the churn detector each sit behind their
own sequencer; the churn detector also reads the SLA engine's records (breaches, chases) of
the same moment. ``replay`` runs one shard over a whole file; the worker runs one per
partition of its detection topic, where events are keyed by customer, so every rule that
crosses interactions (callbacks, chases, churn) finds its facts in one shard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radar.churn.detector import ChurnDetector, ChurnRecord
from radar.events import Event
from radar.gaps.detector import AssigneeGapDetector, GapRecord
from radar.policies import PolicySet
from radar.sequencer import EventSequencer
from radar.sla.engine import SlaEngine
from radar.sla.records import SlaRecord


@dataclass
class ShardRecords:
    sla: list[SlaRecord] = field(default_factory=list)
    gaps: list[GapRecord] = field(default_factory=list)
    churn: list[ChurnRecord] = field(default_factory=list)

    def extend(self, other: ShardRecords) -> None:
        self.sla += other.sla
        self.gaps += other.gaps
        self.churn += other.churn

    def __len__(self) -> int:
        return len(self.sla) + len(self.gaps) + len(self.churn)


class DetectorShard:
    """``policies`` with no SLA policy (an empty file) runs gaps and churn only."""

    def __init__(self, policies: PolicySet) -> None:
        grace = policies.grace_ms
        self.sla = EventSequencer(SlaEngine(policies), grace) if policies.policies else None
        self.gaps = EventSequencer(AssigneeGapDetector(policies.gaps), grace)
        self.churn_detector = ChurnDetector(policies.churn)
        self.churn = EventSequencer(self.churn_detector, grace)

    @property
    def sla_engine(self) -> SlaEngine | None:
        return self.sla.engine if self.sla is not None else None  # type: ignore[return-value]

    @property
    def gap_detector(self) -> AssigneeGapDetector:
        return self.gaps.engine  # type: ignore[return-value]

    def offer(self, event: Event, watermark: int) -> ShardRecords:
        sla = self.sla.offer(event, watermark) if self.sla is not None else []
        return self._collect(sla, self.gaps.offer(event, watermark), watermark, event)

    def advance(self, watermark: int) -> ShardRecords:
        sla = self.sla.advance(watermark) if self.sla is not None else []
        return self._collect(sla, self.gaps.advance(watermark), watermark, None)

    def _collect(
        self, sla: list[SlaRecord], gaps: list[GapRecord], watermark: int, event: Event | None
    ) -> ShardRecords:
        churn = self.churn.offer(event, watermark) if event else self.churn.advance(watermark)
        churn += self.churn_detector.absorb(sla, watermark) if sla else []
        return ShardRecords(sla, gaps, churn)

    def next_due(self) -> int | None:
        """The wall-clock instant at which ``advance`` next has something to do."""
        sequencers = [s for s in (self.sla, self.gaps, self.churn) if s is not None]
        return min((d for s in sequencers if (d := s.next_due()) is not None), default=None)
