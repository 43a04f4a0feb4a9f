from __future__ import annotations

import random
from collections import Counter
from itertools import islice

from radar.events import Event, EventType, TicketStatus, event_to_record, parse_event
from radar.simulate.center import HOUR_MS, CenterModel, CustomerBase, Roster
from radar.simulate.generator import Simulation, SimulationOptions, TruthKind
from radar.simulate.lifecycles import Anomaly

OPTIONS = SimulationOptions(
    seed=3, duration_ms=12 * HOUR_MS, model=CenterModel(contacts_per_day=4000)
)


def _run(options: SimulationOptions = OPTIONS) -> tuple[list[Event], Simulation]:
    simulation = Simulation(options)
    return list(simulation), simulation


def test_same_seed_same_stream_and_truth() -> None:
    first, sim1 = _run()
    second, sim2 = _run()
    assert first == second
    assert sim1.truth == sim2.truth


def test_another_seed_gives_other_ids() -> None:
    first, _ = _run()
    other, _ = _run(SimulationOptions(seed=4, duration_ms=12 * HOUR_MS))
    assert {e.event_id for e in first}.isdisjoint({e.event_id for e in other})


def test_every_event_satisfies_the_contract() -> None:
    events, _ = _run()
    for event in events:
        assert parse_event(event_to_record(event)) == event


def test_events_arrive_nearly_in_time_order() -> None:
    events, _ = _run()
    newest = 0
    for event in events:
        # disorder_ms bounds how late an event may arrive; duplicates up to 30 s
        assert event.occurred_at >= newest - 32_000
        newest = max(newest, event.occurred_at)


def test_every_channel_life_cycle_appears() -> None:
    events, _ = _run()
    seen = Counter(e.type for e in events)
    missing = {t for t in EventType if seen[t] == 0} - {EventType.TICKET_PRIORITY_CHANGED}
    assert not missing
    assert seen[EventType.CALL_ANSWERED] <= seen[EventType.CALL_QUEUED]


def test_duplicates_repeat_the_whole_event() -> None:
    events, _ = _run(SimulationOptions(seed=3, duration_ms=6 * HOUR_MS, duplicate_rate=0.05))
    by_id: dict[str, Event] = {}
    repeats = 0
    for event in events:
        if event.event_id in by_id:
            repeats += 1
            assert by_id[event.event_id] == event
        by_id[event.event_id] = event
    assert repeats > 0


def test_injected_faults_are_in_the_stream_as_recorded() -> None:
    events, simulation = _run(SimulationOptions(seed=3, duration_ms=12 * HOUR_MS, anomaly_rate=0.2))
    by_interaction: dict[str | None, list[Event]] = {}
    for event in events:
        by_interaction.setdefault(event.interaction_id, []).append(event)
    anomalies = [t for t in simulation.truth if t.kind is TruthKind.ANOMALY]
    assert {t.anomaly for t in anomalies} >= set(Anomaly) - {Anomaly.BROKEN_PROMISE}
    for truth in anomalies:
        mine = by_interaction[truth.interaction_id]
        if truth.anomaly is Anomaly.HANDLER_UNRECORDED:
            answered = [
                e for e in mine if e.type in (EventType.CALL_ANSWERED, EventType.CHAT_ACCEPTED)
            ]
            assert answered
            assert answered[0].agent_id is None
        if truth.anomaly is Anomaly.TRANSFER_TARGET_UNRECORDED:
            transfer = next(e for e in mine if e.type is EventType.CALL_TRANSFERRED)
            assert transfer.to_agent_id is None
            assert transfer.to_queue is None
        if truth.anomaly is Anomaly.CALL_ANSWER_BREACH:
            queued = mine[0]
            pickup = next(e for e in mine if e.type is EventType.CALL_ANSWERED)
            assert pickup.occurred_at - queued.occurred_at >= 12 * 60_000
        if truth.anomaly is Anomaly.UNASSIGNED_TOO_LONG:
            created = mine[0]
            assigned = next(e for e in mine if e.type is EventType.TICKET_ASSIGNED)
            assert truth.until == assigned.occurred_at
            assert assigned.occurred_at - created.occurred_at >= 30 * HOUR_MS
        assert truth.queue == mine[0].queue


