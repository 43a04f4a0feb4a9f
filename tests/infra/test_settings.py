from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings import SETTINGS, ConfigError, load_settings


def test_defaults_use_the_embedded_targets(tmp_path: Path) -> None:
    settings = load_settings(environ={"RADAR_DATA_DIR": str(tmp_path)})
    assert settings.uses_local_kafka
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.clickhouse_target() == f"chdb://{tmp_path.resolve()}/clickhouse"
    assert settings.uses_chdb


def test_environment_overrides_the_file_which_overrides_defaults(tmp_path: Path) -> None:
    config = tmp_path / "radar.toml"
    config.write_text('topic_prefix = "acme."\ntopic_partitions = 8\nsink_batch_size = 100\n')
    settings = load_settings(config, environ={"RADAR_TOPIC_PARTITIONS": "12"})
    assert settings.topic("support.calls") == "acme.support.calls"
    assert settings.topic_partitions == 12
    assert settings.sink_batch_size == 100


def test_external_systems_come_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_USERNAME": "radar",
            "KAFKA_SASL_PASSWORD": "s3cret",
            "CLICKHOUSE_HOST": "ch.internal",
        }
    )
    assert not settings.uses_local_kafka
    assert settings.kafka_client_config()["sasl.password"] == "s3cret"
    assert settings.clickhouse_target() == "http://ch.internal:8123"
    assert not settings.uses_chdb


def test_secrets_in_the_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "radar.toml"
    config.write_text('clickhouse_password = "hunter2"\n')
    with pytest.raises(ConfigError, match="CLICKHOUSE_PASSWORD"):
        load_settings(config, environ={})


def test_unknown_keys_and_bad_values_are_named(tmp_path: Path) -> None:
    config = tmp_path / "radar.toml"
    config.write_text("topic_partitionz = 3\n")
    with pytest.raises(ConfigError, match="topic_partitionz"):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match="RADAR_SINK_BATCH_SIZE"):
        load_settings(environ={"RADAR_SINK_BATCH_SIZE": "lots"})


def test_every_setting_has_a_distinct_variable_and_help() -> None:
    variables = [s.env for s in SETTINGS.values()]
    assert len(variables) == len(set(variables))
    assert all(s.help for s in SETTINGS.values())
