"""``python -m bench.wallboard``: how long after a call reaches Kafka the wallboard shows it.

On the local broker, a worker, Debian's Prometheus (1 s scrape) and the wallboard in Debian's
chromium: calls are produced one at a time (a random pause between them, so they do not keep
step with the scrape), and for each we time two things from the moment Kafka acknowledged it:

* baseline: the worker's own ``/metrics`` shows one more waiting call (ingest and detection);
* the tile: the wallboard page in the browser shows it (plus scrape, query and push).

Figures are printed (p50, p95, and the tile's share on top of the baseline), never asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import start_broker, start_worker, worker_env
from infra.local_kafka import free_port
from infra.local_prometheus import LocalPrometheus
from infra.settings import load_settings
from radar.events import Direction, Event, EventType
from radar.policies import load_policies
from schemas.codec import EventCodec, PayloadFormat
from schemas.registry import LocalSchemaRegistry
from streams.reader import ClickHouseReader
from streams.topics import ensure_topics
from streams.upstream import EventProducer
from streams.wallboard.server import Wallboard

POLICIES = Path(__file__).resolve().parents[1] / "config" / "policies.yaml"
QUEUE = "wallboard-bench"
WAITING = f'[data-queue="{QUEUE}"] [data-figure="waiting"] .value'


def waiting_in_metrics(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "radar_queue_waiting" and sample.labels.get("queue") == QUEUE:
                return sample.value
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def measure(
    board_url: str,
    metrics_url: str,
    producer: EventProducer,
    calls: int,
    baseline: list[float],
    tile: list[float],
) -> None:
    """Produce ``calls`` waiting calls one by one, timing /metrics and the tile for each."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_page()
        page.goto(board_url)
        rng = random.Random(7)
        for n in range(1, calls + 1):
            now = time.time_ns() // 1_000_000
            producer.send(
                Event(f"ev-bench-{n}", EventType.CALL_QUEUED, now, f"call-{n}",
                      customer_id=f"cust-{n}", queue=QUEUE, direction=Direction.INBOUND)
            )  # fmt: skip
            assert not producer.flush().failed
            acknowledged = time.monotonic()
            while waiting_in_metrics(metrics_url) < n:
                time.sleep(0.01)
            baseline.append(time.monotonic() - acknowledged)
            page.wait_for_function(
                f"() => document.querySelector('{WAITING}')?.textContent === '{n}'",
                polling="raf",
                timeout=30_000,
            )
            tile.append(time.monotonic() - acknowledged)
            print(f"call {n}: metrics {baseline[-1]:.2f} s, tile {tile[-1]:.2f} s", flush=True)
            time.sleep(rng.uniform(0.5, 1.5))
        browser.close()


def report(baseline: list[float], tile: list[float]) -> None:
    print()
    print(f"{'calls':<48}{len(tile):>8}")
    for label, values in (
        ("baseline: produced -> worker /metrics", baseline),
        ("produced -> wallboard tile (chromium)", tile),
    ):
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"{label:<48}{p50:>8.2f} s p50 {p95:>6.2f} s p95")
    extra = statistics.median(tile) - statistics.median(baseline)
    print(f"{'tile - baseline (scrape, query, push), p50':<48}{extra:>8.2f} s")
    ratio = statistics.median(tile) / statistics.median(baseline)
    print(f"{'tile / baseline, p50':<48}{ratio:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wallboard", description=__doc__)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    baseline: list[float] = []
    tile: list[float] = []
    with tempfile.TemporaryDirectory(prefix="radar-wallboard-bench-") as tmp:
        root = Path(tmp)
        broker = start_broker(root)
        env = worker_env(root / "data", broker.bootstrap_servers, RADAR_POLICIES=str(POLICIES))
        settings = load_settings(environ=env)
        settings.data_dir.mkdir(parents=True)
        ensure_topics(settings)
        worker, run = start_worker(env, settings.data_dir)
        prometheus: LocalPrometheus | None = None
        wallboard: Wallboard | None = None
        try:
            target = run.url.removeprefix("http://")
            prometheus = LocalPrometheus(root / "prometheus", [target], free_port(), (), "1s")
            prometheus.start()
            reader = ClickHouseReader(settings, may_open_chdb=False)
            policies = load_policies(str(POLICIES))
            wallboard = Wallboard(policies, prometheus.url, reader.query, refresh=0.25).start()
            producer = EventProducer(
                settings, EventCodec(LocalSchemaRegistry()), PayloadFormat.AVRO
            )
            measure(wallboard.url, run.url, producer, args.calls, baseline, tile)
            producer.close()
        finally:
            if wallboard is not None:
                wallboard.stop()
            if prometheus is not None:
                prometheus.stop()
            worker.terminate()
            worker.wait(60)
            broker.stop()

    report(baseline, tile)


if __name__ == "__main__":
    main()
