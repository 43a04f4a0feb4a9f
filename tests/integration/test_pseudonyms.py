"""With RADAR_PSEUDONYMIZE_KEY set, no raw customer id reaches a table or an output topic, and
BI still joins by customer."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings import load_settings
from radar.pseudonyms import Pseudonymizer
from streams.topics import ensure_topics, output_topics
from tests.integration.conftest import WorkerProcess, read_topic_to_end
from tests.integration.test_ground_truth_live import wait_until_settled
from tests.integration.test_pipeline import produce, simulated
from tests.radar.sla.test_ground_truth import EXAMPLE

pytestmark = pytest.mark.integration
KEY = "pseudonym-key-for-the-test"
TABLES = {
    "events": "customer_id",
    "sla_events": "customer_id",
    "sla_targets": "customer_id",
    "assignee_gaps": "customer_id",
    "churn_signals": "customer_id",
    "churn_levels": "customer_id",
    "queue_contacts": "customer_id",
    "customer_timeline": "customer_id",
}


@pytest.fixture
def engine() -> str:
    return "bulk"


def test_no_raw_customer_id_is_stored_or_published(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = worker_env | {"RADAR_PSEUDONYMIZE_KEY": KEY, "RADAR_POLICIES": str(EXAMPLE)}
    settings = load_settings(environ=env)
    ensure_topics(settings)
    events = simulated(3)
    raw = {e.customer_id for e in events if e.customer_id}
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        produce(settings, events)
        wait_until_settled(worker, events)
        stored: dict[str, set[str]] = {}
        for table, column in TABLES.items():
            rows = worker.query(f"SELECT DISTINCT {column} FROM {table} WHERE {column} != ''")
            stored[table] = {r[0] for r in rows.rows if r[0] is not None}
        published = b"".join(
            b"".join(read_topic_to_end(settings, topic)) for topic in output_topics(settings)
        )
    finally:
        worker.stop()

    pseudonyms = {Pseudonymizer(KEY.encode()).pseudonym(c) for c in raw}
    assert stored["events"] == pseudonyms  # every customer, each under one pseudonym
    for table in ("events", "sla_events", "queue_contacts", "customer_timeline"):
        assert stored[table], table
    for table, ids in stored.items():
        assert not ids & raw, f"raw customer ids in {table}"
        assert ids <= pseudonyms, table  # the same pseudonyms everywhere: BI joins still work
    assert published
    assert not any(c.encode() in published for c in raw)
