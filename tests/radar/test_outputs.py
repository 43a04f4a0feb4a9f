"""The registered outputs describe their records truly: every table, column, schema and topic
they name exists, and every record of a simulated day lands where its output says."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from radar.outputs import Output
from radar.policies import load_policies
from radar.replay import EventTimeDetection
from radar.shard import OUTPUTS, ShardRecords
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from schemas.outputs import RecordCodec
from sinks.clickhouse import ClickHouseStore
from tests.factories import BASE_MS, first_copies

POLICIES = Path(__file__).resolve().parents[2] / "config" / "policies.yaml"


@cache
def a_simulated_day() -> ShardRecords:
    options = SimulationOptions(
        seed=5,
        start_ms=BASE_MS,
        duration_ms=DAY_MS,
        model=CenterModel(contacts_per_day=600),
        anomaly_rate=0.05,
        churners=4,
    )
    detection = EventTimeDetection(load_policies(POLICIES))
    records = ShardRecords()
    for event in first_copies(Simulation(options)):
        records.extend(detection.offer(event))
    records.extend(detection.finish(BASE_MS + 5 * DAY_MS))
    return records


def test_outputs_have_distinct_names_tables_and_topics() -> None:
    for attribute in ("name", "stream", "table", "record_type"):
        values = [getattr(o, attribute) for o in OUTPUTS]
        assert len(set(values)) == len(values), attribute
    topics = [o.topic for o in OUTPUTS if o.topic]
    assert len(set(topics)) == len(topics)


@pytest.mark.parametrize("output", OUTPUTS, ids=lambda o: o.name)
def test_each_record_is_filed_under_its_output(output: Output[Any]) -> None:
    records = a_simulated_day()
    assert records[output.name], f"the simulated day has no {output.name} records"
    for record in records[output.name]:
        assert isinstance(record, output.record_type)
        assert record.as_json()["stream"] == output.stream
        assert output.key(record)


def test_shard_records_route_by_type_and_refuse_an_unknown_output() -> None:
    day = a_simulated_day()
    mixed = [r for _, records in day.outputs() for r in records[:3]]
    routed = ShardRecords.of(mixed)
    for output in OUTPUTS:
        assert routed[output.name] == day[output.name][:3]
    assert len(routed) == len(mixed)
    with pytest.raises(KeyError):
        routed["nothing"] = []
    with pytest.raises(AttributeError):
        _ = routed.nothing


def test_every_table_and_column_an_output_names_exists(store: ClickHouseStore) -> None:
    day = a_simulated_day()
    for output, records in day.outputs():
        for table in output.tables:
            described = store.query_readonly(f"DESCRIBE TABLE {table.table}")
            columns = {row[0] for row in described.rows}
            assert set(table.columns) <= columns, (table.table, set(table.columns) - columns)
        store.insert_records(output, records)
        stored = store.query_readonly(f"SELECT count() FROM {output.table} FINAL").rows[0][0]
        assert stored == len({r.id for r in records}), output.table


@pytest.mark.parametrize("output", [o for o in OUTPUTS if o.topic], ids=lambda o: o.name)
def test_each_published_output_encodes_its_records(output: Output[Any]) -> None:
    codec = RecordCodec(output)
    for record in a_simulated_day()[output.name][:50]:
        assert codec.decode(codec.encode_record(record))["id"] == record.id


def test_a_table_only_output_has_no_codec() -> None:
    (table_only,) = [o for o in OUTPUTS if o.topic is None]
    with pytest.raises(ValueError, match="not published"):
        RecordCodec(table_only)
