"""What changed between two submitted versions of a report, short enough for one message.

A report is cut into sections at each first-level heading (what comes before the first one,
the title and opening, is a section of its own); sections are matched by heading, so a
renamed section is one removed and one added. Inside a section the text is compared sentence
by sentence. Numbering the templates add ("二、", "1.1 ", "三是", "2. ") is left out of every
comparison: a section inserted or skipped elsewhere renumbers the others without changing them.
"""

from __future__ import annotations

import difflib
import html
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.render.chat import TELEGRAM_LIMIT, utf16_len
from bot.render.document import Block, BlockKind

MAX_CHANGES = 5
MAX_CHARS = 100
ELLIPSIS = "…"

# Full-width terminators (and the ellipsis) end a sentence on their own; an ASCII one only when
# no letter or digit follows ("98.6", "U.S.", "example.com"). Closing quotes and brackets stay
# with their sentence. Possessive "++" so that "..." is one terminator, not three.
_SENTENCE_END = re.compile(r"(?:[。！？；]+|…+|[.!?]++(?![0-9A-Za-z]))[”’\"'）)」』》]*")
_CN_NUMERAL = "一二三四五六七八九十百零〇"
# List numbering the templates put in front of a paragraph: "一是", "（二）", "3. ", "4、".
# "(?!\d)" keeps a figure such as "98.6%" that opens a paragraph part of the text.
_PARAGRAPH_NUMBER = re.compile(
    rf"[{_CN_NUMERAL}]+[是、]|[（(][{_CN_NUMERAL}\d]+[）)]|\d{{1,3}}[.、．)](?!\d)\s*"
)
# Headings may also be numbered "1.1 Key results".
_HEADING_NUMBER = re.compile(rf"{_PARAGRAPH_NUMBER.pattern}|\d+(?:\.\d+)+\s+")
_HEADINGS = frozenset({BlockKind.HEADING1, BlockKind.HEADING2, BlockKind.HEADING3})


class ChangeKind(StrEnum):
    """How one sentence changed."""

    REPLACED = "replaced"
    ADDED = "added"
    REMOVED = "removed"


class SectionStatus(StrEnum):
    """Whether a section is in both versions, or only in one of them."""

    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class SentenceChange:
    """One sentence replaced, added or removed, each side cut to about `max_chars`."""

    kind: ChangeKind
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class SectionChange:
    """The changes of one section: the first few, and how many more were left out."""

    # Its heading (the newer one when in both); for the opening, the caller's name for it,
    # or None to have `render_changes` use `ChangeLabels.opening`.
    title: str | None
    status: SectionStatus
    changes: tuple[SentenceChange, ...]
    more: int = 0


@dataclass(frozen=True)
class ChangeLabels:
    """The words of the summary, filled by the caller from its message catalogue.

    They are inserted as HTML, like catalogue templates: `heading` already formatted (it names
    the version compared with), `more` with a {count} placeholder or none. A label ending in a
    wide character ("修改前：") is not followed by a space. The defaults are English for tests.
    """

    heading: str = "Changed since the last version"
    opening: str = "Opening"
    section_added: str = "(new section)"
    section_removed: str = "(section removed)"
    before: str = "Before:"
    after: str = "After:"
    added: str = "Added:"
    removed: str = "Removed:"
    more: str = "and {count} more"
    none: str = "No changes in the text."
    truncated: str = ELLIPSIS


@dataclass(frozen=True)
class _Unit:
    """A sentence or a sub-heading: compared by `key`, shown as `text`."""

    key: str
    text: str


@dataclass(frozen=True)
class _Section:
    key: tuple[str | None, int]  # normalised heading and its occurrence, for duplicates
    title: str | None
    units: tuple[_Unit, ...]


# A draft as stored (JSON text), as parsed from it, or as blocks.
Draft = str | Sequence[Block] | Sequence[Mapping[str, Any]]


