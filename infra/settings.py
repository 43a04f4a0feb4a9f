"""One typed configuration object, loaded once from a TOML file and the environment.

Precedence: environment variable > file > default. Secrets (passwords) are read from the
environment only; a secret found in the file is refused rather than silently used.
Every setting's variable, default and meaning is listed in ``SETTINGS`` (and the README).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from radar.intake import EventTimeWindow
from radar.pseudonyms import Pseudonymizer


@dataclass(frozen=True)
class Setting:
    env: str
    default: Any
    help: str
    secret: bool = False


SETTINGS: Final[dict[str, Setting]] = {
    "data_dir": Setting(
        "RADAR_DATA_DIR", ".radar", "local state: chDB data, broker data, run files"
    ),
    "kafka_bootstrap_servers": Setting(
        "KAFKA_BOOTSTRAP_SERVERS", "", "brokers; empty = start the local Apache Kafka broker"
    ),
    "kafka_security_protocol": Setting(
        "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    ),
    "kafka_sasl_mechanism": Setting(
        "KAFKA_SASL_MECHANISM", "PLAIN", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    ),
    "kafka_sasl_username": Setting("KAFKA_SASL_USERNAME", "", "SASL user"),
    "kafka_ssl_ca_location": Setting(
        "KAFKA_SSL_CA_LOCATION",
        "",
        "PEM file of the CA that signed the brokers' certificates; empty = the system's",
    ),
    "kafka_sasl_password": Setting("KAFKA_SASL_PASSWORD", "", "SASL password", secret=True),
    "local_kafka_port": Setting("RADAR_LOCAL_KAFKA_PORT", 9092, "client port of the local broker"),
    "topic_prefix": Setting("RADAR_TOPIC_PREFIX", "", "prefix for every topic name"),
    "topic_partitions": Setting(
        "RADAR_TOPIC_PARTITIONS", 4, "partitions of each topic the project creates"
    ),
    "topic_replication": Setting(
        "RADAR_TOPIC_REPLICATION", 1, "replication factor of created topics"
    ),
    "schema_registry_url": Setting(
        "SCHEMA_REGISTRY_URL", "", "Confluent-compatible registry; empty = ids from schemas/"
    ),
    "schema_registry_auth": Setting(
        "SCHEMA_REGISTRY_BASIC_AUTH", "", "registry credentials user:password", secret=True
    ),
    "clickhouse_dsn": Setting(
        "CLICKHOUSE_DSN", "", "e.g. http://host:8123/db or chdb:///path; empty = chDB in data_dir"
    ),
    "clickhouse_host": Setting("CLICKHOUSE_HOST", "", "server host (instead of a DSN)"),
    "clickhouse_port": Setting("CLICKHOUSE_PORT", 8123, "server HTTP port"),
    "clickhouse_user": Setting("CLICKHOUSE_USER", "default", "server user"),
    "clickhouse_password": Setting("CLICKHOUSE_PASSWORD", "", "server password", secret=True),
    "clickhouse_database": Setting("CLICKHOUSE_DATABASE", "radar", "database for all tables"),
    "clickhouse_cluster": Setting(
        "CLICKHOUSE_CLUSTER", "", "cluster name in the servers' remote_servers; empty = one node"
    ),
    "instance_id": Setting(
        "RADAR_INSTANCE_ID",
        "",
        "static membership id, e.g. the pod name: a restarted worker rejoins at once",
    ),
    "kafka_session_timeout": Setting(
        "RADAR_KAFKA_SESSION_TIMEOUT", 10.0, "seconds before a silent worker's partitions move"
    ),
    "app_id": Setting("RADAR_APP_ID", "contact-radar", "Faust app id = Kafka consumer group"),
    "http_host": Setting("RADAR_HTTP_HOST", "127.0.0.1", "address of /metrics and /query"),
    "http_port": Setting("RADAR_HTTP_PORT", 9464, "port of /metrics and /query; 0 = any free"),
    "ingest_engine": Setting(
        "RADAR_INGEST_ENGINE", "bulk", "bulk (confluent-kafka batches) or agent (a Faust agent)"
    ),
    "sink_batch_size": Setting(
        "RADAR_SINK_BATCH_SIZE", 5000, "events per ClickHouse batch, at most"
    ),
    "sink_batch_seconds": Setting(
        "RADAR_SINK_BATCH_SECONDS", 0.25, "longest wait to fill a batch (adds to latency when idle)"
    ),
    "dedup_capacity": Setting("RADAR_DEDUP_CAPACITY", 1_000_000, "event ids remembered for dedup"),
    "dedup_warm_hours": Setting(
        "RADAR_DEDUP_WARM_HOURS", 6.0, "after a restart, ids ingested this recently are reloaded"
    ),
    "event_max_ahead_seconds": Setting(
        "RADAR_EVENT_MAX_AHEAD_SECONDS",
        300,
        "an event stamped further ahead of the clock is dead-lettered (implausible_time)",
    ),
    "event_max_age_hours": Setting(
        "RADAR_EVENT_MAX_AGE_HOURS",
        8760.0,
        "an event older than this is dead-lettered (implausible_time); 0 = no limit",
    ),
    "pseudonymize_key": Setting(
        "RADAR_PSEUDONYMIZE_KEY",
        "",
        "if set, customer ids are replaced by a keyed HMAC before they are stored or published",
        secret=True,
    ),
    "simulate_rate": Setting(
        "RADAR_SIMULATE_RATE", 50.0, "events/s the simulator sends in `radar run`"
    ),
    "simulate_seed": Setting("RADAR_SIMULATE_SEED", 7, "seed of the simulator in `radar run`"),
    "prometheus_port": Setting(
        "RADAR_PROMETHEUS_PORT", 9090, "port of the Prometheus `radar run` starts; 0 = any free"
    ),
    "prometheus_url": Setting(
        "RADAR_PROMETHEUS_URL",
        "",
        "Prometheus the wallboard reads; empty = the one `radar run` starts",
    ),
    "wallboard_host": Setting(
        "RADAR_WALLBOARD_HOST", "127.0.0.1", "address of the wallboard page; 0.0.0.0 exposes it"
    ),
    "wallboard_port": Setting("RADAR_WALLBOARD_PORT", 8088, "port of the wallboard; 0 = any free"),
    "wallboard_token": Setting(
        "RADAR_WALLBOARD_TOKEN", "", "if set, the wallboard asks for it (?token=...)", secret=True
    ),
    "policies_file": Setting(
        "RADAR_POLICIES", "config/policies.yaml", "SLA policies (YAML); empty = no SLA engine"
    ),
    "state_retention_hours": Setting(
        "RADAR_STATE_RETENTION_HOURS",
        72.0,
        "events the journal keeps to recognise redeliveries; a snapshot keeps older state",
    ),
    "snapshot_seconds": Setting(
        "RADAR_SNAPSHOT_SECONDS",
        300.0,
        "how often each detection partition's state is snapshotted; 0 = never (a restart"
        " then replays the journal, and state older than its retention is forgotten)",
    ),
    "table_store": Setting(
        "RADAR_TABLE_STORE",
        "rocksdb",
        "store of the detectors' Faust table: memory, or rocksdb (rocksdict, on disk)",
    ),
    "detector_batch_seconds": Setting(
        "RADAR_DETECTOR_BATCH_SECONDS",
        0.2,
        "longest wait to fill a detection batch (adds to detection latency when idle)",
    ),
    "detector_tick_seconds": Setting(
        "RADAR_DETECTOR_TICK_SECONDS", 0.25, "how often each worker looks for due deadlines"
    ),
    "cache_dir": Setting(
        "RADAR_CACHE_DIR", "~/.cache/contact-radar", "where infra/kafka/fetch puts Kafka's jars"
    ),
    "log_level": Setting("RADAR_LOG_LEVEL", "INFO", "log level of the worker"),
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    kafka_bootstrap_servers: str
    kafka_security_protocol: str
    kafka_sasl_mechanism: str
    kafka_sasl_username: str
    kafka_ssl_ca_location: str
    kafka_sasl_password: str
    local_kafka_port: int
    topic_prefix: str
    topic_partitions: int
    topic_replication: int
    schema_registry_url: str
    schema_registry_auth: str
    clickhouse_dsn: str
    clickhouse_host: str
    clickhouse_port: int
    clickhouse_user: str
    clickhouse_password: str
    clickhouse_database: str
    clickhouse_cluster: str
    instance_id: str
    kafka_session_timeout: float
    app_id: str
    http_host: str
    http_port: int
    ingest_engine: str
    sink_batch_size: int
    sink_batch_seconds: float
    dedup_capacity: int
    dedup_warm_hours: float
    event_max_ahead_seconds: int
    event_max_age_hours: float
    pseudonymize_key: str
    simulate_rate: float
    simulate_seed: int
    prometheus_port: int
    prometheus_url: str
    wallboard_host: str
    wallboard_port: int
    wallboard_token: str
    policies_file: str
    state_retention_hours: float
    snapshot_seconds: float
    table_store: str
    detector_batch_seconds: float
    detector_tick_seconds: float
    cache_dir: Path
    log_level: str

    @property
    def uses_local_kafka(self) -> bool:
        return not self.kafka_bootstrap_servers

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.local_kafka_port}"

    def clickhouse_target(self) -> str:
        """The DSN the sink connects to; the embedded chDB under data_dir by default."""
        if self.clickhouse_dsn:
            return self.clickhouse_dsn
        if self.clickhouse_host:
            return f"http://{self.clickhouse_host}:{self.clickhouse_port}"
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def uses_chdb(self) -> bool:
        return self.clickhouse_target().startswith("chdb:")

    @property
    def prometheus(self) -> str:
        return self.prometheus_url or f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def event_time_window(self) -> EventTimeWindow:
        return EventTimeWindow(
            self.event_max_ahead_seconds * 1000, int(self.event_max_age_hours * 3_600_000)
        )

    @property
    def pseudonyms(self) -> Pseudonymizer | None:
        return Pseudonymizer(self.pseudonymize_key.encode()) if self.pseudonymize_key else None

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def kafka_client_config(self) -> dict[str, str | int | float | bool]:
        """librdkafka settings shared by every confluent-kafka client of the project."""
        conf: dict[str, str | int | float | bool] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.kafka_security_protocol,
        }
        if self.kafka_security_protocol.startswith("SASL"):
            conf |= {
                "sasl.mechanism": self.kafka_sasl_mechanism,
                "sasl.username": self.kafka_sasl_username,
                "sasl.password": self.kafka_sasl_password,
            }
        if self.kafka_security_protocol.endswith("SSL") and self.kafka_ssl_ca_location:
            conf["ssl.ca.location"] = self.kafka_ssl_ca_location
        return conf

    def with_overrides(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


class ConfigError(ValueError):
    pass


def _convert(name: str, raw: Any, default: Any, source: str) -> Any:
    kind: Callable[[Any], Any] = type(default)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {name} = {raw!r} is not a {kind.__name__}") from None
    if name.endswith("_dir"):
        return Path(str(value)).expanduser()
    return value


def load_settings(
    config_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from ``config_file`` (or $RADAR_CONFIG) and the environment."""
    env = os.environ if environ is None else environ
    path = config_file or env.get("RADAR_CONFIG")
    from_file: dict[str, Any] = {}
    if path:
        with open(path, "rb") as handle:
            from_file = tomllib.load(handle)
        unknown = sorted(set(from_file) - set(SETTINGS))
        if unknown:
            raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, setting in SETTINGS.items():
        if setting.secret and name in from_file:
            raise ConfigError(f"{path}: {name} is a secret; set ${setting.env} instead")
        if setting.env in env:
            values[name] = _convert(name, env[setting.env], setting.default, f"${setting.env}")
        elif name in from_file:
            values[name] = _convert(name, from_file[name], setting.default, str(path))
        else:
            values[name] = _convert(name, setting.default, setting.default, "default")
    return Settings(**values)
