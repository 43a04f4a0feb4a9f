"""Reading a running worker's /metrics: counts, rates, memory and the time a restart takes."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.processes import start_worker

# How often the bench reads the worker's /metrics. Each read renders the whole exposition on
# the worker's GIL: read every 50 ms, it took a fifth of the worker's CPU (py-spy), so the
# figures measured the bench as much as the worker. Prometheus itself reads every 15 s.
POLL_SECONDS = 0.5


def counted(url: str, names: tuple[str, ...], skip_agents: bool = False) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names and not (skip_agents and sample.labels["channel"] == "agent"):
                total += sample.value
    return total


def events_processed(url: str) -> float:
    return counted(url, ("radar_events_total", "radar_duplicate_events_total"))


def rate_until_settled(count: Callable[[], float], quiet: float = 5.0) -> float:
    """Events/s from the first counted event to the last, once the count stopped moving.

    (Redelivered input is counted again by ingest but applied once by the detectors, so the
    two counts need not meet.)"""
    first_at: float | None = None
    first = last = 0.0
    last_at = time.perf_counter()
    while time.perf_counter() - last_at < quiet or first_at is None:
        done, now = count(), time.perf_counter()
        if done > 0 and first_at is None:
            first_at, first = now, done
        if done != last:
            last, last_at = done, now
        time.sleep(POLL_SECONDS)
    return (last - first) / (last_at - first_at) if last_at > first_at else float("inf")


def contacts(url: str, metric: str) -> float:
    """Events of calls, chats and tickets (agent events reach every detection partition)."""
    return counted(url, (metric,), skip_agents=True)


def rate_until(count: Callable[[], float], target: float) -> float:
    """Events/s from the first counted event to ``target``."""
    first_at: float | None = None
    first = 0.0
    while True:
        done, now = count(), time.perf_counter()
        if done > 0 and first_at is None:
            first_at, first = now, done
        if done >= target:
            break
        time.sleep(POLL_SECONDS)
    assert first_at is not None
    return (done - first) / (now - first_at) if now > first_at else float("inf")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def metric(url: str, name: str) -> list[float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def restart_seconds(env: dict[str, str], data_dir: Path, partitions: int) -> tuple[float, float]:
    """Start the worker again: seconds until every detection partition is rebuilt and its
    clock set (processing again), and how many journal entries that replayed."""
    started = time.perf_counter()
    process, run = start_worker(env, data_dir)
    try:
        while len(metric(run.url, "radar_detector_clock_timestamp_seconds")) < partitions:
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        return elapsed, sum(metric(run.url, "radar_detector_journal_replayed_total"))
    finally:
        process.terminate()
        process.wait(60)
