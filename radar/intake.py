"""The first step of every run, live or replay: a decoded input is admitted, rejected or dropped."""

from __future__ import annotations

from dataclasses import dataclass

from radar.dedup import DedupWindow, Seen, SourcePosition
from radar.events import Event, Rejection


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An event whose ``event_id`` was already admitted from another position."""

    event: Event


class Intake:
    def __init__(self, dedup: DedupWindow) -> None:
        self.dedup = dedup

    def admit(
        self, decoded: Event | Rejection, position: SourcePosition
    ) -> Event | Rejection | Duplicate:
        if isinstance(decoded, Rejection):
            return decoded
        if self.dedup.observe(decoded.event_id, position) is Seen.DUPLICATE:
            return Duplicate(decoded)
        return decoded
