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
from sinks.metrics import (
    DetectorStateMetrics,
    GapMetrics,
    PipelineMetrics,
    QueueMetrics,
    SlaMetrics,
)
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
    registry = CollectorRegistry()
    families = (
        PipelineMetrics(registry),
        SlaMetrics(registry),
        GapMetrics(registry),
        DetectorStateMetrics(registry),
    )
    declared = [m for f in families for m in vars(f).values() if isinstance(m, MetricWrapperBase)]
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
