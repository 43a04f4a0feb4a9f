from __future__ import annotations

import pytest

from infra.settings import Settings
from radar.dedup import SourcePosition
from radar.events import EventType
from sinks import clickhouse
from sinks.clickhouse import (
    ClickHouseStore,
    IngestedEvent,
    ReadOnlyViolation,
    migrations,
    now_millis,
    split_statements,
)
from tests.factories import make_event


def ingested(
    offset: int, event_type: EventType = EventType.TICKET_CSAT, **fields: object
) -> IngestedEvent:
    return IngestedEvent(
        make_event(event_type, **fields),
        SourcePosition("support.tickets", 2, offset),
        "avro",
        now_millis(),
    )


def count(store: ClickHouseStore, sql: str) -> int:
    return int(store.query_readonly(sql).rows[0][0])


def test_migrations_apply_once(store: ClickHouseStore) -> None:
    assert store.migrate() == []
    versions = [
        row[0]
        for row in store.query_readonly(
            "SELECT version FROM schema_migrations FINAL ORDER BY version"
        ).rows
    ]
    assert versions == [version for version, _ in migrations()]


def test_statements_split_on_semicolons_outside_comments() -> None:
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\nSELECT 1;"
    assert split_statements(sql) == ["CREATE TABLE a (x UInt8) ENGINE = Memory", "SELECT 1"]


def test_events_keep_every_field(store: ClickHouseStore) -> None:
    row = ingested(7, EventType.TICKET_UPDATE_PROMISED, agent_id="agent-1")
    store.insert_events([row])
    result = store.query_readonly(
        "SELECT event_id, type, channel, toUnixTimestamp64Milli(occurred_at), agent_id,"
        " toUnixTimestamp64Milli(promised_at), source_partition, source_offset, payload_format"
        " FROM events"
    )
    event = row.event
    assert result.rows == [
        [
            event.event_id,
            "ticket.update_promised",
            "ticket",
            event.occurred_at,
            "agent-1",
            event.promised_at,
            2,
            7,
            "avro",
        ]
    ]


def test_a_batch_written_twice_counts_once_with_final(store: ClickHouseStore) -> None:
    batch = [ingested(i) for i in range(50)]
    store.insert_events(batch)
    store.insert_events(batch[10:])  # a retry after a crash writes part of it again
    assert count(store, "SELECT count() FROM events FINAL") == 50
    assert count(store, "SELECT uniqExact(event_id) FROM events") == 50


def test_recent_ids_of_one_partition_for_dedup_warm_up(store: ClickHouseStore) -> None:
    batch = [ingested(i) for i in range(5)]
    store.insert_events(batch)
    recent = store.recent_event_ids("support.tickets", 2, hours=1, limit=3)
    assert recent == [(batch[i].event.event_id, i) for i in (4, 3, 2)]
    assert store.recent_event_ids("support.tickets", 1, hours=1, limit=3) == []


def test_user_queries_are_read_only(store: ClickHouseStore) -> None:
    with pytest.raises(ReadOnlyViolation):
        store.query_readonly("DROP TABLE events")
    # past the statement check, ClickHouse's own readonly=1 holds: it cannot be lifted
    with pytest.raises(Exception, match=r"(?i)readonly"):
        store.query_readonly("SELECT 1 SETTINGS readonly = 0")
    assert store.query_readonly("SHOW TABLES").rows


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')",
        "SELECT * FROM remote('127.0.0.1:9000', system.one)",
        "SELECT * FROM s3('http://127.0.0.1:9/bucket/x.csv', 'CSV')",
        "SELECT number FROM numbers(10) SETTINGS max_result_rows = 0",
        "SELECT number FROM numbers(10) SETTINGS max_execution_time = 0",
    ],
)
def test_user_queries_cannot_reach_files_or_hosts_or_lift_their_limits(
    store: ClickHouseStore, sql: str
) -> None:
    with pytest.raises(Exception, match="readonly"):
        store.query_readonly(sql)


def test_user_queries_stop_at_the_row_limit(
    store: ClickHouseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(clickhouse.QUERY_LIMITS, "max_result_rows", 100)
    assert len(store.query_readonly("SELECT number FROM numbers(100)").rows) == 100
    with pytest.raises(Exception, match="Limit for result exceeded"):
        store.query_readonly("SELECT number FROM numbers(1000)")


def test_a_second_database_is_independent(settings: Settings, store: ClickHouseStore) -> None:
    store.insert_events([ingested(1)])
    other = ClickHouseStore.connect(
        settings.with_overrides(clickhouse_database=store.database + "_other")
    )
    other.migrate()
    assert count(other, "SELECT count() FROM events") == 0
