"""The SLA engine: every open interaction's state machine, and a heap of their deadlines.

``apply`` takes events in time order (see ``radar/sla/sequencer.py``); ``fire_until`` speaks
for deadlines that passed. Two facts cross interactions, through an index by customer: an
outbound call achieves the ``callback_time`` of that customer's abandoned calls, and a new
contact on any channel is a ``customer_chase`` on each of the customer's tickets that owe a
reply. Interactions that can no longer start a target (closed, ended) are forgotten.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

from radar.events import Channel, Direction, Event, EventType
from radar.policies import PolicySet
from radar.sla.call import CallSla
from radar.sla.chat import ChatSla
from radar.sla.interaction import InteractionSla
from radar.sla.records import SlaRecord
from radar.sla.ticket import TicketSla

_MACHINES: dict[Channel, type[InteractionSla]] = {
    Channel.TICKET: TicketSla,
    Channel.CHAT: ChatSla,
    Channel.CALL: CallSla,
}
_NEW_CONTACTS = frozenset({EventType.CALL_QUEUED, EventType.CHAT_REQUESTED, EventType.TICKET_CREATED})


class SlaEngine:
    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self.interactions: dict[str, InteractionSla] = {}
        self._deadlines: list[tuple[int, str]] = []
        self._by_customer: defaultdict[str, set[str]] = defaultdict(set)

    def apply(self, event: Event, now: int) -> list[SlaRecord]:
        machine = _MACHINES.get(event.type.channel)
        if machine is None or event.interaction_id is None:
            return []
        interaction = self.interactions.get(event.interaction_id)
        if interaction is None:
            interaction = machine(event.interaction_id, self.policies)
            self.interactions[event.interaction_id] = interaction
        records = interaction.on_event(event, now)
        if event.customer_id is not None:
            self._by_customer[event.customer_id].add(event.interaction_id)
            records += self._across_interactions(event, now)
        self._settle(interaction)
        return records

    def _across_interactions(self, event: Event, now: int) -> list[SlaRecord]:
        assert event.customer_id is not None
        records: list[SlaRecord] = []
        for other_id in sorted(self._by_customer[event.customer_id] - {event.interaction_id}):
            other = self.interactions.get(other_id)
            if other is None:
                continue
            if (
                event.type is EventType.CALL_QUEUED
                and event.direction is Direction.OUTBOUND
                and isinstance(other, CallSla)
                and other.awaits_callback
            ):
                records += other.called_back(event.occurred_at, now)
            elif (
                event.type in _NEW_CONTACTS
                and isinstance(other, TicketSla)
                and (owed := other.owes_reply()) is not None
            ):
                records += other.chase(owed, event, now)
            self._settle(other)
        return records

    def fire_until(self, upto: int, now: int) -> list[SlaRecord]:
        """Warnings, breaches and escalations due at or before ``upto``, in time order."""
        records: list[SlaRecord] = []
        while self._deadlines and self._deadlines[0][0] <= upto:
            at, interaction_id = heapq.heappop(self._deadlines)
            interaction = self.interactions.get(interaction_id)
            if interaction is None:
                continue
            records += interaction.fire(at, now)
            self._settle(interaction)
        return records

    def _settle(self, interaction: InteractionSla) -> None:
        if interaction.finished:
            self._forget(interaction)
            return
        deadline = interaction.next_deadline()
        if deadline is not None:
            heapq.heappush(self._deadlines, (deadline, interaction.interaction_id))

    def _forget(self, interaction: InteractionSla) -> None:
        self.interactions.pop(interaction.interaction_id, None)
        if interaction.customer_id is not None:
            mine = self._by_customer.get(interaction.customer_id)
            if mine is not None:
                mine.discard(interaction.interaction_id)
                if not mine:
                    del self._by_customer[interaction.customer_id]

    def running_targets(self) -> int:
        return sum(len(i.timers) for i in self.interactions.values())
