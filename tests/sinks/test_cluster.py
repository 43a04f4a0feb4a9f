from __future__ import annotations

import re

import clickhouse_connect
import pytest

from infra.settings import Settings
from sinks.clickhouse import migrations, split_statements
from sinks.cluster import SHARDING_KEYS, TableLayout, UnknownStatement

CLUSTER = TableLayout(cluster="radar_cluster", database="radar")


def statements() -> list[str]:
    return [stmt for _, sql in migrations() for stmt in split_statements(sql)]


def rendered() -> list[str]:
    return [out for stmt in statements() for out in CLUSTER.render(stmt)]


def created_tables() -> dict[str, str]:
    """Table name -> column list, of every table the migrations create."""
    found = {}
    for stmt in statements():
        if match := re.match(r"CREATE TABLE IF NOT EXISTS (\w+)\s*\((.*)\)\s*ENGINE", stmt, re.S):
            found[match[1]] = match[2]
    return found


def test_one_node_runs_the_migrations_as_written() -> None:
    one_node = TableLayout(database="radar")
    for stmt in statements():
        assert one_node.render(stmt) == [stmt]
    assert "ON CLUSTER" not in one_node.migrations_table()


def test_every_table_becomes_replicated_shards_under_a_distributed_table() -> None:
    out = rendered()
    for name in created_tables():
        local = next(s for s in out if s.startswith(f"CREATE TABLE IF NOT EXISTS {name}_local "))
        assert " ON CLUSTER radar_cluster" in local
        assert re.search(r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{shard\}/", local)
        distributed = next(s for s in out if s.startswith(f"CREATE TABLE IF NOT EXISTS {name} "))
        assert f"AS {name}_local" in distributed
        assert (
            f"ENGINE = Distributed(radar_cluster, radar, {name}_local, {SHARDING_KEYS[name]})"
            in distributed
        )


def test_a_replacing_version_column_survives_replication() -> None:
    out = rendered()
    targets = next(s for s in out if s.startswith("CREATE TABLE IF NOT EXISTS sla_targets_local"))
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', " in targets
    )
    assert "'{replica}', updated_at)" in targets


def test_sharding_keys_name_columns_of_their_table() -> None:
    tables = created_tables()
    assert set(SHARDING_KEYS) == set(tables)
    for name, key in SHARDING_KEYS.items():
        for column in re.findall(r"\b([a-z_]+)\b", key):
            if column in {"cityhash64", "coalesce"}:
                continue
            assert re.search(rf"^\s*{column}\s", tables[name], re.M), (name, column)


def test_customer_tables_shard_by_customer() -> None:
    for name in ("events", "sla_events", "assignee_gaps", "churn_signals", "churn_levels"):
        assert "customer_id" in SHARDING_KEYS[name]


def test_views_fire_on_the_shard_that_received_the_rows() -> None:
    views = [s for s in rendered() if s.startswith("CREATE MATERIALIZED VIEW")]
    assert len(views) == 2
    for view in views:
        assert re.search(r"ON CLUSTER radar_cluster TO \w+_local\s+AS", view)
        assert re.search(r"\bFROM \w+_local\b", view)


def test_alters_reach_the_shards_and_the_distributed_table() -> None:
    alters = [s for s in rendered() if s.startswith("ALTER TABLE")]
    assert [a.split(" ON CLUSTER")[0] for a in alters] == [
        "ALTER TABLE sla_events_local",
        "ALTER TABLE sla_events",
    ]


def test_every_statement_but_inserts_runs_on_the_whole_cluster() -> None:
    for stmt in rendered():
        assert stmt.startswith("INSERT INTO") or " ON CLUSTER radar_cluster" in stmt, stmt


def test_an_unknown_table_or_statement_is_refused() -> None:
    with pytest.raises(UnknownStatement, match="sharding key"):
        CLUSTER.render(
            "CREATE TABLE IF NOT EXISTS novel (id String) ENGINE = MergeTree ORDER BY id"
        )
    with pytest.raises(UnknownStatement):
        CLUSTER.render("DROP TABLE events")


def test_the_clickhouse_parser_accepts_every_rendered_statement(settings: Settings) -> None:
    """ClickHouse's own parser (chDB cannot hold a cluster, but it parses like a server)."""
    client = clickhouse_connect.get_client(dsn=settings.clickhouse_target())
    for stmt in [CLUSTER.migrations_table(), *rendered()]:
        formatted = client.query("SELECT formatQuery({q:String})", parameters={"q": stmt})
        assert formatted.result_rows[0][0].split()[0] in {"CREATE", "ALTER", "INSERT"}
    with pytest.raises(Exception, match=r"SYNTAX_ERROR|Syntax error"):
        client.query("SELECT formatQuery({q:String})", parameters={"q": "CREATE TABLE x (a"})
