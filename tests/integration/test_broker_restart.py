"""Brokers restart routinely (upgrades, rolling restarts): the worker rides it out by itself,
and loses or doubles nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local_kafka import LocalKafka, free_port
from radar.config import load_settings
from streams.topics import ensure_topics
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
        own_broker.stop()
        down_at = time.monotonic()
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            assert worker.process is not None
            assert worker.process.poll() is None, f"the worker exited:\n{worker.log_tail()}"
            time.sleep(1)
        # what RadarKafkaUnreachable watches: the outage shows while it lasts
        errors_during = worker.metric_total("radar_kafka_errors_total") - errors_before
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
        assert errors_during > 0
        assert ids == expected
        assert rows == len(expected)
        assert worker.process is not None
        assert worker.process.poll() is None
    finally:
        worker.stop()
