"""`radar run`, the README's main command, as a user would run it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.local_kafka import free_port
from streams.endpoint import RunFile

pytestmark = pytest.mark.integration

SUMMARY = re.compile(r"events in (\d+) .* rows written (\d+)")


def test_radar_run_processes_traffic_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = os.environ | {
        "RADAR_DATA_DIR": str(data_dir),
        "RADAR_LOCAL_KAFKA_PORT": str(free_port()),
        "RADAR_HTTP_PORT": "0",
        "RADAR_SIMULATE_RATE": "200",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "radar", "run"],
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
