"""Where schema ids come from: a schema registry when one is configured, else ``schemas/``.

Both sides of the pipeline ask the same two questions: "which id do I frame this event type
with?" (producers) and "which schema does this id name?" (the ingest path).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from radar.events import EventType
from schemas.catalog import EventSchema, load_event_schemas, parse_event_schema

log = logging.getLogger(__name__)

T = TypeVar("T")


class SchemaRegistryUnavailable(RuntimeError):
    """The registry could not be asked; unlike an unknown id, this is not the input's fault."""


class SchemaResolver(Protocol):
    def id_for(self, event_type: EventType) -> int: ...

    def schema_for(self, schema_id: int) -> EventSchema | None: ...


class LocalSchemaRegistry:
    """Ids derived from each schema's canonical form (``EventSchema.local_id``); no server."""

    def __init__(self, schemas: dict[EventType, EventSchema] | None = None) -> None:
        self._schemas = schemas or load_event_schemas()
        self._by_id = {s.local_id: s for s in self._schemas.values()}
        if len(self._by_id) != len(self._schemas):
            raise ValueError("two event schemas share a local id; rename one")

    def id_for(self, event_type: EventType) -> int:
        return self._schemas[event_type].local_id

    def schema_for(self, schema_id: int) -> EventSchema | None:
        return self._by_id.get(schema_id)


class ConfluentSchemaRegistry:
    """A Confluent-compatible registry through confluent-kafka's client.

    Schemas are registered under ``<topic>-<record full name>`` (TopicRecordNameStrategy),
    since each topic carries several event types. ``mock://`` URLs use the client's
    in-process registry.
    """

    def __init__(
        self,
        client: Any,
        topic_for: dict[EventType, str],
        *,
        schemas: dict[EventType, EventSchema] | None = None,
        attempts: int = 5,
    ) -> None:
        self._client = client
        self._schemas = schemas or load_event_schemas()
        self._topic_for = topic_for
        self._ids: dict[EventType, int] = {}
        self._by_id: dict[int, EventSchema | None] = {}
        self._attempts = attempts

    @classmethod
    def from_url(
        cls, url: str, topic_for: dict[EventType, str], auth: str | None = None
    ) -> ConfluentSchemaRegistry:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        conf = {"url": url}
        if auth:
            conf["basic.auth.user.info"] = auth
        return cls(SchemaRegistryClient.new_client(conf), topic_for)

    def id_for(self, event_type: EventType) -> int:
        schema_id = self._ids.get(event_type)
        if schema_id is None:
            from confluent_kafka.schema_registry import Schema

            local = self._schemas[event_type]
            subject = f"{self._topic_for[event_type]}-{local.fullname}"
            schema_id = self._retrying(
                lambda: self._client.register_schema(subject, Schema(local.text, "AVRO"))
            )
            self._ids[event_type] = schema_id
            self._by_id[schema_id] = local
        return schema_id

    def schema_for(self, schema_id: int) -> EventSchema | None:
        if schema_id in self._by_id:
            return self._by_id[schema_id]
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        def fetch() -> EventSchema | None:
            try:
                registered = self._client.get_schema(schema_id)
            except SchemaRegistryError as exc:
                if exc.http_status_code == 404:
                    return None
                raise
            try:
                return parse_event_schema(registered.schema_str)
            except (ValueError, TypeError) as exc:
                log.warning("schema id %d is not an event schema: %s", schema_id, exc)
                return None

        found = self._retrying(fetch)
        self._by_id[schema_id] = found
        return found

    def _retrying(self, call: Callable[[], T]) -> T:
        delay = 0.2
        for attempt in range(1, self._attempts + 1):
            try:
                return call()
            except Exception as exc:  # network, 5xx: the registry's fault, not the input's
                if attempt == self._attempts:
                    raise SchemaRegistryUnavailable(str(exc)) from exc
                log.warning("schema registry call failed (attempt %d): %s", attempt, exc)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")
