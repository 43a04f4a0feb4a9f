"""Each call's and chat's steps through its queue, for the BI aggregates: ``queue_contacts``
only. No topic: the queue figures reach Prometheus as counters (``sinks/metrics.QueueMetrics``),
and ``radar replay`` does not print them."""

from __future__ import annotations

from typing import Final

from radar.outputs import Output, TableRows
from radar.queues import ContactRecord

CONTACT_OUTPUT: Final = Output[ContactRecord](
    name="contacts",
    stream="contact",
    title="queue figures",
    record_type=ContactRecord,
    tables=(TableRows.of_fields("queue_contacts", ContactRecord),),
    key=lambda record: record.contact_id,
    replayed=False,
)
