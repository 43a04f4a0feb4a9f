from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence

from radar.events import Event, EventType
from streams.detection_format import Command, command_of, decode_events
from streams.feed import EVENTS_PER_MESSAGE, DetectionFeed
from streams.publisher import OutboundMessage
from tests.factories import make_event

PARTITIONS = 4


class Topic:
    """The detection topic: what was published, message by message."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    async def __call__(self, messages: Sequence[OutboundMessage]) -> dict[int, int]:
        self.messages += messages
        return {}

    def partitions(self) -> int:
        return PARTITIONS

    def events_in(self, partition: int) -> list[Event]:
        return [
            event
            for m in self.messages
            if m.partition == partition
            for event in decode_events(m.value or b"")
        ]


def fed(events: list[Event]) -> Topic:
    topic = Topic()
    asyncio.run(DetectionFeed(topic).__call__(events))  # type: ignore[arg-type]
    return topic


def test_a_customer_stays_in_the_partition_a_keyed_message_had_it_in() -> None:
    events = [make_event(customer_id=f"cust-{n % 9}") for n in range(60)]
    topic = fed(events)
    for partition in range(PARTITIONS):
        for event in topic.events_in(partition):
            key = f"customer:{event.customer_id}".encode()
            assert zlib.crc32(key) % PARTITIONS == partition  # librdkafka's own choice
    assert sum(len(topic.events_in(p)) for p in range(PARTITIONS)) == len(events)


def test_events_travel_in_batches_in_their_order_and_agents_reach_every_partition() -> None:
    agent = make_event(EventType.AGENT_ACTIVATED)
    events = [make_event(customer_id="cust-1") for _ in range(3)] + [agent]
    events += [make_event(customer_id="cust-1") for _ in range(2)]
    topic = fed(events)
    assert all(command_of(m.headers) is Command.EVENTS for m in topic.messages)
    home = next(p for p in range(PARTITIONS) if topic.events_in(p) != [agent])
    assert topic.events_in(home) == events
    for partition in set(range(PARTITIONS)) - {home}:
        assert topic.events_in(partition) == [agent]
    assert len(topic.messages) == PARTITIONS  # one message per partition


def test_a_large_batch_is_split_below_the_message_limit() -> None:
    events = [make_event(customer_id="cust-1") for _ in range(2 * EVENTS_PER_MESSAGE + 1)]
    topic = fed(events)
    assert [len(decode_events(m.value or b"")) for m in topic.messages] == [
        EVENTS_PER_MESSAGE,
        EVENTS_PER_MESSAGE,
        1,
    ]
    assert [e for m in topic.messages for e in decode_events(m.value or b"")] == events
