"""How far in event time the ingest has fed the detectors: its low watermark.

Kafka orders events only within a partition. When input partitions are behind (a backlog, a
restart), whole stretches of one partition reach the detectors before another's, so a
detector clock moved by event times alone would run ahead of the lagging partitions and
apply their events as late arrivals. The ingest announces instead: "every partition still
behind has been fed up to here; the others are caught up", and the detectors do not move
past that.
"""

from __future__ import annotations

from collections.abc import Mapping

TopicPartition = tuple[str, int]


class InputProgress:
    def __init__(self) -> None:
        self._fed_until: dict[TopicPartition, int] = {}

    def fed(self, partition: TopicPartition, occurred_at: int) -> None:
        if occurred_at > self._fed_until.get(partition, 0):
            self._fed_until[partition] = occurred_at

    def low_watermark(self, lags: Mapping[TopicPartition, int], now: int) -> int:
        """``lags``: messages still to read per assigned partition (unknown: leave it out)."""
        behind = [self._fed_until.get(partition, 0) for partition, lag in lags.items() if lag > 0]
        return min([now, *behind])
