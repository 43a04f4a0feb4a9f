"""The project's topics (domain.md sections 2 and 4) and their idempotent creation."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from infra.settings import Settings
from radar.events import Channel, EventType
from radar.shard import OUTPUTS

log = logging.getLogger(__name__)


class Topic(StrEnum):
    """Inputs and dead letters; each detector's output names its own topic (``Output.topic``)."""

    CALLS = "support.calls"
    CHATS = "support.chats"
    TICKETS = "support.tickets"
    AGENTS = "support.agents"
    DEAD_LETTER = "support.dead-letter"


INPUT_TOPICS: Final = (Topic.CALLS, Topic.CHATS, Topic.TICKETS, Topic.AGENTS)

_BY_CHANNEL: Final = {
    Channel.CALL: Topic.CALLS,
    Channel.CHAT: Topic.CHATS,
    Channel.TICKET: Topic.TICKETS,
    Channel.AGENT: Topic.AGENTS,
}


def topic_for(event_type: EventType) -> Topic:
    return _BY_CHANNEL[event_type.channel]


def topic_names(settings: Settings, topics: Iterable[Topic] = tuple(Topic)) -> dict[Topic, str]:
    """Each topic's name with the configured prefix."""
    return {topic: settings.topic(topic.value) for topic in topics}


def output_topics(settings: Settings) -> list[str]:
    """The registered detectors' output topics, with the configured prefix."""
    return [settings.topic(output.topic) for output in OUTPUTS if output.topic]


def detection_topic(settings: Settings) -> str:
    """Stored events keyed by customer, and the detectors' ticks; internal to the app."""
    return f"{settings.app_id}-detection"


def journal_changelog(settings: Settings, table: str) -> str:
    """The changelog Faust expects for ``table`` (Faust itself declares no topics here)."""
    return f"{settings.app_id}-{table}-changelog"


def ensure_topics(settings: Settings, timeout: float = 30.0) -> list[str]:
    """Create every missing topic with the configured partitions, the app's internal ones
    included; returns those created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient(settings.kafka_client_config())
    from streams.journal import JOURNAL_TABLE

    partitions, replication = settings.topic_partitions, settings.topic_replication
    wanted = [
        NewTopic(name, partitions, replication)
        for name in [
            *topic_names(settings).values(),
            *output_topics(settings),
            detection_topic(settings),
        ]
    ]
    wanted.append(
        NewTopic(
            journal_changelog(settings, JOURNAL_TABLE),
            partitions,
            replication,
            config={"cleanup.policy": "compact"},
        )
    )
    created = []
    for name, future in admin.create_topics(wanted, request_timeout=timeout).items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    if created:
        log.info("created topics %s", ", ".join(created))
    return created
