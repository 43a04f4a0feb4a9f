"""The benchmarks' printed table: a row per figure, and the versions measured."""

from __future__ import annotations

import platform

from infra.local_kafka import kafka_version


def versions() -> str:
    import chdb
    import confluent_kafka
    import faust

    return (
        f"Python {platform.python_version()}, faust-streaming {faust.__version__},"
        f" confluent-kafka {confluent_kafka.version()[0]} (librdkafka"
        f" {confluent_kafka.libversion()[0]}), Apache Kafka {kafka_version()},"
        f" chDB {chdb.__version__}"
    )


def row(figure: str, measured: str, target: str = "", baseline: str = "") -> str:
    return f"| {figure} | {measured} | {target} | {baseline} |"
