"""The churn detector's output: ``churn_signals`` (every level change, reasons as JSON),
``churn_levels`` (each customer's level now), ``support.churn-signals``, customers by level."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from radar.churn.detector import ChurnRecord
from radar.outputs import Counted, Labels, Output, StateGauge, TableRows

if TYPE_CHECKING:
    from radar.shard import DetectorShard

CUSTOMERS: Final = "radar_churn_customers"


def _signal_rows(records: Sequence[ChurnRecord]) -> list[list[Any]]:
    return [
        [
            r.id,
            r.customer_id,
            r.level.value,
            r.previous_level.value,
            r.score,
            json.dumps([reason.as_json() for reason in r.reasons]),
            r.changed_at,
            r.last_contact_at,
            r.usual_gap_ms,
            r.detected_at,
        ]
        for r in records
    ]


def _level_rows(records: Sequence[ChurnRecord]) -> list[list[Any]]:
    return [[r.customer_id, r.level.value, r.score, r.changed_at, r.id] for r in records]


def _read_state(shard: DetectorShard) -> Iterable[tuple[str, Labels, float]]:
    for level, n in shard.churn_detector.levels().items():
        yield CUSTOMERS, (level.value,), n  # every level, zeros too


CHURN_OUTPUT: Final = Output[ChurnRecord](
    name="churn",
    stream="churn",
    title="churn detector",
    record_type=ChurnRecord,
    tables=(
        TableRows("churn_signals", tuple(ChurnRecord.__dataclass_fields__), _signal_rows),
        TableRows(
            "churn_levels",
            ("customer_id", "level", "score", "changed_at", "record_id"),
            _level_rows,
        ),
    ),
    key=lambda record: record.customer_id,
    topic="support.churn-signals",
    avro_schema="churn_signal.avsc",
    counted=(
        Counted(
            "radar_churn_transitions_total",
            "Customers moving between churn levels.",
            ("previous_level", "level"),
            lambda r: (r.previous_level.value, r.level.value),
        ),
    ),
    gauges=(StateGauge(CUSTOMERS, "Customers at each churn level now.", ("level",)),),
    read_state=_read_state,
)
