"""All detectors of one slice of customers, driven together: what a partition's worker runs.

The SLA engine, the missing-assignee detector and the churn detector sit behind one sequencer,
so every event is held once and every detector sees the same instants in the same order; the
churn detector also reads the SLA engine's records (breaches, chases) as they happen. ``replay``
runs one shard over a whole file; the worker runs one per partition of its detection topic,
where events are keyed by customer, so every rule that crosses interactions (callbacks, chases,
churn) finds its facts in one shard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radar.churn.detector import ChurnDetector, ChurnRecord
from radar.events import Event
from radar.gaps.detector import AssigneeGapDetector, GapRecord
from radar.policies import PolicySet
from radar.queues import ContactRecord, QueueFigures
from radar.sequencer import EventSequencer
from radar.sla.engine import SlaEngine
from radar.sla.records import SlaRecord

Record = SlaRecord | GapRecord | ChurnRecord


@dataclass
class ShardRecords:
    sla: list[SlaRecord] = field(default_factory=list)
    gaps: list[GapRecord] = field(default_factory=list)
    churn: list[ChurnRecord] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)  # written on arrival

    @classmethod
    def of(cls, records: list[Record]) -> ShardRecords:
        out = cls()
        for record in records:
            if isinstance(record, SlaRecord):
                out.sla.append(record)
            elif isinstance(record, GapRecord):
                out.gaps.append(record)
            else:
                out.churn.append(record)
        return out

    def extend(self, other: ShardRecords) -> None:
        self.sla += other.sla
        self.gaps += other.gaps
        self.churn += other.churn
        self.contacts += other.contacts

    def __len__(self) -> int:
        return len(self.sla) + len(self.gaps) + len(self.churn) + len(self.contacts)

    def without(self, known: set[str]) -> ShardRecords:
        """These records but those whose ids are in ``known``."""
        return ShardRecords(
            [r for r in self.sla if r.id not in known],
            [r for r in self.gaps if r.id not in known],
            [r for r in self.churn if r.id not in known],
            [r for r in self.contacts if r.id not in known],
        )


class _Detectors:
    """The three detectors as one, for the sequencer: each instant reaches all of them."""

    def __init__(self, policies: PolicySet) -> None:
        self.sla = SlaEngine(policies) if policies.policies else None
        self.gaps = AssigneeGapDetector(policies.gaps)
        self.churn = ChurnDetector(policies.churn)

    def apply(self, event: Event, now: int) -> list[Record]:
        sla = self.sla.apply(event, now) if self.sla is not None else []
        gaps = self.gaps.apply(event, now)
        churn = self.churn.apply(event, now)
        return [*sla, *gaps, *churn, *self.churn.absorb(sla)]

    def fire_until(self, upto: int, now: int) -> list[Record]:
        sla = self.sla.fire_until(upto, now) if self.sla is not None else []
        gaps = self.gaps.fire_until(upto, now)
        churn = self.churn.fire_until(upto, now)
        return [*sla, *gaps, *churn, *self.churn.absorb(sla)]

    def next_deadline(self) -> int | None:
        # asked before and after every event: no intermediate lists
        earliest = self.gaps.next_deadline()
        for detector in (self.sla, self.churn):
            deadline = detector.next_deadline() if detector is not None else None
            if deadline is not None and (earliest is None or deadline < earliest):
                earliest = deadline
        return earliest


class DetectorShard:
    """``policies`` with no SLA policy (an empty file) runs gaps and churn only."""

    def __init__(self, policies: PolicySet) -> None:
        self._detectors = _Detectors(policies)
        self._sequencer = EventSequencer(self._detectors, policies.grace_ms)
        self.queues = QueueFigures(policies)

    @property
    def sla_engine(self) -> SlaEngine | None:
        return self._detectors.sla

    @property
    def gap_detector(self) -> AssigneeGapDetector:
        return self._detectors.gaps

    @property
    def churn_detector(self) -> ChurnDetector:
        return self._detectors.churn

    def offer(self, event: Event, watermark: int) -> ShardRecords:
        self.queues.apply(event)  # on arrival: a wallboard cannot wait out the grace period
        records = ShardRecords.of(self._sequencer.offer(event, watermark))
        records.contacts = self.queues.take_records()
        return records

    def advance(self, watermark: int) -> ShardRecords:
        return ShardRecords.of(self._sequencer.advance(watermark))

    def next_due(self) -> int | None:
        """The wall-clock instant at which ``advance`` next has something to do."""
        return self._sequencer.next_due()
