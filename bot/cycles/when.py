"""What people type for time: a reporting deadline, reminder offsets, an "away until" date and
a time zone. Pure: no clock but the `now` it is given.

Deadlines are read by dateparser (Chinese and English), after a small rewrite of the Chinese
forms it misses. Numeric dates are day first: `01.02.2027` is 1 February 2027, `1/2` is
1 February (ISO `2027-02-01` stays year-month-day). A date without a time means `default_hour`
(18:00, the end of office hours); a time without a date means today if still ahead, else
tomorrow; a date without a year means its next occurrence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import dateparser

DEFAULT_HOUR = 18  # a date without a time means 18:00 local (end of office hours)

_MAX_CHARS = 100
_HORIZON = timedelta(days=731)  # two years
_MAX_OFFSETS = 8
_MAX_DAYS = 60
_MAX_HOURS = 72
_MAX_MINUTES = 600
# Said instead of offsets: no reminders before the deadline.
_NO_OFFSETS = frozenset({"none", "no", "0", "无", "不提醒", "不用"})

# C0/C1 control characters: never part of a date, and they confuse the tokenizer.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Unreadable(Exception):
    """Typed text that is not an acceptable moment or offset list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "unreadable" | "past" | "too_far"


@dataclass(frozen=True)
class Offset:
    """A reminder offset before a deadline: whole calendar days (same wall-clock time in the
    zone), or elapsed hours or minutes."""

    days: int = 0
    hours: int = 0
    minutes: int = 0

    def __post_init__(self) -> None:
        parts = (self.days, self.hours, self.minutes)
        if min(parts) < 0 or sum(1 for p in parts if p > 0) != 1:
            raise ValueError(f"an offset is some days, hours or minutes: {self!r}")

    @property
    def label(self) -> str:
        """The stable storage form: "7d", "2h" or "30m"."""
        if self.days:
            return f"{self.days}d"
        return f"{self.hours}h" if self.hours else f"{self.minutes}m"

    @classmethod
    def from_label(cls, label: str) -> Offset:
        """The offset a label names; ValueError for anything `label` never produces."""
        match = re.fullmatch(r"([1-9][0-9]{0,3})([dhm])", label)
        if match is None:
            raise ValueError(f"not an offset label: {label!r}")
        number = int(match[1])
        unit = {"d": "days", "h": "hours", "m": "minutes"}[match[2]]
        return cls(**{unit: number})

    @property
    def elapsed(self) -> timedelta:
        """Its nominal length (a day offset is a calendar day, 23 to 25 hours)."""
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)

    @property
    def _length(self) -> timedelta:
        return self.elapsed


DEFAULT_OFFSETS: tuple[Offset, ...] = (
    Offset(days=7),
    Offset(days=3),
    Offset(days=1),
    Offset(hours=2),
)


# Deadlines ---------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# "2026年12月31日", "12月31号": dateparser reads the first alone but not the year-less form
# nor either one followed by a time, so they become "31 Dec 2026" / "31 Dec".
_ZH_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
# "下午5点", "18时30分", "9点半", "晚上7:30": dateparser reads none of them, so they become
# "17:00" etc. 下午/晚上 add twelve hours below 12; 中午 does so below 11 (中午1点 is 13:00).
_ZH_TIME = re.compile(
    r"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?\s*(?P<hour>\d{1,2})\s*"
    r"(?:[点時时]\s*(?:(?P<half>半)|(?P<min>\d{1,2})\s*分?)?|:\s*(?P<colon>\d{2}))"
)
_AFTERNOON = ("下午", "傍晚", "晚上")

# The guard: dateparser also finds a date in "18" or a bare word, so the text must hold a
# numeric or named date, a day word, or a clock time (after the rewrites above).
_DATE_HINT = re.compile(
    r"\d{1,4}\s*[-./]\s*\d{1,2}"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?!\d)",
    re.IGNORECASE,
)
_DAY_HINT = re.compile(
    r"今天|今日|明天|明日|后天|(?:周|星期|礼拜)[一二三四五六日天]"
    r"|\b(?:today|tomorrow|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b"
    r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    re.IGNORECASE,
)
_TIME_HINT = re.compile(r"\d{1,2}:\d{2}|\d\s*[ap]\.?m\b|\bnoon\b", re.IGNORECASE)
# dateparser silently drops a clock time it cannot read ("tomorrow 25:00" is 14:00 tomorrow).
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_YEAR = re.compile(r"\d{4}")


