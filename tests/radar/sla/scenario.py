"""A small driver for hand-written SLA scenarios: events at wall-clock-like times, records out."""

from __future__ import annotations

import itertools
from typing import Any

from radar.clock import EventTimeClock
from radar.events import Event, EventType, iso_to_millis
from radar.policies import parse_policies
from radar.sequencer import EventSequencer
from radar.sla.engine import SlaEngine
from radar.sla.records import SlaKind, SlaRecord

_ids = itertools.count(1)


class Scenario:
    def __init__(self, policies_yaml: str, zone: str = "Z") -> None:
        self.policies = parse_policies(policies_yaml, "test-policies")
        self.engine = SlaEngine(self.policies)
        self.sequencer = EventSequencer(self.engine, self.policies.grace_ms)
        self.clock = EventTimeClock()
        self.zone = zone
        self.records: list[SlaRecord] = []

    def t(self, local: str) -> int:
        """``"2026-01-09T17:00"`` in the scenario's zone (``Z`` or an offset like ``+09:00``)."""
        return iso_to_millis(
            f"{local}:00{self.zone}" if local.count(":") == 1 else local + self.zone
        )

    def make(self, event_type: EventType, at: str, interaction: str = "T1", **fields: Any) -> Event:
        fields.setdefault("customer_id", "C1")
        fields.setdefault("queue", "billing")
        return Event(f"e{next(_ids)}", event_type, self.t(at), interaction, **fields)

    def send(
        self, event_type: EventType, at: str, interaction: str = "T1", **fields: Any
    ) -> Scenario:
        self.deliver(self.make(event_type, at, interaction, **fields))
        return self

    def deliver(self, event: Event) -> list[SlaRecord]:
        new = self.sequencer.offer(event, self.clock.observe(event.occurred_at))
        self.records += new
        return new

    def until(self, at: str) -> Scenario:
        """Let time pass (the watermark reaches ``at``) without events."""
        watermark = self.clock.observe(self.t(at)) + self.policies.grace_ms
        self.records += self.sequencer.advance(watermark)
        return self

    def kinds(self, metric: str | None = None) -> list[str]:
        return [r.kind.value for r in self.records if metric is None or r.metric == metric]

    def only(self, kind: SlaKind, metric: str) -> SlaRecord:
        found = [r for r in self.records if r.kind is kind and r.metric == metric]
        assert len(found) == 1, self.kinds()
        return found[0]
