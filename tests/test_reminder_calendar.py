"""When reminders arrive: working days, quiet hours, DST and the send-ahead window. Pure
functions, exact UTC values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cycles.calendar import (
    DaysOff,
    Planned,
    calendar_knows,
    in_quiet_hours,
    is_working_day,
    next_morning,
    plan_after_deadline,
    plan_reminders,
    remind_later,
)
from bot.cycles.when import Offset

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def plan(
    deadline: datetime,
    *offsets: Offset,
    zone: ZoneInfo = SHANGHAI,
    days_off: DaysOff = DaysOff.NONE,
    now: datetime = LONG_AGO,
) -> list[Planned]:
    return plan_reminders(deadline=deadline, offsets=offsets, zone=zone, days_off=days_off, now=now)


def at(label: str, planned_at: datetime, not_before: datetime | None = None) -> Planned:
    """A sounding reminder; not_before defaults to planned_at."""
    return Planned(label, planned_at, not_before or planned_at, silent=False)


def silent(label: str, planned_at: datetime) -> Planned:
    return Planned(label, planned_at, planned_at, silent=True)


D1, D2, D3, D7 = (Offset(days=n) for n in (1, 2, 3, 7))
H2 = Offset(hours=2)


# Daylight saving time (Europe/Berlin: 2026-03-29 02:00 → 03:00, 2026-10-25 03:00 → 02:00) --


def test_day_offset_keeps_wall_clock_time_across_spring_forward() -> None:
    deadline = berlin(2026, 3, 29, 12)  # 10:00 UTC, summer time since 02:00
    planned = plan(deadline, D1, H2, zone=BERLIN)
    assert planned == [
        at("1d", utc(2026, 3, 28, 11), utc(2026, 3, 28, 8)),  # 12:00 local, winter time
        at("2h", utc(2026, 3, 29, 8), utc(2026, 3, 29, 6)),  # 10:00 local; 08:00 caps it
    ]
    assert deadline - planned[0].planned_at == timedelta(hours=23)
    assert deadline - planned[1].planned_at == timedelta(hours=2)


def test_day_after_the_change_is_a_plain_day() -> None:
    # 29 and 30 March noon are both summer time: the 1d reminder is 24 elapsed hours before.
    planned = plan(berlin(2026, 3, 30, 12), D1, zone=BERLIN)
    assert planned == [at("1d", utc(2026, 3, 29, 10), utc(2026, 3, 29, 7))]


def test_day_offset_keeps_wall_clock_time_across_fall_back() -> None:
    deadline = berlin(2026, 10, 25, 12)  # 11:00 UTC, winter time
    planned = plan(deadline, D1, H2, zone=BERLIN)
    assert planned == [
        at("1d", utc(2026, 10, 24, 10), utc(2026, 10, 24, 7)),  # 12:00 local, summer time
        at("2h", utc(2026, 10, 25, 9), utc(2026, 10, 25, 7)),  # 10:00 local
    ]
    assert deadline - planned[0].planned_at == timedelta(hours=25)


def test_hour_offset_counts_elapsed_hours_over_the_skipped_hour() -> None:
    # 04:00 summer time is 02:00 UTC; two hours earlier is 01:00 winter time (quiet, and the
    # morning comes after the deadline, so it stays and is silent).
    planned = plan(berlin(2026, 3, 29, 4), H2, zone=BERLIN)
    assert planned == [silent("2h", utc(2026, 3, 29, 0))]
    assert planned[0].planned_at.astimezone(BERLIN).hour == 1


def test_day_offset_on_a_skipped_wall_clock_time_still_lands_in_the_morning() -> None:
    # 02:30 does not exist on 29 March in Berlin; it is read as 03:30, then quiet hours apply.
    assert plan(berlin(2026, 3, 30, 2, 30), D1, zone=BERLIN) == [at("1d", utc(2026, 3, 29, 6))]


# Quiet hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (shanghai(2026, 12, 10, 21, 59), False),
        (shanghai(2026, 12, 10, 22, 0), True),
        (shanghai(2026, 12, 11, 3, 0), True),
        (shanghai(2026, 12, 11, 7, 59), True),
        (shanghai(2026, 12, 11, 8, 0), False),
        (shanghai(2026, 12, 11, 12, 0), False),
    ],
)
def test_quiet_hours_are_22_to_08_local(local: datetime, quiet: bool) -> None:
    assert in_quiet_hours(local, SHANGHAI) is quiet


def test_quiet_hours_depend_on_the_zone() -> None:
    moment = utc(2026, 12, 10, 14)  # 22:00 in Shanghai, 15:00 in Berlin
    assert in_quiet_hours(moment, SHANGHAI) is True
    assert in_quiet_hours(moment, BERLIN) is False


def test_night_reminder_is_silent_when_the_morning_would_miss_the_deadline() -> None:
    # Deadline 00:30 on 10 December: 2h is 22:30 the evening before, and 08:00 is too late.
    # 1d is 00:30 on 9 December, which waits for 08:00 that day.
    assert plan(shanghai(2026, 12, 10, 0, 30), D1, H2) == [
        at("1d", utc(2026, 12, 9, 0)),
        silent("2h", utc(2026, 12, 9, 14, 30)),
    ]


def test_early_morning_deadline() -> None:
    # Deadline 07:00: 1d (07:00 the day before) waits for 08:00 that day; 2h (05:00) cannot
    # wait for 08:00, which is after the deadline.
    assert plan(shanghai(2026, 12, 10, 7), D1, H2) == [
        at("1d", utc(2026, 12, 9, 0)),
        silent("2h", utc(2026, 12, 9, 21)),
    ]


def test_late_evening_reminder_moves_to_the_next_morning() -> None:
    # Deadline 23:00: 1d (23:00 the day before) arrives at 08:00 on the deadline's day.
    assert plan(shanghai(2026, 12, 10, 23), D1, H2) == [
        at("1d", utc(2026, 12, 10, 0)),
        at("2h", utc(2026, 12, 10, 13), utc(2026, 12, 10, 10)),
    ]


# Days off ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_off", "expected"),
    [
        (DaysOff.WEEKENDS, utc(2026, 12, 11, 10)),  # Friday 18:00
        (DaysOff.STATUTORY, utc(2026, 12, 11, 10)),
        (DaysOff.NONE, utc(2026, 12, 13, 10)),  # Sunday 18:00
    ],
)
def test_day_before_monday_deadline_moves_off_the_weekend(
    days_off: DaysOff, expected: datetime
) -> None:
    planned = plan(shanghai(2026, 12, 14, 18), D1, days_off=days_off)
    assert planned == [at("1d", expected, expected - timedelta(hours=3))]


def test_weekend_reminder_stays_when_friday_has_passed() -> None:
    planned = plan(
        shanghai(2026, 12, 14, 18), D1, days_off=DaysOff.WEEKENDS, now=shanghai(2026, 12, 11, 20)
    )
    assert planned == [at("1d", utc(2026, 12, 13, 10), utc(2026, 12, 13, 7))]


def test_hour_offsets_ignore_days_off() -> None:
    planned = plan(shanghai(2026, 12, 14, 18), Offset(hours=24), days_off=DaysOff.WEEKENDS)
    assert planned == [at("24h", utc(2026, 12, 13, 10), utc(2026, 12, 13, 7))]


@pytest.mark.parametrize(
    ("days_off", "expected"),
    [
        (DaysOff.STATUTORY, utc(2026, 9, 30, 10)),  # before the National Day holiday (1–7 Oct)
        (DaysOff.WEEKENDS, utc(2026, 10, 7, 10)),  # a Wednesday
    ],
)
def test_reminder_on_a_holiday_moves_back_to_the_last_working_day(
    days_off: DaysOff, expected: datetime
) -> None:
    planned = plan(shanghai(2026, 10, 8, 18), D1, days_off=days_off)
    assert [p.planned_at for p in planned] == [expected]


@pytest.mark.parametrize(
    ("days_off", "expected"),
    [
        # Saturday 10 October 2026 is a make-up working day: 2d stays there and 1d (Sunday)
        # moves back onto it, so the two become one.
        (DaysOff.STATUTORY, utc(2026, 10, 10, 10)),
        (DaysOff.WEEKENDS, utc(2026, 10, 9, 10)),
    ],
)
def test_make_up_saturday_is_a_working_day(days_off: DaysOff, expected: datetime) -> None:
    planned = plan(shanghai(2026, 10, 12, 18), D2, D1, days_off=days_off)
    assert planned == [at("1d", expected, expected - timedelta(hours=3))]


@pytest.mark.parametrize(
    ("days_off", "expected"),
    [
        (DaysOff.STATUTORY, utc(2026, 9, 20, 10)),  # Sunday 20 September 2026 is worked
        (DaysOff.WEEKENDS, utc(2026, 9, 18, 10)),
    ],
)
def test_make_up_sunday_is_a_working_day(days_off: DaysOff, expected: datetime) -> None:
    planned = plan(shanghai(2026, 9, 21, 18), D1, days_off=days_off)
    assert [p.planned_at for p in planned] == [expected]


@pytest.mark.parametrize(
    ("days_off", "year", "known"),
    [
        (DaysOff.STATUTORY, 2004, True),
        (DaysOff.STATUTORY, 2026, True),
        (DaysOff.STATUTORY, 2003, False),
        (DaysOff.STATUTORY, 2027, False),
        (DaysOff.WEEKENDS, 2027, True),
        (DaysOff.NONE, 2027, True),
    ],
)
def test_calendar_knows(days_off: DaysOff, year: int, known: bool) -> None:
    assert calendar_knows(days_off, year) is known


@pytest.mark.parametrize(
    ("day", "days_off", "working"),
    [
        (date(2026, 1, 1), DaysOff.STATUTORY, False),  # New Year's Day, a Thursday
        (date(2026, 1, 1), DaysOff.WEEKENDS, True),
        (date(2026, 10, 1), DaysOff.STATUTORY, False),
        (date(2026, 10, 10), DaysOff.STATUTORY, True),  # make-up Saturday
        (date(2026, 10, 10), DaysOff.WEEKENDS, False),
        (date(2026, 10, 11), DaysOff.NONE, True),
        (date(2027, 1, 1), DaysOff.STATUTORY, True),  # no 2027 data: a Friday is worked
        (date(2027, 1, 2), DaysOff.STATUTORY, False),  # and a Saturday is not
    ],
)
def test_is_working_day(day: date, days_off: DaysOff, working: bool) -> None:
    assert is_working_day(day, days_off) is working


def test_statutory_planning_falls_back_to_weekends_beyond_the_calendar() -> None:
    # Monday 4 January 2027: 1d is Sunday, moved back over Saturday to Friday 1 January.
    planned = plan(shanghai(2027, 1, 4, 18), D1, days_off=DaysOff.STATUTORY)
    assert [p.planned_at for p in planned] == [utc(2027, 1, 1, 10)]


# Dropping, merging, ordering, sending ahead --------------------------------------------------


def test_reminders_not_after_now_are_dropped() -> None:
    # now is exactly the 3d reminder's time: it and 7d are gone.
    planned = plan(shanghai(2026, 12, 14, 18), D7, D3, D1, H2, now=shanghai(2026, 12, 11, 18))
    assert [(p.label, p.planned_at) for p in planned] == [
        ("1d", utc(2026, 12, 13, 10)),
        ("2h", utc(2026, 12, 14, 8)),
    ]


def test_past_night_reminder_is_kept_when_its_morning_is_ahead() -> None:
    # 1d is 23:00 on 9 December, already past at 23:30, but it was due at 08:00 on the 10th.
    planned = plan(shanghai(2026, 12, 10, 23), D1, now=shanghai(2026, 12, 9, 23, 30))
    assert planned == [at("1d", utc(2026, 12, 10, 0))]


def test_past_silent_reminder_is_dropped() -> None:
    assert plan(shanghai(2026, 12, 10, 0, 30), H2, now=shanghai(2026, 12, 9, 22, 30)) == []


@pytest.mark.parametrize("offsets", [(D1, Offset(hours=24)), (Offset(hours=24), D1)])
def test_equal_times_merge_keeping_the_shorter_offset(offsets: tuple[Offset, ...]) -> None:
    planned = plan(shanghai(2026, 12, 10, 18), *offsets)
    assert planned == [at("24h", utc(2026, 12, 9, 10), utc(2026, 12, 9, 7))]


def test_reminders_moved_to_the_same_morning_merge() -> None:
    # Deadline 10:00: 4h (06:00) and 3h (07:00) wait for 08:00, where 2h already is.
    offsets = (Offset(hours=4), Offset(hours=3), H2)
    assert plan(shanghai(2026, 12, 10, 10), *offsets) == [at("2h", utc(2026, 12, 10, 0))]


def test_result_is_in_time_order() -> None:
    planned = plan(shanghai(2026, 12, 14, 18), H2, D3, D1)
    assert [p.label for p in planned] == ["3d", "1d", "2h"]


def test_no_offsets_no_reminders() -> None:
    assert plan(shanghai(2026, 12, 14, 18)) == []


@pytest.mark.parametrize(
    ("hours", "planned_at", "not_before"),
    [
        (2, utc(2026, 12, 10, 10), utc(2026, 12, 10, 7)),  # 18:00: three hours ahead
        (9, utc(2026, 12, 10, 3), utc(2026, 12, 10, 0)),  # 11:00: from 08:00, also 3h
        (10, utc(2026, 12, 10, 2), utc(2026, 12, 10, 0)),  # 10:00: not before 08:00
        (13, utc(2026, 12, 10, 0), utc(2026, 12, 10, 0)),  # 07:00 moved to 08:00
    ],
)
def test_not_before_is_at_most_three_hours_early_and_never_in_quiet_hours(
    hours: int, planned_at: datetime, not_before: datetime
) -> None:
    planned = plan(shanghai(2026, 12, 10, 20), Offset(hours=hours))
    assert planned == [at(f"{hours}h", planned_at, not_before)]


# After the deadline --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "planned_at"),
    [
        (shanghai(2026, 12, 10, 18), utc(2026, 12, 10, 10)),
        (shanghai(2026, 12, 10, 8), utc(2026, 12, 10, 0)),  # 08:00 is not quiet
        (shanghai(2026, 12, 10, 0, 30), utc(2026, 12, 10, 0)),  # 08:00 the same day
        (shanghai(2026, 12, 10, 22), utc(2026, 12, 11, 0)),  # 08:00 the next day
    ],
)
def test_overdue_notice_waits_for_the_morning(deadline: datetime, planned_at: datetime) -> None:
    assert plan_after_deadline(deadline=deadline, zone=SHANGHAI) == Planned(
        "due", planned_at, planned_at, silent=False
    )


# Next morning and "remind me later" ----------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "zone", "days_off", "expected"),
    [
        (shanghai(2026, 12, 11, 20), SHANGHAI, DaysOff.WEEKENDS, utc(2026, 12, 14, 1)),
        (shanghai(2026, 12, 11, 20), SHANGHAI, DaysOff.NONE, utc(2026, 12, 12, 1)),
        (shanghai(2026, 9, 30, 10), SHANGHAI, DaysOff.STATUTORY, utc(2026, 10, 8, 1)),
        (shanghai(2026, 9, 30, 10), SHANGHAI, DaysOff.WEEKENDS, utc(2026, 10, 1, 1)),
        # Strictly after today, even before 09:00.
        (shanghai(2026, 12, 14, 8), SHANGHAI, DaysOff.NONE, utc(2026, 12, 15, 1)),
        # Sunday 23:30 UTC is Monday 00:30 in Berlin: the next morning is Tuesday's.
        (utc(2026, 12, 13, 23, 30), BERLIN, DaysOff.WEEKENDS, utc(2026, 12, 15, 8)),
    ],
)
def test_next_morning(
    after: datetime, zone: ZoneInfo, days_off: DaysOff, expected: datetime
) -> None:
    assert next_morning(after=after, zone=zone, days_off=days_off) == expected


@pytest.mark.parametrize(
    ("now", "deadline", "expected"),
    [
        # Wednesday → Thursday 09:00.
        (shanghai(2026, 12, 9, 10), shanghai(2026, 12, 14, 18), utc(2026, 12, 10, 1)),
        # Friday → Monday 09:00, before the deadline's 17:00.
        (shanghai(2026, 12, 11, 10), shanghai(2026, 12, 14, 18), utc(2026, 12, 14, 1)),
        # Deadline 09:30 tomorrow: one hour before it, 08:30, is earlier than 09:00.
        (shanghai(2026, 12, 9, 10), shanghai(2026, 12, 10, 9, 30), utc(2026, 12, 10, 0, 30)),
        # One hour before the deadline is now, or past: no button.
        (shanghai(2026, 12, 10, 8, 30), shanghai(2026, 12, 10, 9, 30), None),
        (shanghai(2026, 12, 10, 8, 45), shanghai(2026, 12, 10, 9, 30), None),
        (shanghai(2026, 12, 10, 10), shanghai(2026, 12, 10, 9, 30), None),
    ],
)
def test_remind_later(now: datetime, deadline: datetime, expected: datetime | None) -> None:
    later = remind_later(now=now, deadline=deadline, zone=SHANGHAI, days_off=DaysOff.WEEKENDS)
    assert later == expected


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        plan_after_deadline(deadline=datetime(2026, 12, 10, 18), zone=SHANGHAI)
