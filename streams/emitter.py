"""Storing and publishing detector records behind the detection agent, in order.

What makes a detection batch durable is its journal, not its records: a record lost with a
crashed worker is missing from its table when the shard is rebuilt, and is emitted then (and
since each record is published before it is written, one missing from its topic is missing
from its table too). So
the agent hands its records over and goes on with the next batch, and the emitter writes what
piled up meanwhile as one insert and one publish per sink: fewer, larger writes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from radar.outputs import Output
from radar.shard import ShardRecords
from schemas.codec import CONTENT_TYPE_HEADER, PayloadFormat
from sinks.metrics import OutputMetrics
from sinks.writer import SinkWriter
from streams.publisher import KafkaPublisher, OutboundMessage

log = logging.getLogger(__name__)
_AVRO = [(CONTENT_TYPE_HEADER, PayloadFormat.AVRO.content_type.encode())]
# Exit status when records could not be written: the next owner of the partitions rebuilds
# their shards and writes every record missing from the tables.
EXIT_UNWRITTEN_RECORDS = 76
# Fault injection for the test that kills a worker between a record's publication and its
# table write (tests/integration/test_chaos.py); nothing else sets it.
_FAILPOINT = "RADAR_FAILPOINT"
CRASH_AFTER_PUBLISH = "crash-after-publish"
EXIT_FAILPOINT = 137


@dataclass
class DetectorSink:
    """Where one detector's records go: its ``Output`` says which tables, topic and counts."""

    output: Output[Any]
    insert: Callable[[Sequence[Any]], None]  # into the output's tables
    publish: KafkaPublisher | None = None  # None: the tables only
    encode: Callable[[Any], bytes] | None = None
    metrics: OutputMetrics | None = None


class RecordEmitter:
    def __init__(
        self, sinks: Sequence[DetectorSink], writer: SinkWriter, max_pending: int = 8
    ) -> None:
        self.sinks = list(sinks)
        self._writer = writer
        self._queue: asyncio.Queue[ShardRecords] = asyncio.Queue(max_pending)
        self._task: asyncio.Task[None] | None = None

    async def put(self, records: ShardRecords) -> None:
        """Queue records; waits while ``max_pending`` batches are queued (backpressure)."""
        if not records:
            return
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="emitter")
        await self._queue.put(records)

    async def drain(self) -> None:
        """Return once everything queued so far is written."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            records = ShardRecords()
            records.extend(await self._queue.get())
            taken = 1
            while not self._queue.empty():
                records.extend(self._queue.get_nowait())
                taken += 1
            try:
                await self.emit(records)
            except Exception:
                log.critical("detector records could not be written; exiting", exc_info=True)
                os._exit(EXIT_UNWRITTEN_RECORDS)
            for _ in range(taken):
                self._queue.task_done()

    async def emit(self, records: ShardRecords) -> None:
        for sink in self.sinks:
            await self.emit_to(sink, records[sink.output.name])

    async def emit_to(self, sink: DetectorSink, records: Sequence[Any]) -> None:
        """Published first, then written: a rebuilt shard re-emits the records its table
        lacks, so a record in the table has been acknowledged by Kafka too. A crash between
        the two publishes a record twice (same id) rather than never."""
        if not records:
            return
        if sink.publish is not None and sink.encode is not None:
            key, encode = sink.output.key, sink.encode
            await sink.publish(
                [OutboundMessage(key(r).encode(), encode(r), list(_AVRO)) for r in records]
            )
            if os.environ.get(_FAILPOINT) == CRASH_AFTER_PUBLISH:
                os._exit(EXIT_FAILPOINT)
        await self._writer.write(sink.output.table, sink.insert, records)
        if sink.metrics is not None:
            sink.metrics.count(records)
