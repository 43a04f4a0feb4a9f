from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry

from sinks.clickhouse import ClickHouseStore, IngestedEvent
from sinks.metrics import PipelineMetrics
from sinks.writer import RetryPolicy, SinkUnavailable, SinkWriter
from tests.sinks.test_clickhouse import count, ingested

FAST = RetryPolicy(first_delay=0.01, max_delay=0.05, shutdown_patience=0.3)


class FlakyStore:
    """The real store behind a fault: the first ``failures`` inserts fail, each after ``delay``."""

    def __init__(self, store: ClickHouseStore, failures: int, delay: float = 0.0) -> None:
        self._store = store
        self.failures = failures
        self.delay = delay

    def insert_events(self, batch: Sequence[IngestedEvent]) -> None:
        time.sleep(self.delay)
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("server went away")
        self._store.insert_events(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _writer(store: object, metrics: PipelineMetrics) -> SinkWriter:
    return SinkWriter(cast(ClickHouseStore, store), metrics, FAST)


def _value(metrics: PipelineMetrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name, {"table": "events"})
    return value or 0.0


def test_a_failing_write_is_retried_until_it_succeeds(store: ClickHouseStore) -> None:
    metrics = PipelineMetrics(CollectorRegistry())
    writer = _writer(FlakyStore(store, failures=3), metrics)
    asyncio.run(writer.write_events([ingested(i) for i in range(10)]))
    assert count(store, "SELECT count() FROM events") == 10
    assert _value(metrics, "radar_sink_errors_total") == 3
    assert _value(metrics, "radar_sink_rows_total") == 10
    assert _value(metrics, "radar_sink_batches_total") == 1


def test_cancelling_waits_for_the_write_in_progress(store: ClickHouseStore) -> None:
    """Faust acks a batch when its agent is cancelled: the rows must be stored by then."""
    writer = _writer(FlakyStore(store, failures=1, delay=0.1), PipelineMetrics(CollectorRegistry()))

    async def cancel_mid_write() -> None:
        task = asyncio.create_task(writer.write_events([ingested(i) for i in range(5)]))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_mid_write())
    assert count(store, "SELECT count() FROM events") == 5


def test_a_sink_still_down_at_shutdown_refuses_the_batch(store: ClickHouseStore) -> None:
    writer = _writer(FlakyStore(store, failures=10_000), PipelineMetrics(CollectorRegistry()))

    async def cancel_while_down() -> None:
        task = asyncio.create_task(writer.write_events([ingested(1)]))
        await asyncio.sleep(0.05)
        task.cancel()
        await task

    with pytest.raises(SinkUnavailable):
        asyncio.run(cancel_while_down())
    assert count(store, "SELECT count() FROM events") == 0
