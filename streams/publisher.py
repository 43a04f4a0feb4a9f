"""Publishing output records to Kafka with confluent-kafka, waiting for every acknowledgement.

Outputs are written at least once (a retried batch publishes again); their deterministic ids
let consumers drop repeats.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import Producer

from infra.settings import Settings

log = logging.getLogger(__name__)
_BY_KEY = -1  # librdkafka's RD_KAFKA_PARTITION_UA: let the partitioner choose
Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    key: bytes | None
    value: bytes | None
    headers: Headers
    partition: int | None = None  # None: by key


class PublishFailed(RuntimeError):
    pass


def create_producer(settings: Settings) -> Producer:
    """The worker's one producer: every topic it writes shares its connections, threads and
    batches. Idempotent, so a retry never reorders or doubles a partition's messages."""
    return Producer(
        settings.kafka_client_config() | {"enable.idempotence": True, "acks": "all", "linger.ms": 5}
    )


class KafkaPublisher:
    """One topic's messages through a shared producer. ``run`` executes the blocking part on
    the worker's one publishing thread: delivery reports are served by whichever thread
    flushes, so publishers sharing a producer must not flush from two threads at once."""

    def __init__(self, producer: Producer, topic: str, run: Callable[..., Any]) -> None:
        self._producer = producer
        self.topic = topic
        self._run = run

    def partitions(self, timeout: float = 30.0) -> int:
        metadata = self._producer.list_topics(self.topic, timeout=timeout)
        return len(metadata.topics[self.topic].partitions)

    async def __call__(self, messages: Sequence[OutboundMessage]) -> dict[int, int]:
        """Publish and wait for every acknowledgement; returns the last offset written to
        each partition."""
        if not messages:
            return {}
        offsets: dict[int, int] = await self._run(self._publish, messages)
        return offsets

    def _publish(self, messages: Sequence[OutboundMessage]) -> dict[int, int]:
        """Until every message is acknowledged: while the brokers are away (a restart, an
        outage) librdkafka retries, and messages whose delivery timed out are sent again, in
        their order. Only an error no retry can fix (too large, not authorized) raises."""
        offsets: dict[int, int] = {}

        def delivered(failed: dict[int, Any], index: int, error: Any, message: Any) -> None:
            if error is not None:
                failed[index] = error
            else:
                partition = message.partition()
                offsets[partition] = max(offsets.get(partition, -1), message.offset())

        pending = list(messages)
        delay = 0.5
        while pending:
            failed: dict[int, Any] = {}
            for index, message in enumerate(pending):
                self._produce(message, partial(delivered, failed, index))
            while (remaining := self._producer.flush(30)) > 0:
                log.warning("%s: %d messages wait for Kafka", self.topic, remaining)
            hopeless = [e for e in failed.values() if not _retriable(e)]
            if hopeless:
                raise PublishFailed(f"{self.topic}: {[str(e) for e in hopeless[:3]]}")
            if failed:
                log.warning("%s: %d messages not delivered, sending again", self.topic, len(failed))
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
            pending = [pending[i] for i in sorted(failed)]
        return offsets

    def _produce(self, message: OutboundMessage, on_delivery: Callable[..., None]) -> None:
        while True:
            try:
                self._producer.produce(
                    self.topic,
                    message.value,
                    message.key,
                    _BY_KEY if message.partition is None else message.partition,
                    headers=message.headers,
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                self._producer.poll(0.1)


def _retriable(error: Any) -> bool:
    """Delivery errors a later try can fix: the brokers were away or the message timed out."""
    from confluent_kafka import KafkaError

    if error.fatal():
        return False
    code = error.code()
    return bool(error.retriable()) or code in (
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.REQUEST_TIMED_OUT,
    )
