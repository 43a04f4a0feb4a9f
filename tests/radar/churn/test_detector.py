"""Silent churn, scenario by scenario (issue 5): reasons, silence, clearing, no flapping."""

from __future__ import annotations

import itertools
from typing import Any

from radar.churn.detector import ChurnDetector, ChurnLevel, ChurnRecord
from radar.events import Direction, Event, EventType, Priority, iso_to_millis
from radar.sequencer import EventSequencer
from radar.sla.records import SlaKind, SlaRecord

E = EventType
DAY = 86_400_000
_ids = itertools.count(1)


class Customer:
    def __init__(self, customer: str = "C1") -> None:
        self.customer = customer
        self.detector = ChurnDetector()
        self.sequencer = EventSequencer(self.detector, 0)
        self.records: list[ChurnRecord] = []

    @staticmethod
    def t(day: int, hour: int = 10) -> int:
        return iso_to_millis(f"2026-03-{day:02d}T{hour:02d}:00:00Z")

    def send(
        self, event_type: EventType, day: int, interaction: str, hour: int = 10, **fields: Any
    ) -> Customer:
        at = self.t(day, hour)
        event = Event(
            f"e{next(_ids)}",
            event_type,
            at,
            interaction,
            customer_id=self.customer,
            queue="q",
            **fields,
        )
        self.records += self.sequencer.offer(event, at)
        return self

    def call(self, day: int, hour: int = 10) -> Customer:
        iid = f"call-{day}-{hour}"
        self.send(E.CALL_QUEUED, day, iid, hour, direction=Direction.INBOUND)
        self.send(E.CALL_ANSWERED, day, iid, hour, agent_id="A1")
        return self.send(E.CALL_ENDED, day, iid, hour, agent_id="A1")

    def sla(self, kind: SlaKind, metric: str, day: int, interaction: str = "T1") -> Customer:
        at = self.t(day)
        record = SlaRecord(
            f"r{next(_ids)}", kind, "p", metric, "ticket", 1, interaction, self.customer, "q",
            None, "g", 3_600_000, 3_600_000, at - 3_600_000, at, at, at, False,
        )  # fmt: skip
        self.records += self.detector.absorb([record])
        return self

    def until(self, day: int) -> Customer:
        self.records += self.sequencer.advance(self.t(day))
        return self

    def levels(self) -> list[str]:
        return [r.level.value for r in self.records]


def loyal(days: range) -> Customer:
    """A customer who calls every day: a usual gap of one day."""
    c = Customer()
    for day in days:
        c.call(day)
    return c


def test_two_breaches_and_a_chase_then_silence_is_silent_with_exactly_those_reasons() -> None:
    c = loyal(range(1, 8))
    c.send(E.TICKET_CREATED, 8, "T1", priority=Priority.HIGH)
    c.sla(SlaKind.BREACH, "first_reply_time", 8).sla(SlaKind.CUSTOMER_CHASE, "first_reply_time", 8)
    c.sla(SlaKind.BREACH, "next_reply_time", 9)
    c.sla(SlaKind.BREACH, "first_reply_time", 9, interaction="T2")
    assert c.levels() == ["watch", "at_risk"]
    c.until(10)
    assert c.levels() == ["watch", "at_risk"]  # one day quiet: as usual for them
    c.until(14)
    assert c.levels() == ["watch", "at_risk", "silent"]
    silent = c.records[-1]
    assert silent.previous_level is ChurnLevel.AT_RISK
    assert (
        silent.changed_at == c.t(8) + 3 * DAY
    )  # three usual gaps (one day) after the last contact
    assert [r.reason for r in silent.reasons] == [
        "first_reply_time breached",
        "chased a reply",
        "next_reply_time breached",
        "first_reply_time breached",
    ]
    assert [r.contribution for r in silent.reasons] == [1.5, 1.0, 1.0, 1.5]


