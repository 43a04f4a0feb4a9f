"""A queue's incident, driven through Kafka, seen by a real Prometheus server: the agents of
one queue stop answering while calls keep arriving, the service-level alert goes pending, then
firing, and resolves once calls are answered again.

The rules are the project's own, with short windows and ``for:`` durations (a test copy).
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from infra.local_prometheus import RULES, LocalPrometheus
from radar.events import Direction, EventType
from streams.topics import ensure_topics
from tests.infra.test_compose import dashboard_expressions
from tests.integration.conftest import WorkerProcess, prometheus_scraping
from tests.integration.test_sla_live import Upstream
from tests.radar.sla.test_ground_truth import EXAMPLE

pytestmark = pytest.mark.integration
ALERT = "RadarQueueServiceLevelLow"


@pytest.fixture
def engine() -> str:
    return "bulk"


def _fast_rules(folder: Path) -> Path:
    """The queue rules with 20 s windows and 3 s ``for:``, so an incident fits in a test."""
    text = (RULES / "queues.rules.yml").read_text().replace("[15m]", "[20s]")
    rules = yaml.safe_load(text)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "3s"
    path = folder / "queues.fast.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


@pytest.fixture
def prometheus(worker: WorkerProcess, tmp_path: Path) -> Iterator[LocalPrometheus]:
    policies = tmp_path / "policies.yaml"  # the example, with the incident's queue configured
    policies.write_text(EXAMPLE.read_text().replace("\nqueues:\n", "\nqueues:\n  billing: {}\n", 1))
    worker.env["RADAR_POLICIES"] = str(policies)
    ensure_topics(load_worker_settings(worker))
    worker.start()
    server = prometheus_scraping(worker, tmp_path / "prometheus", [_fast_rules(tmp_path)])
    yield server
    server.stop()


def load_worker_settings(worker: WorkerProcess) -> Any:
    from infra.settings import load_settings

    return load_settings(environ=worker.env)


def _state(server: LocalPrometheus) -> str:
    alerts = [a for a in server.api("alerts")["alerts"] if a["labels"]["alertname"] == ALERT]
    billing = [a for a in alerts if a["labels"].get("queue") == "billing"]
    return billing[0]["state"] if billing else "inactive"


def test_a_queue_that_stops_answering_pages_and_recovers(
    worker: WorkerProcess, prometheus: LocalPrometheus, capsys: Any
) -> None:
    loaded = {r["name"] for g in prometheus.api("rules")["groups"] for r in g["rules"]}
    assert ALERT in loaded
    upstream = Upstream(load_worker_settings(worker))
    numbers = itertools.count()

    def call(answered: bool) -> None:
        iid = f"call-{next(numbers)}"
        upstream.send(EventType.CALL_QUEUED, iid, direction=Direction.INBOUND)
        if answered:
            upstream.send(EventType.CALL_ANSWERED, iid, agent_id="agent-1")

    # the configured queue's counters are scraped at 0 before its first call, so rate() over
    # a window counts every call of it
    offered = 'radar_queue_offered_total{queue="billing", channel="call"}'
    deadline = time.monotonic() + 30
    at_zero = urllib.parse.quote(f"count_over_time({offered}[1m]) >= 2 and {offered} == 0")
    while not prometheus.api(f"query?query={at_zero}")["result"]:
        assert time.monotonic() < deadline, "Prometheus never scraped the queue's counters at 0"
        time.sleep(0.5)

    began = time.monotonic()
    seen: dict[str, float] = {}
    while "firing" not in seen:  # the incident: calls keep coming, nobody answers
        assert time.monotonic() - began < 90, (
            f"no firing alert; seen {seen}; offered"
            f" {prometheus.api('query?query=radar_queue_offered_total')['result']}; up"
            f" {prometheus.api('query?query=up')['result']}; sl"
            f" {prometheus.api('query?query=radar:queue_service_level:ratio15m')['result']}"
        )
        call(answered=False)
        state = _state(prometheus)
        seen.setdefault(state, time.monotonic() - began)
        time.sleep(0.3)
    assert "pending" in seen, "the alert fired without going pending first"
    assert seen["pending"] < seen["firing"]

    ended = time.monotonic()
    while _state(prometheus) != "inactive":  # calls answered at once again
        assert time.monotonic() - ended < 90, "the alert did not resolve"
        call(answered=True)
        time.sleep(0.3)
    resolved = time.monotonic() - ended

    upstream.producer.close()
    time.sleep(4)  # the last calls scraped and the rules evaluated once more
    recorded, at = _recorded_service_level(prometheus)
    computed = _service_level_in_clickhouse(worker, at - 300, at)
    with capsys.disabled():
        print(
            f"\nincident on a real Prometheus: pending after {seen['pending']:.1f} s, firing after"
            f" {seen['firing']:.1f} s, resolved {resolved:.1f} s after the queue answered again;"
            f" service level over 5 min: recorded {recorded:.4f}, from ClickHouse {computed:.4f}"
        )
    assert abs(recorded - computed) <= 0.02  # a call or two at the window's edges
    # the same calls, one row per step, summed per minute in ClickHouse for BI
    calls = worker.metric_total("radar_queue_offered_total", queue="billing", channel="call")
    assert calls > 0
    per_minute = (
        "SELECT sum(offered) FROM queue_minute WHERE queue = 'billing' AND channel = 'call'"
    )
    assert worker.wait_for(per_minute, int(calls)) == int(calls)


def _recorded_service_level(server: LocalPrometheus) -> tuple[float, float]:
    """The 5-minute service level of billing calls, and the instant it was evaluated at."""
    series = 'radar:queue_service_level:ratio5m{queue="billing", channel="call"}'
    value = server.api(f"query?query={urllib.parse.quote(series)}")["result"]
    at = server.api(f"query?query={urllib.parse.quote(f'timestamp({series})')}")["result"]
    return float(value[0]["value"][1]), float(at[0]["value"][1])


def _service_level_in_clickhouse(worker: WorkerProcess, start: float, end: float) -> float:
    """The README's formula over ``events``: answered within the queue's threshold (20 s in
    the example policies) / (offered - short abandons), for calls of billing in the window."""
    window = f"toDateTime64({start}, 3, 'UTC') AND toDateTime64({end}, 3, 'UTC')"
    row = worker.query(
        f"""
        WITH queued AS (
            SELECT interaction_id, min(occurred_at) AS at FROM events FINAL
            WHERE type = 'call.queued' AND direction = 'inbound' AND queue = 'billing'
            GROUP BY interaction_id),
        answered AS (
            SELECT interaction_id, min(occurred_at) AS at FROM events FINAL
            WHERE type = 'call.answered' GROUP BY interaction_id),
        abandoned AS (
            SELECT interaction_id, min(occurred_at) AS at FROM events FINAL
            WHERE type = 'call.abandoned' GROUP BY interaction_id)
        SELECT
            countIf(q.at > {window.replace(" AND ", " AND q.at <= ", 1)}) AS offered,
            countIf(a.at > {window.replace(" AND ", " AND a.at <= ", 1)}
                    AND dateDiff('millisecond', q.at, a.at) <= 20000) AS within,
            countIf(b.at > {window.replace(" AND ", " AND b.at <= ", 1)}
                    AND dateDiff('millisecond', q.at, b.at) < 10000) AS short
        FROM queued AS q
        LEFT JOIN answered AS a ON a.interaction_id = q.interaction_id
        LEFT JOIN abandoned AS b ON b.interaction_id = q.interaction_id
        """
    ).rows[0]
    offered, within, short = (int(v) for v in row)
    return within / (offered - short)


def test_the_dashboard_asks_only_for_what_exists(
    worker: WorkerProcess, prometheus: LocalPrometheus
) -> None:
    """Every name in the Grafana dashboard is in the worker's live exposition or is a rule of
    ``alerts/``, and every expression is accepted by a real Prometheus; the exposition itself
    passes ``promtool check metrics``."""
    assert worker.run is not None
    with urllib.request.urlopen(f"{worker.run.url}/metrics", timeout=5) as response:
        exposition = response.read()
    promtool = shutil.which("promtool")
    assert promtool is not None
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, check=False
    )
    assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()

    exposed = {"up"}
    for family in text_string_to_metric_families(exposition.decode()):
        exposed |= {family.name, f"{family.name}_total"} | {s.name for s in family.samples}
        if family.type == "histogram":
            exposed |= {f"{family.name}_{part}" for part in ("bucket", "sum", "count")}
    recorded = {
        rule["record"]
        for path in RULES.glob("*.rules.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    for expr in dashboard_expressions():
        for name in re.findall(r"\b(radar[_:][A-Za-z0-9_:]*|up)\b", expr):
            assert name in exposed | recorded, f"{name} in {expr!r} exists nowhere"
        prometheus.api(f"query?query={urllib.parse.quote(expr)}")  # raises if it does not parse
