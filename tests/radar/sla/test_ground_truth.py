"""The simulator's injected SLA faults, run through the engine with the shipped policies,
are all found: breached, or (business hours, holidays) still running and due after the data."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from radar.clock import EventTimeClock
from radar.policies import Metric, load_policies
from radar.sequencer import EventSequencer
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions, TruthKind
from radar.simulate.lifecycles import Anomaly
from radar.sla.engine import SlaEngine
from radar.sla.records import SlaKind

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "policies.yaml"

# which breach each injected fault must produce under config/policies.yaml
EXPECTED_BREACH = {
    Anomaly.CALL_ANSWER_BREACH: Metric.CALL_ANSWER_TIME,
    Anomaly.CHAT_WAIT_BREACH: Metric.CHAT_WAIT_TIME,
    Anomaly.FIRST_REPLY_BREACH: Metric.FIRST_REPLY_TIME,
    Anomaly.BROKEN_PROMISE: Metric.PROMISED_UPDATE,
    Anomaly.CSAT_NOT_FOLLOWED_UP: Metric.FEEDBACK_FOLLOW_UP,
}


def test_every_injected_breach_is_found(capsys: Any) -> None:
    options = SimulationOptions(
        seed=21, duration_ms=2 * DAY_MS, model=CenterModel(contacts_per_day=3000), anomaly_rate=0.03
    )
    simulation = Simulation(options)
    policies = load_policies(EXAMPLE)
    engine = SlaEngine(policies)
    sequencer = EventSequencer(engine, policies.grace_ms)
    clock = EventTimeClock()
    breached: dict[str, set[str]] = defaultdict(set)
    for event in simulation:
        for record in sequencer.offer(event, clock.observe(event.occurred_at)):
            if record.kind is SlaKind.BREACH:
                breached[record.interaction_id].add(record.metric)
    horizon = clock.now()
    for record in sequencer.advance(horizon + policies.grace_ms):
        if record.kind is SlaKind.BREACH:
            breached[record.interaction_id].add(record.metric)

    injected = [
        t for t in simulation.truth if t.kind is TruthKind.ANOMALY and t.anomaly in EXPECTED_BREACH
    ]
    assert len(injected) >= 20
    found, pending, missed = 0, 0, []
    for truth in injected:
        assert truth.anomaly is not None
        assert truth.interaction_id is not None
        metric = EXPECTED_BREACH[truth.anomaly]
        running = engine.interactions.get(truth.interaction_id)
        timer = running.timers.get(metric) if running else None
        if metric.value in breached[truth.interaction_id]:
            found += 1
        elif timer is not None and (timer.due_at() or 0) > horizon:
            pending += 1
        else:
            missed.append((truth.anomaly.value, truth.interaction_id))
    with capsys.disabled():
        print(
            f"\nSLA ground truth: {found}/{len(injected)} injected breaches found, "
            f"{pending} still running and due after the data ends, {len(missed)} missed"
        )
    assert missed == []
    assert found >= 0.8 * len(injected)
