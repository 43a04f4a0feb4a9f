"""Integration fixtures: one real Apache Kafka broker per session, workers as child processes.

Each test gets its own topic prefix, consumer group and data directory, so tests share the
broker without seeing each other's messages.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.local_kafka import LocalKafka, free_port
from infra.local_prometheus import LocalPrometheus
from infra.settings import Settings, load_settings
from sinks.clickhouse import QueryResult
from streams.endpoint import RunFile, query_worker

_tests = itertools.count(1)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    defaults = load_settings(environ={})
    broker = LocalKafka(
        tmp_path_factory.mktemp("kafka"),
        defaults.cache_dir,
        port=free_port(),
        controller_port=free_port(),
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(params=["bulk", "agent"])
def engine(request: pytest.FixtureRequest) -> str:
    """Both ingest engines must keep the same promises."""
    return str(request.param)


@pytest.fixture
def worker_env(kafka: LocalKafka, tmp_path: Path, engine: str) -> dict[str, str]:
    n = next(_tests)
    return {
        "RADAR_INGEST_ENGINE": engine,
        "RADAR_DATA_DIR": str(tmp_path / "data"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "RADAR_TOPIC_PREFIX": f"it{n}.",
        "RADAR_APP_ID": f"radar-it{n}",
        "RADAR_INSTANCE_ID": f"it{n}-worker",  # static membership: a restart rejoins at once
        "RADAR_HTTP_PORT": "0",
        "RADAR_TOPIC_PARTITIONS": "3",
        "RADAR_LOG_LEVEL": "WARNING",
        "RADAR_POLICIES": "",  # the SLA engine has tests of its own (test_sla_live.py)
        "RADAR_EVENT_MAX_AGE_HOURS": "0",  # simulated days of the past, replayed live
        "RADAR_SNAPSHOT_SECONDS": "2",  # kills and takeovers find snapshots to start from
    }


@pytest.fixture
def worker_settings(worker_env: dict[str, str]) -> Settings:
    return load_settings(environ=worker_env)


class WorkerProcess:
    """``radar worker`` as a child process, reached through its run file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.data_dir = Path(env["RADAR_DATA_DIR"])
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.run: RunFile | None = None

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", "worker"],
                env=os.environ | self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited: {self._log.read_text()[-3000:]}")
            run = RunFile.read(self.data_dir)
            if run is not None and run.pid == self.process.pid:
                self.run = run
                return self
            time.sleep(0.2)
        raise AssertionError("worker did not start")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    def query(self, sql: str) -> QueryResult:
        assert self.run is not None
        return query_worker(self.run, sql)

    def scalar(self, sql: str) -> int:
        return int(self.query(sql).rows[0][0])

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        assert self.run is not None
        with urllib.request.urlopen(f"{self.run.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def metric_total(self, name: str, **labels: str) -> float:
        return sum(
            value
            for (sample, sample_labels), value in self.metrics().items()
            if sample == name and set(labels.items()) <= set(sample_labels)
        )

    def wait_for(self, sql: str, expected: int, timeout: float = 90.0) -> int:
        deadline = time.monotonic() + timeout
        value = -1
        while time.monotonic() < deadline:
            value = self.scalar(sql)
            if value >= expected:
                return value
            time.sleep(0.2)
        raise AssertionError(f"{sql!r} reached {value}, expected {expected}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(worker_env, tmp_path / "worker.log")
    yield process
    if process.process is not None:
        process.stop()


def prometheus_scraping(
    worker: WorkerProcess, folder: Path, rule_files: Sequence[Path] = ()
) -> LocalPrometheus:
    """Debian's Prometheus scraping ``worker`` every second (with ``alerts/`` rules unless
    ``rule_files`` are given)."""
    assert worker.run is not None
    target = worker.run.url.removeprefix("http://")
    return LocalPrometheus(folder, [target], free_port(), rule_files, "1s").start()


def dump(obj: object) -> bytes:
    return json.dumps(obj).encode()


def read_topic_to_end(settings: Settings, topic: str, timeout: float = 60) -> list[bytes]:
    """Every value on ``topic``, from the start to the high watermark of each partition."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        settings.kafka_client_config()
        | {"group.id": f"reader-{next(_tests)}", "enable.auto.commit": False}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, 0) for p, end in ends.items() if end > 0])
        positions = dict.fromkeys(ends, 0)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while any(positions[p] < end for p, end in ends.items()):
            assert time.monotonic() < deadline, f"{topic} not read to its end"
            for message in consumer.consume(1000, 0.5):
                offset = message.offset()
                if message.error() is None and offset is not None:
                    positions[message.partition()] = offset + 1
                    values.append(message.value() or b"")
        return values
    finally:
        consumer.close()


def ticket_policies(first_reply: str) -> str:
    """A policy file with one target: a ticket's first reply within ``first_reply``."""
    return (
        "policies:\n  - name: tickets\n    match: {channel: ticket}\n"
        f"    targets: {{first_reply_time: {first_reply}}}\n    warnings: []\ngrace: 1s\n"
    )
