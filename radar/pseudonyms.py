"""Optional pseudonymization: customer ids replaced by a keyed HMAC before anything is stored
or published, so BI can still join and count by customer, and nobody without the key can go
back to the person (domain.md's customers are people with a phone number or an address)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

from radar.events import Event

PREFIX = "p-"


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("a pseudonymization key must not be empty")
        self._key = key

    def pseudonym(self, customer_id: str) -> str:
        digest = hmac.new(self._key, customer_id.encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest[:32]

    def apply(self, event: Event) -> Event:
        if event.customer_id is None:
            return event
        return replace(event, customer_id=self.pseudonym(event.customer_id))
