"""The detectors inside the worker: fed each stored batch, ticked every second.

Each detector (the SLA engine, the missing-assignee detector) runs behind its own sequencer
and writes to its own table and topic through an ``Output``. State is event-sourced from
ClickHouse rather than kept in Faust tables: the SLA rules cross interactions (a callback
links two calls, a chase links a call to a ticket, both by customer), so the state cannot be
partitioned by ``interaction_id`` alone. On its first call the stage rebuilds every detector
from the valid events of the last ``rebuild_hours`` in ``events``, advances it to the wall
clock (deadlines that passed while the worker was down fire now), and emits only records whose
ids are not yet in the output's table: a restart neither repeats nor misses a record.
Records are stored, then published.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from radar.clock import EventTimeClock, WallClock
from radar.dedup import DedupWindow, Seen, SourcePosition
from radar.events import Event
from radar.sequencer import EventSequencer
from schemas.codec import CONTENT_TYPE_HEADER, PayloadFormat
from sinks.writer import SinkWriter
from streams.publisher import KafkaPublisher, OutboundMessage

log = logging.getLogger(__name__)
_APPLIED = SourcePosition("detectors", 0, 0)
_AVRO = [(CONTENT_TYPE_HEADER, PayloadFormat.AVRO.content_type.encode())]


class DetectorRecord(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def interaction_id(self) -> str: ...


@dataclass
class Output:
    """Where one detector's records go, and how they are counted."""

    name: str
    sequencer: EventSequencer[Any]
    table: str
    insert: Callable[[Sequence[Any]], None]  # a ClickHouseStore method
    publish: KafkaPublisher
    encode: Callable[[Any], bytes]
    count: Callable[[Sequence[Any]], None]
    gauge: Callable[[], None]
    # records of the outputs before this one, turned into this one's (churn reads SLA records)
    absorb: Callable[[list[Any], int], list[Any]] | None = None


class DetectionStage:
    def __init__(
        self,
        writer: SinkWriter,
        outputs: Sequence[Output],
        rebuild_hours: float = 72.0,
        clock: WallClock | None = None,
        applied_capacity: int = 1_000_000,
    ) -> None:
        self.outputs = list(outputs)
        self._writer = writer
        self._rebuild_hours = rebuild_hours
        self._clock = clock or WallClock()
        self._applied = DedupWindow(applied_capacity)  # a redelivered event applies once
        self._rebuilt = False
        self._lock = asyncio.Lock()

    async def on_events(self, events: Sequence[Event]) -> None:
        async with self._lock:
            await self._ensure_rebuilt()
            fresh = [e for e in events if self._applied.observe(e.event_id, _APPLIED) is Seen.NEW]
            now = self._clock.now()
            upstream: list[Any] = []
            for output in self.outputs:
                records: list[Any] = []
                for event in fresh:
                    records += output.sequencer.offer(event, now)
                records += self._absorbed(output, upstream, now)
                await self._emit(output, records)
                upstream += records

    async def tick(self) -> None:
        async with self._lock:
            await self._ensure_rebuilt()
            now = self._clock.now()
            upstream: list[Any] = []
            for output in self.outputs:
                records = output.sequencer.advance(now)
                records += self._absorbed(output, upstream, now)
                await self._emit(output, records)
                upstream += records
                output.gauge()

    async def _ensure_rebuilt(self) -> None:
        if self._rebuilt:
            return
        since = self._clock.now() - int(self._rebuild_hours * 3_600_000)
        store = self._writer.store
        events = await self._writer.call(store.events_since, since)
        for event in events:
            self._applied.remember(event.event_id, _APPLIED)
        upstream: list[Any] = []
        for output in self.outputs:
            replay_clock = EventTimeClock()
            records: list[Any] = []
            for event in events:
                records += output.sequencer.offer(event, replay_clock.observe(event.occurred_at))
            records += output.sequencer.advance(self._clock.now())
            records += self._absorbed(output, upstream, self._clock.now())
            upstream += records
            known = await self._writer.call(
                store.existing_ids, output.table, [r.id for r in records]
            )
            missing = [r for r in records if r.id not in known]
            log.info(
                "%s rebuilt from %d events: %d records, %d not yet emitted",
                output.name,
                len(events),
                len(records),
                len(missing),
            )
            await self._emit(output, missing)
        self._rebuilt = True

    @staticmethod
    def _absorbed(output: Output, upstream: list[Any], now: int) -> list[Any]:
        return output.absorb(upstream, now) if output.absorb is not None and upstream else []

    async def _emit(self, output: Output, records: Sequence[DetectorRecord]) -> None:
        if not records:
            return
        await self._writer.write(output.table, output.insert, records)
        await output.publish(
            [
                OutboundMessage(r.interaction_id.encode(), output.encode(r), list(_AVRO))
                for r in records
            ]
        )
        output.count(records)
