"""A single-node Apache Kafka broker (KRaft: broker and controller in one process) on loopback.

The jars come from Maven Central through ``infra/kafka/fetch``; nothing else is downloaded.
The data directory is formatted once with a fresh cluster id, then reused across restarts.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
KAFKA_DIR = INFRA_DIR / "kafka"


class BrokerError(RuntimeError):
    pass


def kafka_version() -> str:
    match = re.search(r"<kafka.version>(.+?)</kafka.version>", (KAFKA_DIR / "pom.xml").read_text())
    if match is None:
        raise BrokerError("infra/kafka/pom.xml names no kafka.version")
    return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def new_cluster_id() -> str:
    """A random cluster id as Kafka writes them: base64url of a UUID, never starting with '-',
    which the storage tool's argument parser would take for an option (as Kafka's own
    ``Uuid.randomUuid`` avoids)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class LocalKafka:
    data_dir: Path
    cache_dir: Path
    port: int = 9092
    controller_port: int | None = None
    heap: str = "512m"
    # a second listener with TLS and SASL SCRAM: (port, PKCS12 keystore, its password)
    sasl_ssl: tuple[int, Path, str] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def libs(self) -> Path:
        return self.cache_dir.expanduser() / f"kafka-{kafka_version()}" / "libs"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def fetch(self) -> None:
        env = os.environ | {"RADAR_CACHE_DIR": str(self.cache_dir.expanduser())}
        subprocess.run(["bash", str(KAFKA_DIR / "fetch")], check=True, env=env)

    def _properties(self) -> str:
        controller = self.controller_port or self.port + 1
        listeners = f"PLAINTEXT://127.0.0.1:{self.port}"
        secured: list[str] = []
        if self.sasl_ssl is not None:
            port, keystore, password = self.sasl_ssl
            listeners += f",SASL_SSL://127.0.0.1:{port}"
            secured = [
                "sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                f"ssl.keystore.location={keystore}",
                "ssl.keystore.type=PKCS12",
                f"ssl.keystore.password={password}",
                f"ssl.key.password={password}",
            ]
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller}",
                f"listeners={listeners},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners={listeners}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
                "SASL_SSL:SASL_SSL",
                *secured,
                f"log.dirs={self.data_dir / 'logs'}",
                # one node: every internal topic has one replica
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                # or every consumer group waits 3 s before its first assignment
                "group.initial.rebalance.delay.ms=0",
                "num.partitions=1",
                "auto.create.topics.enable=false",
                "",
            ]
        )

    def _java(self, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
            *args,
        ]

    def running_pid(self) -> int | None:
        try:
            pid = int(self._pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid

    def start(self, timeout: float = 90.0) -> None:
        """Start the broker (fetching and formatting first when needed) and wait until ready."""
        if self.running_pid() is not None:
            self.wait_ready(timeout)
            return
        if _port_open(self.port):
            raise BrokerError(f"port {self.port} is taken by another process")
        if not (self.libs / ".complete").exists():
            self.fetch()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self.data_dir / "server.properties"
        properties.write_text(self._properties())
        if not (self.data_dir / "logs" / "meta.properties").exists():
            subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    new_cluster_id(),
                    "-c",
                    str(properties),
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                self._java("kafka.Kafka", str(properties)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, not the broker
            )
        self._pid_file.write_text(str(process.pid))
        try:
            self.wait_ready(timeout)
        except BrokerError:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Wait until the broker answers a metadata request."""
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        while time.monotonic() < deadline:
            if self.running_pid() is None:
                raise BrokerError(f"the broker exited; see {self.log_file}")
            try:
                metadata = admin.list_topics(timeout=2)
                if metadata.brokers:
                    return
            except Exception:
                pass
            time.sleep(0.3)
        raise BrokerError(f"the broker was not ready after {timeout:.0f} s; see {self.log_file}")

    def stop(self, timeout: float = 30.0) -> None:
        pid = self.running_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                reaped, _ = os.waitpid(pid, os.WNOHANG)
                if reaped == pid:
                    break
            except ChildProcessError:  # not our child: poll until it is gone
                if self.running_pid() is None:
                    break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
        self._pid_file.unlink(missing_ok=True)
