"""What-if policy replay: the same events under two policy files, compared per queue and metric."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from radar.events import Event, millis_to_iso
from radar.policies import PolicySet, load_policies, parse_policies
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from radar.whatif import compare, figures, sla_records
from tests.factories import first_copies

POLICIES = Path(__file__).resolve().parents[2] / "config" / "policies.yaml"
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
def week() -> list[Event]:
    options = SimulationOptions(
        seed=5, start_ms=START, duration_ms=7 * DAY_MS, model=CenterModel(contacts_per_day=300)
    )
    return first_copies(Simulation(options))


def tighter(text: str) -> PolicySet:
    return parse_policies(text.replace("chat_wait_time: 2m", "chat_wait_time: 20s"))


def test_the_same_policy_file_gives_identical_figures(week: list[Event]) -> None:
    current = load_policies(str(POLICIES))
    rows = compare(week, current, load_policies(str(POLICIES)), START + DAY_MS, START + 8 * DAY_MS)

    assert rows
    for row in rows:
        assert row.current == row.proposed
        assert set(row.difference().values()) <= {0, None}


def test_a_tighter_target_gives_more_breaches_and_fewer_achieved_within(
    week: list[Event],
) -> None:
    current = load_policies(str(POLICIES))
    proposed = tighter(POLICIES.read_text())

    rows = {
        (r.queue, r.metric): r
        for r in compare(week, current, proposed, START + DAY_MS, START + 8 * DAY_MS)
    }

    chats = [r for (queue, metric), r in rows.items() if metric == "chat_wait_time"]
    assert chats
    for row in chats:
        assert row.proposed["targets"] == row.current["targets"]
        assert row.difference()["breaches"] > 0
        assert row.difference()["achieved_within_target"] < 0
    untouched = [r for (queue, metric), r in rows.items() if metric == "call_answer_time"]
    assert untouched
    assert all(r.current == r.proposed for r in untouched)


def test_only_targets_started_in_the_window_count_and_earlier_events_warm_up(
    week: list[Event],
) -> None:
    policies = load_policies(str(POLICIES))
    since = START + 3 * DAY_MS
    records = sla_records(week, policies, START + 8 * DAY_MS)

    counted = figures(records, since)

    in_window = {(r.interaction_id, r.metric, r.cycle) for r in records if r.started_at >= since}
    assert sum(len(f.targets) for f in counted.values()) == len(in_window)
    assert len(in_window) < len({(r.interaction_id, r.metric, r.cycle) for r in records})


STORE_A_LIVE_WEEK = """
import sys
from infra.settings import load_settings
from radar.dedup import SourcePosition
from radar.policies import load_policies
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from radar.sla.output import SLA_OUTPUT
from radar.whatif import sla_records
from sinks.clickhouse import ClickHouseStore, IngestedEvent

until = int(sys.argv[1])
options = SimulationOptions(
    seed=9, start_ms=until - 8 * DAY_MS, duration_ms=8 * DAY_MS,
    model=CenterModel(contacts_per_day=300),
)
seen = set()
events = [e for e in Simulation(options) if not (e.event_id in seen or seen.add(e.event_id))]
events = [e for e in events if e.occurred_at < until]  # what had happened by then
store = ClickHouseStore.connect(load_settings())
store.migrate()
store.insert_events([IngestedEvent(e, SourcePosition("t", 0, n), "json", 0)
                     for n, e in enumerate(events)])
store.insert_records(SLA_OUTPUT, sla_records(events, load_policies(sys.argv[2]), until))
"""


def _radar(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        env={"RADAR_DATA_DIR": str(tmp_path), "PATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_radar_whatif_on_a_stored_week_equals_the_live_records(tmp_path: Path) -> None:
    until = (int(time.time() * 1000) // DAY_MS) * DAY_MS
    subprocess.run(
        [sys.executable, "-c", STORE_A_LIVE_WEEK, str(until), str(POLICIES)],
        check=True,
        env={"RADAR_DATA_DIR": str(tmp_path), "PATH": ""},
    )
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(POLICIES.read_text().replace("chat_wait_time: 2m", "chat_wait_time: 20s"))
    window = ["--since", "7d", "--until", millis_to_iso(until), "--current", str(POLICIES)]

    same = json.loads(
        _radar(tmp_path, "whatif", "--policies", str(POLICIES), *window, "--format", "json")
    )
    tight = json.loads(
        _radar(tmp_path, "whatif", "--policies", str(proposed), *window, "--format", "json")
    )
    live = json.loads(
        "[" + ",".join(_radar(tmp_path, "query", "--format", "json", LIVE_FIGURES.format(
            since=until - 7 * DAY_MS)).splitlines()) + "]"
    )  # fmt: skip
    table = _radar(tmp_path, "whatif", "--policies", str(proposed), *window)

    assert all(set(r["difference"].values()) <= {0, None} for r in same["rows"])
    by_key = {(r["queue"], r["metric"]): r for r in tight["rows"]}
    assert {(r["queue"], r["metric"]) for r in live} == set(by_key)
    for row in live:
        current = by_key[(row["queue"], row["metric"])]["current"]
        assert (current["targets"], current["breaches"], current["achieved_within_target"]) == (
            int(row["targets"]), int(row["breaches"]), int(row["within"]),
        ), row  # fmt: skip
    chats = [r for r in tight["rows"] if r["metric"] == "chat_wait_time"]
    assert chats
    assert all(r["difference"]["breaches"] > 0 for r in chats)
    header = table.splitlines()[0].split()
    assert header[:3] == ["queue", "metric", "targets"]
    assert "→" in table


LIVE_FIGURES = (
    "SELECT ifNull(queue, '') AS queue, metric, uniqExact(interaction_id, cycle) AS targets,"
    " countIf(kind = 'breach') - countIf(kind = 'retracted') AS breaches,"
    " countIf(kind = 'achieved' AND NOT late) AS within"
    " FROM sla_events FINAL WHERE started_at >= fromUnixTimestamp64Milli({since})"
    " GROUP BY queue, metric"
)