def blocks_of(draft: Draft) -> tuple[Block, ...]:
    """The blocks of a draft: a stored body (JSON: [{"kind": …, "text": …}, …]), that JSON
    parsed, or blocks already."""
    items = json.loads(draft) if isinstance(draft, str) else draft
    try:
        return tuple(
            item if isinstance(item, Block) else Block(BlockKind(item["kind"]), str(item["text"]))
            for item in items
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a stored draft body: {exc!r}") from exc


def section_changes(
    before: Draft,
    after: Draft,
    *,
    opening: str | None = None,
    max_changes: int = MAX_CHANGES,
    max_chars: int = MAX_CHARS,
    ignore: Collection[BlockKind] = (BlockKind.SIGNATURE,),
) -> tuple[SectionChange, ...]:
    """The sections that differ between two versions, in the order of the newer version, a
    removed section where it stood; empty when the text is the same.

    `opening` names the part before the first heading. Blocks of the kinds in `ignore` are not
    compared: by default the signature, whose date changes with every submission.
    """
    old = _sections(blocks_of(before), ignore, max_chars, opening)
    new = _sections(blocks_of(after), ignore, max_chars, opening)
    old_by_key = {section.key: section for section in old}
    new_keys = {section.key for section in new}
    # A removed section is shown after the section it followed in the older version.
    removed_after: dict[tuple[str | None, int] | None, list[_Section]] = defaultdict(list)
    anchor: tuple[str | None, int] | None = None
    for section in old:
        if section.key in new_keys:
            anchor = section.key
        else:
            removed_after[anchor].append(section)

    out = [_whole(s, SectionStatus.REMOVED, max_changes, max_chars) for s in removed_after[None]]
    for section in new:
        previous = old_by_key.get(section.key)
        if previous is None:
            out.append(_whole(section, SectionStatus.ADDED, max_changes, max_chars))
        else:
            changes = list(_sentence_changes(previous.units, section.units, max_chars))
            if changes:
                out.append(
                    SectionChange(
                        section.title,
                        SectionStatus.CHANGED,
                        tuple(changes[:max_changes]),
                        max(0, len(changes) - max_changes),
                    )
                )
        out += (
            _whole(s, SectionStatus.REMOVED, max_changes, max_chars)
            for s in removed_after[section.key]
        )
    return tuple(out)


def render_changes(
    changes: Sequence[SectionChange], labels: ChangeLabels, *, limit: int = TELEGRAM_LIMIT
) -> str:
    """The changes as Telegram HTML of at most `limit` UTF-16 units.

    When they do not all fit, whole lines are left out from the end and a last line says so
    (`labels.truncated`); a section's heading is never shown without its first change.
    """
    heading = f"<b>{labels.heading}</b>"
    if not changes:
        return _fit(heading, [("\n\n", labels.none)], labels.truncated, limit)
    items: list[tuple[str, str]] = []
    for section in changes:
        lines = [_line(section, change, labels) for change in section.changes]
        if section.more:
            lines.append(f"<i>{labels.more.format(count=section.more)}</i>")
        header = _section_header(section, labels)
        items.append(("\n\n", "\n".join([header, *lines[:1]])))
        items += (("\n", line) for line in lines[1:])
    return _fit(heading, items, labels.truncated, limit)


def _fit(heading: str, items: list[tuple[str, str]], truncated: str, limit: int) -> str:
    """`heading` and the (separator, HTML) `items` that fit in `limit`, in order; when some
    are left out, a last line `truncated` says so."""
    mark = "\n" + truncated
    if utf16_len(heading) + utf16_len(mark) > limit:
        raise ValueError(f"a limit of {limit} cannot hold the heading {heading!r}")
    whole = heading + "".join(separator + item for separator, item in items)
    if utf16_len(whole) <= limit:
        return whole
    kept, size = [heading], utf16_len(heading)
    for separator, item in items:
        size += utf16_len(separator) + utf16_len(item)
        if size + utf16_len(mark) > limit:
            break
        kept += (separator, item)
    return "".join(kept) + mark


def _section_header(section: SectionChange, labels: ChangeLabels) -> str:
    title = labels.opening if section.title is None else _escape(section.title)
    if section.status is SectionStatus.ADDED:
        return f"<b>{title}</b> <i>{labels.section_added}</i>"
    if section.status is SectionStatus.REMOVED:
        return f"<b><s>{title}</s></b> <i>{labels.section_removed}</i>"
    return f"<b>{title}</b>"


def _line(section: SectionChange, change: SentenceChange, labels: ChangeLabels) -> str:
    """One change as HTML; in a section added or removed as a whole the heading says it all."""
    if section.status is SectionStatus.ADDED:
        return _escape(change.after)
    if section.status is SectionStatus.REMOVED:
        return f"<s>{_escape(change.before)}</s>"
    if change.kind is ChangeKind.ADDED:
        return _labelled(labels.added, _escape(change.after))
    if change.kind is ChangeKind.REMOVED:
        return _labelled(labels.removed, f"<s>{_escape(change.before)}</s>")
    return "\n".join(
        (
            _labelled(labels.before, _escape(change.before)),
            _labelled(labels.after, _escape(change.after)),
        )
    )


def _labelled(label: str, html_text: str) -> str:
    # Chinese punctuation carries its own space: "修改前：" is followed directly by the text.
    wide = bool(label) and unicodedata.east_asian_width(label[-1]) in "WF"
    return f"<i>{label}</i>{'' if wide else ' '}{html_text}"


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


# --- comparison ---------------------------------------------------------------------------


def _sections(
    blocks: Sequence[Block], ignore: Collection[BlockKind], max_chars: int, opening: str | None
) -> list[_Section]:
    """Blocks grouped at each first-level heading; the part before the first one leads."""
    groups: list[tuple[str | None, list[Block]]] = [(None, [])]
    for block in blocks:
        if block.kind is BlockKind.HEADING1:
            groups.append((block.text, []))
        elif block.kind not in ignore:
            groups[-1][1].append(block)
    seen: dict[str | None, int] = defaultdict(int)
    sections = []
    for title, members in groups:
        if title is None and not members:
            continue  # nothing before the first heading
        key = None if title is None else _heading_key(title)
        seen[key] += 1
        shown = opening if title is None else _shorten(title, max_chars)
        units = tuple(unit for block in members for unit in _units(block))
        sections.append(_Section((key, seen[key]), shown, units))
    return sections


def _heading_key(text: str) -> str:
    """A heading as compared: numbering, case and spacing left out."""
    return " ".join(_HEADING_NUMBER.sub("", text.strip(), count=1).casefold().split())


def _units(block: Block) -> Iterator[_Unit]:
    """A sub-heading as one unit, any other block as its sentences."""
    if block.kind in _HEADINGS:
        yield _Unit(_heading_key(block.text), block.text)
        return
    text = block.text.strip()
    # The number is taken off before splitting: "1. I delivered" is not two sentences.
    number = _PARAGRAPH_NUMBER.match(text)
    prefix = number.group(0) if number else ""
    for index, sentence in enumerate(split_sentences(text[len(prefix) :])):
        yield _Unit(sentence, prefix + sentence if index == 0 else sentence)


def split_sentences(text: str) -> list[str]:
    """`text` cut after each sentence's terminator (closing quotes kept), spaces trimmed."""
    out, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        out.append(text[start : match.end()].strip())
        start = match.end()
    out.append(text[start:].strip())
    return [sentence for sentence in out if sentence]


def _sentence_changes(
    old: Sequence[_Unit], new: Sequence[_Unit], max_chars: int
) -> Iterator[SentenceChange]:
    """Replaced, added and removed units, in the order of the text."""
    matcher = difflib.SequenceMatcher(
        None, [u.key for u in old], [u.key for u in new], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # Within a replaced run, sentences pair up in order; the surplus is added or removed.
        for before, after in zip(old[i1:i2], new[j1:j2], strict=False):
            shown_before, shown_after = _excerpts(before.text, after.text, max_chars)
            yield SentenceChange(ChangeKind.REPLACED, shown_before, shown_after)
        paired = min(i2 - i1, j2 - j1)
        for unit in old[i1 + paired : i2]:
            yield SentenceChange(ChangeKind.REMOVED, before=_shorten(unit.text, max_chars))
        for unit in new[j1 + paired : j2]:
            yield SentenceChange(ChangeKind.ADDED, after=_shorten(unit.text, max_chars))


def _excerpts(before: str, after: str, width: int) -> tuple[str, str]:
    """Both sides of a replacement cut to about `width` characters, showing where they differ.

    Cutting both at the start would hide a figure changed late in a long sentence, so both
    windows open a little before the first difference.
    """
    if len(before) <= width and len(after) <= width:
        return before, after
    common = 0
    for a, b in zip(before, after, strict=False):
        if a != b:
            break
        common += 1
    start = max(0, common - width // 3)
    return _window(before, start, width), _window(after, start, width)


def _window(text: str, start: int, width: int) -> str:
    """About `width` characters of `text` from `start`, with "…" where it was cut."""
    start = min(start, len(text) - (width - 1))  # a window near the end is still full
    if start <= 0:
        return _shorten(text, width)
    return ELLIPSIS + _shorten(text[start:], width - 1)


def _shorten(text: str, width: int) -> str:
    """`text`, or its first `width - 1` characters and "…"."""
    if len(text) <= width:
        return text
    end = max(1, width - 1)
    # Do not part an accent or an emoji sequence from its base.
    while end > 1 and (
        unicodedata.combining(text[end]) or text[end] in "\u200d\ufe0f" or text[end - 1] == "\u200d"
    ):
        end -= 1
    return text[:end] + ELLIPSIS


def _whole(
    section: _Section, status: SectionStatus, max_changes: int, max_chars: int
) -> SectionChange:
    """A section present in only one version, its sentences as all added or all removed."""
    texts = [_shorten(unit.text, max_chars) for unit in section.units]
    if status is SectionStatus.ADDED:
        changes = [SentenceChange(ChangeKind.ADDED, after=text) for text in texts]
    else:
        changes = [SentenceChange(ChangeKind.REMOVED, before=text) for text in texts]
    return SectionChange(
        section.title, status, tuple(changes[:max_changes]), max(0, len(changes) - max_changes)
    )
