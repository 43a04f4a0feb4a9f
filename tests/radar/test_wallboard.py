"""The wallboard's figures and colours, from readings and the queue's thresholds."""

from __future__ import annotations

import pytest

from radar.policies import QueueRules
from radar.wallboard import QueueReading, Status, UrgentItem, Window, most_urgent, tile

RULES = QueueRules(
    service_level_goal=0.8, abandon_rate_limit=0.1, oldest_wait_limit_ms=120_000
)  # amber: service level below 0.85; oldest wait from 96 s; abandon rate from 0.08


def test_short_abandons_are_left_out_of_the_service_level_and_the_abandon_rate() -> None:
    window = Window(
        offered=110,
        answered=90,
        answered_within_threshold=80,
        abandoned=20,
        short_abandoned=10,
        answer_wait_seconds=900,
    )
    assert window.service_level == pytest.approx(80 / 100)
    assert window.abandon_rate == pytest.approx(10 / 100)
    assert window.average_speed_of_answer == pytest.approx(10.0)
    assert Window().service_level is None
    assert Window().average_speed_of_answer is None


def within(rate: float) -> Window:
    return Window(offered=100, answered=100, answered_within_threshold=rate * 100)


@pytest.mark.parametrize(
    ("service_level", "status"),
    [(0.95, Status.OK), (0.85, Status.OK), (0.84, Status.AT_RISK), (0.79, Status.BREACHED)],
)
def test_the_service_level_colour_follows_the_goal_and_its_amber_band(
    service_level: float, status: Status
) -> None:
    board = tile(QueueReading("billing", last_15m=within(service_level)), RULES)
    assert board.figures["service_level_15m"].status is status
    assert board.status is status


def test_an_explicit_amber_line_replaces_the_default_band() -> None:
    rules = QueueRules(service_level_goal=0.8, service_level_warning=0.95)
    assert tile(QueueReading("q", today=within(0.9)), rules).status is Status.AT_RISK


@pytest.mark.parametrize(
    ("oldest", "status"),
    [(None, Status.OK), (60.0, Status.OK), (96.0, Status.AT_RISK), (120.0, Status.BREACHED)],
)
def test_the_oldest_wait_turns_amber_at_the_warning_fraction_of_its_limit(
    oldest: float | None, status: Status
) -> None:
    board = tile(QueueReading("q", waiting=3, oldest_wait_seconds=oldest), RULES)
    assert board.figures["oldest_wait"].status is status


@pytest.mark.parametrize(
    ("abandoned", "status"), [(5, Status.OK), (8, Status.AT_RISK), (10, Status.AT_RISK),
                              (11, Status.BREACHED)],
)  # fmt: skip
def test_the_abandon_rate_breaches_above_its_limit(abandoned: int, status: Status) -> None:
    window = Window(offered=100, answered=100 - abandoned, abandoned=abandoned)
    assert tile(QueueReading("q", last_15m=window), RULES).figures["abandon_rate_15m"].status is (
        status
    )


def test_breached_work_is_red_and_at_risk_or_unassigned_work_amber() -> None:
    quiet = tile(QueueReading("q"), RULES)
    assert quiet.status is Status.OK
    assert tile(QueueReading("q", targets_at_risk=2), RULES).status is Status.AT_RISK
    assert tile(QueueReading("q", unassigned=1), RULES).status is Status.AT_RISK
    assert tile(QueueReading("q", targets_breached=1), RULES).status is Status.BREACHED


def test_the_most_urgent_are_the_longest_overdue_then_the_least_time_left() -> None:
    def item(iid: str, state: Status, due: int) -> UrgentItem:
        return UrgentItem(iid, "q", "first_reply_time", state, due, None)

    items = [
        item("soon", Status.AT_RISK, 500),
        item("late", Status.BREACHED, 300),
        item("later", Status.AT_RISK, 900),
        item("latest", Status.BREACHED, 100),
    ]
    assert [i.interaction_id for i in most_urgent(items, shown=3)] == ["latest", "late", "soon"]
    assert most_urgent(items)[0].as_json()["owner"] == "unassigned"
