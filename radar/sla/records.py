"""What the SLA engine emits: one record type, with a deterministic id (``radar/records.py``)
from interaction, metric, cycle, kind and the warning fraction or escalation level (for a
chase, the event that was the chase).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from radar.records import json_record


class SlaKind(StrEnum):
    WARNING = "warning"  # a fraction of the target has passed ("at risk")
    BREACH = "breach"  # the due time passed without the target being met
    ACHIEVED = "achieved"  # the target was met (``late`` if after the due time)
    FULFILLED = "fulfilled"  # the target stopped applying: ticket solved, call or chat ended
    ESCALATION = "escalation"  # a breach still open after the policy's escalation offset
    RETRACTED = "retracted"  # a late event proved a declared breach wrong
    CUSTOMER_CHASE = "customer_chase"  # the customer wrote again while a reply was owed


@dataclass(frozen=True, slots=True)
class SlaRecord:
    id: str
    kind: SlaKind
    policy: str
    metric: str
    channel: str
    cycle: int
    interaction_id: str
    customer_id: str | None
    queue: str | None
    owner: str | None
    group: str
    target_ms: int
    elapsed_ms: int
    started_at: int
    due_at: int | None
    occurred_at: int  # the instant it is about: crossing, due time, achievement, message
    detected_at: int  # when live mode knows it: that instant plus the grace, or a late arrival
    business_hours: bool
    fraction: float | None = None
    level: int | None = None
    late: bool | None = None
    retracts: str | None = None

    def as_json(self) -> dict[str, Any]:
        return json_record("sla", self, ("started_at", "due_at", "occurred_at", "detected_at"))
