"""Assemble a report from answers with the type's Jinja2 template (`report.html.j2`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.interview.questionnaire import Language, Questionnaire
from bot.render.document import ReportDocument, parse_report

_CN_DIGITS = "零一二三四五六七八九"
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def cn_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 20 -> 二十, for headings up to 99."""
    if not 0 < n < 100:
        raise ValueError(f"cannot number {n} in Chinese headings")
    tens, units = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _CN_DIGITS[tens] + "十")
    return head + (_CN_DIGITS[units] if units else "")


def paragraphs(text: str) -> list[str]:
    """Split an answer into its non-empty lines, each a paragraph."""
    return [line.strip() for line in text.splitlines() if line.strip()]


# An enumerator the cadre typed at the start of an item: 一是 / 第一， / （一） / 1. / 1、 /
# ① / (a) / First, — the template numbers the items itself.
_ENUMERATOR = re.compile(
    r"^\s*(?:"
    r"[一二三四五六七八九十]{1,3}是[，,：:]?"
    r"|第[一二三四五六七八九十]{1,3}[，,、：:]"
    r"|[（(][一二三四五六七八九十\d]{1,3}[）)][、.，,]?"
    r"|\d{1,2}(?:[、．)）]|\.(?!\d))"
    r"|[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳]"
    r"|[a-z][.)](?=\s)"
    r"|(?:first|second|third|fourth|fifth|sixth|finally|lastly)[,:]"
    r")\s*",
    re.IGNORECASE,
)


def without_enumerator(text: str) -> str:
    """An item without the enumerator its writer put before it ("一是深入基层…" →
    "深入基层…"), for a list the template numbers; text that is nothing else is kept."""
    stripped = _ENUMERATOR.sub("", text, count=1)
    if not stripped.strip():
        return text
    if stripped != text and stripped[:1].islower():
        # "Second, my study…" reads "My study…" once the template numbers it.
        stripped = stripped[0].upper() + stripped[1:]
    return stripped


# What a list item may end with that a report's sentence does not ("；" before the next
# item, a comma left dangling); and what a finished sentence ends with.
_DANGLING = "；;，,、：:"
_ENDED = "。！？!?….」”’）)》>*"


def finished(text: str, language: str) -> str:
    """An answer ending as a sentence of the report: trailing list punctuation ("；") made a
    full stop, a full stop added to one that ends in a word; other endings kept."""
    body = text.rstrip()
    stop = "。" if language == "zh" else "."
    if not body:
        return text
    if body[-1] in _DANGLING:
        return body[:-1].rstrip() + stop
    if body[-1] in _ENDED:
        return body
    return body + stop


def items(entries: Sequence[str]) -> int:
    """How many items a list shows: its entries' non-empty lines (one message may hold a
    list typed line by line)."""
    return sum(len(paragraphs(entry)) for entry in entries)


def post_in_unit(position: str, organisation: str, language: str) -> str:
    """The post with its unit, the unit said once: "某市财政局" + "副局长" → "某市财政局副局长";
    "某市财政局副局长" (the post already names it) or "财政局副局长" (names its end) → the
    unit in full, then the post. In English "Deputy Director, Finance Bureau" in "City
    Finance Bureau" → "Deputy Director, City Finance Bureau"."""
    position, organisation = position.strip(), organisation.strip()
    if not organisation:
        return position
    if language == "zh":
        if organisation in position:
            return position
        for size in range(len(organisation), 1, -1):
            if position.startswith(organisation[-size:]):
                return organisation + position[size:]
        return organisation + position
    if organisation.lower() in position.lower():
        return position
    head, _, tail = position.rpartition(",")
    if head and tail.strip() and tail.strip().lower() in organisation.lower():
        return f"{head.strip()}, {organisation}"
    return f"{position}, {organisation}" if position else organisation


def format_date(day: date, language: Language) -> str:
    """A date as it is signed under a report: 2026年11月25日 / 25 November 2026."""
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class Author:
    """Who signs the report."""

    name: str
    position: str
    organisation: str


@dataclass(frozen=True)
class QuestionView:
    """A question as the template sees it."""

    id: str
    label: str
    heading: str  # the report's subheading (the label where the questionnaire has none)
    multiple: bool
    entries: tuple[str, ...]
    skipped: bool

    @property
    def missing(self) -> bool:
        """Not answered and not skipped: the draft marks it for completion."""
        return not self.entries and not self.skipped


@dataclass(frozen=True)
class SectionView:
    """A section as the template sees it, numbered from 1."""

    number: int
    id: str
    title: str
    lead: str  # the section's opening sentence ("" for none)
    questions: tuple[QuestionView, ...]
    # The section's answers rewritten into prose (paragraphs) when the cadre chose the
    # polished wording; empty for the template's own wording.
    polished: tuple[str, ...] = ()


def make_environment(prompts_dir: Path) -> Environment:
    """The Jinja2 environment over prompts/: strict, autoescaped, with our filters."""
    env = Environment(
        loader=FileSystemLoader(prompts_dir),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["cn_number"] = cn_number
    env.filters["paragraphs"] = paragraphs
    env.filters["without_enumerator"] = without_enumerator
    env.filters["finished"] = finished
    env.filters["items"] = items
    return env


def template_name(questionnaire: Questionnaire) -> str:
    """Where the report template of a questionnaire lives, relative to prompts/."""
    return f"{questionnaire.report_type}/{questionnaire.language}/report.html.j2"


def render_report(
    env: Environment,
    questionnaire: Questionnaire,
    *,
    answers: Mapping[str, Sequence[str]],
    skipped: frozenset[str] | set[str],
    author: Author,
    period: str,
    today: date,
    polished: Mapping[str, str] | None = None,
) -> ReportDocument:
    """Render the draft of one interview into a parsed report document; `polished` gives
    the sections (by id) whose answers are shown in their rewritten prose."""
    polished = polished or {}
    sections = tuple(
        SectionView(
            number=i,
            id=section.id,
            title=section.title,
            lead=section.lead or "",
            questions=tuple(
                QuestionView(
                    id=q.id,
                    label=q.label,
                    heading=q.heading or q.label,
                    multiple=q.multiple,
                    entries=tuple(answers.get(q.id, ())),
                    skipped=q.id in skipped and not answers.get(q.id),
                )
                for q in section.questions
            ),
            polished=tuple(paragraphs(polished.get(section.id, ""))),
        )
        for i, section in enumerate(questionnaire.sections, start=1)
    )
    html = env.get_template(template_name(questionnaire)).render(
        report={
            "type": questionnaire.report_type,
            "name": questionnaire.name,
            "period": period,
            "language": questionnaire.language,
        },
        author=author,
        post=post_in_unit(author.position, author.organisation, questionnaire.language),
        date=format_date(today, questionnaire.language),
        sections=sections,
        answers={q.id: q for s in sections for q in s.questions},
    )
    return replace(parse_report(html, language=questionnaire.language), author=author.name)
