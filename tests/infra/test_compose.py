"""docker-compose.yml cannot run here (no Docker engine); check it agrees with the local set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.local_kafka import kafka_version
from radar.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_system_has_every_part() -> None:
    services = _compose()["services"]
    assert set(services) >= {
        "kafka", "schema-registry", "clickhouse", "prometheus", "alertmanager", "grafana", "worker",
    }  # fmt: skip


def test_kafka_is_the_pinned_release_in_kraft_mode() -> None:
    kafka = _compose()["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{kafka_version()}"
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_the_worker_uses_only_documented_variables() -> None:
    env = _compose()["services"]["worker"]["environment"]
    known = {s.env for s in SETTINGS.values()}
    assert set(env) <= known, set(env) - known
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["RADAR_HTTP_HOST"] == "0.0.0.0"  # Prometheus scrapes it from another container


def test_prometheus_scrapes_the_worker_and_loads_the_alerts() -> None:
    compose = _compose()
    prometheus = yaml.safe_load((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    port = compose["services"]["worker"]["environment"]["RADAR_HTTP_PORT"]
    assert targets == [f"worker:{port}"]
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./alerts:/etc/prometheus/alerts:ro" in mounts
    assert prometheus["rule_files"] == ["/etc/prometheus/alerts/*.rules.yml"]


def test_mounted_files_exist() -> None:
    for service in _compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
