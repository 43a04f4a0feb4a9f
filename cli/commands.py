"""The ``radar`` command line. Each subcommand imports what it needs when it runs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import IO, Any

from infra.runtime import tune_garbage_collector
from infra.settings import SETTINGS, ConfigError, Settings, load_settings
from radar.events import event_to_record, iso_to_millis, millis_to_iso
from radar.pseudonyms import PREFIX as PSEUDONYM_PREFIX

DURATION_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``2h``, ``1d`` to milliseconds."""
    unit = DURATION_UNITS.get(text[-1:])
    try:
        if unit is None:
            raise ValueError
        return int(float(text[:-1]) * unit)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number and s, m, h or d") from None


def _instant(text: str) -> int:
    try:
        return iso_to_millis(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if path in (None, "-"):
        yield sys.stdout
    else:
        with open(path, "w") as handle:
            yield handle


def _write_json_line(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, separators=(",", ":")) + "\n")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.main_job import MainJob

    rate = settings.simulate_rate if args.rate is None else args.rate
    return MainJob(settings, rate, args.config).run()


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from streams.worker import run_worker

    run_worker(settings)
    return 0


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    from infra.local_kafka import LocalKafka

    broker = LocalKafka(settings.data_dir / "kafka", settings.cache_dir, settings.local_kafka_port)
    if args.action == "start":
        broker.start()
        print(f"Apache Kafka ready on {broker.bootstrap_servers} (log: {broker.log_file})")
    elif args.action == "stop":
        broker.stop()
    elif args.action == "fetch":
        broker.fetch()
    else:
        pid = broker.running_pid()
        print(f"running, pid {pid}" if pid else "not running")
        return 0 if pid else 3
    return 0


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from streams.topics import ensure_topics

    created = ensure_topics(settings)
    print("created: " + (", ".join(created) if created else "none (all exist)"))
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from radar.simulate.center import CenterModel
    from radar.simulate.generator import Simulation, SimulationOptions

    options = SimulationOptions(
        seed=args.seed,
        start_ms=args.start,
        duration_ms=args.duration,
        model=CenterModel(contacts_per_day=args.contacts_per_day, customers=args.customers),
        anomaly_rate=args.anomaly_rate,
        churners=args.churners,
        duplicate_rate=args.duplicate_rate,
    )
    simulation = Simulation(options)
    pacer = _Pacer(args.speed, args.rate, options.start_ms)
    count = 0
    if args.kafka:
        from schemas.codec import EventCodec, PayloadFormat
        from streams.upstream import EventProducer
        from streams.worker import schema_resolver

        producer = EventProducer(
            settings, EventCodec(schema_resolver(settings)), PayloadFormat(args.format)
        )
        for event in simulation:
            pacer.wait_for(event.occurred_at)
            producer.send(event)
            count += 1
        report = producer.flush()
        print(f"sent {report.delivered} events", file=sys.stderr)
        if report.failed:
            print(f"{len(report.failed)} failed: {report.failed[0]}", file=sys.stderr)
            return 1
    else:
        with _output(args.out) as out:
            for event in simulation:
                pacer.wait_for(event.occurred_at)
                _write_json_line(out, event_to_record(event))
                count += 1
        print(f"wrote {count} events", file=sys.stderr)
    if args.truth:
        with open(args.truth, "w") as handle:
            for truth in simulation.truth:
                record = {k: v for k, v in asdict(truth).items() if v is not None}
                record["at"] = millis_to_iso(truth.at)
                if truth.until is not None:
                    record["until"] = millis_to_iso(truth.until)
                _write_json_line(handle, record)
    return 0


class _Pacer:
    """Holds events back to a time-compression factor and/or an events-per-second cap."""

    def __init__(self, speed: float | None, rate: float | None, start_ms: int) -> None:
        import time

        self._clock = time.monotonic
        self._sleep = time.sleep
        self._speed = speed
        self._interval = 1 / rate if rate else None
        self._start_ms = start_ms
        self._began = self._clock()
        self._next = self._began

    def wait_for(self, occurred_at: int) -> None:
        if self._speed:
            due = self._began + (occurred_at - self._start_ms) / 1000 / self._speed
            delay = due - self._clock()
            if delay > 0:
                self._sleep(delay)
        if self._interval:
            delay = self._next - self._clock()
            if delay > 0:
                self._sleep(delay)
            self._next = max(self._next, self._clock()) + self._interval


