"""What every benchmark starts: a broker of its own on free ports, and ``radar worker``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from infra.local_kafka import LocalKafka, free_port
from infra.settings import load_settings
from streams.endpoint import RunFile


def start_broker(root: Path) -> LocalKafka:
    defaults = load_settings(environ={})
    broker = LocalKafka(
        root / "kafka", defaults.cache_dir, port=free_port(), controller_port=free_port()
    )
    broker.start()
    return broker


def worker_env(data_dir: Path, bootstrap_servers: str, **settings: str) -> dict[str, str]:
    """A benchmark worker's environment: its data directory and broker, any free port, logs
    at WARNING unless RADAR_LOG_LEVEL says otherwise, and ``settings`` on top."""
    return {
        "RADAR_DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "RADAR_HTTP_PORT": "0",
        "RADAR_LOG_LEVEL": os.environ.get("RADAR_LOG_LEVEL", "WARNING"),
    } | settings


def start_worker(env: dict[str, str], data_dir: Path) -> tuple[subprocess.Popen[bytes], RunFile]:
    """``radar worker`` with ``env``, once it has written its run file."""
    log = (data_dir / "worker.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "worker"],
        env=os.environ | env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    while True:
        if process.poll() is not None:
            raise SystemExit(f"worker exited; see {data_dir / 'worker.log'}")
        run = RunFile.read(data_dir)
        if run is not None and run.pid == process.pid:
            return process, run
        time.sleep(0.1)
