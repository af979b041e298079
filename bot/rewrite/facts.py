"""The rewrite's fact check: the model may change words, never facts.

A section's answers (the source) name facts the rewrite must keep: figures, percentages,
dates, 《titles》, quoted terms, and the cadre's name, post and organisation where the answers
give them. The rewrite may add no figure of its own, may not speak for "we" more often than
the cadre did, and a Chinese section must stay Chinese.

What counts as a figure:
- digits always; a unit suffix is folded in (2.6万 == 26000, 3千万 == 30000000,
  "2.6 million" == 2600000), and numbers compare by value, so a changed unit suffix is a
  changed figure;
- a Chinese numeral only with a measure word after it (三天, 两千零二十四年, 二十多个), as
  百分之X, before % or when it ends in 万/亿; read with cn2an, so 三天 == 3天. A bare numeral
  is not a figure: 一是/二是, 十四五, 二十大 count nothing;
- a lone 一 (一年来, 一个重要决定, 第一次) and English "one" are soft: never required, never
  an invention, but they do count as "1" if the other text writes it in digits;
- percentages (15%, 百分之十五, 15 percent) and per-mille are their own kind: 3个百分点 is not 3%;
- dates with two parts or more (2024年3月, 3月15日, 2024-03-15, March 2024, 15 March) compare
  by their parts: a date is kept when a rewrite's date has all its parts (it may add the
  year), and a rewrite's date is invented unless it is part of a source date or every part
  of it is a source number or the period's.
Not figures: set phrases (`_STOCK_PHRASES` of the review, 三会一课, 四个意识...), "N个方面"
(the rewrite's own structure), and list markers (1. / 1、/ (1) at the start of a line or
sentence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

import cn2an

from bot.review.detectors import _STOCK_PHRASES

# The review's set phrases, plus a few whose numeral stands before a measure word or is no
# count at all. One list with the review's, so the two never disagree on 四个意识.
_SET_PHRASES = (
    *_STOCK_PHRASES,
    "两个责任",
    "三个区分开来",
    "四个不摆",
    "五个一批",
    "十四五",
    "十五五",
)

_LANGUAGE_FLOOR = 0.9  # share of CJK among the letters of a Chinese section

# Patterns ---------------------------------------------------------------------------------

# Full-width digits and signs to ASCII, one character for one so that spans still index the
# text as written.
_WIDTH = str.maketrans("０１２３４５６７８９％．", "0123456789%.")
_FULL_WIDTH = re.compile("[０-９％．]")  # translate() is slow on CJK text: only when needed

_CN_DIGIT = "〇零一二两三四五六七八九"
_CN_NUMERAL = _CN_DIGIT + "十百千万亿"
# Multi-character units first, so that 3个月 shows as "3个月" and 千米 is not a thousand.
_MEASURE = (
    r"(?:个月|个百分点|百分点|人次|万元|亿元|小时|分钟|公里|千米|平方米|平方公里|公顷|公斤"
    r"|[个项次件名人户家元所座条篇天年月日倍位期批场轮周季亩吨台套间份栋处辆张本部节堂届岁块类"
    r"支队村镇乡组层级笔宗起例号米斤种])"
)
# A Chinese numeral that counts: not a lone 一 (that one is soft: the `one` branch).
# Possessive, so that 三万五千 is read whole or not at all, never as 三万.
_CN_NUMBER = rf"(?:[〇零二两三四五六七八九十]|一(?=[{_CN_NUMERAL}点]))[{_CN_NUMERAL}]*+"
_CN_DECIMAL = rf"{_CN_NUMBER}(?:点[{_CN_DIGIT}]+[万亿]?)?"
_MONTH = r"(?:1[0-2]|0?[1-9](?!\d)|十[一二]?|[一二三四五六七八九])"
_DAY = (
    r"(?:3[01]|[12]\d|0?[1-9](?!\d)"
    r"|三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九])"
)
_MONTH_NAME = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b\.?"
)
_MONTH_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_EN_UNITS = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_WORDS = {word: number for number, word in enumerate(_EN_UNITS)} | {
    word: 10 * number for number, word in enumerate(_EN_TENS, 2)
}
_MULTIPLIERS = {
    "十": 10,
    "百": 100,
    "千": 1000,
    "万": 10_000,
    "亿": 100_000_000,
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
}


def _words(words: tuple[str, ...]) -> str:
    """Number words as a pattern grouped by first letter, either case ("[Tt](?:wo|en)"), so a
    position costs one test rather than one per word."""
    rests: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        rests.setdefault(word[0], []).append(word[1:])
    return "|".join(
        f"[{first}{first.upper()}](?:{'|'.join(rest)})" for first, rest in rests.items()
    )


# Branches of one scanner, tried in this order at each position; every branch is a named
# group, and `_read` reads the match by `lastgroup`.
_BRANCHES = (
    # Consumed and ignored: set phrases, the rewrite's own "三个方面", list markers.
    r"(?P<skip>"
    + "|".join(map(re.escape, sorted(_SET_PHRASES, key=len, reverse=True)))
    + r"|第?[一二两三四五六七八九十]个?方面"
    # "1." / "1、" where a line, a sentence or a clause begins; "(1)" anywhere.
    + r"|(?:(?<![^\n。；;：:])|(?<=[。；;：:] ))\d{1,2}[、.)）](?![\d.])"
    + r"|[（(]\d{1,2}[)）])",
    rf"(?P<ymd>(?P<y1>(?<!\d)\d{{4}}|[{_CN_DIGIT}]{{4}})\s*年\s*(?P<m1>{_MONTH})\s*月"
    rf"(?:\s*(?P<d1>{_DAY})\s*[日号])?)",
    rf"(?P<md>(?<!\d)(?P<m2>{_MONTH})\s*月\s*(?P<d2>{_DAY})\s*[日号])",
    r"(?P<iso>(?<!\d)(?P<y3>\d{4})(?P<sep>[-/])(?P<m3>1[0-2]|0?[1-9])(?!\d)"
    r"(?:(?P=sep)(?P<d3>3[01]|[12]\d|0?[1-9])(?!\d))?"
    r"|(?<!\d)(?P<y4>\d{4})\.(?P<m4>1[0-2]|0?[1-9])\.(?P<d4>3[01]|[12]\d|0?[1-9])(?!\d))",
    rf"(?P<pct_cn>百分之(?P<pv>\d+(?:\.\d+)?|[{_CN_NUMERAL}]++(?:点[{_CN_DIGIT}]+)?))",
    rf"(?P<frac>(?P<fd>\d+|{_CN_NUMBER})分之(?P<fn>\d+(?:\.\d+)?|[{_CN_NUMERAL}]+)"
    r"|(?<![\d/])(?P<fn2>\d+)/(?P<fd2>\d+)(?![\d/]))",
    r"(?P<num>(?P<nv>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?)"
    r"(?P<nm>\s*(?:[百千]?[万亿]{1,2}|千(?![米克瓦]))|\s+(?i:hundred|thousand|million|billion)\b)?"
    r"(?P<np>\s*[%‰]|\s*(?i:per\s?cent)\b)?)",
    r"(?P<rank>(?:(?:排名|排位|名列|位居|位列|居|列)(?:全?[国省市区县州]|同[类级])?"
    r"|全[国省市区县州])(?:第|前)(?P<rv>[一二三四五六七八九十]+))",
    rf"(?P<ordinal>第(?P<ov>[{_CN_NUMERAL}]+)(?=\s*{_MEASURE}))",
    rf"(?P<cn>(?P<cv>{_CN_DECIMAL})(?:(?P<cp>\s*[%‰])|(?<=[万亿])|(?=\s*[多余几]?\s*{_MEASURE})))",
    rf"(?P<one>一(?=\s*{_MEASURE}))",
)
_EN_BRANCHES = (
    rf"(?P<en_dmy>\b(?P<d5>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mo5>{_MONTH_NAME})"
    r"(?:,?\s+(?P<y5>\d{4})\b)?)",
    rf"(?P<en_mdy>\b(?P<mo6>{_MONTH_NAME})\s+(?P<d6>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
    r"(?:,?\s+(?P<y6>\d{4})\b)?)",
    rf"(?P<en_my>\b(?P<mo7>{_MONTH_NAME}),?\s+(?P<y7>\d{{4}})\b)",
    rf"(?P<words>\b(?:(?P<wt>{_words(_EN_TENS)})(?:[- ](?P<wu>{_words(_EN_UNITS[1:10])}))?"
    rf"|(?P<w1>{_words(_EN_UNITS)}))\b"
    r"(?:\s+(?P<wm>(?i:hundred|thousand|million|billion))\b)?(?P<wp>\s*%|\s+(?i:per\s?cent)\b)?)",
)


def _scanner(branches: tuple[str, ...], first: str) -> re.Pattern[str]:
    # Every branch starts where `first` matches; saying so up front lets the engine pass over
    # other positions at once instead of trying each branch there: six times faster.
    return re.compile(rf"(?=(?:{first}))(?:{'|'.join(branches)})", re.MULTILINE)


_ZH_FIRST = (
    "0-9" + _CN_NUMERAL + "第排名位居列全（(" + "".join(sorted({p[0] for p in _SET_PHRASES}))
)
# English number words and month names start a word: most letters are not candidates.
_EN_FIRST = "".join(sorted({word[0] for word in (*_EN_UNITS, *_EN_TENS, *_MONTH_NUMBERS)}))
# English month names and number words only where the section is English: a Chinese section
# that slips into English is the language rule's business, and the scan stays short.
_SCANNERS = {
    "zh": _scanner(_BRANCHES, f"[{_ZH_FIRST}]"),
    "en": _scanner(
        _BRANCHES[:1] + _EN_BRANCHES[:3] + _BRANCHES[1:] + _EN_BRANCHES[3:],
        rf"[{_ZH_FIRST}]|\b[{_EN_FIRST}{_EN_FIRST.upper()}]",
    ),
}
# What follows a figure when it is shown: its measure word, or in English the noun.
_UNITS = {
    "zh": re.compile(rf"\s*[多余几]?\s*{_MEASURE}"),
    "en": re.compile(
        r"\s+(?!(?:we|our|us|the|and|to|in|of|a|an|was|were|is|by|for|on|at|with|from|i)\b)"
        r"[a-z]+"
    ),
}
_QUOTED = re.compile(
    r"《(?P<t>[^《》\n]{1,80})》|“(?P<q1>[^“”\n]{1,80})”|\"(?P<q2>[^\"\n]{1,80})\""
    r"|「(?P<q3>[^「」\n]{1,80})」|『(?P<q4>[^『』\n]{1,80})』|‘(?P<q5>[^‘’\n]{1,80})’"
)
_WE = {
    "zh": re.compile("我们"),
    # "us" in lower case only: "US$2.6 million" is no "we".
    "en": re.compile(r"\b(?:[Ww]e|[Oo]urs?|[Oo]urselves|us)\b"),
}
_WE_WORD = {"zh": "我们", "en": "we"}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")  # runs: fewer objects
_LATIN = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]+")


# Violations -------------------------------------------------------------------------------

# The two languages' lines live here, not in prompts/: they are part of the check's contract
# (the retry prompt names them back to the model) and take one argument each.
_DESCRIPTIONS = {
    "zh": {
        "missing": "缺少“{item}”",
        "invented": "新增了原文没有的数字“{item}”",
        "we": "“{item}”出现次数多于原文",
        "language": "中文部分汉字不足90%",
        "empty": "改写内容为空",
    },
    "en": {
        "missing": "missing “{item}”",
        "invented": "adds a figure not in the answers: “{item}”",
        "we": "uses “{item}” more often than the answers",
        "language": "fewer than 90% of the letters are Chinese characters",
        "empty": "the rewrite is empty",
    },
}


@dataclass(frozen=True)
class Violation:
    """One way a rewrite is unfaithful to its answers."""

    kind: str
    """One of "missing", "invented", "we", "language", "empty"."""
    item: str
    """The item as the cadre wrote it, or the invented one as the model wrote it; "" for
    language and empty."""

    def describe(self, language: str) -> str:
        """One short line naming the violation, in zh or en."""
        lines = _DESCRIPTIONS["zh" if language.startswith("zh") else "en"]
        return lines[self.kind].format(item=self.item)


# Reading a text ---------------------------------------------------------------------------

_Value = tuple[str, Decimal]
"""A number ("n"), a percentage ("%") or a per-mille ("‰") with its value."""
_Date = tuple[int | None, int | None, int | None]
"""Year, month, day; at least two of them."""


# Named tuples, not dataclasses: a section makes dozens and a frozen dataclass is slow to build.
class _Figure(NamedTuple):
    written: str
    start: int
    value: _Value | None
    date: _Date | None
    soft: bool
    quoted: bool
    parts: tuple[_Value, ...]
    """The figure as plain numbers: itself, or a date's year, month and day."""


