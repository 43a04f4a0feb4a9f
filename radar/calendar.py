"""Business calendars: when the clock of a business-hours SLA target runs.

A calendar has an IANA time zone, weekly opening hours (several intervals a day, e.g. a lunch
break), explicit holiday dates and optionally a country's public holidays (``holidays``).
Each local day is turned into UTC intervals once (DST is applied per day, by the zone) and
cached; adding or measuring business time walks days, never minutes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import holidays as country_holidays

DAY_MS: Final = 86_400_000
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A target that needs more than this many days of closed calendar is a configuration error.
_MAX_DAYS: Final = 3 * 366


class Clock(Protocol):
    """How SLA time is measured between two instants (epoch ms)."""

    def add(self, start_ms: int, duration_ms: int) -> int: ...

    def elapsed(self, start_ms: int, end_ms: int) -> int: ...


class CalendarTime:
    """Around the clock: every millisecond counts."""

    def add(self, start_ms: int, duration_ms: int) -> int:
        return start_ms + duration_ms

    def elapsed(self, start_ms: int, end_ms: int) -> int:
        return max(0, end_ms - start_ms)


CALENDAR_TIME: Final = CalendarTime()


class BusinessCalendar:
    def __init__(
        self,
        name: str,
        zone: str,
        weekly: Mapping[int, Sequence[tuple[time, time]]],
        holidays: Iterable[date] = (),
        country: str | None = None,
    ) -> None:
        self.name = name
        self.zone = ZoneInfo(zone)
        self._weekly = {day: tuple(sorted(weekly.get(day, ()))) for day in range(7)}
        for day, intervals in self._weekly.items():
            for opens, closes in intervals:
                if not opens < closes:
                    raise ValueError(f"{WEEKDAYS[day]}: {opens}-{closes} is empty")
            for (_, closes), (opens, _) in itertools.pairwise(intervals):
                if opens < closes:
                    raise ValueError(f"{WEEKDAYS[day]}: intervals overlap")
        if not any(self._weekly.values()):
            raise ValueError("a business calendar needs opening hours")
        self._holidays = frozenset(holidays)
        self._country = country_holidays.country_holidays(country) if country else None
        self.open_intervals = lru_cache(maxsize=4096)(self._open_intervals)
        # a running target asks for the same instants after every event of its interaction
        self._added = lru_cache(maxsize=8192)(self._add)

    def describe(self) -> str:
        """What the calendar says, in a stable form (a snapshot checks it is unchanged)."""
        country = self._country.country if self._country is not None else None
        weekly = {
            WEEKDAYS[d]: [(str(o), str(c)) for o, c in hours] for d, hours in self._weekly.items()
        }
        return f"{self.name} {self.zone.key} {weekly} {sorted(self._holidays)} {country}"

    def is_holiday(self, day: date) -> bool:
        return day in self._holidays or (self._country is not None and day in self._country)

    def _open_intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        """The day's opening hours as UTC epoch-ms intervals."""
        if self.is_holiday(day):
            return ()
        return tuple(
            (self._utc_ms(day, opens), self._utc_ms(day, closes))
            for opens, closes in self._weekly[day.weekday()]
        )

    def _utc_ms(self, day: date, at: time) -> int:
        if at == time.max:  # "24:00": the start of the next local day
            moment = datetime.combine(day + timedelta(days=1), time.min, self.zone)
        else:
            moment = datetime.combine(day, at, self.zone)
        return int(moment.timestamp() * 1000)

    def _local_day(self, at_ms: int) -> date:
        return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(self.zone).date()

    def is_open(self, at_ms: int) -> bool:
        return any(o <= at_ms < c for o, c in self.open_intervals(self._local_day(at_ms)))

    def add(self, start_ms: int, duration_ms: int) -> int:
        """The instant when ``duration_ms`` of business time has passed after ``start_ms``."""
        return self._added(start_ms, duration_ms)

    def _add(self, start_ms: int, duration_ms: int) -> int:
        remaining = duration_ms
        day = self._local_day(start_ms)
        for _ in range(_MAX_DAYS):
            for opens, closes in self.open_intervals(day):
                begin = max(opens, start_ms)
                if begin >= closes:
                    continue
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name}: no {duration_ms} ms of business time in 3 years")

    def elapsed(self, start_ms: int, end_ms: int) -> int:
        """Business milliseconds in ``[start_ms, end_ms)``."""
        total = 0
        day = self._local_day(start_ms)
        last = self._local_day(end_ms)
        while day <= last:
            for opens, closes in self.open_intervals(day):
                overlap = min(closes, end_ms) - max(opens, start_ms)
                if overlap > 0:
                    total += overlap
            day += timedelta(days=1)
        return total


def parse_hours(text: str) -> tuple[time, time]:
    """``"09:00-12:30"`` (``24:00`` allowed as a closing time)."""
    opens, sep, closes = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r}: expected HH:MM-HH:MM")
    return _clock(opens.strip()), _clock(closes.strip(), closing=True)


def _clock(text: str, closing: bool = False) -> time:
    if closing and text == "24:00":
        return time.max
    return time.fromisoformat(text)