def test_churners_stop_contacting_after_their_last_bad_contacts() -> None:
    events, simulation = _run(SimulationOptions(seed=5, duration_ms=24 * HOUR_MS, churners=3))
    churners = [t for t in simulation.truth if t.kind is TruthKind.SILENT_CHURNER]
    assert len(churners) == 3
    for truth in churners:
        later_contacts = {
            e.interaction_id
            for e in events
            if e.customer_id == truth.customer_id
            and e.occurred_at >= truth.at
            and e.type
            in (EventType.CALL_QUEUED, EventType.CHAT_REQUESTED, EventType.TICKET_CREATED)
        }
        assert truth.interaction_id in later_contacts
        assert len(later_contacts) == 2  # the abandoned call and the late, chased ticket


def test_a_departing_agent_leaves_open_tickets_all_recorded() -> None:
    events, simulation = _run()
    orphans = [t for t in simulation.truth if t.kind is TruthKind.INACTIVE_ASSIGNEE]
    assert len(orphans) >= 3  # three handed over later, and whatever else the leaver owned
    leaver = orphans[0].agent_id
    deactivated = next(e for e in events if e.type is EventType.AGENT_DEACTIVATED)
    assert deactivated.agent_id == leaver
    for truth in orphans:
        assert truth.agent_id == leaver
        before = [
            e for e in events
            if e.interaction_id == truth.interaction_id and e.occurred_at <= deactivated.occurred_at
        ]  # fmt: skip
        assigned = [e.agent_id for e in before if e.type is EventType.TICKET_ASSIGNED]
        statuses = [e.status for e in before if e.type is EventType.TICKET_STATUS_CHANGED]
        assert assigned[-1] == leaver
        assert statuses[-1] not in (TicketStatus.SOLVED, TicketStatus.CLOSED)
    later = [e for e in events if e.occurred_at > deactivated.occurred_at + 60_000]
    newly_assigned = {e.agent_id for e in later if e.type is EventType.CALL_ANSWERED}
    assert leaver not in newly_assigned  # no new work for someone who left


def test_an_endless_simulation_keeps_going() -> None:
    endless = Simulation(SimulationOptions(duration_ms=None))
    assert len(list(islice(endless, 5000))) == 5000


def test_agents_are_picked_from_the_queue_and_their_shift() -> None:
    model = CenterModel()
    roster = Roster.build(model)
    import random

    rng = random.Random(1)
    at = 1_767_225_600_000 + 1 * HOUR_MS  # 10:00 in Japan
    for _ in range(50):
        agent = roster.on_shift(rng, "vip", at)
        assert agent.queue == "vip"
        assert agent.shift.covers(model.local_hour(at))


def _customers_of(events: list[Event]) -> set[str]:
    return {e.customer_id for e in events if e.customer_id is not None}


def test_customers_can_be_set_and_scale_with_the_contact_rate_by_default() -> None:
    few = SimulationOptions(
        seed=3, duration_ms=2 * HOUR_MS, model=CenterModel(contacts_per_day=20_000, customers=50)
    )
    events, _ = _run(few)
    assert len(_customers_of(events)) <= 50
    assert CenterModel(contacts_per_day=2000).customer_count == 3000
    large = CenterModel(contacts_per_day=1_000_000)
    assert large.customer_count == 1_500_000
    # a large center's busiest customers contact it a few dozen times a day, not thousands
    base, rng, picks = CustomerBase(large.customer_count), random.Random(3), 1_000_000
    busiest = Counter(base.pick(rng) for _ in range(picks)).most_common(1)[0][1]
    assert busiest / picks * large.contacts_per_day < 100
