"""A deterministic stream of a contact center's events, in arrival order, with ground truth.

Same seed and start, same events and ids. Contacts arrive as a Poisson process over the
intraday curve; each one's life cycle is written at arrival and its events wait in a heap until
their time. Deliberate faults (``Anomaly``), departing agents and customers who churn after bad
experiences are injected and reported as ``Truth`` records for the detectors' tests.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from radar.events import Direction, Event, EventType, TicketStatus
from radar.simulate.center import (
    DAY_MS,
    HOUR_MS,
    ArrivalProcess,
    CenterModel,
    CustomerBase,
    Roster,
)
from radar.simulate.lifecycles import (
    SECOND_MS,
    Anomaly,
    Context,
    Interaction,
    call,
    callback,
    chat,
    orphaned_ticket,
    ticket,
)

# A departure is prepared this long before it happens, so its tickets open in arrival order.
_DEPARTURE_LEAD_MS = 4 * HOUR_MS


class TruthKind(StrEnum):
    ANOMALY = "anomaly"
    INACTIVE_ASSIGNEE = "inactive_assignee"
    SILENT_CHURNER = "silent_churner"


@dataclass(frozen=True)
class Truth:
    """One injected fact a detector should find."""

    kind: TruthKind
    at: int
    interaction_id: str | None = None
    customer_id: str | None = None
    agent_id: str | None = None
    anomaly: Anomaly | None = None
    queue: str | None = None
    # when a fault with a length ended (an unassigned ticket's assignment): whether it lasted
    # "too long" depends on the policy's business calendar, which the simulator does not know
    until: int | None = None


@dataclass(frozen=True)
class SimulationOptions:
    seed: int = 7
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    duration_ms: int | None = DAY_MS  # None: without end
    model: CenterModel = field(default_factory=CenterModel)
    anomaly_rate: float = 0.01  # share of contacts with a deliberate fault
    churners: int = 5  # frequent customers who go silent after bad experiences
    departing_agents: int = 1  # agents deactivated with open tickets
    duplicate_rate: float = 0.002  # events delivered twice (same event_id)
    disorder_ms: int = 2000  # events arrive up to this late, out of order


_CHANNEL_ANOMALIES = {
    "call": (
        Anomaly.CALL_ANSWER_BREACH,
        Anomaly.HANDLER_UNRECORDED,
        Anomaly.TRANSFER_TARGET_UNRECORDED,
    ),
    "chat": (Anomaly.CHAT_WAIT_BREACH, Anomaly.HANDLER_UNRECORDED),
    "ticket": (
        Anomaly.FIRST_REPLY_BREACH,
        Anomaly.UNASSIGNED_TOO_LONG,
        Anomaly.BROKEN_PROMISE,
        Anomaly.CSAT_NOT_FOLLOWED_UP,
    ),
}


class Simulation:
    def __init__(self, options: SimulationOptions) -> None:
        self.options = options
        self.truth: list[Truth] = []
        self._rng = random.Random(options.seed)
        self._namespace = uuid.UUID(int=(options.seed << 64) ^ options.start_ms)
        self._ids = itertools.count(1)
        self._model = options.model
        self._roster = Roster.build(options.model)
        self._customers = CustomerBase(options.model.customer_count)
        self._arrivals = ArrivalProcess(options.model, self._rng)
        self._pending: list[tuple[int, int, Event]] = []  # (arrives at, seq, event)
        self._seq = itertools.count()
        self._gone: set[str] = set()
        end = options.start_ms + (options.duration_ms or DAY_MS)
        span = end - options.start_ms
        frequent = self._customers.frequent(max(20, options.churners * 4))
        self._churns = sorted(
            (options.start_ms + span // 3 + self._rng.randrange(span // 3), customer)
            for customer in self._rng.sample(frequent, options.churners)
        )
        leavers = self._rng.sample(self._roster.agents, options.departing_agents)
        self._departures = sorted(
            (options.start_ms + span // 4 + self._rng.randrange(span // 2), leaver.agent_id)
            for leaver in leavers
        )

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid5(self._namespace, str(next(self._ids))).hex[:20]}"

    def _event_id(self) -> str:
        return self._new_id("ev")

    def _interaction(self, prefix: str, customer: str | None, queue: str) -> Interaction:
        return Interaction(self._new_id(prefix), customer, queue, self._event_id)

    def _schedule(self, events: list[Event]) -> None:
        """Queue events by when they reach Kafka: late by up to ``disorder_ms``, some twice."""
        for event in events:
            arrives = event.occurred_at + self._rng.randrange(self.options.disorder_ms + 1)
            heapq.heappush(self._pending, (arrives, next(self._seq), event))
            if self._rng.random() < self.options.duplicate_rate:
                again = arrives + self._rng.randrange(1, 30 * SECOND_MS)
                heapq.heappush(self._pending, (again, next(self._seq), event))

    def __iter__(self) -> Iterator[Event]:
        options = self.options
        start = options.start_ms
        end = None if options.duration_ms is None else start + options.duration_ms
        self._schedule(
            [
                Event(
                    self._event_id(),
                    EventType.AGENT_ACTIVATED,
                    start,
                    None,
                    queue=a.queue,
                    agent_id=a.agent_id,
                )
                for a in self._roster.agents
            ]
        )
        arrival = self._arrivals.next_after(start)
        while end is None or arrival < end:
            while self._pending and self._pending[0][0] <= arrival:
                yield heapq.heappop(self._pending)[2]
            if self._churns and self._churns[0][0] <= arrival:
                self._churn(self._churns.pop(0)[1], arrival)
            else:
                self._contact(arrival)
            while self._departures and self._departures[0][0] - _DEPARTURE_LEAD_MS <= arrival:
                self._depart(*self._departures.pop(0))
            arrival = self._arrivals.next_after(arrival)
        while self._pending:
            yield heapq.heappop(self._pending)[2]

    def _pick_customer(self) -> str:
        while True:
            customer = self._customers.pick(self._rng)
            if customer not in self._gone:
                return customer

    def _contact(self, at: int) -> None:
        rng = self._rng
        customer = self._pick_customer()
        queue = rng.choice(self._model.queues)
        ctx = Context(rng, self._roster, at)
        channels, weights = zip(*self._model.channel_mix, strict=True)
        channel = rng.choices(channels, weights)[0]
        anomaly = (
            rng.choice(_CHANNEL_ANOMALIES[channel])
            if rng.random() < self.options.anomaly_rate
            else None
        )
        it = self._interaction(channel, customer, queue)
        if channel == "call":
            short_abandon = call(it, ctx, anomaly)
            if short_abandon and rng.random() < 0.6:
                self._call_back(it, customer, queue)
        elif channel == "chat":
            chat(it, ctx, anomaly)
        else:
            ticket(it, ctx, anomaly)
            self._note_open_with_leaver(it)
        if anomaly is not None:
            until = None
            if anomaly is Anomaly.UNASSIGNED_TOO_LONG:
                until = next(
                    e.occurred_at for e in it.events if e.type is EventType.TICKET_ASSIGNED
                )
            self.truth.append(
                Truth(
                    TruthKind.ANOMALY,
                    at,
                    it.interaction_id,
                    customer,
                    anomaly=anomaly,
                    queue=queue,
                    until=until,
                )
            )
        self._schedule(it.events)

    def _call_back(self, abandoned: Interaction, customer: str, queue: str) -> None:
        it_end = abandoned.events[-1].occurred_at
        if self._rng.random() < 0.5:  # some callers ask for it in the IVR before hanging up
            abandoned.add(it_end, EventType.CALL_CALLBACK_REQUESTED)
        when = it_end + int(self._rng.uniform(5, 40) * 60 * SECOND_MS)
        back = self._interaction("call", customer, queue)
        callback(back, Context(self._rng, self._roster, when))
        self._schedule(back.events)

    def _churn(self, customer: str, at: int) -> None:
        """A frequent customer's last contacts: a call abandoned and never returned, then an
        urgent ticket answered a day late and chased; then silence."""
        rng = self._rng
        call_it = self._interaction("call", customer, rng.choice(self._model.queues))
        call_it.add(at, EventType.CALL_QUEUED, direction=Direction.INBOUND)
        call_it.add(at + 3 * 60 * SECOND_MS, EventType.CALL_ABANDONED)
        self._schedule(call_it.events)
        it = self._interaction("ticket", customer, rng.choice(self._model.queues))
        ticket(
            it,
            Context(rng, self._roster, at + 10 * 60 * SECOND_MS),
            Anomaly.FIRST_REPLY_BREACH,
            chase=True,
            rated=False,  # they leave without a word
        )
        self._note_open_with_leaver(it)
        self._schedule(it.events)
        self._gone.add(customer)
        self.truth.append(
            Truth(
                TruthKind.ANOMALY,
                at,
                it.interaction_id,
                customer,
                anomaly=Anomaly.FIRST_REPLY_BREACH,
                queue=it.queue,
            )
        )
        self.truth.append(Truth(TruthKind.SILENT_CHURNER, at, it.interaction_id, customer))

    def _note_open_with_leaver(self, it: Interaction) -> None:
        """A ticket still open and owned by an agent when that agent leaves is a gap too."""
        for at, leaver in self._departures:
            owner, done = None, False
            for event in it.events:
                if event.occurred_at > at:
                    break
                if event.type is EventType.TICKET_ASSIGNED:
                    owner = event.agent_id
                elif event.type is EventType.TICKET_STATUS_CHANGED:
                    done = event.status in (TicketStatus.SOLVED, TicketStatus.CLOSED)
            if owner == leaver and not done:
                self.truth.append(
                    Truth(
                        TruthKind.INACTIVE_ASSIGNEE, at, it.interaction_id, it.customer_id, leaver
                    )
                )

    def _depart(self, at: int, leaver_id: str) -> None:
        """An agent leaves with three open tickets; a colleague picks them up hours later."""
        rng = self._rng
        leaver = next(a for a in self._roster.agents if a.agent_id == leaver_id)
        self._roster.retire(leaver)
        successor = rng.choice(
            [a for a in self._roster.agents if a.queue == leaver.queue and a != leaver]
        )
        for _ in range(3):
            customer = self._pick_customer()
            opened = at - rng.randrange(1, 4) * HOUR_MS  # after the arrival that triggered this
            it = self._interaction("ticket", customer, leaver.queue)
            orphaned_ticket(
                it, Context(rng, self._roster, opened), leaver.agent_id, at, successor.agent_id
            )
            self._schedule(it.events)
            self.truth.append(
                Truth(TruthKind.INACTIVE_ASSIGNEE, at, it.interaction_id, customer, leaver.agent_id)
            )
        self._schedule(
            [
                Event(
                    self._event_id(),
                    EventType.AGENT_DEACTIVATED,
                    at,
                    None,
                    queue=leaver.queue,
                    agent_id=leaver.agent_id,
                )
            ]
        )