class _Phrase(NamedTuple):
    written: str
    start: int
    folded: str


@lru_cache(maxsize=4096)
def _chinese(numeral: str) -> Decimal | None:
    """A Chinese numeral's value (二〇二四, 两千零二十四, 二点六万); None if it is none."""
    multiplier = 1
    if "点" in numeral:  # cn2an reads 二点六 but not 二点六万
        while numeral[-1] in "万亿":
            multiplier *= _MULTIPLIERS[numeral[-1]]
            numeral = numeral[:-1]
    try:
        return Decimal(str(cn2an.cn2an(numeral, "smart"))) * multiplier
    except (ValueError, InvalidOperation):
        return None


def _number(text: str | None) -> Decimal | None:
    """A number written in digits ("26,000", "2.5") or in Chinese numerals; None if none."""
    if not text:
        return None
    if text[0].isdigit():
        return Decimal(text.replace(",", ""))
    return Decimal(100) if text == "百" else _chinese(text)  # 百分之百


def _date(year: str | None, month: str, day: str | None) -> _Date:
    """A date's parts as numbers; the month in digits, Chinese numerals or English."""
    if month.isascii() and month[0].isalpha():
        month_number: int | None = _MONTH_NUMBERS[month[:3].lower()]
    else:
        month_number = _integer(_number(month))
    return _integer(_number(year)), month_number, _integer(_number(day))


