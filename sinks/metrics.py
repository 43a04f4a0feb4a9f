"""Prometheus metrics of the pipeline, instrumented directly with prometheus-client.

Labels are closed sets only (channel, type, reason, table, topic, partition, queue, status,
state): never a customer, ticket or agent id.
"""

from __future__ import annotations

import time
from collections import Counter as CountOf
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from radar.outputs import Labels, Output
from radar.policies import PolicySet
from radar.queues import Count, Duration, QueueSnapshot, QueueTally

if TYPE_CHECKING:
    from radar.shard import DetectorShard

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
        self.kafka_errors = Counter(
            "radar_kafka_errors_total",
            "Kafka calls of the ingest that failed (brokers away); each is retried.",
            ["operation"],
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
        self.last_input_event = Gauge(
            "radar_input_last_event_timestamp_seconds",
            "When the worker last took in a valid event from the topic (a silent upstream).",
            ["topic"],
            registry=registry,
        )
        self.last_batch = Gauge(
            "radar_last_batch_timestamp_seconds",
            "When the ingest agent last finished a batch (a stalled pipeline stops moving it).",
            registry=registry,
        )


class OutputMetrics:
    """What a detector's ``Output`` says to count: counters and histograms of its records as
    they are written, and gauges of its state, summed over the shards this worker owns."""

    def __init__(self, output: Output[Any], registry: CollectorRegistry = REGISTRY) -> None:
        self.output = output
        self.counters = [
            Counter(c.metric, c.help, list(c.labels), registry=registry) for c in output.counted
        ]
        self.histograms = [
            Histogram(t.metric, t.help, buckets=t.buckets, registry=registry) for t in output.timed
        ]
        self.gauges = {
            g.metric: Gauge(g.metric, g.help, list(g.labels), registry=registry)
            for g in output.gauges
        }

    def count(self, records: Sequence[Any], now: float | None = None) -> None:
        for counted, counter in zip(self.output.counted, self.counters, strict=True):
            for labels, n in CountOf(map(counted.label_values, records)).items():
                counter.labels(*labels).inc(n)
        now = time.time() if now is None else now
        for timed, histogram in zip(self.output.timed, self.histograms, strict=True):
            for record in records:
                since = timed.since(record)
                if since is not None:
                    histogram.observe(max(0.0, now - since / 1000))

    def read_state(self, shards: Iterable[DetectorShard]) -> None:
        if self.output.read_state is None:
            return
        totals: dict[tuple[str, Labels], float] = {}
        for shard in shards:
            for metric, labels, value in self.output.read_state(shard):
                totals[metric, labels] = totals.get((metric, labels), 0.0) + value
        for gauge in self.gauges.values():
            gauge.clear()
        for (metric, labels), value in totals.items():
            self.gauges[metric].labels(*labels).set(value)


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
            "Shards rebuilt after a partition was assigned, by what they started from.",
            ["start"],
            registry=registry,
        )
        self.replayed = Counter(
            "radar_detector_journal_replayed_total",
            "Journal entries replayed into rebuilt shards.",
            registry=registry,
        )
        self.snapshots = Counter(
            "radar_detector_snapshots_total",
            "Snapshots of a detection partition's state written to its journal.",
            registry=registry,
        )
        self.expired = Counter(
            "radar_detector_journal_expired_total",
            "Journal entries dropped after the retention period.",
            registry=registry,
        )
        self.clock = Gauge(
            "radar_detector_clock_timestamp_seconds",
            "Event time up to which a detection partition is complete (deadlines before it,"
            " minus the grace, have fired); behind the wall clock while inputs lag.",
            ["partition"],
            registry=registry,
        )


# seconds: answer waits and first responses are seconds to minutes; first replies hours to days
_WAIT_BUCKETS = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_HANDLE_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
_REPLY_BUCKETS = (300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 259200.0)
DURATION_BUCKETS: Final = {
    Duration.ANSWER_WAIT: _WAIT_BUCKETS,
    Duration.HOLD: _WAIT_BUCKETS,
    Duration.HANDLE: _HANDLE_BUCKETS,
    Duration.FIRST_RESPONSE: _WAIT_BUCKETS,
    Duration.FIRST_REPLY: _REPLY_BUCKETS,
}
COUNT_HELP: Final = {
    Count.OFFERED: "Inbound calls queued, chats requested and tickets created in the queue.",
    Count.ANSWERED: "Calls answered and chats accepted.",
    Count.ANSWERED_WITHIN_THRESHOLD: "Answered within the queue's service-level threshold.",
    Count.ABANDONED: "Calls and chats abandoned while waiting, short abandons included.",
    Count.SHORT_ABANDONED: "Abandoned sooner than the queue's short-abandon threshold.",
    Count.CALLBACKS_REQUESTED: "Callbacks requested by callers.",
    Count.CALLBACKS_MADE: "Outbound calls to a customer owed a callback.",
}


