"""The first step of every run, live or replay: a decoded input is admitted, rejected or dropped."""

from __future__ import annotations

from dataclasses import dataclass

from radar.dedup import DedupWindow, Seen, SourcePosition
from radar.events import Event, Rejection, RejectReason, millis_to_iso
from radar.pseudonyms import Pseudonymizer


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An event whose ``event_id`` was already admitted from another position."""

    event: Event


@dataclass(frozen=True, slots=True)
class EventTimeWindow:
    """How far an event's time may be from the clock it is judged by (the wall clock live,
    the newest admitted event in a replay): upstream clocks drift by seconds, not hours, and
    one event stamped years ahead would otherwise fire every deadline of every open target."""

    ahead_ms: int = 300_000
    behind_ms: int = 0  # 0: no limit

    def judge(self, event: Event, now: int) -> Rejection | None:
        if event.occurred_at > now + self.ahead_ms:
            return Rejection(
                RejectReason.IMPLAUSIBLE_TIME,
                f"occurred_at: {millis_to_iso(event.occurred_at)} is more than"
                f" {self.ahead_ms // 1000} s ahead of {millis_to_iso(now)}",
            )
        if self.behind_ms and event.occurred_at < now - self.behind_ms:
            return Rejection(
                RejectReason.IMPLAUSIBLE_TIME,
                f"occurred_at: {millis_to_iso(event.occurred_at)} is more than"
                f" {self.behind_ms // 3_600_000} h before {millis_to_iso(now)}",
            )
        return None


class Intake:
    def __init__(
        self,
        dedup: DedupWindow,
        window: EventTimeWindow | None = None,
        pseudonyms: Pseudonymizer | None = None,
    ) -> None:
        """``pseudonyms``: replace customer ids before anything downstream sees them."""
        self.dedup = dedup
        self.window = window or EventTimeWindow()
        self.pseudonyms = pseudonyms

    def admit(
        self, decoded: Event | Rejection, position: SourcePosition, now: int | None = None
    ) -> Event | Rejection | Duplicate:
        """``now``: the clock the event's time is judged by; ``None`` judges nothing."""
        if isinstance(decoded, Rejection):
            return decoded
        if now is not None and (implausible := self.window.judge(decoded, now)) is not None:
            return implausible
        if self.dedup.observe(decoded.event_id, position) is Seen.DUPLICATE:
            return Duplicate(decoded)
        return decoded if self.pseudonyms is None else self.pseudonyms.apply(decoded)
