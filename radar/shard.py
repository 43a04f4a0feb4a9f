"""All detectors of one slice of customers, driven together: what a partition's worker runs.

The SLA engine, the missing-assignee detector and the churn detector sit behind one sequencer,
so every event is held once and every detector sees the same instants in the same order; the
churn detector also reads the SLA engine's records (breaches, chases) as they happen. ``replay``
runs one shard over a whole file; the worker runs one per partition of its detection topic,
where events are keyed by customer, so every rule that crosses interactions (callbacks, chases,
churn) finds its facts in one shard.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from radar.churn.detector import ChurnDetector, ChurnRecord
from radar.churn.output import CHURN_OUTPUT
from radar.events import Event
from radar.gaps.detector import AssigneeGapDetector, GapRecord
from radar.gaps.output import GAP_OUTPUT
from radar.outputs import Output, OutputRecord
from radar.policies import PolicySet
from radar.queue_output import CONTACT_OUTPUT
from radar.queues import QueueFigures
from radar.sequencer import EventSequencer
from radar.sla.engine import SlaEngine
from radar.sla.output import SLA_OUTPUT
from radar.sla.records import SlaRecord

Record = SlaRecord | GapRecord | ChurnRecord

# Every detector's output, in the order a batch is stored and published: the one registration
# a new detector adds beside running it in ``_Detectors``.
OUTPUTS: Final[tuple[Output[Any], ...]] = (SLA_OUTPUT, GAP_OUTPUT, CONTACT_OUTPUT, CHURN_OUTPUT)
_OUTPUT_OF: Final = {output.record_type: output.name for output in OUTPUTS}


class ShardRecords:
    """A batch of every detector's records, by output: ``records.sla`` is ``records["sla"]``."""

    __slots__ = ("_by_output",)

    def __init__(self) -> None:
        self._by_output: dict[str, list[Any]] = {output.name: [] for output in OUTPUTS}

    @classmethod
    def of(cls, records: Iterable[OutputRecord]) -> ShardRecords:
        out = cls()
        for record in records:
            out._by_output[_OUTPUT_OF[type(record)]].append(record)
        return out

    def __getitem__(self, output: str) -> list[Any]:
        return self._by_output[output]

    def __setitem__(self, output: str, records: list[Any]) -> None:
        if output not in self._by_output:
            raise KeyError(output)
        self._by_output[output] = records

    def __getattr__(self, output: str) -> list[Any]:
        if output.startswith("_"):
            raise AttributeError(output)
        try:
            return self._by_output[output]
        except KeyError:
            raise AttributeError(output) from None

    def outputs(self) -> Iterator[tuple[Output[Any], list[Any]]]:
        """Each output with its records, in ``OUTPUTS`` order."""
        return ((output, self._by_output[output.name]) for output in OUTPUTS)

    def extend(self, other: ShardRecords) -> None:
        for name, records in other._by_output.items():
            self._by_output[name] += records

    def __len__(self) -> int:
        return sum(map(len, self._by_output.values()))

    def without(self, known: set[str]) -> ShardRecords:
        """These records but those whose ids are in ``known``."""
        out = ShardRecords()
        for name, records in self._by_output.items():
            out._by_output[name] = [r for r in records if r.id not in known]
        return out


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
        records["contacts"] = self.queues.take_records()
        return records

    def advance(self, watermark: int) -> ShardRecords:
        return ShardRecords.of(self._sequencer.advance(watermark))

    def next_due(self) -> int | None:
        """The wall-clock instant at which ``advance`` next has something to do."""
        return self._sequencer.next_due()
