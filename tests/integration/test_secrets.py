"""Secrets set in the environment never come out: not in the worker's log, its metrics, `radar
config`, error answers of /query, nor the dead-letter topic."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from infra.settings import SETTINGS, load_settings
from streams.endpoint import QueryError, query_worker
from streams.topics import Topic, ensure_topics, topic_names
from tests.integration.conftest import WorkerProcess, read_topic_to_end
from tests.integration.test_pipeline import MALFORMED, produce, simulated

pytestmark = pytest.mark.integration
SECRETS = {s.env: f"s3cret-{s.env.lower()}-do-not-print" for s in SETTINGS.values() if s.secret}


@pytest.fixture
def engine() -> str:
    return "bulk"


def test_secrets_never_come_out(worker_env: dict[str, str], tmp_path: Path) -> None:
    assert {"KAFKA_SASL_PASSWORD", "CLICKHOUSE_PASSWORD", "RADAR_WALLBOARD_TOKEN"} <= set(SECRETS)
    env = worker_env | SECRETS | {"RADAR_LOG_LEVEL": "DEBUG"}
    settings = load_settings(environ=env)
    ensure_topics(settings)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        events = simulated(1)
        produce(settings, events)
        from confluent_kafka import Producer

        raw = Producer(settings.kafka_client_config())
        for value in MALFORMED.values():
            raw.produce(topic_names(settings)[Topic.CALLS], value=value)
        raw.flush(10)
        worker.wait_for("SELECT uniqExact(event_id) FROM events", len({e.event_id for e in events}))
        assert worker.run is not None
        with urllib.request.urlopen(f"{worker.run.url}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        errors = []
        for sql in ("SELECT * FROM nowhere", "DROP TABLE events", "SELECT 1 SETTINGS readonly=0"):
            with pytest.raises(QueryError) as error:
                query_worker(worker.run, sql)
            errors.append(str(error.value))
        dead_letters = b"".join(
            read_topic_to_end(settings, topic_names(settings)[Topic.DEAD_LETTER])
        )
        token = worker.run.token  # the endpoint's own, in its 0600 run file only
    finally:
        worker.stop()
    config = subprocess.run(
        [sys.executable, "-m", "cli", "config"],
        env=os.environ | env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    log = (tmp_path / "worker.log").read_text(errors="replace")

    assert "***" in config
    assert token not in log
    assert token not in metrics
    assert len(log) > 1000  # DEBUG: the worker said a lot
    for name, secret in SECRETS.items():
        for where, text in (("log", log), ("metrics", metrics), ("radar config", config)):
            assert secret not in text, f"{name} in the {where}"
        assert all(secret not in e for e in errors), f"{name} in a /query error"
        assert secret.encode() not in dead_letters, f"{name} on the dead-letter topic"
