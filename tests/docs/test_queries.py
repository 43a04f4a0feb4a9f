"""Every query of the cookbook (docs/queries.md), run on a simulated day stored in chDB the way
the worker stores it, and checked against a count made from the events or records in Python."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.settings import load_settings
from radar.churn.detector import ChurnLevel
from radar.churn.output import CHURN_OUTPUT
from radar.dedup import SourcePosition
from radar.events import Channel, Direction, Event, EventType
from radar.gaps.detector import GapState
from radar.gaps.output import GAP_OUTPUT
from radar.policies import PolicySet, load_policies
from radar.queue_output import CONTACT_OUTPUT
from radar.replay import EventTimeDetection
from radar.shard import ShardRecords
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from radar.sla.output import SLA_OUTPUT
from radar.sla.records import SlaKind
from sinks.clickhouse import ClickHouseStore, IngestedEvent
from tests.factories import first_copies

COOKBOOK = Path(__file__).resolve().parents[2] / "docs" / "queries.md"
POLICIES = Path(__file__).resolve().parents[2] / "config" / "policies.yaml"
E = EventType


def cookbook() -> dict[str, str]:
    """Heading -> the SQL under it."""
    text = COOKBOOK.read_text()
    found = re.findall(r"^## (.+?)\n.*?```sql\n(.*?)```", text, flags=re.S | re.M)
    return {title: sql for title, sql in found}


@dataclass
class Day:
    store: ClickHouseStore
    policies: PolicySet
    events: list[Event]
    records: ShardRecords

    def query(self, title: str, **replace: str) -> list[dict[str, Any]]:
        sql = cookbook()[title]
        for old, new in replace.items():
            sql = sql.replace(old, new)
        result = self.store.query_readonly(sql)
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


@pytest.fixture(scope="module")
def day(chdb_path: Path) -> Iterator[Day]:
    settings = load_settings(
        environ={
            "CLICKHOUSE_DSN": f"chdb://{chdb_path}",
            "CLICKHOUSE_DATABASE": "cookbook",
            "RADAR_DATA_DIR": str(chdb_path / "cookbook"),
        }
    )
    store = ClickHouseStore.connect(settings)
    store.migrate()
    policies = load_policies(str(POLICIES))
    start = (int(time.time() * 1000) // DAY_MS - 2) * DAY_MS  # within the last 7 days
    options = SimulationOptions(
        seed=11, start_ms=start, model=CenterModel(contacts_per_day=1500), churners=6
    )
    events = first_copies(Simulation(options))
    detection = EventTimeDetection(policies)
    records = ShardRecords()
    for event in events:
        records.extend(detection.offer(event))
    records.extend(detection.finish(start + 4 * DAY_MS))  # a quiet day after: silence shows
    store.insert_events(
        [IngestedEvent(e, SourcePosition("t", 0, n), "json", 0) for n, e in enumerate(events)]
    )
    for output in (SLA_OUTPUT, GAP_OUTPUT, CHURN_OUTPUT):
        store.insert_records(output, records[output.name])
    for half in (records.contacts[::2], records.contacts[1::2]):  # two inserts, as live
        store.insert_records(CONTACT_OUTPUT, half)
    yield Day(store, policies, events, records)
    store.close()


def test_the_cookbook_has_a_query_for_each_question_analysts_ask() -> None:
    assert set(cookbook()) == {
        "Service level, abandon rate and speed of answer by queue and hour",
        "Breaches by metric and policy",
        "First reply time percentiles by queue",
        "Escalations by group",
        "Agents with the most missing-assignee gaps",
        "Customers silent now, with their reasons",
        "A customer's timeline",
        "Callbacks not made",
    }


def _hour(at_ms: int) -> datetime:
    local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo("Asia/Tokyo"))
    return local.replace(minute=0, second=0, microsecond=0)


def test_service_level_by_queue_and_hour_counts_what_the_events_say(day: Day) -> None:
    expected: defaultdict[tuple[str, datetime], Counter[str]] = defaultdict(Counter)
    contacts: dict[str, tuple[str, int]] = {}  # waiting: interaction -> (queue, since)
    for event in sorted(day.events, key=lambda e: (e.occurred_at, e.event_id)):
        iid = event.interaction_id or ""
        if event.type is E.CHAT_REQUESTED or (
            event.type is E.CALL_QUEUED and event.direction is Direction.INBOUND
        ):
            contacts[iid] = (event.queue or "none", event.occurred_at)
            expected[(contacts[iid][0], _hour(event.occurred_at))]["offered"] += 1
        elif event.type in (E.CALL_TRANSFERRED, E.CHAT_TRANSFERRED) and event.to_queue:
            if iid in contacts:
                contacts[iid] = (event.to_queue, contacts[iid][1])
        elif event.type in (E.CALL_ANSWERED, E.CHAT_ACCEPTED, E.CALL_ABANDONED, E.CHAT_ABANDONED):
            if iid not in contacts:
                continue
            queue, since = contacts.pop(iid)
            rules, wait = day.policies.queue(queue), event.occurred_at - since
            figures = expected[(queue, _hour(event.occurred_at))]
            if event.type in (E.CALL_ANSWERED, E.CHAT_ACCEPTED):
                figures["answered"] += 1
                figures["within"] += wait <= rules.service_level_ms
            elif wait < rules.short_abandon_ms:
                figures["short"] += 1
            else:
                figures["abandoned"] += 1

    rows = day.query("Service level, abandon rate and speed of answer by queue and hour")

    got = {
        (row["queue"], _tokyo(row["hour"])): row
        for row in rows
        if row["contacts_offered"] + row["contacts_answered"] + row["contacts_abandoned"] > 0
    }  # an hour may hold only the ends of calls answered before it
    assert sorted(got) == sorted(
        k for k, v in expected.items() if v["offered"] + v["answered"] + v["abandoned"] > 0
    )
    assert len(rows) > 20
    for key, row in got.items():
        want = expected[key]
        base = want["offered"] - want["short"]
        assert (row["contacts_offered"], row["contacts_answered"], row["contacts_abandoned"]) == (
            want["offered"],
            want["answered"],
            want["abandoned"],
        )
        if base > 0:
            assert row["service_level"] == pytest.approx(round(want["within"] / base, 3))
            assert row["abandon_rate"] == pytest.approx(round(want["abandoned"] / base, 3))
    assert {row["queue"] for row in rows} == {"billing", "technical", "sales", "vip"}


def test_breaches_by_metric_and_policy_net_of_retractions(day: Day) -> None:
    breaches: Counter[tuple[str, str]] = Counter()
    for r in day.records.sla:
        if r.kind in (SlaKind.BREACH, SlaKind.RETRACTED):
            breaches[(r.policy, r.metric)] += 1 if r.kind is SlaKind.BREACH else -1

    rows = day.query("Breaches by metric and policy")

    assert {(r["policy"], r["metric"]): r["net"] for r in rows} == dict(breaches)
    assert sum(r["breaches"] for r in rows) > 0


def test_first_reply_time_percentiles_by_queue(day: Day) -> None:
    elapsed: defaultdict[str, list[int]] = defaultdict(list)
    for r in day.records.sla:
        if r.metric == "first_reply_time" and r.kind is SlaKind.ACHIEVED:
            elapsed[r.queue or ""].append(r.elapsed_ms)

    rows = day.query("First reply time percentiles by queue")

    assert {r["queue"]: r["replies"] for r in rows} == {q: len(v) for q, v in elapsed.items()}
    for row in rows:
        median_minutes = statistics.median(elapsed[row["queue"]]) / 60000
        # t-digest is approximate: within a tenth of the median or half a minute
        assert row["p50_p90_p99_minutes"][0] == pytest.approx(median_minutes, rel=0.1, abs=0.5)
        assert row["p50_p90_p99_minutes"] == sorted(row["p50_p90_p99_minutes"])


def test_escalations_by_group(day: Day) -> None:
    expected = Counter((r.group, r.level) for r in day.records.sla if r.kind is SlaKind.ESCALATION)

    rows = day.query("Escalations by group")

    assert {(r["group_name"], r["level"]): r["escalations"] for r in rows} == dict(expected)
    assert expected


def test_agents_with_the_most_missing_assignee_gaps(day: Day) -> None:
    expected = Counter(
        g.agent_id for g in day.records.gaps if g.state is GapState.OPENED and g.agent_id
    )

    rows = day.query("Agents with the most missing-assignee gaps")

    assert {r["agent_id"]: r["gaps"] for r in rows} == dict(expected.most_common(20))
    assert expected


def test_customers_silent_now_with_their_reasons(day: Day) -> None:
    latest = {}
    for signal in day.records.churn:
        latest[signal.customer_id] = signal
    silent = {c: s for c, s in latest.items() if s.level is ChurnLevel.SILENT}

    rows = day.query("Customers silent now, with their reasons")

    assert [r["customer_id"] for r in rows] == sorted(
        silent, key=lambda c: (silent[c].changed_at, c)
    )
    for row in rows:
        reasons = json.loads(row["reasons"])
        assert reasons == [reason.as_json() for reason in silent[row["customer_id"]].reasons]
    assert silent


def test_a_customers_timeline(day: Day) -> None:
    regular = Counter(e.customer_id for e in day.events if e.customer_id).most_common(1)[0][0]
    assert regular is not None
    hidden = {E.CHAT_MESSAGE, E.CALL_HOLD_STARTED, E.CALL_HOLD_ENDED}
    expected = [
        e
        for e in day.events
        if e.customer_id == regular
        and (e.type not in hidden or (e.author is not None and e.author.value == "agent"))
    ]

    rows = day.query("A customer's timeline", **{"cust-000042": regular})

    assert len(rows) == len(expected) > 3
    assert [r["interaction_id"] for r in rows] == [
        e.interaction_id
        for e in sorted(expected, key=lambda e: (e.occurred_at, e.interaction_id or ""))
    ]


def test_callbacks_not_made(day: Day) -> None:
    since: dict[str, int] = {}
    owed: dict[str, tuple[str, int]] = {}
    outbound: defaultdict[str, list[int]] = defaultdict(list)
    for e in day.events:
        iid = e.interaction_id or ""
        if e.type is E.CALL_QUEUED and e.direction is Direction.INBOUND:
            since[iid] = e.occurred_at
        elif e.type is E.CALL_QUEUED and e.customer_id:
            outbound[e.customer_id].append(e.occurred_at)
    for e in day.events:
        if e.type is E.CALL_ABANDONED and e.customer_id and e.interaction_id in since:
            rules = day.policies.queue(e.queue)
            if e.occurred_at - since[e.interaction_id] >= rules.short_abandon_ms:
                owed[f"{e.customer_id}|{e.occurred_at}"] = (e.customer_id, e.occurred_at)
    expected = sorted(
        (at, customer)
        for customer, at in owed.values()
        if not any(call > at for call in outbound[customer])
    )

    rows = day.query("Callbacks not made")

    got = [(int(r["owed_since"].timestamp() * 1000), r["customer_id"]) for r in rows]
    assert got == expected
    assert any(e.type is E.CALL_ABANDONED for e in day.events)
    assert len(owed) > len(expected)  # most callers are called back


def test_the_minute_aggregates_are_ordered_as_they_are_grouped(day: Day) -> None:
    for table, key in (
        ("queue_minute", "minute, queue, channel"),
        ("sla_minute", "minute, queue, policy, metric, kind"),
    ):
        rows = day.store.query_readonly(
            f"SELECT engine, sorting_key FROM system.tables "
            f"WHERE database = currentDatabase() AND name = '{table}'"
        ).rows
        assert rows == [["AggregatingMergeTree", key]]


def test_a_rewritten_contact_step_is_counted_once_by_the_aggregates(day: Day) -> None:
    """A batch rewritten after a crash collapses in ``queue_contacts``; the aggregates only
    see what the worker writes, and it writes only steps missing from the table."""
    stored = day.store.existing_ids("queue_contacts", [r.id for r in day.records.contacts])
    assert stored == {r.id for r in day.records.contacts}
    offered = day.store.query_readonly("SELECT sum(offered) FROM queue_minute").rows[0][0]
    assert offered == sum(1 for r in day.records.contacts if r.stage.value == "offered")


def test_channel_names_in_the_aggregates_are_the_contract_s(day: Day) -> None:
    rows = day.store.query_readonly("SELECT DISTINCT channel FROM queue_minute").rows
    assert {r[0] for r in rows} == {Channel.CALL.value, Channel.CHAT.value}


def _tokyo(value: datetime) -> datetime:
    """clickhouse-connect gives UTC wall times without a zone."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo("Asia/Tokyo"))
