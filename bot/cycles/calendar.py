"""When reminders arrive: working days, quiet hours and the times planned around a deadline.

Pure: every moment comes in as an aware datetime and goes out in UTC; nothing reads a clock.
Local wall-clock times are built in the person's zone with fold=0 and normalised through UTC,
so a time skipped by a DST change becomes a real one (02:30 on a spring-forward night is 03:30)
and an ambiguous one is its first occurrence.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.cycles.when import Offset


class DaysOff(StrEnum):
    """Which days a team does not count as working days (a team setting)."""

    STATUTORY = "statutory"  # China's holidays and make-up working days; weekends otherwise
    WEEKENDS = "weekends"  # Saturdays and Sundays only
    NONE = "none"  # every day is a working day


QUIET_START = time(22, 0)
QUIET_END = time(8, 0)
MORNING = time(9, 0)  # "remind me later" and daily overdue reminders land at 09:00
SEND_AHEAD_LIMIT = timedelta(hours=3)

DUE_LABEL = "due"

_DAY = timedelta(days=1)


def calendar_knows(days_off: DaysOff, year: int) -> bool:
    """False when STATUTORY and chinese_calendar has no data for `year` (then weekends only
    are used)."""
    if days_off is not DaysOff.STATUTORY:
        return True
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def is_working_day(day: date, days_off: DaysOff) -> bool:
    """Whether `day` counts as a working day for a team with this setting."""
    if days_off is DaysOff.NONE:
        return True
    if days_off is DaysOff.STATUTORY and calendar_knows(days_off, day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def in_quiet_hours(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether `moment`'s local time in `zone` is in [22:00, 08:00)."""
    local = _utc(moment).astimezone(zone).time()
    return local >= QUIET_START or local < QUIET_END


@dataclass(frozen=True)
class Planned:
    """One reminder's timing."""

    label: str  # the offset's label ("7d", "2h"), or "due"
    planned_at: datetime  # UTC: when the reminder is meant to arrive
    not_before: datetime  # UTC: the earliest it may be sent (never inside quiet hours)
    silent: bool  # in quiet hours, because waiting for the morning would miss the deadline


def plan_reminders(
    *,
    deadline: datetime,
    offsets: Sequence[Offset],
    zone: ZoneInfo,
    days_off: DaysOff,
    now: datetime,
) -> list[Planned]:
    """The reminders before `deadline` for one person in `zone`, in time order.

    1. A day offset is the deadline's local date minus N days at the deadline's local
       wall-clock time (so across a DST change it is 23 or 25 elapsed hours per day); an
       hour offset is the deadline minus N elapsed hours.
    2. A day-offset reminder on a day off (unless `days_off` is NONE) moves back to the latest
       working day before it, same wall-clock time; if that is not after `now`, it stays.
    3. A reminder in quiet hours [22:00, 08:00) moves to the following 08:00 local, unless
       that is not before the deadline: then it stays and is silent.
    4. Reminders not after `now` or not before the deadline are dropped; two at the same
       time become one, labelled with the shorter offset.
    5. `not_before` = max(planned_at − SEND_AHEAD_LIMIT, the latest 08:00 local at or before
       planned_at); a silent reminder's is planned_at.
    """
    deadline, now = _utc(deadline), _utc(now)
    by_time: dict[datetime, tuple[Offset, bool]] = {}
    for offset in offsets:
        at = _offset_moment(deadline, offset, zone, days_off, now)
        at, silent = out_of_quiet_hours(at, deadline, zone)
        if not now < at < deadline:
            continue
        kept = by_time.get(at)
        if kept is None or _length(offset) < _length(kept[0]):
            by_time[at] = (offset, silent)
    return [
        Planned(
            label=offset.label,
            planned_at=at,
            not_before=at if silent else _not_before(at, zone),
            silent=silent,
        )
        for at, (offset, silent) in sorted(by_time.items())
    ]


def plan_after_deadline(*, deadline: datetime, zone: ZoneInfo) -> Planned:
    """The overdue notice / deadline digest: at the deadline, or at the following 08:00 local
    if the deadline is in quiet hours. Never silent, never early; label "due"."""
    at = _utc(deadline)
    if in_quiet_hours(at, zone):
        at = next_quiet_end(at, zone)
    return Planned(label=DUE_LABEL, planned_at=at, not_before=at, silent=False)


def next_morning(*, after: datetime, zone: ZoneInfo, days_off: DaysOff) -> datetime:
    """09:00 local on the first working day strictly after `after`'s local date (UTC).
    Used for daily overdue reminders and digests."""
    day = _utc(after).astimezone(zone).date() + _DAY
    while not is_working_day(day, days_off):
        day += _DAY
    return _at(day, MORNING, zone)


def remind_later(
    *, now: datetime, deadline: datetime, zone: ZoneInfo, days_off: DaysOff
) -> datetime | None:
    """When "remind me later" brings the reminder back: 09:00 on the next working day, or
    one hour before the deadline if that is earlier; None if that is not after `now`."""
    now = _utc(now)
    at = min(
        next_morning(after=now, zone=zone, days_off=days_off),
        _utc(deadline) - timedelta(hours=1),
    )
    return at if at > now else None


def _offset_moment(
    deadline: datetime, offset: Offset, zone: ZoneInfo, days_off: DaysOff, now: datetime
) -> datetime:
    """Rules 1 and 2: the offset's moment, moved off a day off where that is still ahead."""
    if not offset.days:
        return deadline - offset.elapsed
    local = deadline.astimezone(zone)
    wall = local.time().replace(fold=0)
    day = local.date() - timedelta(days=offset.days)
    at = _at(day, wall, zone)
    working = day
    while not is_working_day(working, days_off):
        working -= _DAY
    if working == day:
        return at
    earlier = _at(working, wall, zone)
    return earlier if earlier > now else at


def out_of_quiet_hours(at: datetime, deadline: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """Rule 3: (when to send, silent)."""
    if not in_quiet_hours(at, zone):
        return at, False
    morning = next_quiet_end(at, zone)
    return (morning, False) if morning < deadline else (at, True)


def _not_before(at: datetime, zone: ZoneInfo) -> datetime:
    """Rule 5 for a reminder that is not silent."""
    day = at.astimezone(zone).date()
    morning = _at(day, QUIET_END, zone)
    if morning > at:
        morning = _at(day - _DAY, QUIET_END, zone)
    return max(at - SEND_AHEAD_LIMIT, morning)


def next_quiet_end(at: datetime, zone: ZoneInfo) -> datetime:
    """The first 08:00 local after `at`."""
    day = at.astimezone(zone).date()
    morning = _at(day, QUIET_END, zone)
    return morning if morning > at else _at(day + _DAY, QUIET_END, zone)


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """`wall` on `day` in `zone`, as UTC (a skipped time read with the offset before the gap)."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    """An aware moment in UTC; a naive one is a bug (it would be read as the host's zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime: {moment!r}")
    return moment.astimezone(UTC)


def _length(offset: Offset) -> tuple[timedelta, bool]:
    """Order of offsets: by nominal length, and 24h before 1d (as when.read_offsets does)."""
    return offset.elapsed, offset.days > 0
