"""Runs blocking sink calls on one dedicated thread, retrying writes until they succeed.

A write is never abandoned half-way: Faust acknowledges (and later commits) a batch as soon as
the agent leaves it, even when the agent is cancelled, so on cancellation the writer finishes
the write in progress first. If that cannot succeed within ``shutdown_patience`` seconds,
``SinkUnavailable`` tells the caller not to let the batch be acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from sinks.clickhouse import ClickHouseStore, IngestedEvent
from sinks.metrics import PipelineMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")


class SinkUnavailable(RuntimeError):
    """A batch could not be written before shutdown; it must not be acknowledged."""


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 0.2
    max_delay: float = 10.0
    shutdown_patience: float = 15.0

    def delays(self) -> Iterator[float]:
        delay = self.first_delay
        while True:
            yield delay
            delay = min(delay * 2, self.max_delay)


class SinkWriter:
    def __init__(
        self,
        store: ClickHouseStore,
        metrics: PipelineMetrics,
        policy: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.store = store
        self._metrics = metrics
        self._policy = policy
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
        self._stopping = threading.Event()

    async def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run one blocking store call (a query) on the sink thread."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def write_events(self, batch: Sequence[IngestedEvent]) -> None:
        await self.write("events", self.store.insert_events, batch)

    async def write(
        self, table: str, insert: Callable[[Sequence[T]], None], batch: Sequence[T]
    ) -> None:
        """Write ``batch`` with ``insert`` on the sink thread, retrying until it succeeds."""
        if not batch:
            return
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._thread, self._write_with_retries, table, insert, batch)
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            self._stopping.set()
            await future  # raises SinkUnavailable if it gave up
            raise

    def _write_with_retries(
        self, table: str, insert: Callable[[Sequence[T]], None], batch: Sequence[T]
    ) -> None:
        started = time.monotonic()
        stopping_since: float | None = None
        delays = self._policy.delays()
        while True:
            try:
                insert(batch)
                break
            except Exception as exc:
                self._metrics.sink_errors.labels(table).inc()
                log.warning("writing %d rows to %s failed, will retry: %s", len(batch), table, exc)
            if self._stopping.is_set():
                stopping_since = stopping_since or time.monotonic()
                if time.monotonic() - stopping_since > self._policy.shutdown_patience:
                    raise SinkUnavailable(f"{len(batch)} rows for {table} not written")
            time.sleep(next(delays))
        self._metrics.sink_batches.labels(table).inc()
        self._metrics.sink_rows.labels(table).inc(len(batch))
        self._metrics.sink_latency.labels(table).observe(time.monotonic() - started)

    def close(self) -> None:
        self._stopping.set()
        self._thread.shutdown(wait=True)
