"""Kafka over TLS with SASL SCRAM, for real: a broker with a SASL_SSL listener (its key and
certificate made by the JDK's keytool here), a SCRAM user created with the admin API, and the
worker, the producer and the admin client connecting with the documented variables."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local_kafka import LocalKafka, free_port
from infra.settings import load_settings
from streams.topics import ensure_topics
from tests.integration.conftest import WorkerProcess
from tests.integration.test_pipeline import produce, simulated

pytestmark = pytest.mark.integration
USER, PASSWORD = "radar-worker", "scram-password-of-the-test"
KEYSTORE_PASSWORD = "keystore-password"


@pytest.fixture
def engine() -> str:
    return "bulk"


def _keytool(*args: str) -> None:
    subprocess.run(["keytool", *args], check=True, capture_output=True)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed key pair for 127.0.0.1 in a PKCS12 keystore, and its certificate as PEM
    (the CA clients trust)."""
    keystore, certificate = folder / "broker.p12", folder / "ca.pem"
    _keytool("-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048",
             "-validity", "2", "-dname", "CN=localhost", "-ext", "SAN=IP:127.0.0.1,DNS:localhost",
             "-keystore", str(keystore), "-storetype", "PKCS12",
             "-storepass", KEYSTORE_PASSWORD, "-keypass", KEYSTORE_PASSWORD)  # fmt: skip
    _keytool("-exportcert", "-rfc", "-alias", "broker", "-keystore", str(keystore),
             "-storepass", KEYSTORE_PASSWORD, "-file", str(certificate))  # fmt: skip
    return keystore, certificate


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[tuple[LocalKafka, Path]]:
    keystore, certificate = make_certificate(tmp_path)
    defaults = load_settings(environ={})
    broker = LocalKafka(
        tmp_path / "kafka",
        defaults.cache_dir,
        port=free_port(),
        controller_port=free_port(),
        sasl_ssl=(free_port(), keystore, KEYSTORE_PASSWORD),
    )
    broker.start()
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.admin._scram import (  # not re-exported for type checkers
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    upsert = UserScramCredentialUpsertion(
        USER, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), PASSWORD.encode()
    )
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(30)
    yield broker, certificate
    broker.stop()


def secured_env(broker: LocalKafka, certificate: Path, password: str) -> dict[str, str]:
    assert broker.sasl_ssl is not None
    return {
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker.sasl_ssl[0]}",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": password,
        "KAFKA_SSL_CA_LOCATION": str(certificate),
    }


def test_the_worker_works_over_sasl_ssl_and_a_wrong_password_fails_fast(
    secured_broker: tuple[LocalKafka, Path], worker_env: dict[str, str], tmp_path: Path
) -> None:
    broker, certificate = secured_broker
    env = worker_env | secured_env(broker, certificate, PASSWORD)
    settings = load_settings(environ=env)
    ensure_topics(settings)  # the admin client, over SASL_SSL
    events = simulated(1)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        produce(settings, events)  # the producer, over SASL_SSL
        stored = worker.wait_for(
            "SELECT uniqExact(event_id) FROM events", len({e.event_id for e in events}), 120
        )
        deadline = time.monotonic() + 60
        while (applied := worker.metric_total("radar_detector_events_total")) == 0:
            assert time.monotonic() < deadline, "the detectors (Faust's own clients) saw nothing"
            time.sleep(0.5)
    finally:
        worker.stop()
    assert stored == len({e.event_id for e in events})
    assert applied > 0

    wrong = env | {"KAFKA_SASL_PASSWORD": "not-the-password"}
    started = time.monotonic()
    refused = subprocess.run(
        [sys.executable, "-m", "cli", "topics"],
        env=wrong,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert refused.returncode != 0
    assert time.monotonic() - started < 40
    assert "Authentication failed" in refused.stderr + refused.stdout
