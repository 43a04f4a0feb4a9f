"""Imports only go down: the core knows no Kafka, ClickHouse or command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# package -> its layer; a module may import its own layer and the layers below
LAYERS = {"radar": 0, "infra": 1, "schemas": 2, "sinks": 2, "streams": 3, "cli": 4}
SHELL_LIBRARIES = {"faust", "mode", "confluent_kafka", "clickhouse_connect", "prometheus_client"}


def imported(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, also inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", LAYERS)
def test_no_import_runs_upward(package: str) -> None:
    upward = [
        (path.relative_to(ROOT), name)
        for path in modules(package)
        for name in imported(path)
        if LAYERS.get(name.split(".")[0], -1) > LAYERS[package]
    ]
    assert upward == []


def test_the_core_uses_no_streaming_or_storage_library() -> None:
    used = [
        (path.relative_to(ROOT), name)
        for path in modules("radar")
        for name in imported(path)
        if name.split(".")[0] in SHELL_LIBRARIES
    ]
    assert used == []


def test_the_policy_model_imports_no_detector() -> None:
    detectors = {"radar.sla", "radar.churn", "radar.gaps"}
    names = imported(ROOT / "radar" / "policies.py")
    assert not {n for n in names if any(n.startswith(d) for d in detectors)}
