"""The customer timeline view: who handled what, across channels, in one query."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from radar.dedup import SourcePosition
from radar.events import Author, Direction, EventType
from sinks.clickhouse import ClickHouseStore, IngestedEvent
from tests.factories import make_event


def _stored(event_type: EventType, offset: int, **fields: object) -> IngestedEvent:
    return IngestedEvent(
        make_event(event_type, customer_id="C-7", **fields),
        SourcePosition("t", 0, offset),
        "json",
        0,
    )


def test_the_view_names_who_touched_each_contact(store: ClickHouseStore) -> None:
    store.insert_events(
        [
            _stored(EventType.CALL_QUEUED, 1, interaction_id="call-1", direction=Direction.INBOUND),
            _stored(EventType.CALL_ANSWERED, 2, interaction_id="call-1", agent_id="agent-a"),
            _stored(
                EventType.CALL_TRANSFERRED,
                3,
                interaction_id="call-1",
                agent_id="agent-a",
                to_agent_id="agent-b",
            ),
            _stored(EventType.TICKET_CREATED, 4, interaction_id="ticket-1"),
            _stored(EventType.TICKET_ASSIGNED, 5, interaction_id="ticket-1", agent_id="agent-c"),
            _stored(
                EventType.TICKET_COMMENTED,
                6,
                interaction_id="ticket-1",
                agent_id="agent-c",
                author=Author.AGENT,
                public=True,
            ),
            _stored(EventType.CHAT_MESSAGE, 7, interaction_id="chat-1", author=Author.CUSTOMER),
        ]
    )
    rows = store.query_readonly(
        "SELECT interaction_id, action, who FROM customer_timeline "
        "WHERE customer_id = 'C-7' ORDER BY occurred_at"
    ).rows
    assert rows == [
        ["call-1", "contacted", None],
        ["call-1", "answered by", "agent-a"],
        ["call-1", "transferred to", "agent-b"],
        ["ticket-1", "contacted", None],
        ["ticket-1", "assigned to", "agent-c"],
        ["ticket-1", "commented by", "agent-c"],
    ]


def test_radar_timeline_prints_a_table(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    subprocess.run(
        [sys.executable, "-m", "cli", "simulate", "--duration", "2h", "--out", str(events)],
        check=True, capture_output=True, env={"RADAR_DATA_DIR": str(tmp_path), "PATH": ""},
    )  # fmt: skip
    # a separate process stores them in the chDB of that data dir (one chDB path per process)
    script = textwrap.dedent(
        """
        import sys
        from infra.settings import load_settings
        from radar.dedup import SourcePosition
        from radar.events import parse_json_event
        from sinks.clickhouse import ClickHouseStore, IngestedEvent
        store = ClickHouseStore.connect(load_settings())
        store.migrate()
        lines = open(sys.argv[1], "rb").read().splitlines()
        rows = [
            IngestedEvent(parse_json_event(line), SourcePosition("f", 0, i), "json", 0)
            for i, line in enumerate(lines)
        ]
        store.insert_events(rows)
        print(next(r.event.customer_id for r in reversed(rows) if r.event.customer_id))
        """
    )
    env = {"RADAR_DATA_DIR": str(tmp_path), "PATH": ""}
    customer = subprocess.run(
        [sys.executable, "-c", script, str(events)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    shown = subprocess.run(
        [sys.executable, "-m", "cli", "timeline", customer],
        capture_output=True,
        check=False,
        text=True,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    header, rule, *rows = shown.stdout.splitlines()
    assert header.split() == ["at", "channel", "interaction_id", "action", "who", "queue"]
    assert set(rule) <= {"-", " "}
    assert rows
    missing = subprocess.run(
        [sys.executable, "-m", "cli", "timeline", "nobody's-customer"],
        capture_output=True,
        check=False,
        text=True,
        env=env,
    )
    assert missing.returncode == 1
    assert "no contacts" in missing.stderr
    # a reader that stops reading (`radar timeline C | head`): a quiet exit, no traceback
    cut_short = subprocess.Popen(
        [sys.executable, "-m", "cli", "timeline", customer],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert cut_short.stdout is not None
    assert cut_short.stderr is not None
    cut_short.stdout.close()
    errors = cut_short.stderr.read().decode()
    assert cut_short.wait(60) == 141, errors
    assert errors == ""
