"""The demo traffic of ``radar run``: it delivers the rate it announces from the first minute."""

from __future__ import annotations

from collections import Counter

from streams.main_job import live_events

NOW_MS = 1_767_254_400_000  # 2026-01-01T08:00:00Z


def test_the_demo_center_sends_the_announced_rate_from_the_first_minute() -> None:
    for rate in (50.0, 200.0):
        per_minute: Counter[int] = Counter()
        for event in live_events(7, rate, NOW_MS):
            minute = (event.occurred_at - NOW_MS) // 60_000
            if minute >= 5:
                break
            assert minute >= 0  # nothing from before now is sent
            per_minute[minute] += 1
        rates = [per_minute[m] / 60 for m in range(5)]
        assert all(0.8 * rate <= r <= 1.2 * rate for r in rates), rates
