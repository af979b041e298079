"""Reading typed deadlines, reminder offsets and time zones (bot/cycles/when.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cycles.when import (
    DEFAULT_HOUR,
    DEFAULT_OFFSETS,
    Offset,
    Unreadable,
    format_offset,
    read_moment,
    read_offsets,
    read_zone,
    zone_label,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
# A Sunday, 14:00 in Shanghai.
NOW = datetime(2026, 12, 6, 14, 0, tzinfo=SHANGHAI)


def at(
    year: int, month: int, day: int, hour: int, minute: int, zone: ZoneInfo = SHANGHAI
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def refusal(text: str, *, now: datetime = NOW, zone: ZoneInfo = SHANGHAI) -> str:
    with pytest.raises(Unreadable) as caught:
        read_moment(text, now=now, zone=zone)
    return caught.value.reason


# Deadlines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-31 18:00", at(2026, 12, 31, 18, 0)),
        ("2026-12-31", at(2026, 12, 31, 18, 0)),
        ("31.12.2026", at(2026, 12, 31, 18, 0)),
        ("31.12.2026 17:30", at(2026, 12, 31, 17, 30)),
        ("12月31日18时", at(2026, 12, 31, 18, 0)),
        ("12月31日18点", at(2026, 12, 31, 18, 0)),
        ("12月31日 18:00", at(2026, 12, 31, 18, 0)),
        ("12月31日18时30分", at(2026, 12, 31, 18, 30)),
        ("12月31号", at(2026, 12, 31, 18, 0)),
        ("2026年12月31日", at(2026, 12, 31, 18, 0)),
        ("2026年12月31日下午6点", at(2026, 12, 31, 18, 0)),
        ("明天下午5点", at(2026, 12, 7, 17, 0)),
        ("明天17:00", at(2026, 12, 7, 17, 0)),
        ("明天 17:00", at(2026, 12, 7, 17, 0)),
        ("明天晚上7:30", at(2026, 12, 7, 19, 30)),
        ("明天晚上8点半", at(2026, 12, 7, 20, 30)),
        ("明天中午12点", at(2026, 12, 7, 12, 0)),
        ("明天中午1点", at(2026, 12, 7, 13, 0)),
        ("明天", at(2026, 12, 7, 18, 0)),
        ("后天上午9点", at(2026, 12, 8, 9, 0)),
        ("后天早上9点", at(2026, 12, 8, 9, 0)),
        ("下午3点", at(2026, 12, 6, 15, 0)),
        ("今天 20:00", at(2026, 12, 6, 20, 0)),
        ("周五", at(2026, 12, 11, 18, 0)),
        ("星期五 17:00", at(2026, 12, 11, 17, 0)),
        ("tomorrow 5pm", at(2026, 12, 7, 17, 0)),
        ("tomorrow", at(2026, 12, 7, 18, 0)),
        ("tomorrow noon", at(2026, 12, 7, 12, 0)),
        ("Friday 3pm", at(2026, 12, 11, 15, 0)),
        ("Dec 31 18:00", at(2026, 12, 31, 18, 0)),
        ("31 December", at(2026, 12, 31, 18, 0)),
        ("１２月３１日　１８：００", at(2026, 12, 31, 18, 0)),  # full-width, as some IMEs type
    ],
)
def test_a_typed_deadline_is_read_as_a_wall_clock_time_in_the_zone(
    typed: str, expected: datetime
) -> None:
    moment = read_moment(typed, now=NOW, zone=SHANGHAI)
    assert moment == expected
    assert moment.tzinfo == SHANGHAI
    assert (moment.hour, moment.minute) == (expected.hour, expected.minute)


def test_numeric_dates_are_day_first() -> None:
    assert read_moment("01.02.2027", now=NOW, zone=SHANGHAI) == at(2027, 2, 1, 18, 0)
    assert read_moment("1/2", now=NOW, zone=SHANGHAI) == at(2027, 2, 1, 18, 0)
    assert read_moment("2027-01-02", now=NOW, zone=SHANGHAI) == at(2027, 1, 2, 18, 0)


def test_a_date_without_a_time_takes_the_default_hour() -> None:
    assert DEFAULT_HOUR == 18
    assert read_moment("2026-12-31", now=NOW, zone=SHANGHAI, default_hour=0) == at(
        2026, 12, 31, 0, 0
    )
    assert read_moment("明天", now=NOW, zone=SHANGHAI, default_hour=9) == at(2026, 12, 7, 9, 0)


def test_a_time_alone_is_today_while_ahead_and_tomorrow_once_passed() -> None:
    assert read_moment("下午3点", now=NOW, zone=SHANGHAI) == at(2026, 12, 6, 15, 0)
    later = at(2026, 12, 6, 16, 0)
    assert read_moment("下午3点", now=later, zone=SHANGHAI) == at(2026, 12, 7, 15, 0)
    assert read_moment("10:00", now=NOW, zone=SHANGHAI) == at(2026, 12, 7, 10, 0)


def test_a_date_without_a_year_is_its_next_occurrence() -> None:
    assert read_moment("1月5日", now=NOW, zone=SHANGHAI) == at(2027, 1, 5, 18, 0)
    assert read_moment("12月1日", now=NOW, zone=SHANGHAI) == at(2027, 12, 1, 18, 0)
    # Today's date is still today while its default hour is ahead.
    assert read_moment("12月6日", now=NOW, zone=SHANGHAI) == at(2026, 12, 6, 18, 0)


def test_now_in_another_zone_is_the_same_instant() -> None:
    now_utc = NOW.astimezone(UTC)  # 06:00 UTC
    moment = read_moment("明天下午5点", now=now_utc, zone=SHANGHAI)
    assert moment == at(2026, 12, 7, 17, 0)
    assert moment.tzinfo == SHANGHAI


def test_a_typed_offset_is_converted_into_the_zone() -> None:
    moment = read_moment("2026-12-31 12:00 UTC", now=NOW, zone=SHANGHAI)
    assert moment == at(2026, 12, 31, 20, 0)
    assert moment.tzinfo == SHANGHAI


def test_berlin_wall_clock_follows_summer_time() -> None:
    now = at(2026, 3, 27, 14, 0, zone=BERLIN)
    summer = read_moment("2026-03-29 12:00", now=now, zone=BERLIN)
    winter = read_moment("2026-03-28 12:00", now=now, zone=BERLIN)
    assert summer.astimezone(UTC) == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
    assert winter.astimezone(UTC) == datetime(2026, 3, 28, 11, 0, tzinfo=UTC)
    assert summer.utcoffset() == timedelta(hours=2)
    # Counted from a winter-time base, the day after tomorrow is still noon on the wall.
    relative = read_moment("后天 12:00", now=now, zone=BERLIN)
    assert relative.astimezone(UTC) == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)


def test_a_wall_clock_time_skipped_by_the_clock_change_moves_forward() -> None:
    now = at(2026, 3, 27, 14, 0, zone=BERLIN)
    moment = read_moment("2026-03-29 02:30", now=now, zone=BERLIN)
    assert moment.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (moment.hour, moment.minute) == (3, 30)


@pytest.mark.parametrize("typed", ["2026-12-01", "今天 10:00", "2026-12-06 14:00", "31.12.2025"])
def test_a_moment_not_after_now_is_past(typed: str) -> None:
    assert refusal(typed) == "past"


@pytest.mark.parametrize("typed", ["2029-01-01", "2028-12-06 15:00", "31.12.2030"])
def test_a_moment_more_than_two_years_ahead_is_too_far(typed: str) -> None:
    assert refusal(typed) == "too_far"


def test_just_under_two_years_is_accepted() -> None:
    assert read_moment("2028-12-05 18:00", now=NOW, zone=SHANGHAI) == at(2028, 12, 5, 18, 0)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "asdf",
        "下周",
        "18",
        "hello 5",
        "1700000000",
        "📅",
        "in 3 days",
        "Dec 2026",
        "12/31",  # month-first: dateparser would make it 12 March 2031
        "32.12.2026",
        "2027年2月30日",
        "tomorrow 25:00",
        "tomorrow 12:61",
        "明天 下午25点",
        "tomorrow 5pm blah",
        "x" * 50_000,
        "明天 17:00" + "x" * 50_000,
    ],
)
def test_garbage_is_unreadable(typed: str) -> None:
    assert refusal(typed) == "unreadable"


def test_control_characters_are_ignored() -> None:
    assert read_moment("明天\x0017:00\x7f", now=NOW, zone=SHANGHAI) == at(2026, 12, 7, 17, 0)
    assert read_moment("明天\x07下午5点", now=NOW, zone=SHANGHAI) == at(2026, 12, 7, 17, 0)


def test_only_the_first_hundred_characters_are_read() -> None:
    assert read_moment(" " * 90 + "明天17:00", now=NOW, zone=SHANGHAI) == at(2026, 12, 7, 17, 0)
    assert refusal(" " * 100 + "明天17:00") == "unreadable"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_future_moment_or_unreadable(typed: str) -> None:
    try:
        moment = read_moment(typed, now=NOW, zone=SHANGHAI)
    except Unreadable as exc:
        assert exc.reason in ("unreadable", "past", "too_far")
    else:
        assert NOW < moment <= NOW + timedelta(days=731)
        assert moment.tzinfo == SHANGHAI


# Offsets -------------------------------------------------------------------------------------

D7, D3, D1, H2 = Offset(days=7), Offset(days=3), Offset(days=1), Offset(hours=2)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7d 3d 1d 2h", (D7, D3, D1, H2)),
        ("7天 3天 1天 2小时", (D7, D3, D1, H2)),
        ("7 days, 3 days, 2 hours", (D7, D3, H2)),
        ("7d,3d", (D7, D3)),
        ("7天、3天，1天；2个小时", (D7, D3, D1, H2)),
        ("1 day", (D1,)),
        ("3 Hours", (Offset(hours=3),)),
        ("2 hrs", (H2,)),
        ("７Ｄ", (D7,)),
        ("  60d 72h  ", (Offset(days=60), Offset(hours=72))),
    ],
)
def test_typed_offsets_are_read(typed: str, expected: tuple[Offset, ...]) -> None:
    assert read_offsets(typed) == expected


def test_offsets_are_sorted_longest_first_without_duplicates() -> None:
    assert read_offsets("2h 1d 7d 2h 3d 7天") == (D7, D3, D1, H2)
    # 48 hours is longer than a day; a day before an equally long 24 hours.
    assert read_offsets("1d 48h 24h") == (Offset(hours=48), D1, Offset(hours=24))


def test_eight_distinct_offsets_are_the_most() -> None:
    assert len(read_offsets("1d 2d 3d 4d 5d 6d 7d 8d 8d")) == 8


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "0d",
        "0h",
        "100d",
        "61d",
        "73h",
        "1x",
        "7d 1x",
        "soon 7d",
        "10000d",
        "7",
        "1d 2d 3d 4d 5d 6d 7d 8d 9d",
    ],
)
def test_bad_offsets_are_unreadable(typed: str) -> None:
    with pytest.raises(Unreadable) as caught:
        read_offsets(typed)
    assert caught.value.reason == "unreadable"


def test_default_offsets() -> None:
    assert [o.label for o in DEFAULT_OFFSETS] == ["7d", "3d", "1d", "2h"]


@pytest.mark.parametrize("offset", [D7, D1, H2, Offset(days=60), Offset(hours=72)])
def test_a_label_reads_back_as_its_offset(offset: Offset) -> None:
    assert Offset.from_label(offset.label) == offset


def test_labels() -> None:
    assert (D7.label, H2.label) == ("7d", "2h")


@pytest.mark.parametrize("label", ["", "7", "d", "0d", "07d", "-1d", "1d2h", "7D", " 7d", "7w"])
def test_anything_but_a_label_is_refused(label: str) -> None:
    with pytest.raises(ValueError):
        Offset.from_label(label)


@pytest.mark.parametrize(
    "fields", [{"days": 1, "hours": 2}, {}, {"days": -1}, {"hours": -2}, {"days": 0}]
)
def test_an_offset_is_some_days_or_some_hours(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Offset(**fields)


@pytest.mark.parametrize(
    ("offset", "zh", "en"),
    [
        (D7, "7天", "7 days"),
        (D1, "1天", "1 day"),
        (H2, "2小时", "2 hours"),
        (Offset(hours=1), "1小时", "1 hour"),
    ],
)
def test_offsets_are_formatted_per_language(offset: Offset, zh: str, en: str) -> None:
    assert format_offset(offset, "zh") == zh
    assert format_offset(offset, "en") == en


# Time zones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("asia/shanghai", "Asia/Shanghai"),
        ("Europe/Berlin", "Europe/Berlin"),
        (" UTC ", "UTC"),
        ("america/new york", "America/New_York"),
        ("北京时间", "Asia/Shanghai"),
        ("北京", "Asia/Shanghai"),
        ("Beijing", "Asia/Shanghai"),
        ("China", "Asia/Shanghai"),
        ("GMT", "UTC"),
        ("utc", "UTC"),
        ("香港", "Asia/Hong_Kong"),
    ],
)
def test_zones_are_read_loosely(typed: str, key: str) -> None:
    zone = read_zone(typed)
    assert zone is not None
    assert zone.key == key


@pytest.mark.parametrize(
    "typed", ["", "   ", "CST", "Mars/Olympus", "../../etc/passwd", "\x00", "asia", "x" * 5000]
)
def test_unknown_zones_are_none(typed: str) -> None:
    assert read_zone(typed) is None


@settings(max_examples=200)
@given(st.text(max_size=60))
def test_read_zone_never_raises(typed: str) -> None:
    zone = read_zone(typed)
    assert zone is None or isinstance(zone, ZoneInfo)


def test_minute_offsets_and_none_are_read() -> None:
    assert read_offsets("1h 30m") == (Offset(hours=1), Offset(minutes=30))
    assert read_offsets("10分钟") == (Offset(minutes=10),)
    assert Offset.from_label("30m") == Offset(minutes=30) and Offset(minutes=30).label == "30m"
    assert format_offset(Offset(minutes=30), "zh") == "30分钟"
    assert format_offset(Offset(minutes=1), "en") == "1 minute"
    assert read_offsets("none") == () and read_offsets("不提醒") == ()
    with pytest.raises(Unreadable):
        read_offsets("601m")


def test_a_whole_hour_utc_offset_is_a_zone_shown_as_typed() -> None:
    zone = read_zone("UTC+8")
    assert zone is not None and zone.key == "Etc/GMT-8" and zone_label(zone) == "UTC+8"
    west = read_zone("gmt-5")
    assert west is not None and zone_label(west) == "UTC-5"
    assert read_zone("UTC+13") is None


def test_todays_date_typed_after_its_time_is_past_not_next_year() -> None:
    now = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)  # 20:00 in Beijing
    with pytest.raises(Unreadable) as raised:
        read_moment("3月13日", now=now, zone=ZoneInfo("Asia/Shanghai"))
    assert raised.value.reason == "past"
