"""The wallboard's server: its page and assets, the token, and boards pushed as events."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from infra.local_kafka import free_port
from radar.policies import PolicySet
from sinks.clickhouse import QueryResult
from streams.endpoint import QueryError
from streams.wallboard.server import COOKIE, Wallboard


def no_database(sql: str) -> QueryResult:
    raise QueryError("no worker is running to answer for the embedded database")


def start(token: str | None = None) -> Wallboard:
    nobody = f"http://127.0.0.1:{free_port()}"  # no Prometheus there
    return Wallboard(PolicySet(()), nobody, no_database, token=token, refresh=0.1).start()


@pytest.fixture
def board() -> Iterator[Wallboard]:
    wallboard = start()
    yield wallboard
    wallboard.stop()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_page_and_its_assets_come_from_this_server_only(board: Wallboard) -> None:
    status, headers, page = get(board.url)
    assert status == 200
    assert b'src="board.js"' in page
    assert b"http" not in page.replace(b'"http-equiv', b"")  # no other host named
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for asset in ("board.js", "board.css"):
        status, _, body = get(board.url + asset)
        assert status == 200
        assert b"https://" not in body
    assert get(board.url + "nothing")[0] == 404


def test_boards_are_pushed_as_server_sent_events_and_say_what_did_not_answer(
    board: Wallboard,
) -> None:
    host, port = board.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", "/events")
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.readline() == b"event: board\n"
    data = response.readline()
    connection.close()
    pushed = json.loads(data.removeprefix(b"data: "))
    assert pushed["tiles"] == []
    assert any("Prometheus did not answer" in p for p in pushed["problems"])
    assert any("no worker is running" in p for p in pushed["problems"])


def test_with_a_token_every_request_needs_it_once_then_a_cookie() -> None:
    board = start(token="s3cret")
    try:
        assert get(board.url)[0] == 401
        assert get(board.url + "events")[0] == 401
        assert get(board.url + "?token=wrong")[0] == 401
        status, headers, _ = get(board.url + "?token=s3cret")
        assert status == 200
        cookie = headers["Set-Cookie"].split(";")[0]
        assert cookie == f"{COOKIE}=s3cret"
        assert "HttpOnly" in headers["Set-Cookie"]
        assert get(board.url + "board.js", {"Cookie": cookie})[0] == 200
        assert get(board.url + "board.json", {"Cookie": f"{COOKIE}=guess"})[0] == 401
    finally:
        board.stop()


def test_the_wallboard_listens_on_loopback_by_default(board: Wallboard) -> None:
    assert board.url.startswith("http://127.0.0.1:")
