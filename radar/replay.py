"""``radar replay``: the core over a JSON Lines file, in file order, with event-time clock.

No Kafka, no database: the same validation and dedup as the live pipeline (and, as detectors
are added, the same detectors), so a replay answers "what would live mode have emitted?".
Output is one JSON object per record with a ``stream`` field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from radar.clock import EventTimeClock
from radar.dedup import DedupWindow, SourcePosition
from radar.detector_settings import GapThresholds
from radar.events import Event, Rejection, millis_to_iso, parse_json_event
from radar.intake import Duplicate, EventTimeWindow, Intake
from radar.policies import PolicySet
from radar.pseudonyms import Pseudonymizer
from radar.shard import OUTPUTS, DetectorShard, ShardRecords

Emit = Callable[[dict[str, Any]], None]


@dataclass
class ReplaySummary:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    records: Counter[str] = field(default_factory=Counter)  # by output name

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": dict(sorted(self.rejected.items())),
        } | {o.summary_key: self.records[o.name] for o in OUTPUTS if o.replayed}


def replay(
    lines: Iterable[bytes],
    emit: Emit,
    source: str = "replay",
    dedup_capacity: int = 1_000_000,
    policies: PolicySet | None = None,
    thresholds: GapThresholds | None = None,
    until: int | None = None,
    window: EventTimeWindow | None = None,
    wall_clock: int | None = None,
    pseudonyms: Pseudonymizer | None = None,
) -> ReplaySummary:
    """Validate, dedup and run every detector (the SLA engine only with ``policies``), all
    on event time, through one ``DetectorShard`` as the worker runs per partition.

    At the end of the input every held event is applied and deadlines fire up to the newest
    event time, or up to ``until`` ("what will be breached by then if nothing happens?"):
    what a live run would have said by then. Records carry the times live mode stamps.
    """
    # archives are old by nature: only "ahead of the wall clock" is judged
    intake = Intake(
        DedupWindow(dedup_capacity),
        replace(window or EventTimeWindow(), behind_ms=0),
        pseudonyms,
    )
    summary = ReplaySummary()
    policies = policies or PolicySet(())
    if thresholds is not None:
        policies = replace(policies, gaps=thresholds)
    detection = EventTimeDetection(policies)

    def emit_records(records: ShardRecords) -> None:
        for output, output_records in records.outputs():
            if output.replayed:
                summary.records[output.name] += len(output_records)
                for record in output_records:
                    emit(record.as_json())

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        position = SourcePosition(source, 0, number)
        admitted = intake.admit(parse_json_event(line), position, wall_clock)
        if isinstance(admitted, Event):
            summary.accepted += 1
            emit_records(detection.offer(admitted))
        elif isinstance(admitted, Duplicate):
            summary.duplicates += 1
        else:
            summary.rejected[admitted.reason.value] += 1
            emit(_rejection_record(admitted, number))
    emit_records(detection.finish(until))
    return summary


class EventTimeDetection:
    """Every detector over stored events, on event time, as one shard of a live worker: what
    ``radar replay`` and ``radar whatif`` run."""

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self.shard = DetectorShard(policies)
        self.clock = EventTimeClock()

    def offer(self, event: Event) -> ShardRecords:
        return self.shard.offer(event, self.clock.observe(event.occurred_at))

    def finish(self, until: int | None = None) -> ShardRecords:
        """Apply what is held and fire what is due by the newest event time, or by ``until``
        ("what will be breached by then if nothing happens?")."""
        if until is not None and until < self.clock.now():
            raise ReplayError(
                f"--until {millis_to_iso(until)} is before the last event"
                f" ({millis_to_iso(self.clock.now())})"
            )
        end = self.clock.now() if until is None else until
        return self.shard.advance(end + self.policies.grace_ms)


class ReplayError(ValueError):
    pass


def _rejection_record(rejection: Rejection, line: int) -> dict[str, Any]:
    return {
        "stream": "dead_letter",
        "line": line,
        "reason": rejection.reason.value,
        "detail": rejection.detail,
    }
