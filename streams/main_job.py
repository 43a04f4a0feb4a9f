"""``radar run``: the whole system on one machine, for a first look and for demos.

Starts the local broker (unless Kafka is configured), creates topics, starts ``radar worker``
as a child process and a Prometheus server scraping it, feeds it simulated live traffic and
prints a summary every few seconds. Ctrl-C (or SIGTERM) stops the simulator, Prometheus, the
worker, then the broker, in that order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from prometheus_client.parser import text_string_to_metric_families

from infra.local_kafka import LocalKafka, free_port
from infra.local_prometheus import LocalPrometheus
from infra.settings import Settings
from radar.events import Event
from radar.policies import PolicyError
from radar.simulate.center import INTRADAY_CURVE, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from schemas.codec import EventCodec, PayloadFormat
from streams.endpoint import RunFile
from streams.topics import ensure_topics
from streams.upstream import EventProducer
from streams.wallboard.server import Wallboard, wallboard_for
from streams.worker import schema_resolver

# Events per contact within a demo's first hours (a ticket's later events come days after):
# measured from the simulator's default life cycles once warmed up.
EVENTS_PER_CONTACT = 5.3
DEMO_LOCAL_HOUR = 10
# The simulated center starts this long before now, and only events from now on are sent: a
# center that opened at this instant would have no contact in progress, and would send a
# fraction of the announced rate for its first minutes.
WARM_UP_MS = 30 * 60_000


@dataclass(frozen=True)
class Summary:
    events: float
    dead_letters: float
    duplicates: float
    rows: float
    lag: float
    sla_records: float
    breaches: float

    @classmethod
    def scrape(cls, url: str) -> Summary:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
            text = response.read().decode()
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name = sample.name
                if name == "radar_sink_rows_total" and sample.labels.get("table") != "events":
                    continue
                if name == "radar_sla_records_total" and sample.labels.get("kind") == "breach":
                    totals["breaches"] = totals.get("breaches", 0.0) + sample.value
                totals[name] = totals.get(name, 0.0) + sample.value
        return cls(
            totals.get("radar_events_total", 0.0),
            totals.get("radar_dead_letters_total", 0.0),
            totals.get("radar_duplicate_events_total", 0.0),
            totals.get("radar_sink_rows_total", 0.0),
            totals.get("radar_consumer_lag_messages", 0.0),
            totals.get("radar_sla_records_total", 0.0),
            totals.get("breaches", 0.0),
        )


def demo_center(rate: float, now_ms: int) -> CenterModel:
    """A center sized to send ``rate`` events/s, whose local clock reads mid-morning now."""
    mean = sum(INTRADAY_CURVE) / len(INTRADAY_CURVE)
    busy = INTRADAY_CURVE[DEMO_LOCAL_HOUR] / mean
    utc_hour = (now_ms // 3_600_000) % 24
    return CenterModel(
        contacts_per_day=rate * 86_400 / EVENTS_PER_CONTACT / busy,
        utc_offset_hours=int(DEMO_LOCAL_HOUR - utc_hour),
    )


def live_events(seed: int, rate: float, now_ms: int) -> Iterator[Event]:
    """The demo center's events from ``now_ms`` on, already in full swing."""
    simulation = Simulation(
        SimulationOptions(
            seed=seed,
            start_ms=now_ms - WARM_UP_MS,
            duration_ms=None,
            model=demo_center(rate, now_ms),
        )
    )
    return (event for event in simulation if event.occurred_at >= now_ms)


class LiveSimulator(threading.Thread):
    """Sends simulated events to Kafka when their event time comes (real time)."""

    def __init__(self, settings: Settings, rate: float) -> None:
        super().__init__(name="simulator", daemon=True)
        self._events = live_events(settings.simulate_seed, rate, int(time.time() * 1000))
        self._producer = EventProducer(
            settings, EventCodec(schema_resolver(settings)), PayloadFormat.AVRO
        )
        self._halt = threading.Event()
        self.sent = 0

    def run(self) -> None:
        for event in self._events:
            wait = event.occurred_at / 1000 - time.time()
            if wait > 0 and self._halt.wait(wait):
                break
            if self._halt.is_set():
                break
            self._producer.send(event)
            self.sent += 1
        self._producer.close(10)

    def stop(self) -> None:
        self._halt.set()
        self.join(15)


