"""Brokers restart routinely (upgrades, rolling restarts): the worker rides it out by itself,
and loses or doubles nothing; a consumer that fails for good is replaced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local_kafka import LocalKafka, free_port
from infra.settings import load_settings
from streams.topics import INPUT_TOPICS, ensure_topics, topic_names
from tests.integration.conftest import WorkerProcess
from tests.integration.test_pipeline import produce, simulated

pytestmark = pytest.mark.integration
OUTAGE_SECONDS = 30


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    """A broker of this test's own: stopping it must not disturb the other tests."""
    defaults = load_settings(environ={})
    broker = LocalKafka(
        tmp_path / "kafka", defaults.cache_dir, port=free_port(), controller_port=free_port()
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def engine() -> str:
    return "bulk"  # the agent engine is Faust's own consumer, which reconnects by itself


def test_the_worker_rides_out_a_broker_restart(
    own_broker: LocalKafka, worker_env: dict[str, str], tmp_path: Path, capsys: Any
) -> None:
    env = worker_env | {"KAFKA_BOOTSTRAP_SERVERS": own_broker.bootstrap_servers}
    settings = load_settings(environ=env)
    ensure_topics(settings)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        before, after = simulated(2, seed=21), simulated(2, seed=22)
        expected = {e.event_id for e in before} | {e.event_id for e in after}
        produce(settings, before)
        worker.wait_for("SELECT uniqExact(event_id) FROM events", len({e.event_id for e in before}))

        errors_before = worker.metric_total("radar_kafka_errors_total")
        checks_before = worker.metric_total("radar_kafka_errors_total", operation="metadata")
        own_broker.stop()
        down_at = time.monotonic()
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            assert worker.process is not None
            assert worker.process.poll() is None, f"the worker exited:\n{worker.log_tail()}"
            time.sleep(1)
        # what RadarKafkaUnreachable watches: the outage shows while it lasts
        errors_during = worker.metric_total("radar_kafka_errors_total") - errors_before
        checks_failed = (
            worker.metric_total("radar_kafka_errors_total", operation="metadata") - checks_before
        )
        own_broker.start()
        produce(settings, after)

        stored = worker.wait_for("SELECT uniqExact(event_id) FROM events", len(expected), 120)
        rows = worker.scalar("SELECT count() FROM events FINAL")
        ids = {r[0] for r in worker.query("SELECT DISTINCT event_id FROM events").rows}
        with capsys.disabled():
            print(
                f"\nbroker down {OUTAGE_SECONDS} s: worker stayed up, {stored} events stored"
                f" ({len(expected)} sent), {rows} rows; {errors_during:.0f} failed Kafka calls"
                " counted during the outage"
            )
        # the metadata check every 5 s fails all along, whatever the consume loop does
        assert checks_failed >= 2
        assert errors_during >= checks_failed
        assert ids == expected
        assert rows == len(expected)
        assert worker.process is not None
        assert worker.process.poll() is None
    finally:
        worker.stop()


def test_a_consumer_fenced_for_good_is_replaced(
    worker_env: dict[str, str], tmp_path: Path, capsys: Any
) -> None:
    """A static member fenced by another with its group.instance.id (a broker restart can do
    this to a consumer rejoining, a duplicate deployment too) gets a fatal error: the worker
    starts a new consumer and reads on."""
    from confluent_kafka import Consumer

    settings = load_settings(environ=worker_env)
    ensure_topics(settings)
    worker = WorkerProcess(worker_env, tmp_path / "worker.log").start()
    try:
        before, after = simulated(1, seed=31), simulated(1, seed=32)
        produce(settings, before)
        worker.wait_for("SELECT uniqExact(event_id) FROM events", len({e.event_id for e in before}))

        intruder = Consumer(
            settings.kafka_client_config()
            | {
                "group.id": f"{settings.app_id}.ingest",
                "group.instance.id": settings.instance_id,
                "partition.assignment.strategy": "cooperative-sticky",  # as the worker's
                "session.timeout.ms": 6000,
            }
        )
        intruder.subscribe([topic_names(settings)[t] for t in INPUT_TOPICS])
        fenced_at = time.monotonic()
        while worker.metric_total("radar_kafka_errors_total", operation="fatal") == 0:
            assert time.monotonic() - fenced_at < 60, f"never fenced:\n{worker.log_tail()}"
            intruder.poll(0.5)
        intruder.close()

        produce(settings, after)
        expected = {e.event_id for e in before} | {e.event_id for e in after}
        stored = worker.wait_for("SELECT uniqExact(event_id) FROM events", len(expected), 120)
        with capsys.disabled():
            print(f"\nfenced consumer replaced: {stored} of {len(expected)} events stored")
        assert worker.process is not None
        assert worker.process.poll() is None
    finally:
        worker.stop()
