"""The simulated contact center: queues, agents on shifts, customers, and when contacts arrive."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from array import array
from dataclasses import dataclass, field
from typing import Final

HOUR_MS: Final = 3_600_000
MIN_CUSTOMERS: Final = 3000
CUSTOMERS_PER_DAILY_CONTACT: Final = 1.5
DAY_MS: Final = 24 * HOUR_MS

# Relative arrival intensity per local hour: quiet nights, a morning and an afternoon peak.
INTRADAY_CURVE: Final[tuple[float, ...]] = (
    0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.4, 0.8, 1.4, 2.0, 2.4, 2.2,
    1.6, 1.9, 2.3, 2.1, 1.8, 1.4, 1.0, 0.8, 0.6, 0.4, 0.3, 0.2,
)  # fmt: skip


@dataclass(frozen=True)
class Shift:
    """Local working hours ``[start_hour, end_hour)``."""

    start_hour: int
    end_hour: int

    def covers(self, local_hour: int) -> bool:
        return self.start_hour <= local_hour < self.end_hour


SHIFTS: Final = (Shift(7, 16), Shift(9, 18), Shift(12, 21), Shift(15, 24))


@dataclass(frozen=True)
class Agent:
    agent_id: str
    queue: str
    shift: Shift


@dataclass(frozen=True)
class CenterModel:
    queues: tuple[str, ...] = ("billing", "technical", "sales", "vip")
    agents_per_queue: int = 8
    contacts_per_day: float = 2000.0
    customers: int | None = None  # default: scaled with the contacts (see customer_count)
    utc_offset_hours: int = 9  # local time of the center (Japan by default)
    channel_mix: tuple[tuple[str, float], ...] = (("call", 0.5), ("chat", 0.25), ("ticket", 0.25))

    @property
    def customer_count(self) -> int:
        """Customers of the center: 1.5 per daily contact unless set, so a large center has
        the repeat-contact rates of a small one (about one contact a customer in 45 days)."""
        if self.customers is not None:
            return self.customers
        return max(MIN_CUSTOMERS, round(self.contacts_per_day * CUSTOMERS_PER_DAILY_CONTACT))

    def local_hour(self, at_ms: int) -> int:
        return int(((at_ms // HOUR_MS) + self.utc_offset_hours) % 24)


@dataclass
class Roster:
    """Agents by queue; picks one on shift at a given time."""

    model: CenterModel
    agents: list[Agent] = field(default_factory=list)

    @classmethod
    def build(cls, model: CenterModel) -> Roster:
        roster = cls(model)
        numbers = itertools.count(1)
        for queue in model.queues:
            for i in range(model.agents_per_queue):
                roster.agents.append(
                    Agent(f"agent-{next(numbers):04d}", queue, SHIFTS[i % len(SHIFTS)])
                )
        return roster

    def retire(self, agent: Agent) -> None:
        """The agent leaves: no new work goes to them."""
        self.agents.remove(agent)

    def on_shift(self, rng: random.Random, queue: str, at_ms: int) -> Agent:
        hour = self.model.local_hour(at_ms)
        in_queue = [a for a in self.agents if a.queue == queue]
        working = [a for a in in_queue if a.shift.covers(hour)] or in_queue
        return rng.choice(working)


class CustomerBase:
    """Customers with Zipf-like contact frequency: a few contact often, most rarely.

    The weight of the customer of rank r is ``(r + offset) ** -exponent``: a plain Zipf law
    (the default center's 3,000 customers) gives the top customer of a million a share of the
    whole center's contacts, thousands a day, so beyond the default each thousand customers
    more flattens the head by one rank.
    """

    def __init__(self, count: int, exponent: float = 0.8) -> None:
        self.count = count
        offset = max(0, count - MIN_CUSTOMERS) / 1000
        weights = ((rank + offset) ** -exponent for rank in range(1, count + 1))
        self._cumulative = array("d", itertools.accumulate(weights))

    @staticmethod
    def customer_id(rank: int) -> str:
        return f"cust-{rank:06d}"

    def pick(self, rng: random.Random) -> str:
        point = rng.random() * self._cumulative[-1]
        return self.customer_id(bisect.bisect_left(self._cumulative, point) + 1)

    def frequent(self, count: int) -> list[str]:
        return [self.customer_id(rank) for rank in range(1, min(count, self.count) + 1)]


class ArrivalProcess:
    """Poisson arrivals whose rate follows ``INTRADAY_CURVE`` (thinning)."""

    def __init__(self, model: CenterModel, rng: random.Random) -> None:
        self._model = model
        self._rng = rng
        mean = sum(INTRADAY_CURVE) / len(INTRADAY_CURVE)
        self._peak = max(INTRADAY_CURVE) / mean
        self._rate_per_ms = model.contacts_per_day / DAY_MS
        self._mean = mean

    def next_after(self, at_ms: int) -> int:
        peak_rate = self._rate_per_ms * self._peak
        t = float(at_ms)
        while True:
            t += self._rng.expovariate(peak_rate)
            weight = INTRADAY_CURVE[self._model.local_hour(int(t))] / self._mean
            if self._rng.random() * self._peak <= weight:
                return math.ceil(t)
