"""`radar run`, the README's main command, as a user would run it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from infra.local_kafka import free_port
from radar.simulate.center import CenterModel
from streams.endpoint import RunFile

pytestmark = pytest.mark.integration

SUMMARY = re.compile(r"events in (\d+) .* rows written (\d+)")
PROMETHEUS = re.compile(r"prometheus at (http://127\.0\.0\.1:\d+)")
WALLBOARD = re.compile(r"wallboard at (http://127\.0\.0\.1:\d+/)")


def test_radar_run_processes_traffic_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = os.environ | {
        "RADAR_DATA_DIR": str(data_dir),
        "RADAR_LOCAL_KAFKA_PORT": str(free_port()),
        "RADAR_HTTP_PORT": "0",
        "RADAR_SIMULATE_RATE": "200",
        "RADAR_PROMETHEUS_PORT": "0",
        "RADAR_WALLBOARD_PORT": "0",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert run.stdout is not None
    output: list[str] = []
    processed = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and processed == 0:
            line = run.stdout.readline()
            if not line:
                break
            output.append(line)
            match = SUMMARY.search(line)
            if match and int(match.group(2)) > 0:
                processed = int(match.group(2))
        assert processed > 0, "".join(output)
        text = "".join(output)
        assert "/metrics" in text
        worker = RunFile.read(data_dir)
        assert worker is not None
        prometheus = PROMETHEUS.search(text)
        assert prometheus is not None, text
        _scrapes_the_worker_with_the_rules_loaded(prometheus.group(1))
        wallboard = WALLBOARD.search(text)
        assert wallboard is not None, text
        _fills_with_the_simulated_center(wallboard.group(1))

        run.send_signal(signal.SIGINT)
        rest, _ = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, text + rest
    # a clean stop is quiet: no client outlives the broker to log its reconnection attempts
    said = [line for line in rest.splitlines() if line and not SUMMARY.search(line)]
    assert said == ["stopping ...", "stopped"], rest
    assert RunFile.read(data_dir) is None  # the worker is gone and cleaned up
    with pytest.raises(ProcessLookupError):
        os.kill(worker.pid, 0)
    assert not (data_dir / "kafka" / "broker.pid").exists()
    with pytest.raises(urllib.error.URLError, match="refused"):  # Prometheus stopped too
        urllib.request.urlopen(f"{prometheus.group(1)}/-/ready", timeout=2)
    with pytest.raises(urllib.error.URLError, match="refused"):  # and the wallboard
        urllib.request.urlopen(wallboard.group(1), timeout=2)


def _fills_with_the_simulated_center(url: str) -> None:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert b"board.js" in response.read()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}board.json", timeout=5) as response:
            board = json.load(response)
        queues = {tile["queue"] for tile in board.get("tiles", [])}
        if set(CenterModel().queues) <= queues:
            return
        time.sleep(1)
    raise AssertionError(f"the wallboard has no tile for the simulated queues: {board}")


def _api(url: str, path: str) -> Any:
    with urllib.request.urlopen(f"{url}/api/v1/{path}", timeout=5) as response:
        return json.load(response)["data"]


def _scrapes_the_worker_with_the_rules_loaded(url: str) -> None:
    rules = {r["name"] for g in _api(url, "rules")["groups"] for r in g["rules"]}
    assert {"RadarQueueServiceLevelLow", "RadarWorkerDown", "radar:queue_waiting:sum"} <= rules
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        offered = _api(url, "query?query=sum(radar_queue_offered_total)")["result"]
        if offered and float(offered[0]["value"][1]) > 0:
            return  # the simulated center's calls, as Prometheus scraped them
        time.sleep(1)
    raise AssertionError(f"Prometheus has no queue figures: {_api(url, 'targets')}")
