"""The missing-assignee detector's output: ``assignee_gaps``, ``support.assignee-gaps``, and
the gaps open now."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from radar.gaps.detector import GapRecord
from radar.outputs import Counted, Labels, Output, StateGauge, TableRows

if TYPE_CHECKING:
    from radar.shard import DetectorShard

OPEN: Final = "radar_assignee_gaps_open"


def _read_state(shard: DetectorShard) -> Iterable[tuple[str, Labels, float]]:
    for (kind, queue), n in Counter(shard.gap_detector.open_gaps()).items():
        yield OPEN, (kind.value, queue or ""), n


GAP_OUTPUT: Final = Output[GapRecord](
    name="gaps",
    stream="gap",
    title="missing-assignee detector",
    record_type=GapRecord,
    tables=(TableRows.of_fields("assignee_gaps", GapRecord),),
    key=lambda record: record.interaction_id,
    topic="support.assignee-gaps",
    avro_schema="assignee_gap.avsc",
    counted=(
        Counted(
            "radar_assignee_gaps_total",
            "Missing-assignee gaps opened and closed.",
            ("kind", "state"),
            lambda r: (r.kind.value, r.state.value),
        ),
    ),
    gauges=(StateGauge(OPEN, "Missing-assignee gaps open now.", ("kind", "queue")),),
    read_state=_read_state,
)
