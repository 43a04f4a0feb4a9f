"""SLA policies from YAML: which targets apply to an interaction, and how time is counted.

Policies are tried in order; the first whose ``match`` fits the interaction (channel, priority,
queue, tier) applies. A target is a duration in calendar time (``4h``) or business time
(``{business: 8h}``, counted on the policy's calendar). Every error names the file, the key
path and what is wrong. ``policies/example.yaml`` documents the format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import yaml

from radar.calendar import CALENDAR_TIME, WEEKDAYS, BusinessCalendar, Clock, parse_hours
from radar.detector_settings import ChurnSettings, GapThresholds
from radar.events import Channel, Priority


class Metric(StrEnum):
    FIRST_REPLY_TIME = "first_reply_time"
    NEXT_REPLY_TIME = "next_reply_time"
    PERIODIC_UPDATE = "periodic_update"
    PAUSABLE_UPDATE = "pausable_update"
    REQUESTER_WAIT_TIME = "requester_wait_time"
    AGENT_WORK_TIME = "agent_work_time"
    TOTAL_RESOLUTION_TIME = "total_resolution_time"
    PROMISED_UPDATE = "promised_update"
    FEEDBACK_FOLLOW_UP = "feedback_follow_up"
    CHAT_WAIT_TIME = "chat_wait_time"
    CHAT_RESPONSE_TIME = "chat_response_time"
    CALL_ANSWER_TIME = "call_answer_time"
    CALL_HOLD_TIME = "call_hold_time"
    CALLBACK_TIME = "callback_time"

    @property
    def channel(self) -> Channel:
        return _METRIC_CHANNEL.get(self, Channel.TICKET)


_METRIC_CHANNEL: Final = {
    Metric.CHAT_WAIT_TIME: Channel.CHAT,
    Metric.CHAT_RESPONSE_TIME: Channel.CHAT,
    Metric.CALL_ANSWER_TIME: Channel.CALL,
    Metric.CALL_HOLD_TIME: Channel.CALL,
    Metric.CALLBACK_TIME: Channel.CALL,
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_MS: Final = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    metric: Metric
    duration_ms: int
    business: bool


@dataclass(frozen=True)
class Escalation:
    level: int  # 2 for the first escalation after the breach (the breach itself is level 1)
    after_ms: int  # after the due time
    group: str


@dataclass(frozen=True)
class Match:
    channels: frozenset[Channel] | None = None
    priorities: frozenset[Priority] | None = None
    queues: frozenset[str] | None = None
    tiers: frozenset[str] | None = None

    def fits(
        self, channel: Channel, priority: Priority | None, queue: str | None, tier: str | None
    ) -> bool:
        return (
            (self.channels is None or channel in self.channels)
            and (self.priorities is None or priority in self.priorities)
            and (self.queues is None or queue in self.queues)
            and (self.tiers is None or tier in self.tiers)
        )


@dataclass(frozen=True)
class Policy:
    name: str
    match: Match
    targets: Mapping[Metric, Target]
    group: str  # who is told about breaches
    warnings: tuple[float, ...] = (0.5, 0.75)
    escalations: tuple[Escalation, ...] = ()
    calendar: BusinessCalendar | None = None

    def clock(self, target: Target) -> Clock:
        if target.business and self.calendar is not None:
            return self.calendar
        return CALENDAR_TIME


@dataclass(frozen=True)
class QueueRules:
    """A queue's answer-time rules and the targets its alerts compare against."""

    short_abandon_ms: int = 10_000  # a caller who hangs up sooner was not really waiting
    service_level_ms: int = 20_000  # answered within this counts towards the service level
    service_level_goal: float = 0.8  # the share of contacts to answer within it
    abandon_rate_limit: float = 0.1  # abandons (short ones aside) above this share alert
    oldest_wait_limit_ms: int = 120_000  # a contact waiting longer alerts
    calendar: BusinessCalendar | None = None  # open hours: an upstream silent then is an outage
    # the wallboard's amber: a service level below this (default: the goal + 0.05), an oldest
    # wait or abandon rate past this share of its limit
    service_level_warning: float | None = None
    warning_fraction: float = 0.8

    def is_open(self, at_ms: int) -> bool:
        return self.calendar is None or self.calendar.is_open(at_ms)

    @property
    def service_level_amber(self) -> float:
        if self.service_level_warning is not None:
            return self.service_level_warning
        return min(1.0, self.service_level_goal + 0.05)