def _integer(value: Decimal | None) -> int | None:
    return None if value is None else int(value)


def _kind(sign: str | None) -> str:
    """A figure's kind by the sign after it: "%" (or "per cent"), "‰", or none."""
    sign = (sign or "").strip()
    return ("‰" if sign == "‰" else "%") if sign else "n"


def _read(match: re.Match[str]) -> tuple[_Value | None, _Date | None, bool] | None:
    """A scanner match as (value, date, soft); None for what counts nothing."""
    group = match.lastgroup
    g = match.group
    if group == "skip":
        return None
    if group == "num":
        digits = Decimal(g("nv").replace(",", ""))
        if multiplier := (g("nm") or "").strip().lower():
            for unit in (multiplier,) if multiplier in _MULTIPLIERS else multiplier:
                digits *= _MULTIPLIERS[unit]
        return (_kind(g("np")), digits), None, False
    if group == "cn":
        value = _chinese(g("cv"))
        return None if value is None else ((_kind(g("cp")), value), None, False)
    if group == "pct_cn":
        value = _number(g("pv"))
        return None if value is None else (("%", value), None, False)
    if group in ("ordinal", "rank"):
        value = _chinese(g("ov") or g("rv"))
        return None if value is None else (("n", value), None, group == "ordinal" and value == 1)
    if group == "one":
        return ("n", Decimal(1)), None, True
    if group == "frac":
        numerator, denominator = _number(g("fn") or g("fn2")), _number(g("fd") or g("fd2"))
        if not numerator or not denominator:
            return None
        return ("n", numerator / denominator), None, False
    if group == "words":
        if g("wt"):
            number = _EN_WORDS[g("wt").lower()] + (_EN_WORDS[g("wu").lower()] if g("wu") else 0)
        else:
            number = _EN_WORDS[g("w1").lower()]
        value = Decimal(number) * (_MULTIPLIERS[g("wm").lower()] if g("wm") else 1)
        kind = "%" if g("wp") else "n"
        # "one" is mostly a pronoun ("one of", "no one"), so it is soft like a lone 一.
        return (kind, value), None, value == 1 and kind == "n"
    if group == "ymd":
        return None, _date(g("y1"), g("m1"), g("d1")), False
    if group == "md":
        return None, _date(None, g("m2"), g("d2")), False
    if group == "iso":
        if g("y3"):
            return None, _date(g("y3"), g("m3"), g("d3")), False
        return None, _date(g("y4"), g("m4"), g("d4")), False
    if group == "en_dmy":
        return None, _date(g("y5"), g("mo5"), g("d5")), False
    if group == "en_mdy":
        return None, _date(g("y6"), g("mo6"), g("d6")), False
    assert group == "en_my", group
    return None, _date(g("y7"), g("mo7"), None), False


