"""``radar replay``: the core over a JSON Lines file, in file order, with event-time clock.

No Kafka, no database: the same validation and dedup as the live pipeline (and, as detectors
are added, the same detectors), so a replay answers "what would live mode have emitted?".
Output is one JSON object per record with a ``stream`` field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from radar.churn.detector import ChurnDetector, ChurnRecord
from radar.clock import EventTimeClock
from radar.dedup import DedupWindow, SourcePosition
from radar.events import Event, Rejection, parse_json_event
from radar.gaps.detector import AssigneeGapDetector, GapRecord, GapThresholds
from radar.intake import Duplicate, Intake
from radar.policies import PolicySet
from radar.sequencer import EventSequencer
from radar.sla.engine import SlaEngine
from radar.sla.records import SlaRecord

Emit = Callable[[dict[str, Any]], None]


@dataclass
class ReplaySummary:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    sla_records: int = 0
    gap_records: int = 0
    churn_records: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": dict(sorted(self.rejected.items())),
            "sla_records": self.sla_records,
            "gap_records": self.gap_records,
            "churn_records": self.churn_records,
        }


def replay(
    lines: Iterable[bytes],
    emit: Emit,
    source: str = "replay",
    dedup_capacity: int = 1_000_000,
    policies: PolicySet | None = None,
    thresholds: GapThresholds | None = None,
) -> ReplaySummary:
    """Validate, dedup, detect assignee gaps and (with ``policies``) run the SLA engine,
    all on event time.

    At the end of the input every held event is applied and deadlines fire up to the newest
    event time: what a live run would have said by then.
    """
    intake = Intake(DedupWindow(dedup_capacity))
    summary = ReplaySummary()
    clock = EventTimeClock()
    grace = policies.grace_ms if policies else 5000
    sequencer = EventSequencer(SlaEngine(policies), grace) if policies else None
    if thresholds is None and policies is not None:
        thresholds = policies.gaps
    gaps = EventSequencer(AssigneeGapDetector(thresholds), grace)
    churn_detector = ChurnDetector(policies.churn if policies else None)
    churn = EventSequencer(churn_detector, grace)

    def emit_sla(records: list[SlaRecord]) -> None:
        summary.sla_records += len(records)
        for record in records:
            emit(record.as_json())
        emit_churn(churn_detector.absorb(records, clock.now()))

    def emit_churn(records: list[ChurnRecord]) -> None:
        summary.churn_records += len(records)
        for record in records:
            emit(record.as_json())

    def emit_gaps(records: list[GapRecord]) -> None:
        summary.gap_records += len(records)
        for record in records:
            emit(record.as_json())

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        admitted = intake.admit(parse_json_event(line), SourcePosition(source, 0, number))
        if isinstance(admitted, Event):
            summary.accepted += 1
            watermark = clock.observe(admitted.occurred_at)
            if sequencer is not None:
                emit_sla(sequencer.offer(admitted, watermark))
            emit_gaps(gaps.offer(admitted, watermark))
            emit_churn(churn.offer(admitted, watermark))
        elif isinstance(admitted, Duplicate):
            summary.duplicates += 1
        else:
            summary.rejected[admitted.reason.value] += 1
            emit(_rejection_record(admitted, number))
    if sequencer is not None:
        emit_sla(sequencer.advance(clock.now() + grace))
    emit_gaps(gaps.advance(clock.now() + grace))
    emit_churn(churn.advance(clock.now() + grace))
    return summary


def _rejection_record(rejection: Rejection, line: int) -> dict[str, Any]:
    return {
        "stream": "dead_letter",
        "line": line,
        "reason": rejection.reason.value,
        "detail": rejection.detail,
    }
