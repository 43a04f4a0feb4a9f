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

import hashlib
import io
import pickle
import zlib
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any, Final

from radar.calendar import CALENDAR_TIME, BusinessCalendar
from radar.policies import PolicySet
from radar.shard import DetectorShard

# Raise when the state's classes change shape: an older snapshot is then refused, not misread.
FORMAT: Final = 2
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


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, policy_map: _PolicyMap) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._map = policy_map

    def persistent_id(self, obj: Any) -> str | None:
        return self._map.path_of.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, policy_map: _PolicyMap) -> None:
        super().__init__(file)
        self._map = policy_map

    def persistent_load(self, pid: Any) -> Any:
        return self._map.object_at[pid]


class ShardSnapshots:
    """Writes and reads the shards of one ``PolicySet``."""

    def __init__(self, policies: PolicySet) -> None:
        self._map = _PolicyMap(policies)

    def dump(self, shard: DetectorShard) -> bytes:
        buffer = io.BytesIO()
        _Pickler(buffer, self._map).dump(shard)
        header = f"{FORMAT}:{self._map.digest}\n".encode()
        return header + zlib.compress(buffer.getvalue(), 1)

    def load(self, data: bytes) -> DetectorShard:
        header, _, body = data.partition(b"\n")
        version, _, digest = header.decode().partition(":")
        if version != str(FORMAT):
            raise SnapshotMismatch(f"snapshot format {version}, this version reads {FORMAT}")
        if digest != self._map.digest:
            raise SnapshotMismatch("snapshot written under other policies")
        shard = _Unpickler(io.BytesIO(zlib.decompress(body)), self._map).load()
        if not isinstance(shard, DetectorShard):
            raise SnapshotMismatch(f"a snapshot of {type(shard).__name__}, not of a shard")
        return shard