def _quotes(text: str) -> list[_Phrase]:
    """The 《titles》 and quoted terms of a text, compared by what is inside the marks."""
    return [
        _Phrase(match.group(), match.start(), _fold(next(filter(None, match.groups()))))
        for match in _QUOTED.finditer(text)
    ]


def _figures(text: str, language: str, quotes: list[_Phrase]) -> list[_Figure]:
    """Every figure of a text, in order, shown with its unit as written."""
    scanner, unit = _SCANNERS[language], _UNITS[language]
    quoted = bytearray(len(text))  # 1 inside a title or quote
    for quote in quotes:
        quoted[quote.start : quote.start + len(quote.written)] = b"\x01" * len(quote.written)
    figures = []
    scanned = text.translate(_WIDTH) if _FULL_WIDTH.search(text) else text
    for match in scanner.finditer(scanned):
        if (read := _read(match)) is None:
            continue
        value, date, soft = read
        start, end = match.span()
        if value is None:
            assert date is not None
            parts = tuple(("n", Decimal(part)) for part in date if part is not None)
        else:
            parts = (value,)
            if value[0] == "n" and (shown := unit.match(text, end)):
                end = shown.end()
        written = text[start:end].strip()
        figures.append(_Figure(written, start, value, date, soft, quoted[start] == 1, parts))
    return figures


