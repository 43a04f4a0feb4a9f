from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
