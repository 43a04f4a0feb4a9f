from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from sinks.clickhouse import ClickHouseStore
from sinks.metrics import PipelineMetrics
from streams.endpoint import QueryError, RunFile, WorkerEndpoint, query_worker
from tests.sinks.test_clickhouse import ingested


@pytest.fixture
def endpoint(store: ClickHouseStore) -> Iterator[WorkerEndpoint]:
    registry = CollectorRegistry()
    PipelineMetrics(registry).events.labels("call", "call.queued").inc(7)
    server = WorkerEndpoint("127.0.0.1", 0, registry, store)
    server.start()
    yield server
    server.stop()


def _run_file(endpoint: WorkerEndpoint, token: str | None = None) -> RunFile:
    return RunFile(os.getpid(), endpoint.host, endpoint.port, token or endpoint.token)


def test_metrics_are_served(endpoint: WorkerEndpoint) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/metrics") as response:
        text = response.read().decode()
    assert 'radar_events_total{channel="call",type="call.queued"} 7.0' in text


def test_queries_run_through_the_worker(endpoint: WorkerEndpoint, store: ClickHouseStore) -> None:
    store.insert_events([ingested(i) for i in range(4)])
    result = query_worker(
        _run_file(endpoint), "SELECT count() AS n, max(source_offset) AS o FROM events"
    )
    assert result.columns == ["n", "o"]
    assert result.rows == [[4, 3]]


def test_a_wrong_token_is_refused(endpoint: WorkerEndpoint) -> None:
    with pytest.raises(QueryError, match="bad token"):
        query_worker(_run_file(endpoint, token="guess"), "SELECT 1")


def test_writes_are_refused_and_errors_explained(endpoint: WorkerEndpoint) -> None:
    with pytest.raises(QueryError, match="only SELECT"):
        query_worker(_run_file(endpoint), "TRUNCATE TABLE events")
    with pytest.raises(QueryError, match=r"(?i)unknown table|doesn't exist|does not exist"):
        query_worker(_run_file(endpoint), "SELECT * FROM no_such_table")


def test_unknown_paths_are_404(endpoint: WorkerEndpoint) -> None:
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/tables")
    assert error.value.code == 404


def test_the_run_file_is_private_and_names_a_live_process(tmp_path: Path) -> None:
    RunFile(os.getpid(), "127.0.0.1", 1234, "t").write(tmp_path)
    assert RunFile.path(tmp_path).stat().st_mode & 0o777 == 0o600
    assert RunFile.read(tmp_path) == RunFile(os.getpid(), "127.0.0.1", 1234, "t")
    RunFile(2**22 + 12345, "127.0.0.1", 1234, "t").write(tmp_path)  # no such process
    assert RunFile.read(tmp_path) is None
