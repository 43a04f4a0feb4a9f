from __future__ import annotations

from radar.progress import InputProgress, PartitionClock, ProgressBoard, ProgressReport

NOW = 1_000_000
CALLS, TICKETS = ("calls", 0), ("tickets", 0)


def low(progress: InputProgress, lags: dict[tuple[str, int], int], now: int = NOW) -> int | None:
    board = ProgressBoard()
    board.hear(progress.report(lags, now, partitions=len(lags)))
    return board.low_watermark()


def test_caught_up_partitions_let_the_clock_reach_now() -> None:
    progress = InputProgress()
    progress.fed(CALLS, 500)
    assert low(progress, {CALLS: 0, TICKETS: 0}) == NOW


def test_a_partition_behind_holds_the_clock_at_what_it_fed() -> None:
    progress = InputProgress()
    progress.fed(TICKETS, 900)
    progress.fed(CALLS, 300)
    progress.fed(CALLS, 200)  # out of order within the partition: the newest counts
    assert low(progress, {TICKETS: 0, CALLS: 7}) == 300


def test_a_partition_behind_with_nothing_fed_holds_the_clock_at_zero() -> None:
    progress = InputProgress()
    progress.fed(TICKETS, 900)
    assert low(progress, {TICKETS: 3, CALLS: 5}) == 0


def test_nothing_is_known_until_every_input_partition_was_heard_of() -> None:
    board = ProgressBoard()
    assert board.low_watermark() is None
    board.hear(ProgressReport(NOW, {CALLS: NOW}, partitions=2))
    assert board.low_watermark() is None  # the tickets partition could be days behind
    board.hear(ProgressReport(NOW + 5, {TICKETS: 700}, partitions=2))
    assert board.low_watermark() == 700


def test_a_dead_workers_word_holds_until_the_new_owner_speaks() -> None:
    board = ProgressBoard()
    board.hear(ProgressReport(NOW, {CALLS: 400}, partitions=2))  # worker a, then killed
    board.hear(ProgressReport(NOW + 1, {TICKETS: NOW + 1}, partitions=2))  # worker b
    for later in range(2, 60_000, 1000):  # b keeps talking about its own partition only
        board.hear(ProgressReport(NOW + later, {TICKETS: NOW + later}, partitions=2))
    assert board.low_watermark() == 400
    board.hear(ProgressReport(NOW + 60_000, {TICKETS: NOW + 60_000, CALLS: 0}, partitions=2))
    assert board.low_watermark() == 0  # b took the calls partition and has fed nothing of it


def test_older_word_read_late_changes_nothing() -> None:
    board = ProgressBoard()
    board.hear(ProgressReport(NOW, {CALLS: 900}, partitions=1))
    board.hear(ProgressReport(NOW - 10, {CALLS: 100}, partitions=1))
    assert board.low_watermark() == 900


def test_a_report_and_a_board_survive_their_encoding() -> None:
    report = ProgressReport(NOW, {CALLS: 5, TICKETS: NOW}, partitions=3)
    assert ProgressReport.decode(report.encode()) == report
    board = ProgressBoard()
    board.hear(report)
    assert ProgressBoard.decode(board.encode()) == board


def test_a_clock_without_reports_follows_events_up_to_the_wall_clock() -> None:
    clock = PartitionClock(reported=False)
    assert clock.on_event(500, clock.limit(NOW)) == 500
    assert clock.on_event(NOW + 9, clock.limit(NOW)) == NOW  # never ahead of the wall clock
    assert clock.on_event(300, clock.limit(NOW)) == NOW  # never back


def test_a_clock_holds_until_every_input_partition_was_heard_of() -> None:
    clock = PartitionClock(watermark=100)
    assert clock.on_event(500, clock.limit(NOW)) == 100
    clock.board.hear(ProgressReport(NOW, {CALLS: 400, TICKETS: NOW}, partitions=2))
    assert clock.on_event(500, clock.limit(NOW)) == 400
    assert clock.on_tick(NOW, NOW) == 400  # a tick does not pass unread input either
    clock.board.hear(ProgressReport(NOW + 1, {CALLS: NOW + 1}, partitions=2))
    assert clock.on_tick(NOW - 10, NOW) == NOW - 10
