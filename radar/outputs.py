"""What a detector's output is, said once: its tables, its topic and schema, how it is counted.

The core only describes; the shell reads the descriptions and does the I/O (one generic insert
in ``sinks/clickhouse.py``, one codec in ``schemas/outputs.py``, one publish and one set of
metrics in ``streams/outputs.py``). A new detector brings its own ``Output`` and is registered
once, in ``radar/detectors.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from radar.shard import DetectorShard


class OutputRecord(Protocol):
    @property
    def id(self) -> str: ...

    def as_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=OutputRecord)
Labels = tuple[str, ...]


@dataclass(frozen=True)
class TableRows(Generic[R]):
    """One ClickHouse table fed by a detector's records (``sinks/migrations`` creates it)."""

    table: str
    columns: tuple[str, ...]
    rows: Callable[[Sequence[R]], list[list[Any]]]

    @classmethod
    def of_fields(cls, table: str, record_type: type[Any]) -> TableRows[Any]:
        """A table whose columns are the record's fields, in order."""
        names = tuple(f.name for f in fields(record_type))
        return cls(table, names, lambda records: [[getattr(r, n) for n in names] for r in records])


@dataclass(frozen=True)
class Counted(Generic[R]):
    """A Prometheus counter of records by labels read off each one (closed sets only)."""

    metric: str
    help: str
    labels: Labels
    label_values: Callable[[R], Labels]


@dataclass(frozen=True)
class Timed(Generic[R]):
    """A histogram of seconds from the instant a record is about (epoch ms; ``None``: not
    observed) to the moment it is written."""

    metric: str
    help: str
    buckets: tuple[float, ...]
    since: Callable[[R], int | None]


@dataclass(frozen=True)
class StateGauge:
    """A gauge of the detector's state now (``Output.read_state`` gives its values)."""

    metric: str
    help: str
    labels: Labels


# One pass over a shard's detector state: (gauge metric, labels, value), summed over the
# shards a worker owns; a gauge's series missing from the sum are removed.
StateReader = Callable[["DetectorShard"], Iterable[tuple[str, Labels, float]]]


@dataclass(frozen=True)
class Output(Generic[R]):
    """One detector's records: what ``ShardRecords`` files under ``name``, and where they go."""

    name: str  # ShardRecords' key: records.sla, records.gaps ...
    stream: str  # the "stream" field of its JSON Lines form (``as_json``)
    title: str  # for logs
    record_type: type[R]
    tables: tuple[TableRows[R], ...]  # the first holds one row per record id
    key: Callable[[R], str]  # the Kafka key: records of one key stay in order
    topic: str | None = None  # published there (Avro) before they are written; None: tables only
    avro_schema: str | None = None  # file in schemas/avro/outputs
    replayed: bool = True  # printed by ``radar replay``
    counted: tuple[Counted[R], ...] = ()
    timed: tuple[Timed[R], ...] = ()
    gauges: tuple[StateGauge, ...] = ()
    read_state: StateReader | None = None

    @property
    def table(self) -> str:
        return self.tables[0].table

    @property
    def summary_key(self) -> str:
        """Its count in ``radar replay``'s summary."""
        return f"{self.stream}_records"
