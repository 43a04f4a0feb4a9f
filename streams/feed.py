"""Stored events onto the detection topic, keyed by customer (see ``radar/routing.py``)."""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Final

from radar.events import Event
from radar.progress import ProgressReport
from radar.routing import DetectionRouter
from streams.detection_format import (
    Command,
    command_headers,
    encode_event,
    encode_events,
    encode_report,
)
from streams.publisher import Headers, KafkaPublisher, OutboundMessage

# Events per message, at most: well below Kafka's 1 MB message limit for any event.
EVENTS_PER_MESSAGE: Final = 500


def partition_of(key: str, partitions: int) -> int:
    """librdkafka's default partitioner (CRC-32 of the key), which placed each customer
    when events travelled one per keyed message: a customer's partition does not move."""
    return zlib.crc32(key.encode()) % partitions


class DetectionFeed:
    """An ``on_stored`` hook of the ingestor: returns once the detection topic holds the
    batch, so input offsets are committed only for events the detectors will see."""

    def __init__(self, publish: KafkaPublisher, router: DetectionRouter | None = None) -> None:
        self._publish = publish
        self._router = router or DetectionRouter()
        self._partitions: int | None = None
        self.feed_id = uuid.uuid4().hex.encode()

    async def __call__(self, events: Sequence[Event]) -> None:
        """One message per detection partition (and 500 events), the events in their order."""
        partitions = self._partition_count()
        by_partition: defaultdict[int, list[bytes]] = defaultdict(list)
        for event in events:
            key = self._router.key(event)
            value = encode_event(event)
            if key is None:  # every partition's shard needs it
                for partition in range(partitions):
                    by_partition[partition].append(value)
            else:
                by_partition[partition_of(key, partitions)].append(value)
        headers = command_headers(Command.EVENTS)
        await self._publish(
            [
                OutboundMessage(None, encode_events(values[i : i + EVENTS_PER_MESSAGE]), headers, p)
                for p, values in by_partition.items()
                for i in range(0, len(values), EVENTS_PER_MESSAGE)
            ]
        )

    async def announce(self, report: ProgressReport) -> None:
        """Tell every detection partition how far in event time this feed has fed them."""
        headers = command_headers(Command.WATERMARK)
        await self._publish(self._to_every_partition(self.feed_id, encode_report(report), headers))

    def _to_every_partition(
        self, key: bytes | None, value: bytes, headers: Headers
    ) -> list[OutboundMessage]:
        return [OutboundMessage(key, value, headers, p) for p in range(self._partition_count())]

    def _partition_count(self) -> int:
        if self._partitions is None:
            self._partitions = self._publish.partitions()
        return self._partitions
