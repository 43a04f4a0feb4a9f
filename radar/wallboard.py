"""What the wallboard shows, and in which colour: one tile per queue, and the most urgent work.

The figures come in already added up over every worker (from Prometheus, see
``streams/wallboard/``); here they become the README's ratios (Queue figures) and a status
from the queue's thresholds in the policy file. No I/O: the same readings give the same board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from radar.policies import QueueRules

URGENT_SHOWN = 10
_EPSILON = 1e-9  # thresholds are products of decimals: 0.1 * 0.8 is not quite 0.08


class Status(StrEnum):
    """Colour of a figure; a tile takes its worst figure's."""

    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"


_SEVERITY = {Status.OK: 0, Status.AT_RISK: 1, Status.BREACHED: 2}


@dataclass(frozen=True)
class Window:
    """Counter increases of one queue's calls and chats over a window (15 min, today)."""

    offered: float = 0.0
    answered: float = 0.0
    answered_within_threshold: float = 0.0
    abandoned: float = 0.0  # short abandons included, as counted
    short_abandoned: float = 0.0
    answer_wait_seconds: float = 0.0

    @property
    def service_level(self) -> float | None:
        """Answered within threshold / (offered - short abandons)."""
        base = self.offered - self.short_abandoned
        return self.answered_within_threshold / base if base > 0 else None

    @property
    def abandon_rate(self) -> float | None:
        """(Abandoned - short abandons) / (offered - short abandons)."""
        base = self.offered - self.short_abandoned
        return (self.abandoned - self.short_abandoned) / base if base > 0 else None

    @property
    def average_speed_of_answer(self) -> float | None:
        """Answer wait / answered, in seconds."""
        return self.answer_wait_seconds / self.answered if self.answered > 0 else None


@dataclass(frozen=True)
class QueueReading:
    """One queue's figures over the whole center."""

    queue: str
    waiting: int = 0
    oldest_wait_seconds: float | None = None
    last_15m: Window = field(default_factory=Window)
    today: Window = field(default_factory=Window)
    targets_at_risk: int = 0
    targets_breached: int = 0  # breached and still owed to the customer
    unassigned: int = 0  # open missing-assignee gaps


@dataclass(frozen=True)
class Figure:
    value: float | None
    status: Status = Status.OK

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "status": self.status.value}


@dataclass(frozen=True)
class Tile:
    queue: str
    figures: dict[str, Figure]

    @property
    def status(self) -> Status:
        return max((f.status for f in self.figures.values()), key=_SEVERITY.__getitem__)

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "status": self.status.value,
            "figures": {name: f.as_json() for name, f in self.figures.items()},
        }


def _at_least(value: float | None, amber: float, red: float) -> Status:
    """For figures where higher is worse."""
    if value is None or value < amber - _EPSILON:
        return Status.OK
    return Status.BREACHED if value >= red - _EPSILON else Status.AT_RISK


def _service_level(value: float | None, rules: QueueRules) -> Figure:
    if value is None:
        return Figure(None)
    if value < rules.service_level_goal - _EPSILON:
        return Figure(value, Status.BREACHED)
    amber = value < rules.service_level_amber - _EPSILON
    return Figure(value, Status.AT_RISK if amber else Status.OK)


def tile(reading: QueueReading, rules: QueueRules) -> Tile:
    """The queue's tile: each figure with its colour from the queue's thresholds."""
    oldest_limit = rules.oldest_wait_limit_ms / 1000
    abandon = reading.last_15m.abandon_rate
    return Tile(
        reading.queue,
        {
            "waiting": Figure(reading.waiting),
            "oldest_wait": Figure(
                reading.oldest_wait_seconds,
                _at_least(
                    reading.oldest_wait_seconds, oldest_limit * rules.warning_fraction, oldest_limit
                ),
            ),
            "service_level_15m": _service_level(reading.last_15m.service_level, rules),
            "service_level_today": _service_level(reading.today.service_level, rules),
            "abandon_rate_15m": Figure(
                abandon,
                _at_least(
                    abandon,
                    rules.abandon_rate_limit * rules.warning_fraction,
                    # strictly above the limit alerts, as the rule does
                    rules.abandon_rate_limit + 2 * _EPSILON,
                ),
            ),
            "asa_15m": Figure(reading.last_15m.average_speed_of_answer),
            "targets_at_risk": Figure(
                reading.targets_at_risk, _at_least(reading.targets_at_risk, 1, float("inf"))
            ),
            "targets_breached": Figure(
                reading.targets_breached, _at_least(reading.targets_breached, 1, 1)
            ),
            "unassigned": Figure(
                reading.unassigned, _at_least(reading.unassigned, 1, float("inf"))
            ),
        },
    )


@dataclass(frozen=True)
class UrgentItem:
    """A target at risk, or breached and still owed."""

    interaction_id: str
    queue: str
    metric: str
    state: Status
    due_at: int
    owner: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "interaction_id": self.interaction_id,
            "queue": self.queue,
            "metric": self.metric,
            "state": self.state.value,
            "due_at": self.due_at,
            "owner": self.owner or "unassigned",
        }


def most_urgent(items: list[UrgentItem], shown: int = URGENT_SHOWN) -> list[UrgentItem]:
    """Breached first, the longest overdue first; then at risk, the least time left first."""
    return sorted(items, key=lambda i: (i.state is not Status.BREACHED, i.due_at))[:shown]


@dataclass(frozen=True)
class Board:
    generated_at: int
    tiles: list[Tile]
    urgent: list[UrgentItem]
    problems: list[str] = field(default_factory=list)  # sources that did not answer

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "tiles": [t.as_json() for t in self.tiles],
            "urgent": [i.as_json() for i in self.urgent],
            "problems": self.problems,
        }
