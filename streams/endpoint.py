"""The worker's HTTP endpoint: ``/metrics`` for Prometheus, ``/query`` for ``radar query``.

chDB lets one process at a time open a data path, and the worker holds it; so ``radar query``
asks the worker, which runs the statement read-only (``readonly=1``) on its own connection.
``/query`` needs the token from the run file, which only the worker's user can read.
Faust's own web server (which can list table contents) stays disabled.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from sinks.clickhouse import ClickHouseStore, QueryResult, ReadOnlyViolation

TOKEN_HEADER = "X-Radar-Token"
MAX_QUERY_BYTES = 1 << 20


@dataclass(frozen=True)
class RunFile:
    """What a running worker tells other local processes: where it listens, and the token."""

    pid: int
    host: str
    port: int
    token: str

    @staticmethod
    def path(data_dir: Path) -> Path:
        return data_dir / "worker.json"

    def write(self, data_dir: Path) -> None:
        path = self.path(data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(self), handle)

    @classmethod
    def read(cls, data_dir: Path) -> RunFile | None:
        """The run file of a live worker, or None (none written, or its process is gone)."""
        try:
            run = cls(**json.loads(cls.path(data_dir).read_text()))
            os.kill(run.pid, 0)
        except (FileNotFoundError, ValueError, TypeError, ProcessLookupError, PermissionError):
            return None
        return run

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _handler(store: ClickHouseStore | None, registry: CollectorRegistry, token: str) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._reply(HTTPStatus.OK, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self._reply(HTTPStatus.OK, b"ok\n", "text/plain")
            else:
                self._reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def do_POST(self) -> None:
            if self.path != "/query" or store is None:
                self._reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
                return
            if not secrets.compare_digest(self.headers.get(TOKEN_HEADER, ""), token):
                self._reply(HTTPStatus.FORBIDDEN, b"bad token\n", "text/plain")
                return
            length = int(self.headers.get("Content-Length", "0"))
            if length > MAX_QUERY_BYTES:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"query too long\n", "text/plain")
                return
            sql = self.rfile.read(length).decode()
            try:
                result = store.query_readonly(sql)
            except ReadOnlyViolation as exc:
                self._error(HTTPStatus.FORBIDDEN, str(exc))
                return
            except Exception as exc:  # the database's own message is the useful answer
                self._error(HTTPStatus.BAD_REQUEST, str(exc))
                return
            body = json.dumps(asdict(result), default=_json_default).encode()
            self._reply(HTTPStatus.OK, body, "application/json")

        def _error(self, status: HTTPStatus, message: str) -> None:
            self._reply(status, json.dumps({"error": message}).encode(), "application/json")

        def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds would drown the worker's log

    return Handler


class WorkerEndpoint:
    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        store: ClickHouseStore | None = None,
    ) -> None:
        self.token = secrets.token_urlsafe(24)
        self._server = ThreadingHTTPServer((host, port), _handler(store, registry, self.token))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="radar-http", daemon=True
        )

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class QueryError(RuntimeError):
    pass


def query_worker(run: RunFile, sql: str, timeout: float = 60.0) -> QueryResult:
    request = urllib.request.Request(
        f"{run.url}/query",
        data=sql.encode(),
        headers={TOKEN_HEADER: run.token, "Content-Type": "text/plain"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError):
            detail = json.loads(detail)["error"]
        raise QueryError(detail) from None
    return QueryResult(payload["columns"], payload["rows"])
