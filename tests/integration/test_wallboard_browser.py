"""The wallboard in a real browser (Debian's chromium, driven by Playwright), fed by a real
worker through Kafka and a real Prometheus: tiles for every queue, figures that follow new
events, an urgent item when a target goes at risk, and nothing asked of another host."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, sync_playwright

from infra.settings import load_settings
from radar.events import Direction, EventType
from radar.policies import load_policies
from radar.simulate.center import CenterModel
from streams.reader import ClickHouseReader
from streams.topics import ensure_topics
from streams.wallboard.server import Wallboard
from tests.integration.conftest import WorkerProcess, prometheus_scraping
from tests.integration.test_sla_live import Upstream
from tests.radar.sla.test_ground_truth import EXAMPLE

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("RADAR_TEST_ARTIFACTS", Path(__file__).parents[2] / ".artifacts"))
QUEUES = CenterModel().queues


@pytest.fixture
def engine() -> str:
    return "bulk"


@dataclass
class Browser:
    page: Page
    errors: list[str]
    requests: list[str]


@pytest.fixture
def board(worker: WorkerProcess, tmp_path: Path) -> Iterator[tuple[Wallboard, Upstream]]:
    policies = tmp_path / "policies.yaml"  # chats go at risk after 4 s, and the grace is 1 s
    policies.write_text(
        EXAMPLE.read_text()
        .replace("chat_wait_time: 2m", "chat_wait_time: 8s")
        .replace("grace: 5s", "grace: 1s")
    )
    worker.env["RADAR_POLICIES"] = str(policies)
    settings = load_settings(environ=worker.env)
    ensure_topics(settings)
    worker.start()
    prometheus = prometheus_scraping(worker, tmp_path / "prometheus")
    reader = ClickHouseReader(settings, may_open_chdb=False)
    wallboard = Wallboard(
        load_policies(str(policies)), prometheus.url, reader.query, refresh=0.25
    ).start()
    upstream = Upstream(settings)
    yield wallboard, upstream
    upstream.producer.close()
    wallboard.stop()
    prometheus.stop()


@pytest.fixture
def browser(board: tuple[Wallboard, Upstream]) -> Iterator[Browser]:
    wallboard, _ = board
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        requests: list[str] = []

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        def request(sent: Request) -> None:
            requests.append(sent.url)

        page.on("console", console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", request)
        page.goto(wallboard.url)
        yield Browser(page, errors, requests)
        chromium.close()


def test_the_wallboard_follows_the_center_in_a_real_browser(
    board: tuple[Wallboard, Upstream], browser: Browser, capsys: Any
) -> None:
    wallboard, center = board
    page = browser.page
    calls = (f"call-{n}" for n in range(100))
    for queue in QUEUES:  # one waiting call in each of the simulated center's queues
        center.send(EventType.CALL_QUEUED, next(calls), queue=queue, direction=Direction.INBOUND)
    for queue in QUEUES:
        page.locator(f'[data-queue="{queue}"]').wait_for(timeout=30_000)
    page.wait_for_function(
        '() => document.querySelector(\'[data-queue="billing"] [data-figure="waiting"]'
        " .value').textContent === '1'",
        timeout=30_000,
    )

    # a figure follows new events: two more calls wait in billing
    produced = time.monotonic()
    for _ in range(2):
        center.send(EventType.CALL_QUEUED, next(calls), direction=Direction.INBOUND)
    page.wait_for_function(
        '() => document.querySelector(\'[data-queue="billing"] [data-figure="waiting"]'
        " .value').textContent === '3'",
        timeout=30_000,
    )
    shown_after = time.monotonic() - produced

    # an urgent item: a chat nobody accepts goes at risk (8 s target, warned at half of it)
    chat = center.send(EventType.CHAT_REQUESTED, "chat-1").interaction_id
    item = page.locator(f'#urgent li[data-interaction="{chat}"]')
    item.wait_for(timeout=60_000)
    assert "billing" in item.inner_text()
    assert "chat wait time" in item.inner_text()
    assert "unassigned" in item.inner_text()
    page.wait_for_function(
        '() => document.querySelector(\'[data-queue="billing"] [data-figure="targets_at_risk"]'
        " .value').textContent !== '0'",
        timeout=30_000,
    )
    assert "at_risk" in (page.locator('[data-queue="billing"]').get_attribute("class") or "") or (
        "breached" in (page.locator('[data-queue="billing"]').get_attribute("class") or "")
    )

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "wallboard.png"
    page.screenshot(path=str(screenshot))
    with capsys.disabled():
        print(f"\nwallboard: a new waiting call shown {shown_after:.2f} s after it was produced;"
              f" screenshot {screenshot}")  # fmt: skip

    assert browser.errors == []
    assert browser.requests
    assert all(url.startswith(wallboard.url) for url in browser.requests), browser.requests
    assert page.locator(".tile").count() == len(QUEUES)
