"""The worker's detector outputs: table, topic, codec and metrics of each detector."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from radar.churn.detector import ChurnDetector, ChurnRecord, ChurnSettings
from radar.gaps.detector import AssigneeGapDetector, GapRecord, GapThresholds
from radar.policies import PolicySet
from radar.sequencer import EventSequencer
from radar.sla.engine import SlaEngine
from radar.sla.records import SlaKind, SlaRecord
from schemas.outputs import AssigneeGapCodec, ChurnSignalCodec, SlaEventCodec
from sinks.clickhouse import ClickHouseStore
from sinks.metrics import ChurnMetrics, GapMetrics, SlaMetrics
from streams.detection import Output
from streams.publisher import KafkaPublisher


def sla_output(
    policies: PolicySet, store: ClickHouseStore, publish: KafkaPublisher, metrics: SlaMetrics
) -> Output:
    engine = SlaEngine(policies)

    def count(records: Sequence[SlaRecord]) -> None:
        now = time.time()
        labels = Counter((r.channel, r.metric, r.kind.value, r.queue or "") for r in records)
        for key, n in labels.items():
            metrics.records.labels(*key).inc(n)
        for record in records:
            if record.kind is SlaKind.BREACH and record.due_at is not None:
                metrics.detection_latency.observe(max(0.0, now - record.due_at / 1000))

    def gauge() -> None:
        running: Counter[str] = Counter()
        at_risk: Counter[str] = Counter()
        breached: Counter[str] = Counter()
        for interaction in engine.interactions.values():
            queue = interaction.queue or ""
            for timer in interaction.timers.values():
                running[queue] += 1
                if timer.breach_id is not None:
                    breached[queue] += 1
                elif timer.fired_warnings:
                    at_risk[queue] += 1
        for metric, counts in (
            (metrics.running, running),
            (metrics.at_risk, at_risk),
            (metrics.breached_open, breached),
        ):
            metric.clear()
            for queue, n in counts.items():
                metric.labels(queue).set(n)

    return Output(
        "SLA engine",
        EventSequencer(engine, policies.grace_ms),
        "sla_events",
        store.insert_sla_records,
        publish,
        SlaEventCodec().encode_record,
        count,
        gauge,
    )


def churn_output(
    settings: ChurnSettings,
    grace_ms: int,
    store: ClickHouseStore,
    publish: KafkaPublisher,
    metrics: ChurnMetrics,
) -> Output:
    detector = ChurnDetector(settings)

    def absorb(records: list[Any], now: int) -> list[ChurnRecord]:
        return detector.absorb([r for r in records if isinstance(r, SlaRecord)], now)

    def count(records: Sequence[ChurnRecord]) -> None:
        for record in records:
            metrics.transitions.labels(record.previous_level.value, record.level.value).inc()

    def gauge() -> None:
        for level, n in detector.levels().items():
            metrics.customers.labels(level.value).set(n)

    return Output(
        "churn detector",
        EventSequencer(detector, grace_ms),
        "churn_signals",
        store.insert_churn_records,
        publish,
        ChurnSignalCodec().encode_record,
        count,
        gauge,
        absorb,
    )


def gap_output(
    thresholds: GapThresholds,
    grace_ms: int,
    store: ClickHouseStore,
    publish: KafkaPublisher,
    metrics: GapMetrics,
) -> Output:
    detector = AssigneeGapDetector(thresholds)

    def count(records: Sequence[GapRecord]) -> None:
        for (kind, state), n in Counter((r.kind.value, r.state.value) for r in records).items():
            metrics.transitions.labels(kind, state).inc(n)

    def gauge() -> None:
        metrics.open.clear()
        for (kind, queue), n in Counter(detector.open_gaps()).items():
            metrics.open.labels(kind.value, queue or "").set(n)

    return Output(
        "missing-assignee detector",
        EventSequencer(detector, grace_ms),
        "assignee_gaps",
        store.insert_gap_records,
        publish,
        AssigneeGapCodec().encode_record,
        count,
        gauge,
    )
