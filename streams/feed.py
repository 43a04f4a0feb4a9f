"""Stored events onto the detection topic, keyed by customer (see ``radar/routing.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from enum import StrEnum

from radar.events import Event
from radar.progress import ProgressReport
from radar.routing import DetectionRouter
from streams.journal import encode_event
from streams.publisher import Headers, KafkaPublisher, OutboundMessage

COMMAND_HEADER = "radar.command"


class Command(StrEnum):
    """Messages on the detection topic that are not events (the header's value)."""

    TICK = "tick"  # from the worker owning the partition: value = send time (ms, 8 bytes)
    # from a feed: key = feed id, value = its ``ProgressReport`` (``radar/progress.py``)
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

    async def announce(self, report: ProgressReport) -> None:
        """Tell every detection partition how far in event time this feed has fed them."""
        headers: Headers = [(COMMAND_HEADER, Command.WATERMARK.value.encode())]
        await self._publish(self._to_every_partition(self.feed_id, report.encode(), headers))

    def _to_every_partition(
        self, key: bytes | None, value: bytes, headers: Headers
    ) -> list[OutboundMessage]:
        if self._partitions is None:
            self._partitions = self._publish.partitions()
        return [OutboundMessage(key, value, headers, p) for p in range(self._partitions)]
