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

from radar.dedup import DedupWindow, SourcePosition
from radar.events import Event, Rejection, parse_json_event
from radar.intake import Duplicate, Intake

Emit = Callable[[dict[str, Any]], None]


@dataclass
class ReplaySummary:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": dict(sorted(self.rejected.items())),
        }


def replay(
    lines: Iterable[bytes], emit: Emit, source: str = "replay", dedup_capacity: int = 1_000_000
) -> ReplaySummary:
    intake = Intake(DedupWindow(dedup_capacity))
    summary = ReplaySummary()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        admitted = intake.admit(parse_json_event(line), SourcePosition(source, 0, number))
        if isinstance(admitted, Event):
            summary.accepted += 1
        elif isinstance(admitted, Duplicate):
            summary.duplicates += 1
        else:
            summary.rejected[admitted.reason.value] += 1
            emit(_rejection_record(admitted, number))
    return summary


def _rejection_record(rejection: Rejection, line: int) -> dict[str, Any]:
    return {
        "stream": "dead_letter",
        "line": line,
        "reason": rejection.reason.value,
        "detail": rejection.detail,
    }
