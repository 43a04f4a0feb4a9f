"""Precision and recall of the missing-assignee detector against the simulator's ground truth."""

from __future__ import annotations

from typing import Any

from radar.clock import EventTimeClock
from radar.detector_settings import GapThresholds
from radar.gaps.detector import AssigneeGapDetector, GapKind, GapState
from radar.sequencer import EventSequencer
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions, TruthKind
from radar.simulate.lifecycles import Anomaly

TRUTH_KIND = {
    Anomaly.HANDLER_UNRECORDED: GapKind.HANDLER_UNRECORDED,
    Anomaly.TRANSFER_TARGET_UNRECORDED: GapKind.TRANSFER_TARGET_UNRECORDED,
    Anomaly.UNASSIGNED_TOO_LONG: GapKind.UNASSIGNED_TOO_LONG,
}
# above every normal wait of the simulator (assignment ~10 min, chat acceptance ~30 s, slow
# chats up to 20 min), below the injected day-long unassigned tickets
THRESHOLDS = GapThresholds(ticket_ms=4 * 3_600_000, chat_ms=30 * 60_000)


def test_gaps_are_found_with_full_precision_and_recall(capsys: Any) -> None:
    simulation = Simulation(
        SimulationOptions(
            seed=8,
            duration_ms=2 * DAY_MS,
            model=CenterModel(contacts_per_day=3000),
            anomaly_rate=0.03,
            departing_agents=2,
        )
    )
    detector = AssigneeGapDetector(THRESHOLDS)
    sequencer = EventSequencer(detector, 5000)
    clock = EventTimeClock()
    opened: set[tuple[GapKind, str]] = set()
    for event in simulation:
        for record in sequencer.offer(event, clock.observe(event.occurred_at)):
            if record.state is GapState.OPENED:
                opened.add((record.kind, record.interaction_id))
    for record in sequencer.advance(clock.now() + 5000):
        if record.state is GapState.OPENED:
            opened.add((record.kind, record.interaction_id))

    expected: set[tuple[GapKind, str]] = set()
    for truth in simulation.truth:
        assert truth.interaction_id is not None
        if truth.kind is TruthKind.INACTIVE_ASSIGNEE:
            expected.add((GapKind.INACTIVE_ASSIGNEE, truth.interaction_id))
        elif truth.kind is TruthKind.ANOMALY and truth.anomaly in TRUTH_KIND:
            expected.add((TRUTH_KIND[truth.anomaly], truth.interaction_id))
    assert {kind for kind, _ in expected} == set(GapKind)

    true_positives = opened & expected
    precision = len(true_positives) / len(opened)
    recall = len(true_positives) / len(expected)
    with capsys.disabled():
        print(
            f"\nassignee gaps: {len(opened)} opened, {len(expected)} injected; "
            f"precision {precision:.1%}, recall {recall:.1%}"
        )
    assert sorted(opened - expected) == []
    assert sorted(expected - opened) == []