def read_moment(
    text: str, *, now: datetime, zone: ZoneInfo, default_hour: int = DEFAULT_HOUR
) -> datetime:
    """The deadline a person typed, as an aware datetime in `zone`. `now` is aware (any
    zone). Raises Unreadable."""
    cleaned = _normalise(text)
    has_day = bool(_DATE_HINT.search(cleaned) or _DAY_HINT.search(cleaned))
    has_time = bool(_TIME_HINT.search(cleaned))
    clocks_valid = all(int(h) < 24 and int(m) < 60 for h, m in _CLOCK.findall(cleaned))
    if not (has_day or has_time) or not clocks_valid:
        raise Unreadable("unreadable")
    local_now = now.astimezone(zone)
    if has_day and has_time:
        moment = _parse(cleaned, local_now, zone)
    elif has_day:
        # The time is written in rather than set afterwards so that dateparser's "next
        # occurrence" sees it: "12月6日" typed at 14:00 on 6 December is today at 18:00.
        moment = _parse(f"{cleaned} {default_hour:02d}:00", local_now, zone)
        if (moment.hour, moment.minute) != (default_hour, 0):
            raise Unreadable("unreadable")  # a word dateparser read as a time overrode ours
    else:
        # dateparser compares a bare time with RELATIVE_BASE as if that were UTC
        # (scrapinghub/dateparser#1183), so the day is named here instead.
        moment = _parse(f"今天 {cleaned}", local_now, zone)
        if moment <= local_now:
            moment = _parse(f"明天 {cleaned}", local_now, zone)
    # A year nobody typed is this one or the next; anything else is a misreading ("12/31"
    # read as 12 March 2031).
    if not _YEAR.search(cleaned) and moment.year > local_now.year + 1:
        raise Unreadable("unreadable")
    # Today's date typed after its time has passed is today's, so it is past, not next year.
    if (
        not _YEAR.search(cleaned)
        and moment.year == local_now.year + 1
        and (moment.month, moment.day) == (local_now.month, local_now.day)
    ):
        raise Unreadable("past")
    # Through UTC so that a wall-clock time skipped by a DST change becomes a real one.
    moment = moment.astimezone(UTC).astimezone(zone)
    if moment <= now:
        raise Unreadable("past")
    if moment - now > _HORIZON:
        raise Unreadable("too_far")
    return moment


def _normalise(text: str) -> str:
    """Cut, NFKC (full-width digits and colons), no control characters, and the Chinese
    dates and times rewritten into forms dateparser reads."""
    text = unicodedata.normalize("NFKC", text[:_MAX_CHARS])
    text = _CONTROL.sub(" ", text)
    text = _ZH_DATE.sub(_zh_date, text)
    text = _ZH_TIME.sub(_zh_time, text)
    return " ".join(text.split())


def _zh_date(match: re.Match[str]) -> str:
    year, month, day = match[1], int(match[2]), int(match[3])
    if not 1 <= month <= 12:
        return match[0]  # left for dateparser to refuse
    return f" {day} {_MONTHS[month - 1]}{f' {year}' if year else ''} "


def _zh_time(match: re.Match[str]) -> str:
    part = match["part"]
    if match["colon"] and not part:
        return match[0]  # already "18:00"
    hour = int(match["hour"])
    minute = 30 if match["half"] else int(match["min"] or match["colon"] or 0)
    if (part in _AFTERNOON and hour < 12) or (part == "中午" and hour < 11):
        hour += 12
    return f" {hour:02d}:{minute:02d} "


def _parse(text: str, local_now: datetime, zone: ZoneInfo) -> datetime:
    """dateparser's reading of text, in zone (a wall-clock time not yet checked for DST)."""
    settings = {
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "TIMEZONE": zone.key,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",
        "PARSERS": ["relative-time", "absolute-time"],  # no Unix timestamps
    }
    try:
        found = dateparser.parse(text, languages=["zh", "en"], settings=settings)
    except (ValueError, OverflowError) as exc:
        raise Unreadable("unreadable") from exc
    if not isinstance(found, datetime) or found.tzinfo is None:
        raise Unreadable("unreadable")
    if str(found.tzinfo) == zone.key:
        # A wall-clock time in zone. Its UTC offset may be stale: "后天 12:00" read on
        # 27 March in Berlin comes back +01:00 though 29 March is summer time.
        return found.replace(tzinfo=zone)
    return found.astimezone(zone)  # an offset was typed ("12:00 UTC")


# Reminder offsets --------------------------------------------------------------------------

