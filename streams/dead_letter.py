"""Dead letters: the rejected message's own key and bytes, with why and where in headers.

Keeping the value byte-for-byte lets an operator fix the producer and re-send the original;
the headers follow the shape of Kafka Connect's error headers, under a ``radar.`` prefix.
"""

from __future__ import annotations

from radar.dedup import SourcePosition
from radar.events import Rejection
from streams.publisher import Headers, OutboundMessage

REASON = "radar.dlq.reason"
DETAIL = "radar.dlq.detail"
TOPIC = "radar.dlq.topic"
PARTITION = "radar.dlq.partition"
OFFSET = "radar.dlq.offset"


DeadLetter = OutboundMessage


def dead_letter(
    rejection: Rejection,
    key: bytes | None,
    value: bytes | None,
    position: SourcePosition,
    original_headers: Headers | None = None,
) -> DeadLetter:
    headers: Headers = list(original_headers or [])
    headers += [
        (REASON, rejection.reason.value.encode()),
        (DETAIL, rejection.detail.encode("utf-8", "replace")[:2000]),
        (TOPIC, position.topic.encode()),
        (PARTITION, str(position.partition).encode()),
        (OFFSET, str(position.offset).encode()),
    ]
    return DeadLetter(key, value, headers)
