"""The SLA engine's output: ``sla_events`` (every record) and ``sla_targets`` (each target's
latest state), the ``support.sla-events`` topic, and the figures on the wallboard."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from radar.outputs import Counted, Labels, Output, StateGauge, TableRows, Timed
from radar.sla.records import SlaKind, SlaRecord

if TYPE_CHECKING:
    from radar.shard import DetectorShard

_FIELDS: Final = tuple(SlaRecord.__dataclass_fields__)
# "group" is a keyword in SQL
_COLUMNS: Final = tuple("group_name" if name == "group" else name for name in _FIELDS)
_TARGET_FIELDS: Final = (
    "interaction_id", "metric", "cycle", "channel", "policy", "queue", "customer_id", "owner",
)  # fmt: skip
_TARGET_COLUMNS: Final = (
    *_TARGET_FIELDS, "state", "started_at", "due_at", "elapsed_ms", "updated_at", "record_id",
)  # fmt: skip
# The state a target is in after a record of each kind (chases do not change a target).
_TARGET_STATE: Final = {
    SlaKind.WARNING: "at_risk",
    SlaKind.BREACH: "breached",
    SlaKind.ESCALATION: "breached",
    SlaKind.ACHIEVED: "achieved",
    SlaKind.FULFILLED: "fulfilled",
    SlaKind.RETRACTED: "running",
}
DETECTION_LATENCY_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


def _event_rows(records: Sequence[SlaRecord]) -> list[list[Any]]:
    return [[getattr(r, name) for name in _FIELDS] for r in records]


def _target_rows(records: Sequence[SlaRecord]) -> list[list[Any]]:
    rows = []
    for r in records:
        state = _TARGET_STATE.get(r.kind)
        if state is None:
            continue
        if r.kind is SlaKind.ACHIEVED and r.late:
            state = "achieved_late"
        head = [getattr(r, name) for name in _TARGET_FIELDS]
        rows.append([*head, state, r.started_at, r.due_at, r.elapsed_ms, r.detected_at, r.id])
    return rows


RUNNING: Final = "radar_sla_targets_running"
AT_RISK: Final = "radar_sla_targets_at_risk"
BREACHED_OPEN: Final = "radar_sla_targets_breached_open"


def _read_state(shard: DetectorShard) -> Iterable[tuple[str, Labels, float]]:
    running: Counter[str] = Counter()
    at_risk: Counter[str] = Counter()
    breached: Counter[str] = Counter()
    engine = shard.sla_engine
    for interaction in engine.interactions.values() if engine else ():
        queue = interaction.queue or ""
        for timer in interaction.timers:
            running[queue] += 1
            if timer.breach_id is not None:
                breached[queue] += 1
            elif timer.fired_warnings:
                at_risk[queue] += 1
    for metric, counts in ((RUNNING, running), (AT_RISK, at_risk), (BREACHED_OPEN, breached)):
        for queue, n in counts.items():
            yield metric, (queue,), n


SLA_OUTPUT: Final = Output[SlaRecord](
    name="sla",
    stream="sla",
    title="SLA engine",
    record_type=SlaRecord,
    tables=(
        TableRows("sla_events", _COLUMNS, _event_rows),
        TableRows("sla_targets", _TARGET_COLUMNS, _target_rows),
    ),
    key=lambda record: record.interaction_id,
    topic="support.sla-events",
    avro_schema="sla_event.avsc",
    counted=(
        Counted(
            "radar_sla_records_total",
            "SLA records emitted (warnings, breaches, achieved, retractions ...).",
            ("channel", "metric", "kind", "queue"),
            lambda r: (r.channel, r.metric, r.kind.value, r.queue or ""),
        ),
    ),
    timed=(
        Timed(
            "radar_sla_detection_latency_seconds",
            "From a breach's due time to its record (the grace period included).",
            DETECTION_LATENCY_BUCKETS,
            lambda r: r.due_at if r.kind is SlaKind.BREACH else None,
        ),
    ),
    gauges=(
        StateGauge(RUNNING, "SLA targets running now.", ("queue",)),
        StateGauge(AT_RISK, "Running targets past a warning fraction, not breached.", ("queue",)),
        StateGauge(
            BREACHED_OPEN,
            "Breached targets still not met (still owed to the customer).",
            ("queue",),
        ),
    ),
    read_state=_read_state,
)