class MainJob:
    def __init__(
        self,
        settings: Settings,
        rate: float,
        config_file: str | None = None,
        out: TextIO = sys.stdout,
        summary_every: float = 5.0,
    ) -> None:
        self.settings = settings
        self.rate = rate
        self._config_file = config_file
        self._out = out
        self._summary_every = summary_every
        self._broker = (
            LocalKafka(settings.data_dir / "kafka", settings.cache_dir, settings.local_kafka_port)
            if settings.uses_local_kafka
            else None
        )

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def run(self) -> int:
        stop = threading.Event()
        previous = {
            s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)
        }
        worker: subprocess.Popen[bytes] | None = None
        simulator: LiveSimulator | None = None
        prometheus: LocalPrometheus | None = None
        wallboard: Wallboard | None = None
        try:
            if self._broker is not None:
                self._say(f"starting Apache Kafka on {self._broker.bootstrap_servers} ...")
                self._broker.start()
            ensure_topics(self.settings)
            worker = self._start_worker()
            run = self._wait_for_worker(worker, stop)
            if run is None:
                return 1 if worker.poll() is not None else 0
            self._say(
                f'worker up: metrics at {run.url}/metrics · `radar query "SQL"` to ask ClickHouse'
            )
            prometheus = self._start_prometheus(run)
            if prometheus is not None:
                wallboard = self._start_wallboard(prometheus.url)
            if self.rate > 0:
                simulator = LiveSimulator(self.settings, self.rate)
                simulator.start()
                self._say(
                    f"simulating a contact center at about {self.rate:g} events/s; Ctrl-C stops"
                )
            self._report_until(stop, run, worker)
            return 0 if worker.poll() is None else 1
        finally:
            self._say("stopping ...")
            if simulator is not None:
                simulator.stop()
            if wallboard is not None:
                wallboard.stop()
            if prometheus is not None:
                prometheus.stop()
            if worker is not None:
                _terminate(worker)
            if self._broker is not None:
                self._broker.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._say("stopped")

    def _start_prometheus(self, run: RunFile) -> LocalPrometheus | None:
        """Debian's Prometheus on loopback, scraping the worker every second (the wallboard
        reads it) with the alert rules loaded: queue figures and alerts in its UI at once."""
        port = self.settings.prometheus_port or free_port()
        prometheus = LocalPrometheus(
            self.settings.data_dir / "prometheus",
            [run.url.removeprefix("http://")],
            port,
            scrape_interval="1s",
        )
        try:
            prometheus.start()
        except RuntimeError as exc:
            self._say(f"no Prometheus: {exc}")
            return None
        self._say(
            f"prometheus at {prometheus.url} · queue figures: {prometheus.url}/graph"
            f"?g0.expr=radar%3Aqueue_waiting%3Asum · alerts: {prometheus.url}/alerts"
        )
        return prometheus

    def _start_wallboard(self, prometheus_url: str) -> Wallboard | None:
        try:
            wallboard = wallboard_for(self.settings, prometheus_url).start()
        except (OSError, PolicyError) as exc:
            self._say(f"no wallboard: {exc}")
            return None
        self._say(f"wallboard at {wallboard.url}")
        return wallboard

    def _start_worker(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "cli"]
        if self._config_file:
            command += ["--config", self._config_file]
        log = (self.settings.data_dir / "worker.log").open("ab")
        return subprocess.Popen(
            [*command, "worker"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # this process decides when the worker stops
        )

    def _wait_for_worker(
        self, worker: subprocess.Popen[bytes], stop: threading.Event
    ) -> RunFile | None:
        RunFile.path(self.settings.data_dir).unlink(missing_ok=True)
        while not stop.is_set():
            if worker.poll() is not None:
                self._worker_exited(worker)
                return None
            run = RunFile.read(self.settings.data_dir)
            if run is not None and run.pid == worker.pid:
                return run
            stop.wait(0.2)
        return None

    def _worker_exited(self, worker: subprocess.Popen[bytes]) -> None:
        log = self.settings.data_dir / "worker.log"
        self._say(f"the worker exited ({worker.returncode}); see {log}")

    def _report_until(
        self, stop: threading.Event, run: RunFile, worker: subprocess.Popen[bytes]
    ) -> None:
        last, last_at = Summary(0, 0, 0, 0, 0, 0, 0), time.monotonic()
        while not stop.wait(self._summary_every):
            if worker.poll() is not None:
                self._worker_exited(worker)
                return
            try:
                now = Summary.scrape(run.url)
            except OSError as exc:
                self._say(f"metrics not reachable: {exc}")
                continue
            elapsed = time.monotonic() - last_at
            rate = (now.events - last.events) / elapsed if elapsed else 0.0
            self._say(
                f"{time.strftime('%H:%M:%S')}  events in {now.events:.0f} ({rate:.1f}/s)"
                f" · dead letters {now.dead_letters:.0f} · duplicates {now.duplicates:.0f}"
                f" · rows written {now.rows:.0f} · consumer lag {now.lag:.0f}"
                f" · SLA records {now.sla_records:.0f} (breaches {now.breaches:.0f})"
            )
            last, last_at = now, time.monotonic()


def _terminate(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
