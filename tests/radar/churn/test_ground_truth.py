"""The simulator's churners (frequent customers who go quiet after an urgent ticket answered a
day late and chased) against the detector's `silent` customers: recall must be complete;
precision is reported (other customers can go quiet after bad experiences too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from radar.events import event_to_record, iso_to_millis
from radar.policies import load_policies
from radar.replay import replay
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions, TruthKind

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "policies.yaml"


def test_churners_go_silent(capsys: Any) -> None:
    simulation = Simulation(
        SimulationOptions(
            seed=31, duration_ms=12 * DAY_MS, model=CenterModel(contacts_per_day=600), churners=6
        )
    )
    lines = [json.dumps(event_to_record(e)).encode() for e in simulation]
    records: list[dict[str, Any]] = []
    replay(lines, records.append, policies=load_policies(EXAMPLE))
    silent = {
        r["customer_id"] for r in records if r["stream"] == "churn" and r["level"] == "silent"
    }
    churners = {t.customer_id for t in simulation.truth if t.kind is TruthKind.SILENT_CHURNER}
    assert len(churners) == 6
    found = silent & churners
    precision = len(found) / len(silent) if silent else 0.0
    # the simulated center stops taking contacts at its end, while open work runs on for days:
    # silences declared after that are not in the ground truth's reach
    end = simulation.options.start_ms + 12 * DAY_MS
    while_open = {
        r["customer_id"]
        for r in records
        if r["stream"] == "churn"
        and r["level"] == "silent"
        and iso_to_millis(r["changed_at"]) < end
    }
    precision_open = len(while_open & churners) / len(while_open) if while_open else 0.0
    with capsys.disabled():
        print(
            f"\nchurn: {len(churners)} injected churners, {len(silent)} customers went silent; "
            f"recall {len(found) / len(churners):.0%}, precision {precision:.0%} "
            f"({precision_open:.0%} of the {len(while_open)} declared while the center was open)"
        )
    assert churners <= silent
    for record in records:
        if (
            record["stream"] == "churn"
            and record["level"] == "silent"
            and record["customer_id"] in churners
        ):
            reasons = {r["reason"] for r in record["reasons"]}
            assert "first_reply_time breached" in reasons
            assert "chased a reply" in reasons
