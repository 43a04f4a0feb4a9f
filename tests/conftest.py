"""Shared fixtures. chDB allows one data path per process, so in-process ClickHouse tests share
one session-wide path and isolate themselves by database."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.settings import Settings, load_settings
from sinks.clickhouse import ClickHouseStore

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def settings(tmp_path: Path, chdb_path: Path) -> Settings:
    return load_settings(
        environ={
            "RADAR_DATA_DIR": str(tmp_path),
            "CLICKHOUSE_DSN": f"chdb://{chdb_path}",
            "CLICKHOUSE_DATABASE": f"test_{next(_databases)}",
        }
    )


@pytest.fixture
def store(settings: Settings) -> ClickHouseStore:
    store = ClickHouseStore.connect(settings)
    store.migrate()
    return store


StoreFactory = Callable[[], ClickHouseStore]
