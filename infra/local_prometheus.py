"""Debian's Prometheus server as a local process on loopback, scraping the worker and loading
the alert rules: what ``radar run`` shows a newcomer, and what the alert tests run against."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

RULES = Path(__file__).resolve().parents[1] / "alerts"


class LocalPrometheus:
    def __init__(
        self,
        data_dir: Path,
        targets: Sequence[str],
        port: int,
        rule_files: Sequence[Path] = (),
        scrape_interval: str = "2s",
    ) -> None:
        """``targets``: ``host:port`` of each worker's /metrics endpoint."""
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._targets = list(targets)
        self._rule_files = list(rule_files) or sorted(RULES.glob("*.rules.yml"))
        self._interval = scrape_interval
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> LocalPrometheus:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed: run infra/setup")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {
                        "scrape_interval": self._interval,
                        "evaluation_interval": self._interval,
                    },
                    "rule_files": [str(p) for p in self._rule_files],
                    "scrape_configs": [
                        {
                            "job_name": "contact-radar",
                            "static_configs": [{"targets": self._targets}],
                        }
                    ],
                }
            )
        )
        with (self.data_dir / "prometheus.log").open("ab") as log:
            self._process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited; see {self.data_dir / 'prometheus.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready")

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}", timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
