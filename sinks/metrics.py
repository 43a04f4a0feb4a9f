"""Prometheus metrics of the pipeline, instrumented directly with prometheus-client.

Labels are closed sets only (channel, type, reason, table, topic, partition): never a customer,
ticket or agent id.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import REGISTRY

SINK_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.events = Counter(
            "radar_events_total",
            "Valid, unique input events processed.",
            ["channel", "type"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "radar_dead_letters_total",
            "Inputs rejected to the dead-letter topic.",
            ["reason"],
            registry=registry,
        )
        self.duplicates = Counter(
            "radar_duplicate_events_total",
            "Inputs dropped because their event_id was already processed.",
            ["channel"],
            registry=registry,
        )
        self.sink_batches = Counter(
            "radar_sink_batches_total", "Batches written to a sink.", ["table"], registry=registry
        )
        self.sink_rows = Counter(
            "radar_sink_rows_total", "Rows written to a sink.", ["table"], registry=registry
        )
        self.sink_errors = Counter(
            "radar_sink_errors_total",
            "Failed sink writes (each is retried).",
            ["table"],
            registry=registry,
        )
        self.sink_latency = Histogram(
            "radar_sink_write_seconds",
            "Time to write one batch, retries included.",
            ["table"],
            buckets=SINK_LATENCY_BUCKETS,
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "radar_consumer_lag_messages",
            "Messages in a partition not yet processed (high watermark - next offset).",
            ["topic", "partition"],
            registry=registry,
        )
        self.event_time_lag = Gauge(
            "radar_event_time_lag_seconds",
            "Processing time minus occurred_at of the newest event processed, per channel.",
            ["channel"],
            registry=registry,
        )
        self.last_batch = Gauge(
            "radar_last_batch_timestamp_seconds",
            "When the ingest agent last finished a batch (a stalled pipeline stops moving it).",
            registry=registry,
        )


DETECTION_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class SlaMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.records = Counter(
            "radar_sla_records_total",
            "SLA records emitted (warnings, breaches, achieved, retractions ...).",
            ["channel", "metric", "kind", "queue"],
            registry=registry,
        )
        self.running = Gauge(
            "radar_sla_targets_running", "SLA targets running now.", ["queue"], registry=registry
        )
        self.at_risk = Gauge(
            "radar_sla_targets_at_risk",
            "Running targets past a warning fraction, not breached.",
            ["queue"],
            registry=registry,
        )
        self.breached_open = Gauge(
            "radar_sla_targets_breached_open",
            "Breached targets still not met (still owed to the customer).",
            ["queue"],
            registry=registry,
        )
        self.detection_latency = Histogram(
            "radar_sla_detection_latency_seconds",
            "From a breach's due time to its record (the grace period included).",
            buckets=DETECTION_LATENCY_BUCKETS,
            registry=registry,
        )


class GapMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.transitions = Counter(
            "radar_assignee_gaps_total",
            "Missing-assignee gaps opened and closed.",
            ["kind", "state"],
            registry=registry,
        )
        self.open = Gauge(
            "radar_assignee_gaps_open",
            "Missing-assignee gaps open now.",
            ["kind", "queue"],
            registry=registry,
        )


class ChurnMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.transitions = Counter(
            "radar_churn_transitions_total",
            "Customers moving between churn levels.",
            ["previous_level", "level"],
            registry=registry,
        )
        self.customers = Gauge(
            "radar_churn_customers",
            "Customers at each churn level now.",
            ["level"],
            registry=registry,
        )


class DetectorStateMetrics:
    """Where the detectors' state lives: which partitions this worker owns, how it was rebuilt."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.partitions = Gauge(
            "radar_detector_partitions",
            "Detection partitions whose shard this worker holds.",
            registry=registry,
        )
        self.events = Counter(
            "radar_detector_events_total",
            "Events applied by the detectors (agent events once per partition).",
            ["channel"],
            registry=registry,
        )
        self.rebuilds = Counter(
            "radar_detector_rebuilds_total",
            "Shards rebuilt from their journal after a partition was assigned.",
            registry=registry,
        )
        self.replayed = Counter(
            "radar_detector_journal_replayed_total",
            "Journal entries replayed into rebuilt shards.",
            registry=registry,
        )
        self.expired = Counter(
            "radar_detector_journal_expired_total",
            "Journal entries dropped after the retention period.",
            registry=registry,
        )
