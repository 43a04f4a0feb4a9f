"""Silent churn (domain.md 3.2): customers whose bad experiences pile up, then go quiet.

Per customer, across channels, negative experiences add to a risk score that halves every
``half_life``; good ones reduce it. Levels rise at entry thresholds and fall only below lower
exit thresholds (hysteresis), so a score hovering near a line does not flap. ``silent`` means
at risk and no contact for longer than ``silence_multiple`` times the customer's own usual gap
between contacts (an exponentially weighted mean, with a floor), and is found by a deadline,
not by an event. Every level change is a record with the reasons that moved the score.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from radar.detector_settings import ChurnSettings
from radar.events import Author, Channel, Direction, Event, EventType, TicketStatus, millis_to_iso
from radar.records import json_record, record_id
from radar.sla.records import SlaKind, SlaRecord

DAY_MS: Final = 86_400_000


class ChurnLevel(StrEnum):
    NONE = "none"
    WATCH = "watch"
    AT_RISK = "at_risk"
    SILENT = "silent"


_RANK: Final = {
    ChurnLevel.NONE: 0,
    ChurnLevel.WATCH: 1,
    ChurnLevel.AT_RISK: 2,
    ChurnLevel.SILENT: 3,
}


@dataclass(frozen=True, slots=True)
class Reason:
    at: int
    reason: str
    contribution: float
    interaction_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": millis_to_iso(self.at),
            "reason": self.reason,
            "contribution": self.contribution,
            "interaction_id": self.interaction_id,
        }


@dataclass(frozen=True, slots=True)
class ChurnRecord:
    id: str
    customer_id: str
    level: ChurnLevel
    previous_level: ChurnLevel
    score: float
    reasons: tuple[Reason, ...]
    changed_at: int
    last_contact_at: int | None
    usual_gap_ms: int
    detected_at: int

    def as_json(self) -> dict[str, Any]:
        record = json_record("churn", self, ("changed_at", "last_contact_at", "detected_at"))
        record["score"] = round(self.score, 3)
        record["reasons"] = [reason.as_json() for reason in self.reasons]
        return record


@dataclass(slots=True)  # one per customer seen: hundreds of thousands
class CustomerProfile:
    customer_id: str
    score: float = 0.0
    scored_at: int = 0
    level: ChurnLevel = ChurnLevel.NONE
    changes: int = 0
    contacts: int = 0
    last_contact_at: int | None = None
    mean_gap_ms: float | None = None
    # immutable and shared while empty: most customers never have a reason or a solved ticket
    reasons: tuple[Reason, ...] = ()
    # open interactions and, at the same index, their channels: two small tuples cost a
    # third of a dict, and a customer has a few open at most
    open_ids: tuple[str, ...] = ()
    open_channels: tuple[Channel, ...] = ()
    solved: frozenset[str] = frozenset()

    def opened(self, interaction_id: str, channel: Channel) -> None:
        self.closed(interaction_id)
        self.open_ids += (interaction_id,)
        self.open_channels += (channel,)

    def closed(self, interaction_id: str) -> None:
        if interaction_id in self.open_ids:
            index = self.open_ids.index(interaction_id)
            self.open_ids = self.open_ids[:index] + self.open_ids[index + 1 :]
            self.open_channels = self.open_channels[:index] + self.open_channels[index + 1 :]

    def open_elsewhere(self, interaction_id: str, channel: Channel) -> bool:
        """Whether another interaction is open on another channel."""
        return any(
            c is not channel and other != interaction_id
            for other, c in zip(self.open_ids, self.open_channels, strict=True)
        )

    def decayed(self, at: int, half_life_ms: int) -> float:
        if self.score == 0.0 or at <= self.scored_at:
            return self.score
        return float(self.score * 0.5 ** ((at - self.scored_at) / half_life_ms))


_CONTACTS: Final = frozenset(
    {EventType.CALL_QUEUED, EventType.CHAT_REQUESTED, EventType.TICKET_CREATED}
)
_ENDS: Final = frozenset(
    {EventType.CALL_ENDED, EventType.CALL_ABANDONED, EventType.CHAT_ENDED, EventType.CHAT_ABANDONED}
)
MAX_REASONS: Final = 20


class ChurnDetector:
    def __init__(self, settings: ChurnSettings | None = None) -> None:
        self.settings = settings or ChurnSettings()
        self.customers: dict[str, CustomerProfile] = {}
        self._deadlines: list[tuple[int, str]] = []

    # -- inputs ------------------------------------------------------------------------

    def apply(self, event: Event, now: int) -> list[ChurnRecord]:
        customer = event.customer_id
        if customer is None or event.interaction_id is None:
            return []
        profile = self.customers.setdefault(customer, CustomerProfile(customer))
        at, iid, s = event.occurred_at, event.interaction_id, self.settings
        kind = event.type
        changes: list[tuple[str, float]] = []
        contacted = False
        if kind in _CONTACTS and not (
            kind is EventType.CALL_QUEUED and event.direction is Direction.OUTBOUND
        ):
            channel = event.type.channel
            if profile.open_elsewhere(iid, channel):
                changes.append(
                    ("repeat contact on another channel while one is open", s.repeat_contact)
                )
            profile.opened(iid, channel)
            contacted = self._contact(profile, at)
        elif kind in _ENDS:
            profile.closed(iid)
            if kind is EventType.CHAT_ABANDONED:
                changes.append(("chat abandoned", s.chat_abandoned))
        elif kind is EventType.TICKET_STATUS_CHANGED:
            if event.status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
                profile.closed(iid)
                profile.solved |= {iid}
            elif iid in profile.solved:
                profile.solved -= {iid}
                profile.opened(iid, Channel.TICKET)
                changes.append(("ticket reopened", s.reopened))
        elif (
            kind is EventType.TICKET_COMMENTED
            and event.author is Author.CUSTOMER
            and event.public
            and at != profile.last_contact_at  # a ticket's opening message is not a second contact
        ):
            contacted = self._contact(profile, at)
        elif kind is EventType.TICKET_CSAT and event.score is not None:
            if event.score <= 2:
                changes.append((f"CSAT {event.score}", s.low_csat))
            elif event.score >= 4:
                changes.append((f"CSAT {event.score}", s.happy_csat))
        return self._score(profile, changes, at, now, iid, contacted)

    def absorb(self, records: list[SlaRecord]) -> list[ChurnRecord]:
        """SLA records the customer suffered (or enjoyed), each counted at the instant it is
        about (a breach's due time, a chase's message), and known when the record was."""
        out: list[ChurnRecord] = []
        s = self.settings
        for record in records:
            if record.customer_id is None:
                continue
            profile = self.customers.setdefault(
                record.customer_id, CustomerProfile(record.customer_id)
            )
            change: tuple[str, float] | None = None
            if record.kind is SlaKind.BREACH:
                weight = s.breach_weights.get(record.metric, s.default_breach_weight)
                change = (f"{record.metric} breached", weight)
            elif record.kind is SlaKind.CUSTOMER_CHASE:
                change = ("chased a reply", s.chase)
            elif record.kind is SlaKind.RETRACTED:
                change = (
                    "breach retracted",
                    -s.breach_weights.get(record.metric, s.default_breach_weight),
                )
            elif (
                record.kind is SlaKind.ACHIEVED
                and record.metric in s.early_metrics
                and not record.late
                and record.elapsed_ms * 2 < record.target_ms
            ):
                change = (f"{record.metric} met early", s.achieved_early)
            if change is not None:
                out += self._score(
                    profile, [change], record.occurred_at, record.detected_at, record.interaction_id
                )
        return out

    # -- score and levels --------------------------------------------------------------

    def _contact(self, profile: CustomerProfile, at: int) -> bool:
        s = self.settings
        if profile.last_contact_at is not None and at > profile.last_contact_at:
            gap = at - profile.last_contact_at
            profile.mean_gap_ms = (
                gap
                if profile.mean_gap_ms is None
                else (1 - s.gap_weight) * profile.mean_gap_ms + s.gap_weight * gap
            )
        profile.contacts += 1
        profile.last_contact_at = max(at, profile.last_contact_at or at)
        return True

    def usual_gap(self, profile: CustomerProfile) -> int:
        if profile.contacts < 3 or profile.mean_gap_ms is None:
            return self.settings.default_gap_ms
        return int(profile.mean_gap_ms)

    def silent_after(self, profile: CustomerProfile) -> int | None:
        if profile.last_contact_at is None:
            return None
        s = self.settings
        return profile.last_contact_at + max(
            s.min_silence_ms, int(s.silence_multiple * self.usual_gap(profile))
        )

    def _score(
        self,
        profile: CustomerProfile,
        changes: list[tuple[str, float]],
        at: int,
        now: int,
        iid: str | None,
        contacted: bool = False,
    ) -> list[ChurnRecord]:
        for reason, contribution in changes:
            profile.score = max(0.0, profile.decayed(at, self.settings.half_life_ms) + contribution)
            profile.scored_at = max(at, profile.scored_at)
            profile.reasons = (*profile.reasons, Reason(at, reason, contribution, iid))[
                -MAX_REASONS:
            ]
        records = self._relevel(profile, at, now, contacted)
        self._schedule(profile)
        return records

    def _relevel(
        self, profile: CustomerProfile, at: int, now: int, contacted: bool = False
    ) -> list[ChurnRecord]:
        s = self.settings
        score = profile.decayed(at, s.half_life_ms)
        level = profile.level
        if level is ChurnLevel.SILENT and contacted:
            level = ChurnLevel.AT_RISK  # back in touch: no longer silent, still at risk
        if score >= s.at_risk:
            level = max(level, ChurnLevel.AT_RISK, key=_RANK.__getitem__)
        elif score >= s.watch and level is ChurnLevel.NONE:
            level = ChurnLevel.WATCH
        if level is ChurnLevel.SILENT and not contacted:
            return []  # silence ends when the customer comes back, not by forgetting
        if level is ChurnLevel.AT_RISK and score < s.at_risk * s.exit_factor:
            level = ChurnLevel.WATCH if score >= s.watch * s.exit_factor else ChurnLevel.NONE
        if level is ChurnLevel.WATCH and score < s.watch * s.exit_factor:
            level = ChurnLevel.NONE
        silent_at = self.silent_after(profile)
        if level is ChurnLevel.AT_RISK and silent_at is not None and silent_at <= at:
            level = ChurnLevel.SILENT
        return self._change(profile, level, score, at, now)

    def _change(
        self, profile: CustomerProfile, level: ChurnLevel, score: float, at: int, now: int
    ) -> list[ChurnRecord]:
        if level is profile.level:
            return []
        previous, profile.level = profile.level, level
        profile.changes += 1
        return [
            ChurnRecord(
                id=record_id("churn", profile.customer_id, profile.changes, level),
                customer_id=profile.customer_id,
                level=level,
                previous_level=previous,
                score=score,
                reasons=profile.reasons,
                changed_at=at,
                last_contact_at=profile.last_contact_at,
                usual_gap_ms=self.usual_gap(profile),
                detected_at=now,
            )
        ]

    # -- time --------------------------------------------------------------------------

    def _schedule(self, profile: CustomerProfile) -> None:
        """The next instant the level can change without an event: silence, or decay."""
        s = self.settings
        candidates = []
        if (
            profile.level is ChurnLevel.AT_RISK
            and (silent_at := self.silent_after(profile)) is not None
        ):
            candidates.append(silent_at)
        exit_at = {
            ChurnLevel.WATCH: s.watch * s.exit_factor,
            ChurnLevel.AT_RISK: s.at_risk * s.exit_factor,
        }.get(profile.level)
        if exit_at is not None and profile.score > exit_at > 0:
            candidates.append(
                profile.scored_at + int(s.half_life_ms * math.log2(profile.score / exit_at)) + 1
            )
        if candidates:
            heapq.heappush(self._deadlines, (min(candidates), profile.customer_id))

    def fire_until(self, upto: int, now: int) -> list[ChurnRecord]:
        records: list[ChurnRecord] = []
        while self._deadlines and self._deadlines[0][0] <= upto:
            at, customer = heapq.heappop(self._deadlines)
            profile = self.customers.get(customer)
            if profile is None:
                continue
            records += self._relevel(profile, at, now)
            self._schedule(profile)
        return records

    def next_deadline(self) -> int | None:
        return self._deadlines[0][0] if self._deadlines else None

    def levels(self) -> dict[ChurnLevel, int]:
        counts = dict.fromkeys(ChurnLevel, 0)
        for profile in self.customers.values():
            counts[profile.level] += 1
        return counts
