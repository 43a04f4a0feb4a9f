"""Which detector shard an event belongs to: its customer's.

Input topics are keyed by interaction, but a callback links two calls, a chase links a call
to a ticket and churn is a customer's whole history, so detection is keyed by customer. An
event without a customer goes where its interaction's earlier events went (the router
remembers a bounded number of interactions), else by its interaction id. Agent events
concern every shard (the roster is joined to everyone's open work), so they are broadcast.
"""

from __future__ import annotations

from collections import OrderedDict

from radar.events import Channel, Event


class DetectionRouter:
    def __init__(self, capacity: int = 1_000_000) -> None:
        self._customer_of: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def key(self, event: Event) -> str | None:
        """The routing key, or ``None`` for events every shard must see."""
        if event.channel is Channel.AGENT:
            return None
        interaction = event.interaction_id
        if event.customer_id is not None:
            if interaction is not None:
                self._remember(interaction, event.customer_id)
            return f"customer:{event.customer_id}"
        if interaction is not None and (customer := self._customer_of.get(interaction)):
            return f"customer:{customer}"
        return f"interaction:{interaction}"

    def _remember(self, interaction: str, customer: str) -> None:
        self._customer_of[interaction] = customer
        self._customer_of.move_to_end(interaction)
        if len(self._customer_of) > self._capacity:
            self._customer_of.popitem(last=False)
