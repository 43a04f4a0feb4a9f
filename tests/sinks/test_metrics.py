from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase

from sinks.metrics import GapMetrics, PipelineMetrics, SlaMetrics


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
    registry = CollectorRegistry()
    families = (PipelineMetrics(registry), SlaMetrics(registry), GapMetrics(registry))
    declared = [m for f in families for m in vars(f).values() if isinstance(m, MetricWrapperBase)]
    assert len(declared) >= 17
    for metric in declared:
        assert set(metric._labelnames) <= allowed, metric
