from __future__ import annotations

import json
from importlib import resources

import pytest

from radar.events import EventType, FieldKind, fields_of
from schemas.catalog import load_event_schemas, parse_event_schema, strip_logical_types


def _avro_type(kind: FieldKind) -> str:
    return {
        "string": "string",
        "int": "int",
        "boolean": "boolean",
        "timestamp": "long",
        "enum": "enum",
    }[kind]


@pytest.mark.parametrize("event_type", list(EventType))
def test_each_schema_file_matches_the_contract(event_type: EventType) -> None:
    """The .avsc files and radar/events.py describe the same fields, types and optionality."""
    text = (resources.files("schemas") / "avro" / "events" / f"{event_type.value}.avsc").read_text()
    schema = json.loads(text)
    assert schema["name"] == event_type.record_name
    fields = {f["name"]: f for f in schema["fields"]}
    assert list(fields) == ["type", *(spec.name for spec in fields_of(event_type))]
    for spec in fields_of(event_type):
        declared = fields[spec.name]["type"]
        if spec.required:
            assert not isinstance(declared, list), spec.name
        else:
            assert isinstance(declared, list), spec.name
            assert declared[0] == "null", spec.name
            assert fields[spec.name]["default"] is None
            declared = declared[1]
        kind = declared if isinstance(declared, str) else declared["type"]
        assert kind == _avro_type(spec.kind), spec.name
        if spec.kind is FieldKind.TIMESTAMP:
            assert declared["logicalType"] == "timestamp-millis"
        if spec.kind is FieldKind.ENUM:
            assert spec.enum is not None
            assert declared["symbols"] == [m.value for m in spec.enum]


def test_local_ids_are_stable_and_distinct() -> None:
    schemas = load_event_schemas()
    ids = {s.local_id for s in schemas.values()}
    assert len(ids) == len(EventType)
    assert all(0 < i < 2**31 for i in ids)
    again = load_event_schemas()
    assert {t: s.local_id for t, s in schemas.items()} == {t: s.local_id for t, s in again.items()}


def test_ids_ignore_formatting_and_docs() -> None:
    original = load_event_schemas()[EventType.TICKET_CSAT]
    reformatted = json.loads(original.text)
    reformatted["doc"] = "another description"
    assert parse_event_schema(json.dumps(reformatted)).local_id == original.local_id


def test_a_real_change_changes_the_id() -> None:
    original = load_event_schemas()[EventType.TICKET_CSAT]
    changed = json.loads(original.text)
    changed["fields"].append({"name": "comment", "type": ["null", "string"], "default": None})
    assert parse_event_schema(json.dumps(changed)).local_id != original.local_id


def test_a_schema_outside_the_contract_is_refused() -> None:
    with pytest.raises(ValueError, match="not an event type"):
        parse_event_schema('{"type": "record", "name": "Pizza", "fields": []}')


def test_strip_logical_types_keeps_everything_else() -> None:
    schema = {
        "type": "record",
        "fields": [{"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
    }
    assert strip_logical_types(schema) == {
        "type": "record",
        "fields": [{"name": "t", "type": {"type": "long"}}],
    }
