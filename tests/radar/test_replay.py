from __future__ import annotations

import json
from typing import Any

from radar.events import EventType
from radar.replay import replay
from tests.factories import make_record


def _lines(*records: dict[str, Any] | bytes) -> list[bytes]:
    return [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]


def test_replay_counts_and_reports_every_line() -> None:
    good = make_record(EventType.CHAT_REQUESTED)
    emitted: list[dict[str, Any]] = []
    summary = replay(
        _lines(good, good, b"{broken", make_record(EventType.TICKET_CSAT, score=9), b"   "),
        emitted.append,
    )
    assert summary.as_dict() == {
        "lines": 4,
        "accepted": 1,
        "duplicates": 1,
        "rejected": {"invalid_field": 1, "invalid_json": 1},
        "sla_records": 0,
        "gap_records": 0,
        "churn_records": 0,
    }
    assert [(r["line"], r["reason"]) for r in emitted] == [
        (3, "invalid_json"),
        (4, "invalid_field"),
    ]
    assert all(r["stream"] == "dead_letter" for r in emitted)


def test_replay_is_deterministic() -> None:
    lines = _lines(*(make_record(t) for t in EventType), b"nope")
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    assert replay(lines, first.append) == replay(lines, second.append)
    assert first == second
