"""Where the wallboard's figures come from: Prometheus for the queue figures (added up over
every worker, as the alert rules add them), ClickHouse for the most urgent work."""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from radar.policies import PolicySet
from radar.wallboard import QueueReading, Status, UrgentItem, Window
from sinks.clickhouse import QueryResult

REAL_TIME = 'channel=~"call|chat"'
# figure -> PromQL summed by queue; the same series the recording rules use
INSTANT_FIGURES = {
    "waiting": f"sum by (queue) (radar_queue_waiting{{{REAL_TIME}}})",
    "oldest_wait_seconds": f"max by (queue) (radar_queue_oldest_wait_seconds{{{REAL_TIME}}})",
    "targets_at_risk": "sum by (queue) (radar_sla_targets_at_risk)",
    "targets_breached": "sum by (queue) (radar_sla_targets_breached_open)",
    "unassigned": "sum by (queue) (radar_assignee_gaps_open)",
}
WINDOW_COUNTERS = {  # Window field -> counter
    "offered": f"radar_queue_offered_total{{{REAL_TIME}}}",
    "answered": "radar_queue_answered_total",
    "answered_within_threshold": "radar_queue_answered_within_threshold_total",
    "abandoned": "radar_queue_abandoned_total",
    "short_abandoned": "radar_queue_short_abandoned_total",
    "answer_wait_seconds": "radar_queue_answer_wait_seconds_sum",
}
UTC = ZoneInfo("UTC")


def window_figures(window: str, prefix: str) -> dict[str, str]:
    return {
        f"{prefix}{name}": f"sum by (queue) (increase({series}[{window}]))"
        for name, series in WINDOW_COUNTERS.items()
    }


def combined(figures: dict[str, str]) -> str:
    """One query for many figures, each result labelled with its figure's name."""
    return " or ".join(
        f'label_replace({expr}, "figure", "{name}", "", "")' for name, expr in figures.items()
    )


def seconds_since_midnight(zone: ZoneInfo, now: float) -> int:
    local = datetime.fromtimestamp(now, zone)
    return max(1, int(now - local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()))


class PrometheusReadings:
    """Each queue's figures, from a Prometheus server scraping every worker."""

    def __init__(self, url: str, policies: PolicySet, timeout: float = 5.0) -> None:
        self._url = url.rstrip("/")
        self._policies = policies
        self._timeout = timeout

    def _zone(self, queue: str) -> ZoneInfo:
        calendar = self._policies.queue(queue).calendar
        return calendar.zone if calendar is not None else UTC

    def _query(self, promql: str) -> dict[str, dict[str, float]]:
        """figure -> queue -> value."""
        url = f"{self._url}/api/v1/query?query={urllib.parse.quote(promql)}"
        with urllib.request.urlopen(url, timeout=self._timeout) as response:
            body = json.loads(response.read())
        out: defaultdict[str, dict[str, float]] = defaultdict(dict)
        for sample in body["data"]["result"]:
            labels = sample["metric"]
            value = float(sample["value"][1])
            if not math.isnan(value):  # NaN: no data in the window
                out[labels["figure"]][labels.get("queue", "")] = value
        return out

    def read(self, now: float | None = None) -> dict[str, QueueReading]:
        now = time.time() if now is None else now
        figures = {**INSTANT_FIGURES, **window_figures("15m", "15m_")}
        values = self._query(combined(figures))
        queues = {q for by_queue in values.values() for q in by_queue} | set(self._policies.queues)
        queues.discard("")
        today: dict[str, dict[str, float]] = {}  # today's figures, per time zone of the queues
        for zone in {self._zone(q) for q in queues}:
            since = seconds_since_midnight(zone, now)
            answers = self._query(combined(window_figures(f"{since}s", "")))
            for queue in (q for q in queues if self._zone(q) == zone):
                today[queue] = {
                    name: by_queue.get(queue, 0.0) for name, by_queue in answers.items()
                }

        def window(queue: str, prefix: str, source: dict[str, dict[str, float]]) -> Window:
            return Window(
                **{
                    name: source.get(f"{prefix}{name}", {}).get(queue, 0.0)
                    for name in WINDOW_COUNTERS
                }
            )

        readings = {}
        for queue in sorted(queues):
            oldest = values.get("oldest_wait_seconds", {}).get(queue)
            readings[queue] = QueueReading(
                queue,
                waiting=int(values.get("waiting", {}).get(queue, 0)),
                oldest_wait_seconds=oldest,
                last_15m=window(queue, "15m_", values),
                today=Window(**today.get(queue, {})),
                targets_at_risk=int(values.get("targets_at_risk", {}).get(queue, 0)),
                targets_breached=int(values.get("targets_breached", {}).get(queue, 0)),
                unassigned=int(values.get("unassigned", {}).get(queue, 0)),
            )
        return readings


URGENT_SQL = """
SELECT interaction_id, ifNull(queue, '') AS queue_name, metric, state,
       toUnixTimestamp64Milli(due_at) AS due_ms, owner
FROM sla_targets FINAL
WHERE state IN ('at_risk', 'breached') AND due_at IS NOT NULL
  AND started_at >= now() - INTERVAL 30 DAY
ORDER BY state = 'breached' DESC, due_at
LIMIT {limit}
"""


def urgent_work(query: Callable[[str], QueryResult], limit: int) -> list[UrgentItem]:
    """Targets at risk, and breached ones still owed, from the latest state of each target."""
    result = query(URGENT_SQL.format(limit=int(limit)))
    return [_urgent(row) for row in result.rows]


def _urgent(row: Iterable[object]) -> UrgentItem:
    interaction, queue, metric, state, due_ms, owner = row
    return UrgentItem(
        str(interaction),
        str(queue),
        str(metric),
        Status.BREACHED if state == "breached" else Status.AT_RISK,
        int(str(due_ms)),
        None if owner is None else str(owner),
    )
