from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ALERTS = Path(__file__).resolve().parents[2] / "alerts"


def _promtool(*args: str, cwd: Path | None = None) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed; `make test` installs Debian's prometheus package")
    result = subprocess.run([promtool, *args], capture_output=True, text=True, cwd=cwd, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_files_are_valid() -> None:
    files = sorted(str(p) for p in ALERTS.glob("*.rules.yml"))
    assert files
    _promtool("check", "rules", *files)


def test_rule_unit_tests_pass() -> None:
    tests = sorted(str(p) for p in (ALERTS / "tests").glob("*.test.yml"))
    assert tests
    _promtool("test", "rules", *tests, cwd=ALERTS / "tests")


def test_every_alert_has_a_test() -> None:
    alerts = {
        rule["alert"]
        for path in ALERTS.glob("*.rules.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for path in (ALERTS / "tests").glob("*.test.yml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert alerts
    assert alerts <= tested


def test_no_rule_groups_by_an_id() -> None:
    text = "\n".join(p.read_text() for p in ALERTS.glob("*.rules.yml"))
    for forbidden in ("customer_id", "interaction_id", "ticket_id", "agent_id"):
        assert forbidden not in text


def _alerting_rules(path: Path) -> list[dict[str, Any]]:
    return [
        rule
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


def test_business_alerts_say_what_to_do_and_where_to_route() -> None:
    readme = (ALERTS.parent / "README.md").read_text()
    anchors = {_slug(line.lstrip("#")) for line in readme.splitlines() if line.startswith("#")}
    business = _alerting_rules(ALERTS / "queues.rules.yml")
    assert len(business) >= 10
    for rule in business:
        name = rule["alert"]
        assert rule.get("for"), name
        assert rule["labels"]["severity"] in {"page", "warn"}, name
        assert rule["labels"]["class"] == "business", name
        # routed by queue: the expression keeps the queue label, or the rule sets one
        assert "queue" in rule["labels"] or "queue" in rule["expr"], name
        annotations = rule["annotations"]
        assert annotations["summary"], name
        assert annotations["description"], name
        url = annotations["runbook_url"]
        assert url.startswith("README.md#"), name
        assert url.split("#", 1)[1] in anchors, f"{name}: no README section {url}"


def test_the_alertmanager_example_passes_amtool() -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is not installed; `make test` installs prometheus-alertmanager")
    result = subprocess.run(
        [amtool, "check-config", str(ALERTS / "alertmanager.example.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((ALERTS / "alertmanager.example.yml").read_text())
    blind = [
        rule for rule in config["inhibit_rules"] if rule["target_matchers"] == ['class="business"']
    ]
    assert blind, "business alerts must be inhibited while the radar is blind"
