"""Stored events onto the detection topic, keyed by customer (see ``radar/routing.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from radar.events import Event
from radar.progress import ProgressReport
from radar.routing import DetectionRouter
from streams.detection_format import Command, command_headers, encode_event, encode_report
from streams.publisher import Headers, KafkaPublisher, OutboundMessage


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
        headers = command_headers(Command.WATERMARK)
        await self._publish(self._to_every_partition(self.feed_id, encode_report(report), headers))

    def _to_every_partition(
        self, key: bytes | None, value: bytes, headers: Headers
    ) -> list[OutboundMessage]:
        if self._partitions is None:
            self._partitions = self._publish.partitions()
        return [OutboundMessage(key, value, headers, p) for p in range(self._partitions)]
