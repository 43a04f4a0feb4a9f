from __future__ import annotations

from streams.progress import InputProgress

NOW = 1_000_000


def test_caught_up_partitions_let_the_clock_reach_now() -> None:
    progress = InputProgress()
    progress.fed(("calls", 0), 500)
    assert progress.low_watermark({("calls", 0): 0, ("tickets", 0): 0}, NOW) == NOW


def test_a_partition_behind_holds_the_clock_at_what_it_fed() -> None:
    progress = InputProgress()
    progress.fed(("tickets", 0), 900)
    progress.fed(("calls", 0), 300)
    progress.fed(("calls", 0), 200)  # out of order within the partition: the newest counts
    assert progress.low_watermark({("tickets", 0): 0, ("calls", 0): 7}, NOW) == 300


def test_a_partition_behind_with_nothing_fed_holds_the_clock_at_zero() -> None:
    progress = InputProgress()
    progress.fed(("tickets", 0), 900)
    assert progress.low_watermark({("tickets", 0): 3, ("calls", 0): 5}, NOW) == 0
