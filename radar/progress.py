"""How far in event time the detectors may go: what the ingest has fed them, per input partition.

Kafka orders events only within a partition. When input partitions are behind (a backlog, a
restart), whole stretches of one partition reach the detectors before another's, so a
detector clock moved by event times alone would run ahead of the lagging partitions and
apply their events as late arrivals, with breaches that never happened.

Each ingest therefore reports, for every input partition it reads, a bound: "fed up to here"
while the partition is behind, "caught up as of now" once it is not. A detection partition
keeps the latest report about each input partition, whoever sent it, and its clock does not
pass the lowest bound. A report is about partitions, not about the worker that sent it: when
a worker dies, what it last said about its partitions holds the clock until their new owner
speaks, so no handover window lets the clock run ahead of input nobody has read yet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

InputPartition = tuple[str, int]  # (topic, partition)


@dataclass(frozen=True)
class ProgressReport:
    """One ingest's word, sent at ``sent_at``: ``bounds`` per input partition it reads, and
    ``partitions``, how many input partitions there are in all (read by anyone)."""

    sent_at: int
    bounds: Mapping[InputPartition, int]
    partitions: int

    def encode(self) -> bytes:
        return json.dumps(
            {
                "sent_at": self.sent_at,
                "partitions": self.partitions,
                "bounds": [[t, p, bound] for (t, p), bound in sorted(self.bounds.items())],
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> ProgressReport:
        raw = json.loads(data)
        return cls(
            int(raw["sent_at"]),
            {(str(t), int(p)): int(bound) for t, p, bound in raw["bounds"]},
            int(raw["partitions"]),
        )


class InputProgress:
    """The ingest's side: how far each of its input partitions has been fed."""

    def __init__(self) -> None:
        self._fed_until: dict[InputPartition, int] = {}

    def fed(self, partition: InputPartition, occurred_at: int) -> None:
        if occurred_at > self._fed_until.get(partition, 0):
            self._fed_until[partition] = occurred_at

    def report(
        self, lags: Mapping[InputPartition, int], now: int, partitions: int
    ) -> ProgressReport:
        """``lags``: messages still to read per assigned partition. A partition behind is
        bounded by what was fed from it (nothing yet: 0); one caught up by ``now``."""
        bounds = {
            partition: min(now, self._fed_until.get(partition, 0)) if lag > 0 else now
            for partition, lag in lags.items()
        }
        return ProgressReport(now, bounds, partitions)


@dataclass
class ProgressBoard:
    """A detection partition's side: the latest bound heard about each input partition."""

    heard: dict[InputPartition, tuple[int, int]] = field(default_factory=dict)  # (bound, sent_at)
    partitions: int = 0

    def hear(self, report: ProgressReport) -> None:
        """Newer word about a partition replaces older, whichever ingest said it."""
        for partition, bound in report.bounds.items():
            known = self.heard.get(partition)
            if known is None or report.sent_at >= known[1]:
                self.heard[partition] = (bound, report.sent_at)
        self.partitions = max(self.partitions, report.partitions)  # topics only ever grow

    def low_watermark(self) -> int | None:
        """The instant every input partition has been fed up to; ``None`` until every one
        has been heard of (a partition nobody spoke for yet could hold anything)."""
        if not self.heard or len(self.heard) < self.partitions:
            return None
        return min(bound for bound, _ in self.heard.values())

    def encode(self) -> bytes:
        return json.dumps(
            {
                "partitions": self.partitions,
                "heard": [[t, p, b, s] for (t, p), (b, s) in sorted(self.heard.items())],
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> ProgressBoard:
        raw = json.loads(data)
        heard = {(str(t), int(p)): (int(b), int(s)) for t, p, b, s in raw["heard"]}
        return cls(heard, int(raw["partitions"]))


@dataclass
class PartitionClock:
    """A detection partition's clock: moved by its events' times and its ticks' send times,
    never past what the ingest has fed (when it reports its progress), nor the wall clock."""

    board: ProgressBoard = field(default_factory=ProgressBoard)
    watermark: int = 0
    reported: bool = True  # the ingest reports its progress (the bulk engine does)

    def limit(self, now: int) -> int:
        """How far the clock may go at wall-clock ``now``. Until the ingest has spoken for
        every input partition, it stays where it is."""
        if not self.reported:
            return now
        low = self.board.low_watermark()
        return self.watermark if low is None else min(now, low)

    def on_event(self, occurred_at: int, limit: int) -> int:
        self.watermark = max(self.watermark, min(occurred_at, limit))
        return self.watermark

    def on_tick(self, sent_at: int, now: int) -> int:
        """A tick fires what was due when it was sent: everything before it in the
        partition has been applied by now."""
        self.watermark = max(self.watermark, min(sent_at, self.limit(now)))
        return self.watermark
