"""The SLA engine inside the worker: fed each stored batch, ticked every second.

State is event-sourced from ClickHouse rather than kept in Faust tables: the engine's rules
cross interactions (a callback links two calls, a chase links a call to a ticket, both by
customer), so its state cannot be partitioned by ``interaction_id`` alone. On its first call
the stage rebuilds the engine from the valid events of the last ``rebuild_hours`` in
``events``, advances it to the wall clock (deadlines that passed while the worker was down
fire now), and publishes only the records whose ids are not yet in ``sla_events``: a restart
neither repeats nor misses a record. Records are stored, then published.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence

from radar.clock import EventTimeClock, WallClock
from radar.dedup import DedupWindow, Seen, SourcePosition
from radar.events import Event
from radar.policies import PolicySet
from radar.sla.engine import SlaEngine
from radar.sla.records import SlaKind, SlaRecord
from radar.sla.sequencer import EventSequencer
from schemas.codec import CONTENT_TYPE_HEADER, PayloadFormat
from schemas.outputs import SlaEventCodec
from sinks.metrics import SlaMetrics
from sinks.writer import SinkWriter
from streams.publisher import KafkaPublisher, OutboundMessage

log = logging.getLogger(__name__)
_APPLIED = SourcePosition("sla", 0, 0)
_AVRO = [(CONTENT_TYPE_HEADER, PayloadFormat.AVRO.content_type.encode())]


class SlaStage:
    def __init__(
        self,
        policies: PolicySet,
        writer: SinkWriter,
        publish: KafkaPublisher,
        metrics: SlaMetrics,
        rebuild_hours: float = 72.0,
        clock: WallClock | None = None,
        applied_capacity: int = 1_000_000,
    ) -> None:
        self.engine = SlaEngine(policies)
        self._sequencer = EventSequencer(self.engine, policies.grace_ms)
        self._writer = writer
        self._publish = publish
        self._metrics = metrics
        self._rebuild_hours = rebuild_hours
        self._clock = clock or WallClock()
        self._applied = DedupWindow(applied_capacity)  # a redelivered event applies once
        self._codec = SlaEventCodec()
        self._rebuilt = False
        self._lock = asyncio.Lock()

    async def on_events(self, events: Sequence[Event]) -> None:
        async with self._lock:
            await self._ensure_rebuilt()
            records: list[SlaRecord] = []
            for event in events:
                if self._applied.observe(event.event_id, _APPLIED) is Seen.NEW:
                    records += self._sequencer.offer(event, self._clock.now())
            await self._emit(records)

    async def tick(self) -> None:
        async with self._lock:
            await self._ensure_rebuilt()
            await self._emit(self._sequencer.advance(self._clock.now()))
            self._gauge()

    async def _ensure_rebuilt(self) -> None:
        if self._rebuilt:
            return
        since = self._clock.now() - int(self._rebuild_hours * 3_600_000)
        events = await self._writer.call(self._writer.store.events_since, since)
        replay_clock = EventTimeClock()
        records: list[SlaRecord] = []
        for event in events:
            self._applied.remember(event.event_id, _APPLIED)
            records += self._sequencer.offer(event, replay_clock.observe(event.occurred_at))
        records += self._sequencer.advance(self._clock.now())
        known = await self._writer.call(
            self._writer.store.existing_sla_ids, [r.id for r in records]
        )
        missing = [r for r in records if r.id not in known]
        log.info(
            "SLA engine rebuilt from %d events: %d records, %d not yet emitted",
            len(events),
            len(records),
            len(missing),
        )
        self._rebuilt = True
        await self._emit(missing)

    async def _emit(self, records: Sequence[SlaRecord]) -> None:
        if not records:
            return
        await self._writer.write_sla(records)
        await self._publish(
            [
                OutboundMessage(
                    r.interaction_id.encode(), self._codec.encode_record(r), list(_AVRO)
                )
                for r in records
            ]
        )
        now = time.time()
        counts = Counter((r.channel, r.metric, r.kind.value, r.queue or "") for r in records)
        for labels, n in counts.items():
            self._metrics.records.labels(*labels).inc(n)
        for record in records:
            if record.kind is SlaKind.BREACH and record.due_at is not None:
                self._metrics.detection_latency.observe(max(0.0, now - record.due_at / 1000))

    def _gauge(self) -> None:
        running: Counter[str] = Counter()
        at_risk: Counter[str] = Counter()
        breached: Counter[str] = Counter()
        for interaction in self.engine.interactions.values():
            queue = interaction.queue or ""
            for timer in interaction.timers.values():
                running[queue] += 1
                if timer.breach_id is not None:
                    breached[queue] += 1
                elif timer.fired_warnings:
                    at_risk[queue] += 1
        for gauge, counts in (
            (self._metrics.running, running),
            (self._metrics.at_risk, at_risk),
            (self._metrics.breached_open, breached),
        ):
            gauge.clear()
            for queue, n in counts.items():
                gauge.labels(queue).set(n)
