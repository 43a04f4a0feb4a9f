"""The worker's detector sinks: table, topic, codec and metrics of each detector."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence

from radar.churn.detector import ChurnLevel, ChurnRecord
from radar.gaps.detector import GapRecord
from radar.shard import DetectorShard
from radar.sla.records import SlaKind, SlaRecord
from schemas.outputs import AssigneeGapCodec, ChurnSignalCodec, SlaEventCodec
from sinks.clickhouse import ClickHouseStore
from sinks.metrics import ChurnMetrics, GapMetrics, SlaMetrics
from streams.emitter import DetectorSink
from streams.publisher import KafkaPublisher


def sla_sink(store: ClickHouseStore, publish: KafkaPublisher, metrics: SlaMetrics) -> DetectorSink:
    def count(records: Sequence[SlaRecord]) -> None:
        now = time.time()
        labels = Counter((r.channel, r.metric, r.kind.value, r.queue or "") for r in records)
        for key, n in labels.items():
            metrics.records.labels(*key).inc(n)
        for record in records:
            if record.kind is SlaKind.BREACH and record.due_at is not None:
                metrics.detection_latency.observe(max(0.0, now - record.due_at / 1000))

    def gauge(shards: Iterable[DetectorShard]) -> None:
        running: Counter[str] = Counter()
        at_risk: Counter[str] = Counter()
        breached: Counter[str] = Counter()
        for shard in shards:
            engine = shard.sla_engine
            for interaction in engine.interactions.values() if engine else ():
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

    return DetectorSink(
        "SLA engine",
        lambda records: records.sla,
        "sla_events",
        store.insert_sla_records,
        publish,
        SlaEventCodec().encode_record,
        count,
        gauge,
    )


def contact_sink(store: ClickHouseStore) -> DetectorSink:
    """Each call's and chat's steps through its queue, for the BI aggregates: a table, no topic
    (the queue figures reach Prometheus as counters, see ``QueueMetrics``)."""
    return DetectorSink(
        "queue figures",
        lambda records: records.contacts,
        "queue_contacts",
        store.insert_contact_records,
        None,
        lambda record: b"",
    )


def churn_sink(
    store: ClickHouseStore, publish: KafkaPublisher, metrics: ChurnMetrics
) -> DetectorSink:
    def count(records: Sequence[ChurnRecord]) -> None:
        for record in records:
            metrics.transitions.labels(record.previous_level.value, record.level.value).inc()

    def gauge(shards: Iterable[DetectorShard]) -> None:
        totals = dict.fromkeys(ChurnLevel, 0)
        for shard in shards:
            for level, n in shard.churn_detector.levels().items():
                totals[level] += n
        for level, n in totals.items():
            metrics.customers.labels(level.value).set(n)

    return DetectorSink(
        "churn detector",
        lambda records: records.churn,
        "churn_signals",
        store.insert_churn_records,
        publish,
        ChurnSignalCodec().encode_record,
        count,
        gauge,
    )


def gap_sink(store: ClickHouseStore, publish: KafkaPublisher, metrics: GapMetrics) -> DetectorSink:
    def count(records: Sequence[GapRecord]) -> None:
        for (kind, state), n in Counter((r.kind.value, r.state.value) for r in records).items():
            metrics.transitions.labels(kind, state).inc(n)

    def gauge(shards: Iterable[DetectorShard]) -> None:
        metrics.open.clear()
        open_gaps = Counter(g for shard in shards for g in shard.gap_detector.open_gaps())
        for (kind, queue), n in open_gaps.items():
            metrics.open.labels(kind.value, queue or "").set(n)

    return DetectorSink(
        "missing-assignee detector",
        lambda records: records.gaps,
        "assignee_gaps",
        store.insert_gap_records,
        publish,
        AssigneeGapCodec().encode_record,
        count,
        gauge,
    )
