"""Precision and recall of the missing-assignee detector against the simulator's ground truth."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from radar.clock import EventTimeClock
from radar.detector_settings import GapThresholds
from radar.events import Channel, iso_to_millis
from radar.gaps.detector import AssigneeGapDetector, GapKind, GapState
from radar.policies import load_policies
from radar.sequencer import EventSequencer
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions, Truth, TruthKind
from radar.simulate.lifecycles import Anomaly
from tests.radar.sla.test_ground_truth import EXAMPLE

TRUTH_KIND = {
    Anomaly.HANDLER_UNRECORDED: GapKind.HANDLER_UNRECORDED,
    Anomaly.TRANSFER_TARGET_UNRECORDED: GapKind.TRANSFER_TARGET_UNRECORDED,
    Anomaly.UNASSIGNED_TOO_LONG: GapKind.UNASSIGNED_TOO_LONG,
}
# above every normal wait of the simulator (assignment ~10 min, chat acceptance ~30 s, slow
# chats up to 20 min), below the injected day-long unassigned tickets
THRESHOLDS = GapThresholds(ticket_ms=4 * 3_600_000, chat_ms=30 * 60_000)


def injected_gaps(truths: Iterable[Truth], thresholds: GapThresholds) -> set[tuple[GapKind, str]]:
    """The injected faults that are gaps under ``thresholds``: an unassigned ticket is one
    when its wait outlasted the threshold counted on its queue's calendar (a wait from Friday
    night to Sunday is no business time at all)."""
    expected: set[tuple[GapKind, str]] = set()
    for truth in truths:
        assert truth.interaction_id is not None
        if truth.kind is TruthKind.INACTIVE_ASSIGNEE:
            expected.add((GapKind.INACTIVE_ASSIGNEE, truth.interaction_id))
        elif truth.kind is TruthKind.ANOMALY and truth.anomaly in TRUTH_KIND:
            if truth.anomaly is Anomaly.UNASSIGNED_TOO_LONG:
                assert truth.until is not None
                if thresholds.due(Channel.TICKET, truth.queue, truth.at) >= truth.until:
                    continue
            expected.add((TRUTH_KIND[truth.anomaly], truth.interaction_id))
    return expected


def _opened(simulation: Simulation, thresholds: GapThresholds) -> set[tuple[GapKind, str]]:
    sequencer = EventSequencer(AssigneeGapDetector(thresholds), 5000)
    clock = EventTimeClock()
    opened: set[tuple[GapKind, str]] = set()
    for event in simulation:
        for record in sequencer.offer(event, clock.observe(event.occurred_at)):
            if record.state is GapState.OPENED:
                opened.add((record.kind, record.interaction_id))
    for record in sequencer.advance(clock.now() + 5000):
        if record.state is GapState.OPENED:
            opened.add((record.kind, record.interaction_id))
    return opened


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
    opened = _opened(simulation, THRESHOLDS)
    expected = injected_gaps(simulation.truth, THRESHOLDS)
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


def test_unassigned_waits_count_business_time_of_the_shipped_calendar() -> None:
    """A week from Friday (a weekend and Japan's Labor Thanksgiving Day): an injected day-long
    wait is found when it held business minutes past the threshold, and only then."""
    thresholds = load_policies(EXAMPLE).gaps
    simulation = Simulation(
        SimulationOptions(
            seed=5,
            start_ms=iso_to_millis("2026-11-20T00:00:00Z"),
            duration_ms=7 * DAY_MS,
            model=CenterModel(contacts_per_day=1500),
            anomaly_rate=0.03,
        )
    )
    opened = _opened(simulation, thresholds)
    waits = {
        t.interaction_id
        for t in simulation.truth
        if t.anomaly is Anomaly.UNASSIGNED_TOO_LONG and t.interaction_id is not None
    }
    expected = {
        interaction_id
        for kind, interaction_id in injected_gaps(simulation.truth, thresholds)
        if kind is GapKind.UNASSIGNED_TOO_LONG
    }
    found = {i for kind, i in opened if kind is GapKind.UNASSIGNED_TOO_LONG and i in waits}
    assert found == expected
    assert 0 < len(expected) < len(waits)  # some waits fell on no business time at all
