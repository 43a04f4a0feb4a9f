"""A detector shard's whole state as bytes, and back: so a restart reads the last snapshot and
the few events after it instead of replaying days of history, and state older than the
journal's retention (a week-long target, a customer's churn score) is kept, not forgotten.

The policy file is not part of a snapshot: the shard's references into the loaded policies
(a policy, a calendar, the churn settings) are written as their place in the ``PolicySet``
and bound to the current one when read. A snapshot written under other policies, or by
another version of the state's classes, is refused (``SnapshotMismatch``), and the caller
rebuilds from the journal instead.
"""

from __future__ import annotations

import gc
import hashlib
import io
import pickle
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from enum import Enum
from functools import cache
from operator import attrgetter
from typing import Any, Final

from radar.calendar import CALENDAR_TIME, BusinessCalendar
from radar.policies import PolicySet
from radar.shard import DetectorShard

# Raise when the state's classes change shape: an older snapshot is then refused, not misread.
FORMAT: Final = 4
# Formats this version reads (4: timers in a list, their progress apart, no set for a
# customer's single interaction; older ones are rebuilt from the journal).
READABLE: Final = frozenset({"4"})
_PRIMITIVES: Final = (str, int, float, bool, type(None), Enum, bytes)


class SnapshotMismatch(ValueError):
    """The snapshot was written by another format or under other policies."""


class _PolicyMap:
    """Every object of a ``PolicySet`` by its place in it, and a digest of what it says."""

    def __init__(self, policies: PolicySet) -> None:
        self.path_of: dict[int, str] = {}
        self.object_at: dict[str, Any] = {"calendar-time": CALENDAR_TIME}
        self.path_of[id(CALENDAR_TIME)] = "calendar-time"
        self._digest = hashlib.sha256()
        self._keep: list[Any] = []  # ids are only unique while their objects live
        self._walk(policies, "policies")
        self.digest = self._digest.hexdigest()

    def _say(self, path: str, text: str) -> None:
        self._digest.update(f"{path}={text}\n".encode())

    def _walk(self, obj: Any, path: str) -> None:
        if isinstance(obj, _PRIMITIVES):
            self._say(path, repr(obj))
            return
        if isinstance(obj, (set, frozenset)):
            self._say(path, repr(sorted(map(repr, obj))))
            return
        if id(obj) in self.path_of:
            self._say(path, "-> " + self.path_of[id(obj)])
            return
        if type(obj).__module__ != "builtins":  # containers are copied, objects referenced
            self.path_of[id(obj)] = path
            self.object_at[path] = obj
            self._keep.append(obj)
        self._say(path, type(obj).__qualname__)
        if isinstance(obj, BusinessCalendar):
            self._say(path, obj.describe())
        elif is_dataclass(obj):
            for field in fields(obj):
                self._walk(getattr(obj, field.name), f"{path}.{field.name}")
        elif isinstance(obj, Mapping):
            for key in sorted(obj, key=repr):
                self._walk(obj[key], f"{path}[{key!r}]")
        elif isinstance(obj, (list, tuple)):
            for index, item in enumerate(obj):
                self._walk(item, f"{path}[{index}]")


def _restore(cls: type, values: tuple[Any, ...]) -> Any:
    obj: Any = object.__new__(cls)
    for name, value in zip(_field_names(cls), values, strict=True):
        object.__setattr__(obj, name, value)  # frozen ones too
    return obj


def _in_policies(path: str) -> Any:
    """Stands for an object of the loaded ``PolicySet``; ``_Unpickler`` binds it to the
    current one (never called itself)."""
    raise SnapshotMismatch(f"{path}: a policy reference read outside a snapshot")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _dataclass_reducer(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """Slotted dataclasses as their field values (one C call), without the ``fields()``
    call their generated ``__getstate__`` makes for every object."""
    names = _field_names(cls)
    values = attrgetter(*names) if len(names) > 1 else lambda obj: (getattr(obj, names[0]),)
    if all(f.init for f in fields(cls)) and not hasattr(cls, "__post_init__"):
        return lambda obj: (cls, values(obj))  # read back by its own __init__: fastest
    return lambda obj: (_restore, (cls, values(obj)))


def _default_reducer(obj: Any) -> Any:
    return obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


class _Reducers(dict[type, Any]):
    """The pickler's dispatch table, asked once per type. Objects of the loaded policies are
    written as their place in the ``PolicySet`` (a ``persistent_id`` would cost a Python call
    for every object of the shard, ints and strings included)."""

    def __init__(self, policy_map: _PolicyMap) -> None:
        super().__init__()
        path_of = policy_map.path_of

        def reduce_policy_object(obj: Any) -> Any:
            path = path_of.get(id(obj))
            if path is None:  # not one of the loaded policies' own objects
                return _default_reducer(obj)
            return _in_policies, (path,)

        for cls in {type(obj) for obj in policy_map.object_at.values()}:
            self[cls] = reduce_policy_object

    def __missing__(self, cls: type) -> Any:
        if issubclass(cls, type):  # a class (of a metaclass, an enum's): pickled by name
            raise KeyError(cls)
        if is_dataclass(cls) and cls.__dictoffset__ == 0:  # no attributes beyond its fields
            reducer = self[cls] = _dataclass_reducer(cls)
        else:
            reducer = self[cls] = _default_reducer  # what pickle does without a table
        return reducer


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, policy_map: _PolicyMap) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = _Reducers(policy_map)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, policy_map: _PolicyMap) -> None:
        super().__init__(file)
        self._map = policy_map

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == _in_policies.__name__:
            return self._map.object_at.__getitem__
        return super().find_class(module, name)


@contextmanager
def _no_collection() -> Iterator[None]:
    """Writing or reading a shard allocates an object or more per object of its state: the
    cyclic collector, run again and again over the growing heap meanwhile, took most of the
    time (a shard of 60,000 open interactions read in 4.1 s with it, 0.7 s without)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class ShardSnapshots:
    """Writes and reads the shards of one ``PolicySet``."""

    def __init__(self, policies: PolicySet) -> None:
        self._map = _PolicyMap(policies)

    def dump(self, shard: DetectorShard) -> bytes:
        buffer = io.BytesIO()
        with _no_collection():
            _Pickler(buffer, self._map).dump(shard)
        header = f"{FORMAT}:{self._map.digest}\n".encode()
        return header + zlib.compress(buffer.getvalue(), 1)

    def load(self, data: bytes) -> DetectorShard:
        header, _, body = data.partition(b"\n")
        version, _, digest = header.decode().partition(":")
        if version not in READABLE:
            raise SnapshotMismatch(f"snapshot format {version}, this version reads {FORMAT}")
        if digest != self._map.digest:
            raise SnapshotMismatch("snapshot written under other policies")
        with _no_collection():
            shard = _Unpickler(io.BytesIO(zlib.decompress(body)), self._map).load()
        if not isinstance(shard, DetectorShard):
            raise SnapshotMismatch(f"a snapshot of {type(shard).__name__}, not of a shard")
        return shard
