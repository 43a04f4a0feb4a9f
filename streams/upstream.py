"""The upstream side: sending contract events to their topics with confluent-kafka.

Idempotent producer with ``acks=all``: a retried send is written once. Every message's
delivery report is checked; ``flush`` says how many were delivered and which failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from infra.settings import Settings
from radar.events import Event
from schemas.codec import CONTENT_TYPE_HEADER, EventCodec, PayloadFormat
from streams.publisher import Headers
from streams.topics import topic_for, topic_names


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: list[str] = field(default_factory=list)


class EventProducer:
    def __init__(self, settings: Settings, codec: EventCodec, fmt: PayloadFormat) -> None:
        from confluent_kafka import Producer

        self._producer = Producer(
            settings.kafka_client_config()
            | {
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 20,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 500_000,
            }
        )
        self._codec = codec
        self._format = fmt
        self._topics = topic_names(settings)
        self._headers: Headers = [(CONTENT_TYPE_HEADER, fmt.content_type.encode())]
        self.report = DeliveryReport()

    def _on_delivery(self, error: object, message: object) -> None:
        if error is None:
            self.report.delivered += 1
        else:
            self.report.failed.append(str(error))

    def send(self, event: Event) -> None:
        self.send_raw(
            self._topics[topic_for(event.type)],
            event.key.encode(),
            self._codec.encode(event, self._format),
            self._headers,
        )

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
    ) -> None:
        """Send bytes as they are (also used to send malformed input in tests)."""
        while True:
            try:
                self._producer.produce(
                    topic, value, key, headers=headers, on_delivery=self._on_delivery
                )
                break
            except BufferError:  # local queue full: let deliveries drain
                self._producer.poll(0.1)
        self._producer.poll(0)

    def send_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.send(event)

    def close(self, timeout: float = 10.0) -> DeliveryReport:
        """Deliver what is queued, then stop the client's threads, so that none of them goes
        on reconnecting (and logging) once the broker is gone."""
        report = self.flush(timeout)
        self._producer.close()
        return report

    def flush(self, timeout: float = 60.0) -> DeliveryReport:
        remaining = self._producer.flush(timeout)
        if remaining:
            self.report.failed.append(f"{remaining} messages not delivered within {timeout:.0f} s")
        return self.report
