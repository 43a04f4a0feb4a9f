from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.commands import main
from radar.events import EventType, millis_to_iso
from radar.policies import parse_policies
from radar.replay import ReplayError, replay
from tests.factories import BASE_MS, make_record


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


EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "policies.yaml"
POLICY = parse_policies(
    "policies:\n  - name: std\n    match: {channel: ticket}\n"
    "    targets: {first_reply_time: 4h}\n    warnings: [0.5]\n    escalations: []\ngrace: 5s\n"
)
HOUR = 3_600_000


def _replayed(events: list[dict[str, Any]], until: int | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    replay(_lines(*events), out.append, policies=POLICY, until=until)
    return [r for r in out if r["stream"] == "sla"]


def _ticket_then_silence() -> list[dict[str, Any]]:
    """A ticket created at 10:00, owing a first reply by 14:00; the next event of the file
    (another customer's) comes the next day."""
    return [
        make_record(EventType.TICKET_CREATED, occurred_at=millis_to_iso(BASE_MS + 10 * HOUR),
                    interaction_id="T1", priority="normal"),
        make_record(EventType.CALL_QUEUED, occurred_at=millis_to_iso(BASE_MS + 36 * HOUR),
                    customer_id="someone-else"),
    ]  # fmt: skip


def test_replay_stamps_records_as_live_would_not_when_the_next_event_came() -> None:
    records = {r["kind"]: r for r in _replayed(_ticket_then_silence())}
    warning, breach = records["warning"], records["breach"]
    assert warning["occurred_at"] == millis_to_iso(BASE_MS + 12 * HOUR)  # half of 4 h
    assert warning["detected_at"] == millis_to_iso(BASE_MS + 12 * HOUR + 5_000)
    assert breach["occurred_at"] == breach["due_at"] == millis_to_iso(BASE_MS + 14 * HOUR)
    assert breach["detected_at"] == millis_to_iso(BASE_MS + 14 * HOUR + 5_000)  # plus grace


def test_replay_until_fires_what_is_due_by_then() -> None:
    events = _ticket_then_silence()[:1]
    assert [r["kind"] for r in _replayed(events)] == []
    assert [r["kind"] for r in _replayed(events, until=BASE_MS + 13 * HOUR)] == ["warning"]
    until_evening = _replayed(events, until=BASE_MS + 18 * HOUR)
    assert [r["kind"] for r in until_evening] == ["warning", "breach"]
    with pytest.raises(ReplayError, match="before the last event"):
        _replayed(events, until=BASE_MS + 9 * HOUR)


def test_radar_replay_until_on_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "day.jsonl"
    source.write_bytes(b"\n".join(_lines(*_ticket_then_silence()[:1])) + b"\n")
    out = tmp_path / "records.jsonl"
    policies = tmp_path / "policies.yaml"
    policies.write_text(
        "policies:\n  - name: std\n    match: {channel: ticket}\n"
        "    targets: {first_reply_time: 4h}\n    warnings: []\n    escalations: []\n"
    )
    args = ["replay", str(source), "--policies", str(policies), "--out", str(out)]
    assert main([*args, "--until", millis_to_iso(BASE_MS + 15 * HOUR)]) == 0
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["kind"] for r in written if r["stream"] == "sla"] == ["breach"]
    assert main([*args, "--until", millis_to_iso(BASE_MS)]) == 2


def test_an_event_stamped_far_ahead_is_dead_lettered_and_does_not_move_the_clock() -> None:
    """One event stamped next year must not fire every deadline of every open target."""
    ticket = make_record(EventType.TICKET_CREATED, occurred_at=millis_to_iso(BASE_MS),
                         interaction_id="T1", priority="normal")  # fmt: skip
    ahead = make_record(
        EventType.CALL_QUEUED, occurred_at=millis_to_iso(BASE_MS + 400 * 86_400_000)
    )
    out: list[dict[str, Any]] = []

    summary = replay(_lines(ticket, ahead), out.append, policies=POLICY, wall_clock=BASE_MS)

    assert summary.rejected == {"implausible_time": 1}
    assert [r["reason"] for r in out if r["stream"] == "dead_letter"] == ["implausible_time"]
    assert [r["kind"] for r in out if r["stream"] == "sla"] == []  # nothing due yet


def test_radar_replay_names_each_bad_line_and_goes_on_unless_told_to_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "day.jsonl"
    good = make_record(EventType.CHAT_REQUESTED)
    source.write_bytes(b"\n".join(_lines(good, b"{broken", make_record(EventType.CALL_ENDED))))
    out = tmp_path / "out.jsonl"

    assert main(["replay", str(source), "--out", str(out), "--policies", str(EXAMPLE)]) == 0
    errors = capsys.readouterr().err
    assert f"{source}:2: invalid_json:" in errors
    assert '"accepted": 2' in errors  # the line after the bad one was replayed too

    stopped = main(["replay", str(source), "--out", str(out), "--stop-on-error",
                    "--policies", str(EXAMPLE)])  # fmt: skip
    assert stopped == 2
    assert "stopped at" in capsys.readouterr().err
