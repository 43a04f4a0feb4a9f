"""One ingest step over a batch of raw input messages: decode, validate, dedup, route, write.

Kept free of Faust so it can run under a plain consumer (``bench/``) and in tests; the agent
in ``streams/app.py`` only turns Faust events into ``InputMessage``s.
Order within a batch: dead letters are delivered and rows written before the call returns,
and only then may the caller acknowledge the batch (at-least-once, nothing lost).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from radar.dedup import SourcePosition
from radar.events import Channel, Event, EventType, Rejection
from radar.intake import Duplicate, Intake
from schemas.codec import CONTENT_TYPE_HEADER, EventCodec
from schemas.registry import SchemaRegistryUnavailable
from sinks.clickhouse import IngestedEvent, now_millis
from sinks.metrics import PipelineMetrics
from sinks.writer import SinkWriter
from streams.dead_letter import DeadLetter, dead_letter
from streams.publisher import Headers

log = logging.getLogger(__name__)

PublishDeadLetters = Callable[[Sequence[DeadLetter]], Awaitable[None]]
OnStored = Callable[[Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class InputMessage:
    key: bytes | None
    value: bytes | None
    headers: Headers
    position: SourcePosition

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1") if isinstance(value, bytes) else value
        return None


@dataclass
class BatchOutcome:
    accepted: list[IngestedEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0


class Ingestor:
    def __init__(
        self,
        codec: EventCodec,
        intake: Intake,
        writer: SinkWriter,
        metrics: PipelineMetrics,
        publish_dead_letters: PublishDeadLetters,
        dedup_warm_hours: float = 6.0,
        on_stored: OnStored | None = None,
    ) -> None:
        self._codec = codec
        self._intake = intake
        self._writer = writer
        self._metrics = metrics
        self._publish_dead_letters = publish_dead_letters
        self._warm_hours = dedup_warm_hours
        self._warmed: set[tuple[str, int]] = set()
        self._on_stored = on_stored

    async def process(self, messages: Sequence[InputMessage]) -> BatchOutcome:
        await self._warm_dedup(messages)
        outcome = BatchOutcome()
        ingested_at = now_millis()
        by_type: Counter[EventType] = Counter()
        duplicates: Counter[Channel] = Counter()
        for message in messages:
            fmt, decoded = await self._decode(message)
            admitted = self._intake.admit(decoded, message.position, ingested_at)
            if isinstance(admitted, Event):
                outcome.accepted.append(IngestedEvent(admitted, message.position, fmt, ingested_at))
                by_type[admitted.type] += 1
            elif isinstance(admitted, Duplicate):
                outcome.duplicates += 1
                duplicates[admitted.event.type.channel] += 1
            else:
                outcome.dead_letters.append(self._dead_letter(admitted, message))
        if outcome.dead_letters:
            await self._publish_dead_letters(outcome.dead_letters)
        await self._writer.write_events(outcome.accepted)
        if self._on_stored is not None:  # detectors see only what is durably stored
            await self._on_stored([item.event for item in outcome.accepted])
        self._count(outcome, by_type, duplicates)
        return outcome

    async def _decode(self, message: InputMessage) -> tuple[str, Event | Rejection]:
        """With the schema registry unreachable, the ingest pauses until it answers: the input
        is not wrong, so it is not dead-lettered, and nothing after it is read meanwhile."""
        content_type = message.header(CONTENT_TYPE_HEADER)
        delay = 1.0
        while True:
            try:
                return self._codec.decode_with_format(message.value, content_type)
            except SchemaRegistryUnavailable as exc:
                log.warning("schema registry unavailable, ingest paused %.0f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _count(
        self, outcome: BatchOutcome, by_type: Counter[EventType], duplicates: Counter[Channel]
    ) -> None:
        """Metrics once per label set and batch: per-event ``labels()`` calls cost ~20 %."""
        for event_type, n in by_type.items():
            self._metrics.events.labels(event_type.channel.value, event_type.value).inc(n)
        for channel, n in duplicates.items():
            self._metrics.duplicates.labels(channel.value).inc(n)
        newest: dict[Channel, int] = {}
        for item in outcome.accepted:
            channel = item.event.type.channel
            if item.event.occurred_at > newest.get(channel, 0):
                newest[channel] = item.event.occurred_at
        now = time.time()
        for channel, occurred_at in newest.items():
            self._metrics.event_time_lag.labels(channel.value).set(now - occurred_at / 1000)
        for topic in {item.position.topic for item in outcome.accepted}:
            self._metrics.last_input_event.labels(topic).set(now)
        self._metrics.last_batch.set(now)

    def _dead_letter(self, rejection: Rejection, message: InputMessage) -> DeadLetter:
        self._metrics.dead_letters.labels(rejection.reason.value).inc()
        return dead_letter(rejection, message.key, message.value, message.position, message.headers)

    async def _warm_dedup(self, messages: Sequence[InputMessage]) -> None:
        """On the first message of a partition, reload the ids it recently wrote (restarts)."""
        for message in messages:
            tp = (message.position.topic, message.position.partition)
            if tp in self._warmed:
                continue
            self._warmed.add(tp)
            recent = await self._writer.call(
                self._writer.store.recent_event_ids,
                tp[0],
                tp[1],
                self._warm_hours,
                self._intake.dedup.capacity,
            )
            for event_id, offset in reversed(recent):
                self._intake.dedup.remember(event_id, SourcePosition(tp[0], tp[1], offset))
