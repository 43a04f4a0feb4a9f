"""Stored events onto the detection topic, keyed by customer (see ``radar/routing.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from radar.events import Event
from radar.routing import DetectionRouter
from streams.journal import encode_event
from streams.publisher import KafkaPublisher, OutboundMessage


class DetectionFeed:
    """An ``on_stored`` hook of the ingestor: returns once the detection topic holds the
    batch, so input offsets are committed only for events the detectors will see."""

    def __init__(self, publish: KafkaPublisher, router: DetectionRouter | None = None) -> None:
        self._publish = publish
        self._router = router or DetectionRouter()
        self._partitions: int | None = None

    async def __call__(self, events: Sequence[Event]) -> None:
        messages: list[OutboundMessage] = []
        for event in events:
            key = self._router.key(event)
            value = encode_event(event)
            if key is None:  # every partition
                messages += [
                    OutboundMessage(None, value, [], partition)
                    for partition in range(self._partition_count())
                ]
            else:
                messages.append(OutboundMessage(key.encode(), value, []))
        await self._publish(messages)

    def _partition_count(self) -> int:
        if self._partitions is None:
            self._partitions = self._publish.partitions()
        return self._partitions
