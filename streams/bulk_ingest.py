"""The batch ingest engine: input topics read in bulk by confluent-kafka, inside the Faust worker.

Why not a Faust agent: Faust hands every message to its streams through a task of its own;
measured here, a Faust agent that does nothing tops out near 6,600 messages/s, while
librdkafka's ``consume(n)`` delivers over 100,000/s. This service keeps Faust's worker
lifecycle and runs beside its agents, but reads the firehose itself.

Offsets are committed by hand, after the batch's dead letters are delivered and its rows
stored; a batch interrupted by shutdown or a crash is simply read again (rows are idempotent).
Commits happen in the consuming thread between two ``consume`` calls, so a rebalance (which
librdkafka runs inside ``consume``) never revokes a partition with uncommitted, processed work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException
from mode import Service

from infra.settings import Settings
from radar.dedup import SourcePosition
from radar.progress import InputProgress, ProgressReport
from sinks.metrics import PipelineMetrics
from sinks.writer import SinkUnavailable
from streams.dead_letter import DeadLetter
from streams.ingest import Ingestor, InputMessage
from streams.publisher import KafkaPublisher
from streams.topics import INPUT_TOPICS, topic_names

log = logging.getLogger(__name__)
T = TypeVar("T")
# the brokers are asked for metadata this often, and waited for this long
_BROKER_CHECK_EVERY, _BROKER_CHECK_TIMEOUT = 5.0, 2.0


def _input_message(message: Any) -> InputMessage:
    headers = message.headers() or []
    return InputMessage(
        message.key(),
        message.value(),
        list(headers.items()) if isinstance(headers, dict) else headers,
        SourcePosition(message.topic(), message.partition(), message.offset()),
    )


class BulkIngest(Service):
    def __init__(
        self,
        settings: Settings,
        build_ingestor: Callable[[Callable[[Sequence[DeadLetter]], Any]], Ingestor],
        metrics: PipelineMetrics,
        dead_letters: KafkaPublisher,
        announce: Callable[[ProgressReport], Awaitable[None]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``announce`` receives the ingest's progress reports (``radar/progress.py``)."""
        super().__init__(**kwargs)
        self._settings = settings
        self._metrics = metrics
        self._announce = announce
        self._progress = InputProgress()
        self._announced_at = 0.0
        self._behind: set[tuple[str, int]] = set()  # input partitions behind when last announced
        self._committed: dict[tuple[str, int], int] = {}  # where unread partitions start
        self._input_partitions = 0  # in all the input topics, whoever reads them
        # offsets stored but not yet committed (the broker was away): committed with the next
        self._to_commit: dict[tuple[str, int], int] = {}
        self._broker_complaint_at = 0.0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-ingest")
        self._consumer = self._new_consumer()
        self._ingestor = build_ingestor(dead_letters)

    def _new_consumer(self) -> Consumer:
        settings = self._settings
        static = {"group.instance.id": settings.instance_id} if settings.instance_id else {}
        return Consumer(
            settings.kafka_client_config()
            | static
            | {
                "group.id": f"{settings.app_id}.ingest",
                "session.timeout.ms": int(settings.kafka_session_timeout * 1000),
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "partition.assignment.strategy": "cooperative-sticky",
                "fetch.max.bytes": 52_428_800,
                "queued.min.messages": 100_000,
            }
        )

    async def _replace_consumer(self, error: object) -> None:
        """A fatal error leaves a consumer unusable for good: after a broker restart, a
        static member can find itself fenced by its own rejoin. A new consumer joins the
        group and reads from the committed offsets; what is read again was stored already
        (rows collapse by ``event_id``, the detectors' journal drops repeats)."""
        log.warning("Kafka consumer failed for good (%s); starting a new one", error)
        self._metrics.kafka_errors.labels("fatal").inc()
        with suppress(Exception):
            await self._in_thread(self._consumer.close)
        self._consumer = self._new_consumer()
        self._to_commit.clear()
        self._committed.clear()
        self._behind = set()
        await self.on_start()

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def on_start(self) -> None:
        names = topic_names(self._settings)
        await self._in_thread(self._consumer.subscribe, [names[t] for t in INPUT_TOPICS])

    async def on_stop(self) -> None:
        await self._in_thread(self._consumer.close)  # commits nothing: auto-commit is off
        self._thread.shutdown(wait=True)

    @Service.task
    async def _consume(self) -> None:
        batch_size = self._settings.sink_batch_size
        timeout = self._settings.sink_batch_seconds
        while not self.should_stop:
            polled = await self._in_thread(self._consumer.consume, batch_size, timeout)
            messages = []
            fatal = None
            for message in polled:
                if (error := message.error()) is not None:
                    self._metrics.kafka_errors.labels("consume").inc()
                    log.warning("consumer error: %s", error)
                    fatal = error if _unusable(error) else fatal
                    continue
                messages.append(_input_message(message))
            if fatal is not None and not messages:
                await self._replace_consumer(fatal)
                continue
            if not messages:
                await self._commit_stored()
                await self._announce_progress(idle=True)
                continue
            # before its events, which the consumer has already read past: the detectors
            # must not run ahead of them, unless the last announcement already held them back
            unfed = frozenset((m.position.topic, m.position.partition) for m in messages)
            if not unfed <= self._behind:
                await self._announce_progress(idle=False, unfed=unfed)
            try:
                outcome = await self._ingestor.process(messages)
            except SinkUnavailable:
                log.critical("batch could not be stored; stopping without committing it")
                raise
            for item in outcome.accepted:
                position = item.position
                self._progress.fed((position.topic, position.partition), item.event.occurred_at)
            for stored in messages:
                at = stored.position
                self._to_commit[(at.topic, at.partition)] = at.offset + 1
            await self._commit_stored()
            await self._announce_progress(idle=False)

    async def _announce_progress(
        self, idle: bool, unfed: frozenset[tuple[str, int]] = frozenset()
    ) -> None:
        since = time.monotonic() - self._announced_at
        # idle, every consume that returned nothing (RADAR_SINK_BATCH_SECONDS): a deadline
        # fires once a report says the input is read past it, so this pace is part of the
        # breach latency (a report every second made it ~0.5 s longer on average)
        every = 0.0 if idle else 0.2
        if self._announce is None or (not unfed and since < every):
            return  # later announcements only move the clock on; they can wait a little
        try:
            lags = await self._in_thread(self._lags)
        except RuntimeError:  # the consumer was closed: the worker is stopping
            if self.should_stop:
                return
            raise
        except KafkaException as exc:  # the broker is away: say nothing, the clock waits
            self._complain("progress", f"progress not announced: {exc}")
            if _unusable(exc.args[0]):
                await self._replace_consumer(exc)
            return
        for key in unfed:
            lags[key] = max(lags.get(key, 0), 1)
        self._behind = {key for key, lag in lags.items() if lag > 0}
        if lags:  # nothing assigned (yet): nothing to say
            now = time.time_ns() // 1_000_000
            await self._announce(self._progress.report(lags, now, self._input_partitions))
        self._announced_at = time.monotonic()

    @Service.timer(_BROKER_CHECK_EVERY)
    async def _check_broker(self) -> None:
        """Ask the brokers for metadata now and then: a consumer reports a broker going away
        once or not at all, and the consume loop itself waits while a progress report does
        (publishers wait for the brokers), yet the outage must show for as long as it lasts
        (RadarKafkaUnreachable)."""
        try:
            await self._in_thread(self._consumer.list_topics, None, _BROKER_CHECK_TIMEOUT)
        except RuntimeError:  # the consumer was closed: the worker is stopping
            return
        except KafkaException as exc:
            self._complain("metadata", f"no broker answers: {exc}")

    def _lags(self) -> dict[tuple[str, int], int]:
        """Messages still to read per assigned partition. A partition nothing was read from
        yet starts at its committed offset, or (none committed) at its first."""
        if not self._input_partitions:
            names = topic_names(self._settings)
            metadata = self._consumer.list_topics(timeout=10).topics
            self._input_partitions = sum(
                len(metadata[names[t]].partitions) for t in INPUT_TOPICS if names[t] in metadata
            )
        positions = self._consumer.position(self._consumer.assignment())
        unread = [
            tp
            for tp in positions
            if tp.offset < 0 and (tp.topic, tp.partition) not in self._committed
        ]
        for tp in self._consumer.committed(unread, timeout=10) if unread else []:
            self._committed[(tp.topic, tp.partition)] = tp.offset
        committed = self._committed
        lags = {}
        for tp in positions:
            low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:  # nothing fetched from it yet
                low, high = self._consumer.get_watermark_offsets(tp, timeout=10)
            position = tp.offset if tp.offset >= 0 else committed.get((tp.topic, tp.partition), -1)
            lags[(tp.topic, tp.partition)] = max(0, high - (position if position >= 0 else low))
        return lags

    async def _commit_stored(self) -> None:
        """Commit what is stored. With the broker away the offsets wait for the next try:
        the consumer reconnects by itself, and until then a restart reads them again (the
        rows collapse by ``event_id``)."""
        if not self._to_commit:
            return
        try:
            await self._in_thread(self._commit, dict(self._to_commit))
        except KafkaException as exc:
            self._complain("commit", f"offsets not committed yet: {exc}")
            if _unusable(exc.args[0]):
                await self._replace_consumer(exc)
            return
        self._to_commit.clear()

    def _complain(self, operation: str, what: str) -> None:
        self._metrics.kafka_errors.labels(operation).inc()
        if time.monotonic() - self._broker_complaint_at > 10:
            log.warning("Kafka unavailable, retrying: %s", what)
            self._broker_complaint_at = time.monotonic()

    def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import TopicPartition

        self._consumer.commit(
            offsets=[TopicPartition(t, p, offset) for (t, p), offset in offsets.items()],
            asynchronous=False,
        )
        for (topic, partition), offset in offsets.items():
            _low, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), cached=True
            )
            if high >= 0:
                lag = max(0, high - offset)
                self._metrics.consumer_lag.labels(topic, str(partition)).set(lag)


def _unusable(error: KafkaError) -> bool:
    """Errors after which a consumer never works again. librdkafka raises the fencing of a
    static member as a plain error, then answers every later call with ``_FATAL``."""
    return bool(error.fatal()) or error.code() in (
        KafkaError._FATAL,
        KafkaError.FENCED_INSTANCE_ID,
    )