_OFFSET = re.compile(
    r"(\d{1,4})\s*(?:(?P<days>days?|d|天|日)|(?P<hours>hours?|hrs?|h|个?小时|個?小時|钟头)"
    r"|(?P<minutes>minutes?|mins?|m|分钟|分鐘))",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[\s,，、;；]*")


def read_offsets(text: str) -> tuple[Offset, ...]:
    """'7d 3d 1d 2h', '7天 3天 1天 2小时', '7 days, 3 days, 2 hours', '7d,3d', '30m'… →
    sorted longest first, duplicates removed; at most 8; each ≤ 60 days, ≤ 72 hours or ≤
    600 minutes, > 0; 'none' (无) → no offsets. Raises Unreadable("unreadable")."""
    text = unicodedata.normalize("NFKC", text[: _MAX_CHARS * 2])
    if text.strip().lower() in _NO_OFFSETS:
        return ()
    found: set[Offset] = set()
    position = 0
    for match in _OFFSET.finditer(text):
        if not _SEPARATORS.fullmatch(text, position, match.start()):
            raise Unreadable("unreadable")
        number = int(match[1])
        if match["days"] and 0 < number <= _MAX_DAYS:
            found.add(Offset(days=number))
        elif match["hours"] and 0 < number <= _MAX_HOURS:
            found.add(Offset(hours=number))
        elif match["minutes"] and 0 < number <= _MAX_MINUTES:
            found.add(Offset(minutes=number))
        else:
            raise Unreadable("unreadable")
        position = match.end()
    if not found or len(found) > _MAX_OFFSETS or not _SEPARATORS.fullmatch(text, position):
        raise Unreadable("unreadable")
    # Longest first; a day before an equally long 24 hours.
    return tuple(sorted(found, key=lambda o: (o._length, o.days), reverse=True))


def format_offset(offset: Offset, language: str) -> str:
    """The offset for people: zh "7天" / "2小时" / "30分钟"; otherwise "7 days" / "1 day" /
    "2 hours" / "30 minutes"."""
    if offset.days:
        number, zh, unit = offset.days, "天", "day"
    elif offset.hours:
        number, zh, unit = offset.hours, "小时", "hour"
    else:
        number, zh, unit = offset.minutes, "分钟", "minute"
    if language.startswith("zh"):
        return f"{number}{zh}"
    return f"{number} {unit}{'' if number == 1 else 's'}"


# Time zones --------------------------------------------------------------------------------

_ZONE_ALIASES = {
    "北京时间": "Asia/Shanghai",
    "北京": "Asia/Shanghai",
    "中国": "Asia/Shanghai",
    "中国时间": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "beijing time": "Asia/Shanghai",
    "china": "Asia/Shanghai",
    "prc": "Asia/Shanghai",
    "utc": "UTC",
    "gmt": "UTC",
    "香港": "Asia/Hong_Kong",
    "香港时间": "Asia/Hong_Kong",
    "hong kong": "Asia/Hong_Kong",
    "hongkong": "Asia/Hong_Kong",
}


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA name, by its lower-case form."""
    return {name.lower(): name for name in available_timezones()}


_UTC_OFFSET = re.compile(r"(?:utc|gmt)\s*([+-])\s*(\d{1,2})(?::00)?")


def zone_label(zone: ZoneInfo) -> str:
    """A zone's name for people: "UTC+8" rather than the IANA "Etc/GMT-8"."""
    match = re.fullmatch(r"Etc/GMT([+-])(\d{1,2})", zone.key)
    if match is None:
        return zone.key
    return f"UTC{'-' if match[1] == '+' else '+'}{match[2]}"


def read_zone(text: str) -> ZoneInfo | None:
    """An IANA name typed loosely ('asia/shanghai', 'Europe/Berlin', ' UTC '), or a few
    common aliases (北京时间, Beijing, China → Asia/Shanghai; UTC, GMT → UTC; 香港 →
    Asia/Hong_Kong), or a whole-hour offset (UTC+8, GMT-5). None if unknown. Never raises.
    "CST" is not read: it is China's and America's."""
    typed = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFKC", text[:_MAX_CHARS])).split())
    key = typed.lower()
    name = _ZONE_ALIASES.get(key) or _zone_names().get(key.replace(" ", "_"))
    offset = _UTC_OFFSET.fullmatch(key)
    if name is None and offset is not None and 0 < int(offset[2]) <= 12:
        # The IANA name's sign is the other way round: UTC+8 is Etc/GMT-8.
        name = f"Etc/GMT{'-' if offset[1] == '+' else '+'}{int(offset[2])}"
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):  # a name listed but not loadable: treat it as unknown
        return None
