"""ClickHouse through clickhouse-connect, for a server over HTTP and for embedded chDB alike.

The same migrations and queries run on both. chDB allows one process per data path, so while
a worker holds it, other processes reach it through the worker (see ``streams/endpoint.py``).
Calls here block: the worker runs them on one dedicated thread (``sinks/writer.py``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import clickhouse_connect

from infra.settings import Settings
from radar.dedup import SourcePosition
from radar.events import Author, Direction, Event, EventType, Priority, TicketStatus
from radar.outputs import Output
from sinks.cluster import TableLayout

EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "type",
    "channel",
    "occurred_at",
    "interaction_id",
    "customer_id",
    "queue",
    "agent_id",
    "direction",
    "announced_seconds",
    "to_agent_id",
    "to_queue",
    "author",
    "priority",
    "tier",
    "status",
    "public",
    "promised_at",
    "score",
    "source_topic",
    "source_partition",
    "source_offset",
    "payload_format",
    "ingested_at",
)

# Users' statements (``/query``, ``radar query``): the limits first, then read-only mode, which
# from then on refuses writes, DDL, table functions (file, url, remote, s3) and any change of
# these settings by the statement itself.
QUERY_LIMITS: Final[dict[str, Any]] = {
    "max_result_rows": 5_000_000,
    "max_result_bytes": 1 << 30,
    "result_overflow_mode": "throw",
    "max_execution_time": 120,
    "max_memory_usage": 4 << 30,
    "readonly": 1,
}
_READ_ONLY_STATEMENT = re.compile(r"^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b", re.I)


@dataclass(frozen=True, slots=True)
class IngestedEvent:
    """A valid event with where it came from: one row of ``events``."""

    event: Event
    position: SourcePosition
    payload_format: str
    ingested_at: int


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


class ReadOnlyViolation(ValueError):
    pass


def event_columns(batch: Sequence[IngestedEvent]) -> list[list[Any]]:
    """Column-oriented data for ``events``, in ``EVENT_COLUMNS`` order (the fast insert path)."""
    events = [item.event for item in batch]
    return [
        [e.event_id for e in events],
        [e.type.value for e in events],
        [e.type.channel.value for e in events],
        [e.occurred_at for e in events],
        [e.interaction_id for e in events],
        [e.customer_id for e in events],
        [e.queue for e in events],
        [e.agent_id for e in events],
        [e.direction and e.direction.value for e in events],
        [e.announced_seconds for e in events],
        [e.to_agent_id for e in events],
        [e.to_queue for e in events],
        [e.author and e.author.value for e in events],
        [e.priority and e.priority.value for e in events],
        [e.tier for e in events],
        [e.status and e.status.value for e in events],
        [e.public for e in events],
        [e.promised_at for e in events],
        [e.score for e in events],
        [item.position.topic for item in batch],
        [item.position.partition for item in batch],
        [item.position.offset for item in batch],
        [item.payload_format for item in batch],
        [item.ingested_at for item in batch],
    ]


def _enum(kind: Any, value: Any) -> Any:
    return None if value is None else kind(value)


def event_from_row(row: dict[str, Any]) -> Event:
    """An ``events`` row (times as epoch ms) back into the core's ``Event``."""
    return Event(
        event_id=row["event_id"],
        type=EventType(row["type"]),
        occurred_at=int(row["occurred_at"]),
        interaction_id=row["interaction_id"],
        customer_id=row["customer_id"],
        queue=row["queue"],
        agent_id=row["agent_id"],
        direction=_enum(Direction, row["direction"]),
        announced_seconds=row["announced_seconds"],
        to_agent_id=row["to_agent_id"],
        to_queue=row["to_queue"],
        author=_enum(Author, row["author"]),
        priority=_enum(Priority, row["priority"]),
        tier=row["tier"],
        status=_enum(TicketStatus, row["status"]),
        public=row["public"],
        promised_at=None if row["promised_at"] is None else int(row["promised_at"]),
        score=row["score"],
    )


def stored_events_query(since_ms: int, until_ms: int) -> str:
    """The valid events of ``[since_ms, until_ms)`` in event-time order, times as epoch ms: a
    read-only statement, so it can go through the worker's ``/query`` (``radar whatif``)."""
    columns = ", ".join(
        f"toUnixTimestamp64Milli({c}) AS {c}_ms" if c in _TIME_COLUMNS else c
        for c in EVENT_COLUMNS[:19]
    )  # aliased apart: an alias named like its column would stand for it in WHERE
    return (
        f"SELECT {columns} FROM events FINAL "
        f"WHERE occurred_at >= fromUnixTimestamp64Milli({int(since_ms)}) "
        f"AND occurred_at < fromUnixTimestamp64Milli({int(until_ms)}) "
        "ORDER BY occurred_at, event_id"
    )


