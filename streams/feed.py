"""Stored events onto the detection topic, keyed by customer (see ``radar/routing.py``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from enum import StrEnum

from radar.events import Event
from radar.routing import DetectionRouter
from streams.journal import encode_event
from streams.publisher import Headers, KafkaPublisher, OutboundMessage

COMMAND_HEADER = "radar.command"


class Command(StrEnum):
    """Messages on the detection topic that are not events (the header's value)."""

    TICK = "tick"  # from the worker owning the partition: value = send time (ms, 8 bytes)
    # from a feed: key = feed id, value = its low watermark and the send time (ms, 8 bytes each)
    WATERMARK = "watermark"


class DetectionFeed:
    """An ``on_stored`` hook of the ingestor: returns once the detection topic holds the
    batch, so input offsets are committed only for events the detectors will see."""

    def __init__(self, publish: KafkaPublisher, router: DetectionRouter | None = None) -> None:
        self._publish = publish
        self._router = router or DetectionRouter()
        self._partitions: int | None = None
        self.feed_id = uuid.uuid4().hex.encode()

    async def __call__(self, events: Sequence[Event]) -> None:
        messages: list[OutboundMessage] = []
        for event in events:
            key = self._router.key(event)
            value = encode_event(event)
            if key is None:
                messages += self._to_every_partition(None, value, [])
            else:
                messages.append(OutboundMessage(key.encode(), value, []))
        await self._publish(messages)

    async def announce(self, low_watermark: int) -> None:
        """Tell every detection partition how far in event time this feed has fed them."""
        headers: Headers = [(COMMAND_HEADER, Command.WATERMARK.value.encode())]
        value = low_watermark.to_bytes(8, "big") + (time.time_ns() // 1_000_000).to_bytes(8, "big")
        await self._publish(self._to_every_partition(self.feed_id, value, headers))

    def _to_every_partition(
        self, key: bytes | None, value: bytes, headers: Headers
    ) -> list[OutboundMessage]:
        if self._partitions is None:
            self._partitions = self._publish.partitions()
        return [OutboundMessage(key, value, headers, p) for p in range(self._partitions)]