class QueueMetrics:
    """Queue figures: counters and histograms from the shards' tallies, and gauges read from
    the latest snapshot of the shards this worker owns (so a revoked partition's share is
    gone at the next refresh, and a rebuilt one is back)."""

    def __init__(self, policies: PolicySet, registry: CollectorRegistry = REGISTRY) -> None:
        self.counts = {
            what: Counter(f"radar_queue_{what.value}", COUNT_HELP[what], ["queue", "channel"],
                          registry=registry)
            for what in Count
        }  # fmt: skip
        self.durations = {
            what: Histogram(
                f"radar_queue_{what.value}_seconds",
                f"Queue {what.value.replace('_', ' ')} time.",
                ["queue", "channel"],
                buckets=DURATION_BUCKETS[what],
                registry=registry,
            )
            for what in Duration
        }
        self.collector = QueueCollector(policies)
        registry.register(self.collector)
        self._seen: set[tuple[str, str]] = set()
        for queue in policies.queues:  # known queues are scraped at 0 before their first contact
            for channel in ("call", "chat", "ticket"):
                self._start_at_zero(queue, channel)

    def _start_at_zero(self, queue: str, channel: str) -> None:
        """Every count of a queue exists, at 0 if need be: a queue that answers nothing has a
        service level of 0, not none; and a series Prometheus first sees at 0 loses nothing
        counted before its first scrape to ``rate()``."""
        if (queue, channel) not in self._seen:
            self._seen.add((queue, channel))
            for counter in self.counts.values():
                counter.labels(queue, channel)

    def add(self, tally: QueueTally) -> None:
        for _, queue, channel in tally.counts:
            self._start_at_zero(queue, channel)
        for (what, queue, channel), n in tally.counts.items():
            self.counts[what].labels(queue, channel).inc(n)
        for duration, queue, channel, seconds in tally.durations:
            self.durations[duration].labels(queue, channel).observe(seconds)


class QueueCollector(Collector):
    def __init__(self, policies: PolicySet) -> None:
        self._policies = policies
        self._snapshot = QueueSnapshot()
        self._roster: dict[str, int] | None = None
        self._now = 0.0

    def update(self, snapshot: QueueSnapshot, roster: dict[str, int] | None, now: float) -> None:
        """``roster``: agents by state, from one owner only (every shard sees every agent)."""
        self._snapshot, self._roster, self._now = snapshot, roster, now

    def collect(self) -> Iterator[Metric]:
        snapshot, now = self._snapshot, self._now
        waiting = GaugeMetricFamily(
            "radar_queue_waiting", "Calls and chats waiting now.", labels=["queue", "channel"]
        )
        oldest = GaugeMetricFamily(
            "radar_queue_oldest_wait_seconds",
            "How long the longest-waiting call or chat has waited (max over workers).",
            labels=["queue", "channel"],
        )
        for (queue, channel), n in sorted(snapshot.waiting.items()):
            waiting.add_metric([queue, channel], n)
        for (queue, channel), since in sorted(snapshot.oldest_waiting_since.items()):
            oldest.add_metric([queue, channel], max(0.0, now - since / 1000))
        tickets = GaugeMetricFamily(
            "radar_queue_tickets_open", "Open tickets by status.", labels=["queue", "status"]
        )
        for (queue, status), n in sorted(snapshot.tickets_open.items()):
            tickets.add_metric([queue, status], n)
        unassigned = GaugeMetricFamily(
            "radar_queue_tickets_unassigned", "Open tickets with no owner.", labels=["queue"]
        )
        for queue, n in sorted(snapshot.tickets_unassigned.items()):
            unassigned.add_metric([queue], n)
        owed = GaugeMetricFamily(
            "radar_queue_oldest_reply_owed_seconds",
            "How long the oldest open ticket has waited for its first reply (max over workers).",
            labels=["queue"],
        )
        for queue, since in sorted(snapshot.oldest_reply_owed_since.items()):
            owed.add_metric([queue], max(0.0, now - since / 1000))
        yield from (waiting, oldest, tickets, unassigned, owed)
        yield from self._targets(snapshot.queues)
        agents = GaugeMetricFamily(  # samples only from partition 0's owner
            "radar_roster_agents", "Agents on the roster, by state.", labels=["state"]
        )
        for state, n in sorted((self._roster or {}).items()):
            agents.add_metric([state], n)
        yield agents

    def _targets(self, seen: frozenset[str]) -> Iterator[Metric]:
        """Each queue's targets from the policy file, so rules need not hard-code them."""
        families = {
            name: GaugeMetricFamily(name, text, labels=["queue"])
            for name, text in (
                ("radar_queue_service_level_goal_ratio", "Share to answer within the threshold."),
                ("radar_queue_service_level_threshold_seconds", "The service-level threshold."),
                ("radar_queue_abandon_rate_limit_ratio", "Abandon rate above which to alert."),
                ("radar_queue_oldest_wait_limit_seconds", "Oldest wait above which to alert."),
                ("radar_queue_open", "1 while the queue's calendar is open, else 0."),
            )
        }
        for queue in sorted(seen | set(self._policies.queues)):
            rules = self._policies.queue(queue)
            values = (
                rules.service_level_goal,
                rules.service_level_ms / 1000,
                rules.abandon_rate_limit,
                rules.oldest_wait_limit_ms / 1000,
                1.0 if rules.is_open(int(self._now * 1000)) else 0.0,
            )
            for family, value in zip(families.values(), values, strict=True):
                family.add_metric([queue], value)
        yield from families.values()