def test_the_same_history_then_a_return_and_a_happy_rating_clears() -> None:
    c = loyal(range(1, 8))
    c.sla(SlaKind.BREACH, "first_reply_time", 8).sla(SlaKind.CUSTOMER_CHASE, "first_reply_time", 8)
    c.sla(SlaKind.BREACH, "next_reply_time", 9).sla(SlaKind.BREACH, "first_reply_time", 9, "T2")
    c.until(14)
    assert c.levels()[-1] == "silent"
    c.send(E.TICKET_CREATED, 15, "T3", priority=Priority.LOW)
    assert c.levels()[-1] == "at_risk"  # back in touch, still at risk
    c.send(E.TICKET_CSAT, 16, "T3", score=5)
    assert c.levels()[-1] == "none"
    assert c.records[-1].reasons[-1].reason == "CSAT 5"


def test_a_loyal_customer_with_one_breach_does_not_flap() -> None:
    c = loyal(range(1, 20))
    c.sla(SlaKind.BREACH, "first_reply_time", 5)
    for day in range(20, 31):
        c.call(day)
    assert c.levels() == []


def test_hysteresis_keeps_a_level_near_its_threshold() -> None:
    c = loyal(range(1, 4))
    c.sla(SlaKind.BREACH, "promised_update", 4)  # 2.0: watch
    assert c.levels() == ["watch"]
    c.sla(SlaKind.RETRACTED, "first_reply_time", 4)  # -1.5 -> 0.5 ... below exit (1.4): none
    assert c.levels() == ["watch", "none"]
    c.sla(SlaKind.BREACH, "first_reply_time", 4)  # 2.0 again: watch
    c.until(5)  # a day of decay: 2.0 -> 1.9, above the exit threshold
    assert c.levels() == ["watch", "none", "watch"]


def test_the_score_decays_and_the_level_falls_without_an_event() -> None:
    c = Customer()
    for day in (1, 10, 20):  # a customer who writes every ten days or so
        c.call(day)
    c.sla(SlaKind.BREACH, "promised_update", 20).sla(SlaKind.BREACH, "feedback_follow_up", 20)
    assert c.levels() == ["watch", "at_risk"]
    c.until(31)  # 4.0 halves every 14 days: below 2.8 after ~7 days, long before silence
    assert c.levels() == ["watch", "at_risk", "watch"]
    assert c.records[-1].changed_at < c.t(28)
    assert c.records[-1].score < 4.0 * 0.7


def test_silence_is_not_forgotten_by_decay() -> None:
    c = loyal(range(1, 4))
    c.sla(SlaKind.BREACH, "promised_update", 4).sla(SlaKind.BREACH, "feedback_follow_up", 4)
    c.until(31)
    assert c.levels() == ["watch", "at_risk", "silent"]  # only a return ends silence


def test_repeat_contact_abandoned_chat_low_csat_and_reopen_count() -> None:
    c = Customer()
    c.send(E.TICKET_CREATED, 1, "T1", priority=Priority.LOW)
    c.send(E.CHAT_REQUESTED, 1, "CH1", hour=11)  # the ticket is still open: explain again
    c.send(E.CHAT_ABANDONED, 1, "CH1", hour=11)
    c.send(E.TICKET_STATUS_CHANGED, 2, "T1", status="solved")
    c.send(E.TICKET_CSAT, 2, "T1", hour=12, score=1)
    assert [r.reason for r in c.records[-1].reasons] == [
        "repeat contact on another channel while one is open",
        "chat abandoned",
        "CSAT 1",
    ]
    c.send(E.TICKET_STATUS_CHANGED, 3, "T1", status="open")
    assert c.records[-1].reasons[-1].reason == "ticket reopened"
    assert c.levels() == ["watch", "at_risk"]


def test_ids_are_deterministic() -> None:
    def run() -> list[str]:
        c = loyal(range(1, 5))
        c.sla(SlaKind.BREACH, "promised_update", 5).sla(SlaKind.BREACH, "feedback_follow_up", 5)
        return [r.id for r in c.until(20).records]

    assert run() == run()