@dataclass(frozen=True)
class PolicySet:
    policies: tuple[Policy, ...]
    queues: Mapping[str, QueueRules] = field(default_factory=dict)
    default_queue: QueueRules = QueueRules()
    grace_ms: int = 5000
    gaps: GapThresholds = field(default_factory=GapThresholds)
    churn: ChurnSettings = field(default_factory=ChurnSettings)

    def select(
        self, channel: Channel, priority: Priority | None, queue: str | None, tier: str | None
    ) -> Policy | None:
        for policy in self.policies:
            if policy.match.fits(channel, priority, queue, tier):
                return policy
        return None

    def queue(self, name: str | None) -> QueueRules:
        return self.queues.get(name or "", self.default_queue)


class _Reader:
    """Walks the YAML tree, naming the file and key path in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> PolicyError:
        return PolicyError(f"{self.source}: {path}: {message}")

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "expected a mapping")
        return value

    def listing(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, "expected a list")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, "expected a non-empty string")
        return value

    def duration(self, value: Any, path: str) -> int:
        match = _DURATION.match(str(value)) if isinstance(value, str | int | float) else None
        if match is None:
            raise self.fail(path, f"{value!r} is not a duration like 90s, 30m, 4h or 2d")
        return int(float(match.group(1)) * _UNIT_MS[match.group(2)])

    def unknown_keys(self, mapping: dict[str, Any], allowed: set[str], path: str) -> None:
        unknown = sorted(set(mapping) - allowed)
        if unknown:
            raise self.fail(
                path, f"unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}"
            )

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"{value!r} is not a number")
        return float(value)

    def one_or_many(self, value: Any, path: str) -> list[Any]:
        return value if isinstance(value, list) else [value]


def load_policies(path: str | Path) -> PolicySet:
    text = Path(path).read_text()
    return parse_policies(text, str(path))


def parse_policies(text: str, source: str = "<policies>") -> PolicySet:
    r = _Reader(source)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from None
    root = r.mapping(document, "(top)")
    r.unknown_keys(root, {"calendars", "policies", "queues", "grace", "assignee", "churn"}, "(top)")
    calendars = {
        name: _calendar(r, name, spec, f"calendars.{name}")
        for name, spec in r.mapping(root.get("calendars", {}), "calendars").items()
    }
    policies = tuple(
        _policy(r, spec, f"policies[{i}]", calendars)
        for i, spec in enumerate(r.listing(root.get("policies"), "policies"))
    )
    if not policies:
        raise r.fail("policies", "at least one policy is needed")
    queues_spec = r.mapping(root.get("queues", {}), "queues")
    default = _queue(r, queues_spec.pop("default", {}), "queues.default", QueueRules(), calendars)
    queues = {
        name: _queue(r, spec, f"queues.{name}", default, calendars)
        for name, spec in queues_spec.items()
    }
    grace = r.duration(root.get("grace", "5s"), "grace")
    return PolicySet(
        policies,
        queues,
        default,
        grace,
        _gap_thresholds(r, root.get("assignee", {}), calendars),
        _churn_settings(r, root.get("churn", {})),
    )


_CHURN_NUMBERS: Final = ("watch", "at_risk", "exit_factor", "silence_multiple")
_CHURN_DURATIONS: Final = {
    "half_life": "half_life_ms",
    "min_silence": "min_silence_ms",
    "default_gap": "default_gap_ms",
}
_CHURN_WEIGHTS: Final = (
    "chase", "chat_abandoned", "low_csat", "reopened",
    "repeat_contact", "happy_csat", "achieved_early",
)  # fmt: skip


def _churn_settings(r: _Reader, spec: Any) -> ChurnSettings:
    """``churn:`` thresholds, durations, ``weights`` and ``breach_weights`` (by metric)."""
    spec = r.mapping(spec, "churn")
    allowed = {*_CHURN_NUMBERS, *_CHURN_DURATIONS, "weights", "breach_weights"}
    r.unknown_keys(spec, allowed, "churn")
    values: dict[str, Any] = {}
    for key in _CHURN_NUMBERS:
        if key in spec:
            values[key] = r.number(spec[key], f"churn.{key}")
    for key, name in _CHURN_DURATIONS.items():
        if key in spec:
            values[name] = r.duration(spec[key], f"churn.{key}")
    weights = r.mapping(spec.get("weights", {}), "churn.weights")
    r.unknown_keys(weights, set(_CHURN_WEIGHTS), "churn.weights")
    for key, value in weights.items():
        values[key] = r.number(value, f"churn.weights.{key}")
    if "breach_weights" in spec:
        breach = r.mapping(spec["breach_weights"], "churn.breach_weights")
        for metric in breach:
            if metric not in Metric.__members__.values():
                raise r.fail(f"churn.breach_weights.{metric}", "unknown metric")
        values["breach_weights"] = {
            m: r.number(v, f"churn.breach_weights.{m}") for m, v in breach.items()
        }
    return ChurnSettings(**values)


def _gap_thresholds(
    r: _Reader, spec: Any, calendars: Mapping[str, BusinessCalendar]
) -> GapThresholds:
    """``assignee: {unassigned_after: {ticket: 30m, chat: 2m}, calendar: tokyo,
    queues: {vip: {ticket: 10m, calendar: tokyo}}}``"""
    spec = r.mapping(spec, "assignee")
    r.unknown_keys(spec, {"unassigned_after", "queues", "calendar"}, "assignee")

    def calendar(name: Any, path: str) -> BusinessCalendar:
        if name not in calendars:
            raise r.fail(path, f"{name!r} is not defined under calendars")
        return calendars[name]

    def per_channel(value: Any, path: str) -> dict[Channel, int]:
        mapping = r.mapping(value, path)
        r.unknown_keys(mapping, {"ticket", "chat"}, path)
        return {Channel(k): r.duration(v, f"{path}.{k}") for k, v in mapping.items()}

    defaults = per_channel(spec.get("unassigned_after", {}), "assignee.unassigned_after")
    base = GapThresholds()
    by_queue: dict[str, dict[Channel, int]] = {}
    queue_calendars: dict[str, Clock] = {}
    for queue, value in r.mapping(spec.get("queues", {}), "assignee.queues").items():
        path = f"assignee.queues.{queue}"
        limits = dict(r.mapping(value, path))
        if "calendar" in limits:
            queue_calendars[queue] = calendar(limits.pop("calendar"), f"{path}.calendar")
        by_queue[queue] = per_channel(limits, path)
    return GapThresholds(
        defaults.get(Channel.TICKET, base.ticket_ms),
        defaults.get(Channel.CHAT, base.chat_ms),
        by_queue,
        calendar(spec["calendar"], "assignee.calendar") if "calendar" in spec else CALENDAR_TIME,
        queue_calendars,
    )


def _calendar(r: _Reader, name: str, spec: Any, path: str) -> BusinessCalendar:
    spec = r.mapping(spec, path)
    r.unknown_keys(spec, {"timezone", "hours", "holidays", "country_holidays"}, path)
    weekly: dict[int, list[Any]] = {}
    for day, hours in r.mapping(spec.get("hours"), f"{path}.hours").items():
        if day not in WEEKDAYS:
            raise r.fail(f"{path}.hours.{day}", f"expected one of {', '.join(WEEKDAYS)}")
        try:
            weekly[WEEKDAYS.index(day)] = [
                parse_hours(h) for h in r.one_or_many(hours, f"{path}.hours.{day}")
            ]
        except (ValueError, TypeError) as exc:
            raise r.fail(f"{path}.hours.{day}", str(exc)) from None
    holidays = []
    for i, day in enumerate(r.listing(spec.get("holidays", []), f"{path}.holidays")):
        if not isinstance(day, date):
            raise r.fail(f"{path}.holidays[{i}]", f"{day!r} is not a date (YYYY-MM-DD)")
        holidays.append(day)
    try:
        return BusinessCalendar(
            name,
            r.text(spec.get("timezone"), f"{path}.timezone"),
            weekly,
            holidays,
            spec.get("country_holidays"),
        )
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise r.fail(path, str(exc)) from None


def _match(r: _Reader, spec: Any, path: str) -> Match:
    spec = r.mapping(spec or {}, path)
    r.unknown_keys(spec, {"channel", "priority", "queue", "tier"}, path)

    def closed(key: str, kind: type[Channel] | type[Priority]) -> frozenset[Any] | None:
        if key not in spec:
            return None
        values = r.one_or_many(spec[key], f"{path}.{key}")
        try:
            return frozenset(kind(v) for v in values)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise r.fail(f"{path}.{key}", f"{values!r}: expected values of {allowed}") from None

    def open_set(key: str) -> frozenset[str] | None:
        if key not in spec:
            return None
        return frozenset(str(v) for v in r.one_or_many(spec[key], f"{path}.{key}"))

    return Match(
        closed("channel", Channel),
        closed("priority", Priority),
        open_set("queue"),
        open_set("tier"),
    )


def _policy(r: _Reader, spec: Any, path: str, calendars: Mapping[str, BusinessCalendar]) -> Policy:
    spec = r.mapping(spec, path)
    r.unknown_keys(
        spec, {"name", "match", "targets", "calendar", "warnings", "escalations", "group"}, path
    )
    name = r.text(spec.get("name"), f"{path}.name")
    calendar = None
    if "calendar" in spec:
        calendar = calendars.get(spec["calendar"])
        if calendar is None:
            raise r.fail(f"{path}.calendar", f"{spec['calendar']!r} is not defined under calendars")
    targets = {}
    for key, value in r.mapping(spec.get("targets"), f"{path}.targets").items():
        target_path = f"{path}.targets.{key}"
        try:
            metric = Metric(key)
        except ValueError:
            raise r.fail(
                target_path, f"unknown metric; expected one of {', '.join(Metric)}"
            ) from None
        business = isinstance(value, dict)
        if business:
            r.unknown_keys(value, {"business"}, target_path)
            if calendar is None:
                raise r.fail(target_path, "business hours need the policy's calendar")
        duration = value.get("business") if business else value
        targets[metric] = Target(metric, r.duration(duration, target_path), business)
    warnings = tuple(r.one_or_many(spec.get("warnings", [0.5, 0.75]), f"{path}.warnings"))
    for i, fraction in enumerate(warnings):
        if not isinstance(fraction, int | float) or not 0 < fraction < 1:
            raise r.fail(f"{path}.warnings[{i}]", f"{fraction!r} is not a fraction between 0 and 1")
    escalations = []
    for i, entry in enumerate(r.listing(spec.get("escalations", []), f"{path}.escalations")):
        item_path = f"{path}.escalations[{i}]"
        item = r.mapping(entry, item_path)
        r.unknown_keys(item, {"after", "group"}, item_path)
        escalations.append(
            Escalation(
                i + 2,
                r.duration(item.get("after"), f"{item_path}.after"),
                r.text(item.get("group"), f"{item_path}.group"),
            )
        )
    if [e.after_ms for e in escalations] != sorted({e.after_ms for e in escalations}):
        raise r.fail(f"{path}.escalations", "offsets must increase")
    return Policy(
        name,
        _match(r, spec.get("match"), f"{path}.match"),
        targets,
        str(spec.get("group", "support")),
        tuple(sorted(float(w) for w in warnings)),
        tuple(escalations),
        calendar,
    )


def _queue(
    r: _Reader,
    spec: Any,
    path: str,
    default: QueueRules,
    calendars: Mapping[str, BusinessCalendar],
) -> QueueRules:
    spec = r.mapping(spec, path)
    durations = {
        "short_abandon": "short_abandon_ms",
        "service_level": "service_level_ms",
        "oldest_wait_limit": "oldest_wait_limit_ms",
    }
    shares = {
        "service_level_goal": "service_level_goal",
        "abandon_rate_limit": "abandon_rate_limit",
        "service_level_warning": "service_level_warning",
        "warning_fraction": "warning_fraction",
    }
    r.unknown_keys(spec, {*durations, *shares, "calendar"}, path)
    changes: dict[str, Any] = {
        field_name: r.duration(spec[key], f"{path}.{key}")
        for key, field_name in durations.items()
        if key in spec
    }
    for key, field_name in shares.items():
        if key in spec:
            share = spec[key]
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
                raise r.fail(f"{path}.{key}", f"{share!r} is not a share between 0 and 1")
            changes[field_name] = float(share)
    if "calendar" in spec:
        name = spec["calendar"]
        if name not in calendars:
            raise r.fail(f"{path}.calendar", f"no calendar named {name!r}")
        changes["calendar"] = calendars[name]
    return replace(default, **changes)