def events_from(result: QueryResult) -> list[Event]:
    """The events of a ``stored_events_query`` result."""
    names = [c.removesuffix("_ms") if c.endswith("_at_ms") else c for c in result.columns]
    return [event_from_row(dict(zip(names, row, strict=True))) for row in result.rows]


_TIME_COLUMNS: Final = ("occurred_at", "promised_at")


def migrations() -> list[tuple[str, str]]:
    """``(version, sql)`` of every file in ``sinks/migrations``, in order."""
    folder = resources.files("sinks") / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text()) for f in files]


def split_statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class ClickHouseStore:
    """The project's tables in one database; thread-safe by a lock (chDB is one session)."""

    def __init__(self, client: Any, database: str, layout: TableLayout | None = None) -> None:
        self._client = client
        self.database = database
        self.layout = layout or TableLayout(database=database)
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, settings: Settings) -> ClickHouseStore:
        target = settings.clickhouse_target()
        database = settings.clickhouse_database
        kwargs: dict[str, Any] = {"dsn": target}
        if not target.startswith("chdb:"):
            kwargs |= {
                "username": settings.clickhouse_user,
                "password": settings.clickhouse_password,
            }
        layout = TableLayout(settings.clickhouse_cluster or None, database)
        if layout.cluster:
            # An insert returns once every shard has its rows: nothing waits in a local queue.
            kwargs["settings"] = {"distributed_foreground_insert": 1}
        bootstrap = clickhouse_connect.get_client(**kwargs)
        bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {database}{layout.on_cluster}")
        return cls(clickhouse_connect.get_client(database=database, **kwargs), database, layout)

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded in ``schema_migrations``; returns those applied."""
        with self._lock:
            self._client.command(self.layout.migrations_table())
            done = {
                row[0]
                for row in self._client.query("SELECT version FROM schema_migrations").result_rows
            }
            applied = []
            for version, sql in migrations():
                if version in done:
                    continue
                for statement in split_statements(sql):
                    for rendered in self.layout.render(statement):
                        self._client.command(rendered)
                self._client.insert("schema_migrations", [[version]], column_names=["version"])
                applied.append(version)
            return applied

    def insert_events(self, batch: Sequence[IngestedEvent]) -> None:
        if not batch:
            return
        with self._lock:
            self._client.insert(
                "events", event_columns(batch), column_names=EVENT_COLUMNS, column_oriented=True
            )

    def insert_records(self, output: Output[Any], records: Sequence[Any]) -> None:
        """A detector's records into each of its tables, as its ``Output`` describes them."""
        tables = [(t, t.rows(records)) for t in output.tables] if records else []
        with self._lock:
            for table, rows in tables:
                if rows:
                    self._client.insert(table.table, rows, column_names=table.columns)

    def existing_ids(self, table: str, ids: Sequence[str]) -> set[str]:
        """Which of these record ids ``table`` (sla_events, assignee_gaps) already holds."""
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 10_000):
                result = self._client.query(
                    f"SELECT id FROM {table} WHERE id IN {{ids:Array(String)}}",
                    parameters={"ids": list(ids[start : start + 10_000])},
                )
                found.update(row[0] for row in result.result_rows)
        return found

    def recent_event_ids(
        self, topic: str, partition: int, hours: float, limit: int
    ) -> list[tuple[str, int]]:
        """``(event_id, offset)`` of events read from one partition lately, newest first."""
        with self._lock:
            result = self._client.query(
                "SELECT event_id, min(source_offset) AS first_offset FROM events "
                "WHERE source_topic = {topic:String} AND source_partition = {partition:UInt32} "
                "AND ingested_at >= now64(3) - toIntervalSecond({seconds:UInt64}) "
                "GROUP BY event_id ORDER BY first_offset DESC LIMIT {limit:UInt64}",
                parameters={
                    "topic": topic,
                    "partition": partition,
                    "seconds": int(hours * 3600),
                    "limit": limit,
                },
            )
        return [(row[0], int(row[1])) for row in result.result_rows]

    def query_readonly(self, sql: str) -> QueryResult:
        """Run a read-only statement for a user (BI, ``radar query``): ClickHouse enforces it."""
        if not _READ_ONLY_STATEMENT.match(sql):
            raise ReadOnlyViolation(
                "only SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN are allowed"
            )
        with self._lock:
            result = self._client.query(sql, settings=QUERY_LIMITS)
        return QueryResult(list(result.column_names), [list(row) for row in result.result_rows])

    def close(self) -> None:
        with self._lock:
            self._client.close()


def now_millis() -> int:
    return time.time_ns() // 1_000_000