def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    from radar.events import Event, parse_json_event
    from schemas.codec import EventCodec, PayloadFormat
    from streams.upstream import EventProducer
    from streams.worker import schema_resolver

    producer = EventProducer(
        settings, EventCodec(schema_resolver(settings)), PayloadFormat(args.format)
    )
    invalid = 0
    with open(args.file, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            event = parse_json_event(line)
            if not isinstance(event, Event):
                invalid += 1
                print(
                    f"{args.file}:{number}: not sent: {event.reason}: {event.detail}",
                    file=sys.stderr,
                )
                if args.stop_on_error:
                    break
                continue
            producer.send(event)
    report = producer.flush()
    print(f"delivered {report.delivered} events; {invalid} invalid lines not sent", file=sys.stderr)
    for failure in report.failed[:10]:
        print(f"delivery failed: {failure}", file=sys.stderr)
    return 1 if report.failed or invalid else 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from radar.policies import PolicyError, load_policies
    from radar.replay import ReplayError, replay

    try:
        policies = load_policies(args.policies or settings.policies_file)
    except (PolicyError, OSError) as exc:
        print(f"radar replay: {exc}", file=sys.stderr)
        return 2

    def emit(out: IO[str], record: dict[str, Any]) -> None:
        _write_json_line(out, record)
        if record["stream"] == "dead_letter":
            where = f"{args.file}:{record['line']}"
            print(f"{where}: {record['reason']}: {record['detail']}", file=sys.stderr)
            if args.stop_on_error:
                raise ReplayError(f"stopped at {where}")

    try:
        with open(args.file, "rb") as handle, _output(args.out) as out:
            summary = replay(
                handle,
                lambda record: emit(out, record),
                args.file,
                policies=policies,
                until=args.until,
                window=settings.event_time_window,
                wall_clock=time.time_ns() // 1_000_000,
                pseudonyms=settings.pseudonyms,
            )
    except ReplayError as exc:
        print(f"radar replay: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_dict()), file=sys.stderr)
    return 0


def _run_query(settings: Settings, sql: str) -> Any:
    """Through the running worker when it holds the embedded chDB, else directly."""
    from streams.reader import ClickHouseReader

    reader = ClickHouseReader(settings)
    try:
        return reader.query(sql)
    finally:
        reader.close()


def _print_result(result: Any, fmt: str) -> None:
    if fmt == "json":
        for row in result.rows:
            print(json.dumps(dict(zip(result.columns, row, strict=True)), default=str))
    else:
        print(format_table(result.columns, result.rows))


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    try:
        result = _run_query(settings, args.sql)
    except Exception as exc:  # the database's message is the answer the user needs
        print(f"query failed: {exc}", file=sys.stderr)
        return 1
    _print_result(result, args.format)
    return 0


def cmd_wallboard(args: argparse.Namespace, settings: Settings) -> int:
    import threading

    from streams.wallboard.server import wallboard_for

    wallboard = wallboard_for(settings).start()
    print(f"wallboard at {wallboard.url} (figures from {settings.prometheus}); Ctrl-C stops")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    wallboard.stop()
    return 0


def cmd_whatif(args: argparse.Namespace, settings: Settings) -> int:
    """The stored events of a window under the current and a proposed policy file."""

    from radar.policies import PolicyError, load_policies
    from radar.whatif import compare
    from sinks.clickhouse import events_from, stored_events_query
    from streams.reader import ClickHouseReader

    try:
        current = load_policies(args.current or settings.policies_file)
        proposed = load_policies(args.policies)
    except (PolicyError, OSError) as exc:
        print(f"radar whatif: {exc}", file=sys.stderr)
        return 2
    until = args.until if args.until is not None else int(time.time() * 1000)
    since = until - args.since
    warm_up = since - int(settings.state_retention_hours * 3_600_000)
    events = []
    reader = ClickHouseReader(settings)
    try:
        for start in range(warm_up, until, WHATIF_CHUNK_MS):  # bounded answers from /query
            sql = stored_events_query(start, min(start + WHATIF_CHUNK_MS, until))
            events += events_from(reader.query(sql))
    except Exception as exc:  # the database's message is the answer the user needs
        print(f"radar whatif: reading events failed: {exc}", file=sys.stderr)
        return 1
    finally:
        reader.close()
    print(
        f"{len(events)} events from {millis_to_iso(warm_up)} (warm-up) to {millis_to_iso(until)};"
        f" targets started since {millis_to_iso(since)}",
        file=sys.stderr,
    )
    rows = compare(events, current, proposed, since, until)
    if args.format == "json":
        window = {"since": millis_to_iso(since), "until": millis_to_iso(until)}
        print(json.dumps({**window, "rows": [row.as_dict() for row in rows]}, indent=2))
    else:
        print(format_whatif(rows))
    return 0


WHATIF_CHUNK_MS = 3_600_000  # a large center's hour: well inside /query's row limit
WHATIF_FIGURES = (
    ("targets", "targets"),
    ("breaches", "breaches"),
    ("achieved_within_target", "within target"),
    ("median_elapsed_ms", "median elapsed"),
)


def format_whatif(rows: Sequence[Any]) -> str:
    """One line per queue and metric; each figure as ``current → proposed (difference)``."""

    def show(name: str, value: Any) -> str:
        if value is None:
            return "-"
        if name == "median_elapsed_ms":
            return f"{value / 60_000:.1f}m"
        return str(value)

    def cell(row: Any, name: str) -> str:
        before, after = row.current[name], row.proposed[name]
        delta = row.difference()[name]
        change = "" if not delta else f" ({'+' if delta > 0 else '-'}{show(name, abs(delta))})"
        return f"{show(name, before)} → {show(name, after)}{change}"

    table = [[row.queue, row.metric, *(cell(row, n) for n, _ in WHATIF_FIGURES)] for row in rows]
    return format_table(["queue", "metric", *(title for _, title in WHATIF_FIGURES)], table)


def cmd_timeline(args: argparse.Namespace, settings: Settings) -> int:
    customer = args.customer
    if settings.pseudonyms is not None and not customer.startswith(PSEUDONYM_PREFIX):
        customer = settings.pseudonyms.pseudonym(customer)  # stored under its pseudonym
    customer = customer.replace("\\", "\\\\").replace("'", "\\'")
    sql = (
        "SELECT occurred_at AS at, channel, interaction_id, action, who, queue "
        f"FROM customer_timeline WHERE customer_id = '{customer}' "
        "ORDER BY occurred_at, interaction_id"
    )
    try:
        result = _run_query(settings, sql)
    except Exception as exc:
        print(f"timeline failed: {exc}", file=sys.stderr)
        return 1
    if not result.rows:
        print(f"no contacts of {args.customer}", file=sys.stderr)
        return 1
    _print_result(result, args.format)
    return 0


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, columns as wide as their widest cell."""
    cells = [[str(c) for c in columns]] + [
        ["" if v is None else str(v) for v in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    for name, setting in SETTINGS.items():
        value = "***" if setting.secret and getattr(settings, name) else getattr(settings, name)
        print(f"{setting.env:<28} {value!s:<40} {setting.help}")
    return 0


def _add_simulate(sub: Any) -> None:
    simulate = sub.add_parser(
        "simulate", help="generate a deterministic contact-center event stream"
    )
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument(
        "--start", type=_instant, default=_instant("2026-01-05T00:00:00Z"), help="ISO-8601 start"
    )
    simulate.add_argument(
        "--duration", type=parse_duration, default=parse_duration("1d"), help="e.g. 2h, 1d"
    )
    simulate.add_argument("--contacts-per-day", type=float, default=2000.0)
    simulate.add_argument(
        "--customers",
        type=int,
        help="customers of the center (default: 1.5 per daily contact, at least 3000)",
    )
    simulate.add_argument(
        "--anomaly-rate", type=float, default=0.01, help="share of contacts with an injected fault"
    )
    simulate.add_argument("--churners", type=int, default=5)
    simulate.add_argument("--duplicate-rate", type=float, default=0.002)
    simulate.add_argument("--out", help="JSON Lines file (default: stdout)")
    simulate.add_argument("--truth", help="write the injected faults (ground truth) here")
    simulate.add_argument(
        "--kafka", action="store_true", help="produce to Kafka instead of writing JSON Lines"
    )
    simulate.add_argument(
        "--format", choices=("json", "avro"), default="avro", help="payload format with --kafka"
    )
    simulate.add_argument(
        "--speed", type=float, help="simulated seconds per second (e.g. 144: a day in 10 min)"
    )
    simulate.add_argument("--rate", type=float, help="at most this many events/s")
    simulate.set_defaults(handler=cmd_simulate)


def _add_whatif(sub: Any) -> None:
    whatif = sub.add_parser(
        "whatif",
        help="the stored events of a window under the current and a proposed policy file",
    )
    whatif.add_argument("--policies", required=True, help="the proposed SLA policies (YAML)")
    whatif.add_argument("--current", help="the current SLA policies (default: $RADAR_POLICIES)")
    whatif.add_argument(
        "--since", type=parse_duration, default=parse_duration("7d"), help="window, e.g. 7d, 12h"
    )
    whatif.add_argument("--until", type=_instant, help="end of the window, ISO-8601 (default: now)")
    whatif.add_argument("--format", choices=("table", "json"), default="table")
    whatif.set_defaults(handler=cmd_whatif)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radar",
        description="Contact Radar: real-time SLA, churn and missing-assignee detection.",
    )
    parser.add_argument("--config", help="TOML settings file (also $RADAR_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run", help="the main job: broker, worker and simulated traffic; Ctrl-C stops"
    )
    run.add_argument(
        "--rate",
        type=float,
        help="simulated events/s (0: no simulator); default $RADAR_SIMULATE_RATE",
    )
    run.set_defaults(handler=cmd_run)

    worker = sub.add_parser("worker", help="the Faust worker alone (what production runs)")
    worker.set_defaults(handler=cmd_worker)

    broker = sub.add_parser("broker", help="the local Apache Kafka broker")
    broker.add_argument("action", choices=("start", "stop", "status", "fetch"))
    broker.set_defaults(handler=cmd_broker)

    topics = sub.add_parser("topics", help="create the project's topics (idempotent)")
    topics.set_defaults(handler=cmd_topics)

    _add_simulate(sub)

    produce = sub.add_parser("produce", help="send a JSON Lines file of events to their topics")
    produce.add_argument("file")
    produce.add_argument("--format", choices=("json", "avro"), default="avro")
    produce.add_argument(
        "--stop-on-error", action="store_true", help="send nothing after the first bad line"
    )
    produce.set_defaults(handler=cmd_produce)

    replay = sub.add_parser("replay", help="run the core over a JSON Lines file, without Kafka")
    replay.add_argument("file")
    replay.add_argument("--out", help="JSON Lines output (default: stdout)")
    replay.add_argument("--policies", help="SLA policies YAML (default: $RADAR_POLICIES)")
    replay.add_argument(
        "--stop-on-error", action="store_true", help="stop at the first bad line (exit 2)"
    )
    replay.add_argument(
        "--until",
        type=_instant,
        help="after the last event, let time pass to this ISO-8601 instant and fire what is"
        " due by then",
    )
    replay.set_defaults(handler=cmd_replay)

    query = sub.add_parser("query", help="run a read-only SQL query on ClickHouse")
    query.add_argument("sql")
    query.add_argument("--format", choices=("table", "json"), default="table")
    query.set_defaults(handler=cmd_query)

    _add_whatif(sub)

    wallboard = sub.add_parser(
        "wallboard", help="serve the wallboard page (figures from Prometheus and ClickHouse)"
    )
    wallboard.set_defaults(handler=cmd_wallboard)

    timeline = sub.add_parser(
        "timeline", help="a customer's contacts across channels, and who handled them"
    )
    timeline.add_argument("customer")
    timeline.add_argument("--format", choices=("table", "json"), default="table")
    timeline.set_defaults(handler=cmd_timeline)

    config = sub.add_parser("config", help="print the effective settings")
    config.set_defaults(handler=cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_garbage_collector()
    try:
        settings = load_settings(args.config)
    except (ConfigError, OSError) as exc:
        print(f"radar: configuration: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    handler = args.handler
    try:
        status = int(handler(args, settings))
        sys.stdout.flush()  # a pipe is block-buffered: its reader may be gone by now
        return status
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """The output's reader stopped reading (``radar timeline C | head``): exit quietly, as
    Unix tools do, with the status a shell shows for SIGPIPE. Standard output is pointed at
    /dev/null so that the interpreter's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
