"""Time and order: grace, late events, retraction, and properties over simulated traffic."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radar.clock import EventTimeClock, WallClock
from radar.events import Author, Event, EventType, Priority, event_to_record
from radar.policies import PolicySet, load_policies
from radar.replay import replay
from radar.sequencer import EventSequencer
from radar.simulate.center import HOUR_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from radar.sla.engine import SlaEngine
from radar.sla.records import SlaKind, SlaRecord
from tests.radar.sla.scenario import Scenario

POLICIES = """
policies:
  - name: tickets
    match: {channel: ticket}
    targets: {first_reply_time: 1h}
grace: 5s
"""
EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "policies.yaml"


def _late_reply(s: Scenario, occurred: str) -> None:
    """An agent reply that happened at ``occurred`` but is delivered only now."""
    s.deliver(
        s.make(
            EventType.TICKET_COMMENTED, occurred, agent_id="A1", author=Author.AGENT, public=True
        )
    )


def test_a_reply_arriving_late_but_within_grace_prevents_the_breach() -> None:
    s = Scenario(POLICIES).send(
        EventType.TICKET_CREATED, "2026-02-02T09:00:00", priority=Priority.HIGH
    )
    s.send(EventType.TICKET_ASSIGNED, "2026-02-02T10:00:02", agent_id="A1")  # watermark past due
    _late_reply(s, "2026-02-02T09:59:58")
    s.until("2026-02-02T12:00:00")
    assert s.kinds("first_reply_time") == ["warning", "warning", "achieved"]


def test_a_reply_arriving_after_grace_retracts_the_breach() -> None:
    s = Scenario(POLICIES).send(
        EventType.TICKET_CREATED, "2026-02-02T09:00:00", priority=Priority.HIGH
    )
    s.until("2026-02-02T10:00:30")
    breach = s.only(SlaKind.BREACH, "first_reply_time")
    _late_reply(s, "2026-02-02T09:59:00")
    retracted = s.only(SlaKind.RETRACTED, "first_reply_time")
    assert retracted.retracts == breach.id
    achieved = s.only(SlaKind.ACHIEVED, "first_reply_time")
    assert (achieved.late, achieved.elapsed_ms) == (False, 59 * 60_000)


def test_clocks_never_go_backwards() -> None:
    wall = [1_000_000]
    live = WallClock(lambda: wall[0])
    assert live.observe(500_000) == 1_000_000  # live: the wall clock, whatever the event says
    wall[0] -= 5_000  # an NTP step back
    assert live.now() == 1_000_000
    replay_clock = EventTimeClock()
    assert replay_clock.observe(10) == 10
    assert replay_clock.observe(5) == 10


@cache
def _traffic(seed: int) -> tuple[Event, ...]:
    options = SimulationOptions(
        seed=seed,
        duration_ms=3 * HOUR_MS,
        model=CenterModel(contacts_per_day=8000),
        duplicate_rate=0.0,
        disorder_ms=0,
        anomaly_rate=0.05,
    )
    return tuple(sorted(Simulation(options), key=lambda e: (e.occurred_at, e.event_id)))


def _run(events: list[Event], policies: PolicySet, until: int) -> list[SlaRecord]:
    sequencer = EventSequencer(SlaEngine(policies), policies.grace_ms)
    clock = EventTimeClock()
    records = []
    for event in events:
        records += sequencer.offer(event, clock.observe(event.occurred_at))
    records += sequencer.advance(until)
    return records


def _comparable(records: list[SlaRecord]) -> set[tuple[Any, ...]]:
    return {(r.id, r.kind, r.elapsed_ms, r.due_at, r.late, r.retracts) for r in records}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2), shuffle_seed=st.integers(0, 2**32))
def test_shuffling_within_the_grace_period_changes_nothing(seed: int, shuffle_seed: int) -> None:
    policies = load_policies(EXAMPLE)
    shuffle = random.Random(shuffle_seed)
    ordered = list(_traffic(seed))
    end = ordered[-1].occurred_at + 10 * HOUR_MS
    # each event is delivered up to (grace - 1 ms) after it happened, in delivery order
    delivered = sorted(ordered, key=lambda e: e.occurred_at + shuffle.randrange(policies.grace_ms))
    assert delivered != ordered
    assert _comparable(_run(delivered, policies, end)) == _comparable(_run(ordered, policies, end))


def test_duplicates_change_nothing() -> None:
    policies = load_policies(EXAMPLE)
    lines = [json.dumps(event_to_record(e)).encode() for e in _traffic(0)]
    rng = random.Random(3)
    with_duplicates = list(lines)
    for position in sorted(rng.sample(range(len(lines)), 200), reverse=True):
        # a retry: the same event again, shortly after the original
        with_duplicates.insert(position + rng.randrange(1, 50), lines[position])
    once: list[dict[str, Any]] = []
    twice: list[dict[str, Any]] = []
    replay(lines, once.append, policies=policies)
    summary = replay(with_duplicates, twice.append, policies=policies)
    assert summary.duplicates == 200
    assert [r["id"] for r in once] == [r["id"] for r in twice]
    assert any(r["stream"] == "sla" for r in once)


def test_every_target_has_exactly_one_outcome() -> None:
    """After all work is done: on time, breached (unless retracted), or fulfilled; never two."""
    policies = load_policies(EXAMPLE)
    events = list(_traffic(1))
    records = _run(events, policies, events[-1].occurred_at + 30 * 24 * HOUR_MS)
    by_target: dict[tuple[str, str, int], list[SlaRecord]] = defaultdict(list)
    for record in records:
        by_target[(record.interaction_id, record.metric, record.cycle)].append(record)
    assert len(by_target) > 500
    for key, mine in by_target.items():
        kinds = [r.kind for r in mine]
        breaches = kinds.count(SlaKind.BREACH) - kinds.count(SlaKind.RETRACTED)
        on_time = [r for r in mine if r.kind is SlaKind.ACHIEVED and not r.late]
        fulfilled = [r for r in mine if r.kind is SlaKind.FULFILLED]
        outcomes = (breaches > 0) + len(on_time) + (len(fulfilled) if not breaches else 0)
        assert outcomes == 1, (key, kinds)
        assert len(set(r.id for r in mine)) == len(mine), key
