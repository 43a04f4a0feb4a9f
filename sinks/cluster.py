"""The migrations' DDL for one node or for a ClickHouse cluster, chosen by ``CLICKHOUSE_CLUSTER``.

The files in ``sinks/migrations`` are written for one node. On a cluster each table becomes a
replicated ``<name>_local`` table on every shard plus a ``Distributed`` table under the
original name, so inserts and queries keep using the names they know. Rows are sharded by
customer so a customer's rows live together; where a table's replacing key does not fix its
customer (a target's first records may not know it yet), the key itself shards, because
``FINAL`` only collapses rows that landed on the same shard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# How each table's rows are spread over the shards.
SHARDING_KEYS: Final[dict[str, str]] = {
    "events": "cityHash64(coalesce(customer_id, interaction_id, event_id))",
    "sla_events": "cityHash64(coalesce(customer_id, interaction_id))",
    "sla_targets": "cityHash64(interaction_id)",
    "assignee_gaps": "cityHash64(coalesce(customer_id, interaction_id))",
    "churn_signals": "cityHash64(customer_id)",
    "churn_levels": "cityHash64(customer_id)",
    "queue_contacts": "cityHash64(coalesce(customer_id, contact_id))",
    # Aggregates: any shard will do, reads merge them; fed per shard by their views.
    "queue_minute": "cityHash64(queue)",
    "sla_minute": "cityHash64(queue)",
}

MIGRATIONS_TABLE: Final = "schema_migrations"
_MIGRATIONS_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS schema_migrations{on_cluster} "
    "(version String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
    "ENGINE = {engine} ORDER BY version"
)

_CREATE_TABLE = re.compile(
    r"^CREATE TABLE IF NOT EXISTS (?P<name>\w+)\s*(?P<columns>\(.*\))\s*"
    r"ENGINE = (?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?(?P<rest>.*)$",
    re.S,
)
_CREATE_VIEW = re.compile(r"^CREATE VIEW IF NOT EXISTS (?P<name>\w+)(?P<rest>\s+AS\s.*)$", re.S)
_CREATE_MATERIALIZED_VIEW = re.compile(
    r"^CREATE MATERIALIZED VIEW IF NOT EXISTS (?P<name>\w+) TO (?P<target>\w+)(?P<rest>\s+AS\s.*)$",
    re.S,
)
_ALTER_TABLE = re.compile(r"^ALTER TABLE (?P<name>\w+)(?P<rest>\s.*)$", re.S)
_INSERT = re.compile(r"^INSERT INTO \w+\s", re.S)
_FROM_TABLE = re.compile(r"\bFROM\s+(\w+)")


class UnknownStatement(ValueError):
    """A migration statement the cluster layout does not know how to spread."""


@dataclass(frozen=True, slots=True)
class TableLayout:
    """Where the tables live: ``cluster`` is a name from the servers' ``remote_servers``, or
    ``None`` for one node (the migrations run as written)."""

    cluster: str | None = None
    database: str = "radar"

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER {self.cluster}" if self.cluster else ""

    def migrations_table(self) -> str:
        """DDL of the ledger of applied migrations: on a cluster, one copy on every node."""
        if not self.cluster:
            engine = "ReplacingMergeTree"
        else:
            path = "/clickhouse/tables/all/{database}/{table}"  # one shard: every node
            engine = f"ReplicatedReplacingMergeTree('{path}', '{{replica}}')"
        return _MIGRATIONS_DDL.format(on_cluster=self.on_cluster, engine=engine)

    def render(self, statement: str) -> list[str]:
        """The statements that carry out one migration statement on this layout."""
        if not self.cluster:
            return [statement]
        if match := _CREATE_TABLE.match(statement):
            return self._table(**match.groupdict())
        if match := _CREATE_MATERIALIZED_VIEW.match(statement):
            name, target, rest = match["name"], match["target"], match["rest"]
            # A view over the local table fires on the shard that received the rows.
            rest = _FROM_TABLE.sub(lambda m: f"FROM {self._local(m[1])}", rest)
            return [
                f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name}{self.on_cluster} "
                f"TO {self._local(target)}{rest}"
            ]
        if match := _CREATE_VIEW.match(statement):
            return [f"CREATE VIEW IF NOT EXISTS {match['name']}{self.on_cluster}{match['rest']}"]
        if match := _ALTER_TABLE.match(statement):
            name, rest = match["name"], match["rest"]
            return [
                f"ALTER TABLE {self._local(name)}{self.on_cluster}{rest}",
                f"ALTER TABLE {name}{self.on_cluster}{rest}",
            ]
        if _INSERT.match(statement):
            return [statement]  # through the Distributed tables, to the shards their keys pick
        raise UnknownStatement(f"no cluster form for: {statement[:80]}")

    def _table(
        self, name: str, columns: str, engine: str, args: str | None, rest: str
    ) -> list[str]:
        if name not in SHARDING_KEYS:
            raise UnknownStatement(f"table {name} has no sharding key in sinks/cluster.py")
        local = self._local(name)
        replication = ["'/clickhouse/tables/{shard}/{database}/{table}'", "'{replica}'"]
        engine_args = ", ".join([*replication, *([args] if args else [])])
        return [
            f"CREATE TABLE IF NOT EXISTS {local}{self.on_cluster}\n{columns}\n"
            f"ENGINE = Replicated{engine}({engine_args}){rest}",
            f"CREATE TABLE IF NOT EXISTS {name}{self.on_cluster} AS {local}\n"
            f"ENGINE = Distributed({self.cluster}, {self.database}, {local}, "
            f"{SHARDING_KEYS[name]})",
        ]

    def _local(self, name: str) -> str:
        return f"{name}_local" if name in SHARDING_KEYS else name