def _fold(text: str) -> str:
    """A text compared without case or whitespace."""
    return "".join(text.split()).casefold()


def _language(language: str) -> str:
    return "zh" if language.startswith("zh") else "en"


def _protected(
    text: str, figures: list[_Figure], quotes: list[_Phrase], details: tuple[str, ...]
) -> list[_Figure | _Phrase]:
    """What the rewrite must keep, in the order of the text, one of each value or phrase."""
    # A figure inside a title or quote is kept with it; listing it again would only repeat.
    items: list[_Figure | _Phrase] = [f for f in figures if not f.soft and not f.quoted]
    items += quotes
    lowered = text.lower()  # an English post may be capitalised differently
    for detail in map(str.strip, details):
        if detail and (at := lowered.find(detail.lower())) >= 0:
            items.append(_Phrase(text[at : at + len(detail)], at, _fold(detail)))
    seen: set[object] = set()
    ordered: list[_Figure | _Phrase] = []
    for item in sorted(items, key=lambda item: item.start):
        key = item.folded if isinstance(item, _Phrase) else (item.value, item.date)
        if key not in seen:
            seen.add(key)
            ordered.append(item)
    return ordered


def protected_items(
    text: str, *, name: str, post: str, organisation: str, language: str
) -> list[str]:
    """The items of the source answers that the rewrite must keep, in order, deduplicated."""
    quotes = _quotes(text)
    figures = _figures(text, _language(language), quotes)
    return [item.written for item in _protected(text, figures, quotes, (name, post, organisation))]


