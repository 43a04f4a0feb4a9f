"""Publishing output records to Kafka with confluent-kafka, waiting for every acknowledgement.

Outputs are written at least once (a retried batch publishes again); their deterministic ids
let consumers drop repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from radar.config import Settings

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


class KafkaPublisher:
    """``run`` executes the blocking part (a thread pool's submit, awaited by the caller)."""

    def __init__(self, settings: Settings, topic: str, run: Callable[..., Any]) -> None:
        from confluent_kafka import Producer

        self._producer = Producer(
            settings.kafka_client_config()
            | {"enable.idempotence": True, "acks": "all", "linger.ms": 5}
        )
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
        failures: list[str] = []
        offsets: dict[int, int] = {}

        def delivered(error: object, message: Any) -> None:
            if error is not None:
                failures.append(str(error))
            else:
                partition = message.partition()
                offsets[partition] = max(offsets.get(partition, -1), message.offset())

        for message in messages:
            while True:
                try:
                    self._producer.produce(
                        self.topic,
                        message.value,
                        message.key,
                        _BY_KEY if message.partition is None else message.partition,
                        headers=message.headers,
                        on_delivery=delivered,
                    )
                    break
                except BufferError:
                    self._producer.poll(0.1)
        remaining = self._producer.flush(30)
        if failures or remaining:
            raise PublishFailed(f"{self.topic}: {failures[:3]} ({remaining} not delivered)")
        return offsets
