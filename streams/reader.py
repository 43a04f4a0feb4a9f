"""Read-only SQL for the project's tools (``radar query``, ``whatif``, the wallboard), wherever
the data is: a ClickHouse server directly; the embedded chDB through the worker that holds it
(one process per data path), or opened here when no worker runs and the caller may."""

from __future__ import annotations

from infra.settings import Settings
from sinks.clickhouse import ClickHouseStore, QueryResult
from streams.endpoint import QueryError, RunFile, query_worker


class ClickHouseReader:
    def __init__(self, settings: Settings, may_open_chdb: bool = True) -> None:
        """``may_open_chdb``: with no worker running, open the embedded database here (a
        command that ends soon may; a long-running reader must not keep a worker from
        starting)."""
        self._settings = settings
        self._may_open_chdb = may_open_chdb
        self._server: ClickHouseStore | None = None

    def query(self, sql: str) -> QueryResult:
        if not self._settings.uses_chdb:
            if self._server is None:
                self._server = ClickHouseStore.connect(self._settings)
            return self._server.query_readonly(sql)
        run = RunFile.read(self._settings.data_dir)
        if run is not None:
            return query_worker(run, sql)
        if not self._may_open_chdb:
            raise QueryError("no worker is running to answer for the embedded database")
        store = ClickHouseStore.connect(self._settings)
        try:
            return store.query_readonly(sql)
        finally:
            store.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
