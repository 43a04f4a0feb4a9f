"""The wallboard's web server: the page, its assets (all served from here: no CDN, nothing
from another host), and the board pushed with Server-Sent Events whenever it changes.

One thread refreshes the board (Prometheus every ``refresh`` seconds, ClickHouse every
``urgent_every``); each open page holds one connection that waits for the next version. Bound
to loopback by default; with a token, every request needs it (``?token=`` once, then a cookie).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from infra.settings import Settings
from radar.policies import PolicySet, load_policies
from radar.wallboard import URGENT_SHOWN, Board, UrgentItem, most_urgent, tile
from sinks.clickhouse import QueryResult
from streams.reader import ClickHouseReader
from streams.wallboard.readings import PrometheusReadings, urgent_work

log = logging.getLogger(__name__)
COOKIE = "radar_wallboard"
HEARTBEAT_SECONDS = 5.0  # a page that hears nothing for longer shows its figures as stale
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/board.js": ("board.js", "text/javascript; charset=utf-8"),
    "/board.css": ("board.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = {
    # the page may talk to this server only: a request to another host is refused by the browser
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class BoardFeed:
    """The current board, its version, and a condition pages wait on."""

    def __init__(self) -> None:
        self.payload = b"{}"
        self.version = 0  # no board built yet
        self.changed = threading.Condition()
        self.closed = False

    def publish(self, payload: bytes) -> None:
        with self.changed:
            self.payload = payload
            self.version += 1
            self.changed.notify_all()

    def next_after(self, version: int, timeout: float) -> tuple[int, bytes] | None:
        with self.changed:
            self.changed.wait_for(lambda: self.version != version or self.closed, timeout)
            if self.closed:
                return None
            return self.version, self.payload

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()


class Wallboard:
    def __init__(
        self,
        policies: PolicySet,
        prometheus_url: str,
        query: Callable[[str], QueryResult],
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        refresh: float = 0.5,
        urgent_every: float = 2.0,
    ) -> None:
        """``query``: read-only SQL on ClickHouse (``streams/reader.py``)."""
        self._policies = policies
        self._readings = PrometheusReadings(prometheus_url, policies)
        self._query = query
        self._refresh = refresh
        self._urgent_every = urgent_every
        self.feed = BoardFeed()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _handler(self.feed, token))
        self._server.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="wallboard-http", daemon=True),
            threading.Thread(target=self._refresh_forever, name="wallboard-refresh", daemon=True),
        ]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown!s}:{port}/"

    def start(self) -> Wallboard:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.feed.close()
        self._server.shutdown()
        self._server.server_close()

    def build(self, urgent: list[UrgentItem], problems: list[str]) -> Board:
        try:
            readings = self._readings.read()
        except OSError as exc:
            readings = {}
            problems = [*problems, f"Prometheus did not answer: {exc}"]
        tiles = [tile(r, self._policies.queue(q)) for q, r in readings.items()]
        return Board(int(time.time() * 1000), tiles, most_urgent(urgent), problems)

    def _refresh_forever(self) -> None:
        urgent: list[UrgentItem] = []
        urgent_problems: list[str] = []
        urgent_at = 0.0
        shown, shown_at = b"", 0.0
        while not self._stop.is_set():
            started = time.monotonic()
            if started - urgent_at >= self._urgent_every:
                urgent_at = started
                try:
                    urgent, urgent_problems = urgent_work(self._query, URGENT_SHOWN), []
                except Exception as exc:  # the database's message says what is wrong
                    urgent_problems = [f"ClickHouse did not answer: {exc}"]
            board = self.build(urgent, urgent_problems).as_json()
            content = json.dumps({**board, "generated_at": 0}).encode()
            if content != shown or started - shown_at >= HEARTBEAT_SECONDS:
                self.feed.publish(json.dumps(board).encode())
                shown, shown_at = content, started
            self._stop.wait(max(0.0, self._refresh - (time.monotonic() - started)))


def _asset(name: str) -> bytes:
    return (resources.files("streams.wallboard") / "static" / name).read_bytes()


def _handler(feed: BoardFeed, token: str | None) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            offered = urllib.parse.parse_qs(url.query).get("token", [None])[0]
            if token is not None and not self._allowed(offered):
                self._reply(HTTPStatus.UNAUTHORIZED, b"a token is needed\n", "text/plain")
                return
            if url.path in ASSETS:
                name, content_type = ASSETS[url.path]
                cookie = self._cookie() if offered and token else None
                self._reply(HTTPStatus.OK, _asset(name), content_type, cookie)
            elif url.path == "/board.json":
                self._reply(HTTPStatus.OK, feed.payload, "application/json")
            elif url.path == "/events":
                self._stream()
            elif url.path == "/healthz":
                self._reply(HTTPStatus.OK, b"ok\n", "text/plain")
            else:
                self._reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def _allowed(self, offered: str | None) -> bool:
            assert token is not None
            jar = SimpleCookie(self.headers.get("Cookie", ""))
            given = offered or (jar[COOKIE].value if COOKIE in jar else "")
            return secrets.compare_digest(given.encode(), token.encode())

        def _cookie(self) -> str:
            return f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"

        def _stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            version = 0  # none yet: the first board built
            try:
                while True:
                    update = feed.next_after(version, HEARTBEAT_SECONDS * 3)
                    if update is None:
                        return
                    if update[0] == version:
                        self.wfile.write(b": still here\n\n")
                    else:
                        version, payload = update
                        self.wfile.write(b"event: board\ndata: " + payload + b"\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the page was closed

        def _reply(
            self, status: HTTPStatus, body: bytes, content_type: str, cookie: str | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            if cookie:
                self.send_header("Set-Cookie", cookie)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def wallboard_for(settings: Settings, prometheus_url: str | None = None) -> Wallboard:
    """The wallboard of a deployment: its policy file's queues and thresholds, its Prometheus,
    and its ClickHouse (through the worker when the worker holds the embedded chDB)."""
    policies = load_policies(settings.policies_file) if settings.policies_file else PolicySet(())
    reader = ClickHouseReader(settings, may_open_chdb=False)
    return Wallboard(
        policies,
        prometheus_url or settings.prometheus,
        reader.query,
        settings.wallboard_host,
        settings.wallboard_port,
        settings.wallboard_token or None,
    )