# The check --------------------------------------------------------------------------------


def _covers(date: _Date, other: _Date) -> bool:
    """Whether `other` says all that `date` says (it may say more, such as the year)."""
    return all(part is None or part == more for part, more in zip(date, other, strict=True))


@lru_cache(maxsize=64)
def _period_parts(period: str) -> frozenset[_Value]:
    """The numbers of the report's period ("2024", "2023年3月至2024年3月")."""
    return frozenset(part for figure in _figures(period, "en", []) for part in figure.parts)


def _missing(
    items: list[_Figure | _Phrase], figures: list[_Figure], rewritten: str
) -> list[Violation]:
    present = {part for figure in figures for part in figure.parts}
    dates = [figure.date for figure in figures if figure.date is not None]
    folded = _fold(rewritten)
    missing = []
    for item in items:
        if isinstance(item, _Phrase):
            kept = item.folded in folded
        elif item.date is not None:
            kept = any(_covers(item.date, date) for date in dates)
        else:
            kept = item.value in present
        if not kept:
            missing.append(Violation("missing", item.written))
    return missing


def _invented(
    figures: list[_Figure], source_figures: list[_Figure], period: str
) -> list[Violation]:
    permitted = {part for figure in source_figures for part in figure.parts}
    permitted |= _period_parts(period)
    source_dates = [figure.date for figure in source_figures if figure.date is not None]
    seen: set[object] = set()
    invented = []
    for figure in figures:
        if figure.soft:
            continue
        if figure.date is not None:
            # Part of a date of the answers ("3月" of "2024年3月"), or made of their numbers.
            allowed = any(_covers(figure.date, date) for date in source_dates)
            allowed = allowed or permitted.issuperset(figure.parts)
        else:
            allowed = figure.value in permitted
        key = (figure.value, figure.date)
        if not allowed and key not in seen:
            seen.add(key)
            invented.append(Violation("invented", figure.written))
    return invented


def _chinese_share(text: str, source: str) -> float | None:
    """CJK characters among the letters (CJK and Latin) of a text; None without letters.
    Latin words the answers themselves use (5G, PPP, a project's code) are quoted, not
    English prose, and are left out."""
    quoted = {word.casefold() for word in _LATIN.findall(source)}
    chinese = sum(map(len, _CJK.findall(text)))
    latin = sum(len(word) for word in _LATIN.findall(text) if word.casefold() not in quoted)
    letters = chinese + latin
    return chinese / letters if letters else None


def check(
    source: str,
    rewritten: str,
    *,
    name: str,
    post: str,
    organisation: str,
    period: str,
    language: str,
) -> list[Violation]:
    """What makes a section's rewrite unfaithful to its answers; [] when it is faithful."""
    if not rewritten.strip():
        return [Violation("empty", "")]
    lang = _language(language)
    source_quotes = _quotes(source)
    source_figures = _figures(source, lang, source_quotes)
    figures = _figures(rewritten, lang, [])
    items = _protected(source, source_figures, source_quotes, (name, post, organisation))

    violations = _missing(items, figures, rewritten)
    violations += _invented(figures, source_figures, period)
    # The report is the cadre's own part: no more "we" than the cadre said.
    we = _WE[lang]
    if len(we.findall(rewritten)) > len(we.findall(source)):
        violations.append(Violation("we", _WE_WORD[lang]))
    share = _chinese_share(rewritten, source) if lang == "zh" else None
    if share is not None and share < _LANGUAGE_FLOOR:
        violations.append(Violation("language", ""))
    return violations
