"""docker-compose.yml cannot run here (no Docker engine); check it agrees with the local set-up."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from infra.local_kafka import kafka_version
from infra.settings import SETTINGS

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


def dashboard_expressions() -> list[str]:
    """Every PromQL expression of the provisioned dashboard, its variable set to all queues."""
    dashboard = json.loads(
        (ROOT / "infra" / "grafana" / "dashboards" / "contact-radar.json").read_text()
    )
    return [
        target["expr"].replace("$queue", ".*")
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_grafana_is_provisioned_with_the_dashboard_and_its_datasource() -> None:
    mounts = _compose()["services"]["grafana"]["volumes"]
    assert "./infra/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    assert "./infra/grafana/dashboards:/var/lib/grafana/dashboards:ro" in mounts
    provisioning = ROOT / "infra" / "grafana" / "provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    provider = yaml.safe_load((provisioning / "dashboards" / "contact-radar.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    uid = source["datasources"][0]["uid"]
    dashboard = json.loads(
        (ROOT / "infra" / "grafana" / "dashboards" / "contact-radar.json").read_text()
    )
    rows = {p["title"] for p in dashboard["panels"] if p["type"] == "row"}
    assert rows == {"Queue overview", "SLA", "Churn", "Missing assignee", "Pipeline"}
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == uid, panel["title"]
            assert panel["targets"], panel["title"]
    assert len(dashboard_expressions()) >= 25


def _xml(name: str) -> ET.Element:
    return ET.parse(ROOT / "infra" / "clickhouse" / "cluster" / name).getroot()


def test_the_cluster_profile_has_two_shards_a_keeper_and_two_workers() -> None:
    services = _compose()["services"]
    profile = {name for name, s in services.items() if "cluster" in s.get("profiles", [])}
    assert profile == {"clickhouse-keeper", "clickhouse-1", "clickhouse-2", "worker-a", "worker-b"}
    servers = _xml("remote-servers.xml")
    remote = servers.find("remote_servers")
    assert remote is not None
    (cluster,) = list(remote)
    hosts = [shard.findtext("replica/host") for shard in cluster.findall("shard")]
    assert hosts == ["clickhouse-1", "clickhouse-2"]
    assert servers.findtext("zookeeper/node/host") == "clickhouse-keeper"
    workers = [services["worker-a"], services["worker-b"]]
    assert {w["environment"]["CLICKHOUSE_CLUSTER"] for w in workers} == {cluster.tag}
    assert sorted(w["environment"]["CLICKHOUSE_HOST"] for w in workers) == hosts
    assert len({w["environment"]["RADAR_INSTANCE_ID"] for w in workers}) == 2
    assert len({w["volumes"][0] for w in workers}) == 2  # each its own state
    for worker in workers:
        assert set(worker["environment"]) <= {s.env for s in SETTINGS.values()}


def test_each_cluster_node_has_its_own_shard_macros() -> None:
    services = _compose()["services"]
    seen = set()
    for shard, host in enumerate(["clickhouse-1", "clickhouse-2"], start=1):
        mounts = services[host]["volumes"]
        assert any(m.startswith("./infra/clickhouse/cluster/remote-servers.xml:") for m in mounts)
        (macros_file,) = [m.split(":")[0] for m in mounts if "macros" in m]
        macros = ET.parse(ROOT / macros_file).getroot()
        assert macros.findtext("macros/shard") == str(shard)
        assert macros.findtext("macros/replica") == host
        seen.add(macros_file)
    assert len(seen) == 2
    keeper = services["clickhouse-keeper"]["volumes"][0].split(":")[0]
    assert ET.parse(ROOT / keeper).getroot().findtext("keeper_server/tcp_port") == (
        _xml("remote-servers.xml").findtext("zookeeper/node/port")
    )
