"""The SLA engine: every open interaction's state machine, and a heap of their deadlines.

``apply`` takes events in time order (see ``radar/sequencer.py``); ``fire_until`` speaks
for deadlines that passed. Two facts cross interactions, through indexes by customer: an
outbound call achieves the ``callback_time`` of that customer's abandoned calls, and a new
contact on any channel is one ``customer_chase``, on the customer's ticket that has owed a
reply the longest. Interactions that can no longer start a target (closed, ended, long solved) are
forgotten, so memory follows the open work, not the history.
"""

from __future__ import annotations

import heapq

from radar.events import STARTS, Channel, Direction, Event, EventType
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
_NEW_CONTACTS = frozenset(
    {EventType.CALL_QUEUED, EventType.CHAT_REQUESTED, EventType.TICKET_CREATED}
)


class CustomerIndex:
    """Interaction ids by customer, for one cross-interaction rule. A customer with one
    interaction (most of them) maps to its id, not to a set of one: a set costs 200 bytes."""

    def __init__(self) -> None:
        self._ids: dict[str, str | set[str]] = {}

    def set(self, customer: str | None, interaction_id: str, member: bool) -> None:
        if customer is None:
            return
        ids = self._ids.get(customer)
        if member:
            if ids is None:
                self._ids[customer] = interaction_id
            elif isinstance(ids, set):
                ids.add(interaction_id)
            elif ids != interaction_id:
                self._ids[customer] = {ids, interaction_id}
        elif ids == interaction_id:
            del self._ids[customer]
        elif isinstance(ids, set):
            ids.discard(interaction_id)
            if len(ids) == 1:
                self._ids[customer] = ids.pop()

    def of(self, customer: str) -> list[str]:
        ids = self._ids.get(customer)
        if ids is None:
            return []
        return [ids] if isinstance(ids, str) else sorted(ids)


class SlaEngine:
    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self.interactions: dict[str, InteractionSla] = {}
        self._deadlines: list[tuple[int, str]] = []
        self._owing_reply = CustomerIndex()
        self._awaiting_callback = CustomerIndex()

    def apply(self, event: Event, now: int) -> list[SlaRecord]:
        machine = _MACHINES.get(event.type.channel)
        if machine is None or event.interaction_id is None:
            return []
        interaction = self.interactions.get(event.interaction_id)
        if interaction is None:
            if event.type not in STARTS:
                return []
            interaction = machine(event.interaction_id, self.policies)
            self.interactions[event.interaction_id] = interaction
        records = interaction.on_event(event, now)
        if event.customer_id is not None and event.type in _NEW_CONTACTS:
            records += self._across_interactions(event, now)
        self._settle(interaction)
        return records

    def _across_interactions(self, event: Event, now: int) -> list[SlaRecord]:
        assert event.customer_id is not None
        records: list[SlaRecord] = []
        if event.type is EventType.CALL_QUEUED and event.direction is Direction.OUTBOUND:
            for call_id in self._awaiting_callback.of(event.customer_id):
                call = self.interactions.get(call_id)
                if isinstance(call, CallSla) and call_id != event.interaction_id:
                    records += call.called_back(event.occurred_at, now)
                    self._settle(call)
        chased = self._longest_owed(event.customer_id, event.interaction_id)
        if chased is not None and (owed := chased.owes_reply()) is not None:
            records += chased.chase(owed, event, now)
        return records

    def _longest_owed(self, customer: str, contact: str | None) -> TicketSla | None:
        """The ticket a new contact chases: one contact is one chase, on the customer's
        ticket that has owed a reply the longest."""
        owing = [
            (since, ticket_id, ticket)
            for ticket_id in self._owing_reply.of(customer)
            if ticket_id != contact
            and isinstance(ticket := self.interactions.get(ticket_id), TicketSla)
            and (since := ticket.owed_since()) is not None
        ]
        return min(owing, key=lambda o: (o[0], o[1]))[2] if owing else None

    def fire_until(self, upto: int, now: int) -> list[SlaRecord]:
        """Warnings, breaches and escalations due at or before ``upto``, in time order."""
        records: list[SlaRecord] = []
        while self._deadlines and self._deadlines[0][0] <= upto:
            at, interaction_id = heapq.heappop(self._deadlines)
            interaction = self.interactions.get(interaction_id)
            if interaction is None or interaction.scheduled_at != at:
                continue  # forgotten, or superseded by a later schedule
            interaction.scheduled_at = None
            expires = interaction.expires_at()
            if expires is not None and expires <= at:
                self._forget(interaction)
                continue
            records += interaction.fire(at, now)
            self._settle(interaction)
        return records

    def next_deadline(self) -> int | None:
        return self._deadlines[0][0] if self._deadlines else None

    def _settle(self, interaction: InteractionSla) -> None:
        """Re-index and re-schedule an interaction after it changed."""
        iid = interaction.interaction_id
        if interaction.finished:
            self._forget(interaction)
            return
        self._owing_reply.set(
            interaction.customer_id,
            iid,
            isinstance(interaction, TicketSla) and interaction.owes_reply() is not None,
        )
        self._awaiting_callback.set(
            interaction.customer_id,
            iid,
            isinstance(interaction, CallSla) and interaction.awaits_callback,
        )
        candidates = [
            t for t in (interaction.next_deadline(), interaction.expires_at()) if t is not None
        ]
        deadline = min(candidates, default=None)
        if deadline != interaction.scheduled_at:
            interaction.scheduled_at = deadline
            if deadline is not None:
                heapq.heappush(self._deadlines, (deadline, iid))

    def _forget(self, interaction: InteractionSla) -> None:
        iid = interaction.interaction_id
        self.interactions.pop(iid, None)
        self._owing_reply.set(interaction.customer_id, iid, False)
        self._awaiting_callback.set(interaction.customer_id, iid, False)
