from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from radar.events import EventType
from radar.policies import load_policies
from radar.queues import QueueFigures
from radar.shard import OUTPUTS, DetectorShard
from radar.sla.output import SLA_OUTPUT
from radar.sla.records import SlaKind, SlaRecord
from sinks.metrics import DetectorStateMetrics, OutputMetrics, PipelineMetrics, QueueMetrics
from tests.factories import BASE_MS, make_event
from tests.radar.sla.test_ground_truth import EXAMPLE


def test_the_exposition_passes_promtool_lint() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed; `make test` installs Debian's prometheus package")
    metrics = PipelineMetrics(CollectorRegistry())
    metrics.events.labels("call", "call.queued").inc()
    metrics.dead_letters.labels("invalid_json").inc()
    metrics.sink_latency.labels("events").observe(0.2)
    metrics.consumer_lag.labels("support.calls", "0").set(3)
    text = generate_latest(metrics.registry)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_no_label_can_hold_an_id() -> None:
    """Only closed sets as labels: a customer, ticket or agent id would explode cardinality."""
    allowed = {"channel", "type", "reason", "table", "topic", "partition", "metric", "kind"}
    allowed |= {"queue", "state"}  # queues are configured teams, a bounded set
    allowed |= {"operation", "start"}  # Kafka calls of the ingest; what a rebuild started from
    allowed |= {"level", "previous_level"}  # churn levels
    registry = CollectorRegistry()
    families = (PipelineMetrics(registry), DetectorStateMetrics(registry))
    declared = [m for f in families for m in vars(f).values() if isinstance(m, MetricWrapperBase)]
    for output in (OutputMetrics(output, registry) for output in OUTPUTS):
        declared += [*output.counters, *output.histograms, *output.gauges.values()]
    assert len(declared) >= 17
    for metric in declared:
        assert set(metric._labelnames) <= allowed, metric


def test_queue_figures_are_exposed_and_lint_clean() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed; `make test` installs Debian's prometheus package")
    policies = load_policies(EXAMPLE)
    registry = CollectorRegistry()
    metrics = QueueMetrics(policies, registry)
    figures = QueueFigures(policies)
    queued = make_event(EventType.CALL_QUEUED, occurred_at=BASE_MS, queue="vip")
    figures.apply(queued)
    figures.apply(make_event(EventType.AGENT_ACTIVATED))
    metrics.add(figures.tally.drain())
    metrics.collector.update(figures.snapshot(), figures.roster(), BASE_MS / 1000 + 30)
    text = generate_latest(registry)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }
    vip_call = (("channel", "call"), ("queue", "vip"))
    assert samples[("radar_queue_offered_total", vip_call)] == 1
    assert samples[("radar_queue_answered_within_threshold_total", vip_call)] == 0  # not absent
    assert samples[("radar_queue_waiting", vip_call)] == 1
    assert samples[("radar_queue_oldest_wait_seconds", vip_call)] == 30
    assert samples[("radar_queue_service_level_goal_ratio", (("queue", "vip"),))] == 0.9
    assert samples[("radar_roster_agents", (("state", "active"),))] == 1
    for _, labels in samples:
        assert {label for label, _ in labels} <= {"queue", "channel", "status", "state", "le"}


def _gauge(registry: CollectorRegistry, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
        if s.name == name
    }


def test_output_metrics_sum_a_detector_state_over_the_shards_owned() -> None:
    policies = load_policies(EXAMPLE)
    registry = CollectorRegistry()
    metrics = OutputMetrics(SLA_OUTPUT, registry)
    first, second = DetectorShard(policies), DetectorShard(policies)
    for shard, calls in ((first, 2), (second, 1)):
        for _ in range(calls):
            shard.offer(make_event(EventType.CALL_QUEUED, queue="billing", occurred_at=BASE_MS), 0)
        shard.advance(BASE_MS + 60_000)
    running = "radar_sla_targets_running"
    metrics.read_state([first, second])
    assert _gauge(registry, running) == {(("queue", "billing"),): 3.0}
    metrics.read_state([second])  # the first partition was revoked
    assert _gauge(registry, running) == {(("queue", "billing"),): 1.0}
    metrics.read_state([])
    assert _gauge(registry, running) == {}


def make_sla_record(kind: SlaKind, due_at: int) -> SlaRecord:
    return SlaRecord(
        id=f"{kind.value}-1",
        kind=kind,
        policy="calls",
        metric="first_answer",
        channel="call",
        cycle=0,
        interaction_id="call-1",
        customer_id="cust-1",
        queue="billing",
        owner=None,
        group="",
        target_ms=60_000,
        elapsed_ms=60_000,
        started_at=due_at - 60_000,
        due_at=due_at,
        occurred_at=due_at,
        detected_at=due_at,
        business_hours=False,
    )


def test_output_metrics_count_records_and_time_breaches() -> None:
    registry = CollectorRegistry()
    metrics = OutputMetrics(SLA_OUTPUT, registry)
    breach = make_sla_record(SlaKind.BREACH, due_at=BASE_MS)
    warning = make_sla_record(SlaKind.WARNING, due_at=BASE_MS)
    metrics.count([breach, breach, warning], now=BASE_MS / 1000 + 2.5)
    counted = _gauge(registry, "radar_sla_records_total")
    assert sorted(counted.values()) == [1.0, 2.0]
    assert _gauge(registry, "radar_sla_detection_latency_seconds_count") == {(): 2.0}
    assert _gauge(registry, "radar_sla_detection_latency_seconds_sum") == {(): 5.0}
