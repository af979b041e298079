"""The report as Telegram messages (parse_mode HTML), split to fit Telegram's length limit.

Telegram counts a message's length in UTF-16 code units, so an emoji counts twice. We count the
HTML as sent, entities and tags included: more conservative than Telegram (which counts the
parsed text), but a message we produce is never rejected as too long.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator

from bot.render.document import Block, BlockKind, ReportDocument

TELEGRAM_LIMIT = 4096
BLOCK_SEPARATOR = "\n\n"
_SEPARATOR_SIZE = len(BLOCK_SEPARATOR)

_TAGS: dict[BlockKind, str] = {
    BlockKind.TITLE: "b",
    BlockKind.HEADING1: "b",
    BlockKind.HEADING2: "b",
    BlockKind.HEADING3: "b",
    BlockKind.MISSING: "i",
}
# The longest tag pair plus the costliest character ("&" -> "&amp;"): below this a piece of a
# block could hold no text at all and splitting would never end.
_MIN_LIMIT = len("<b>&amp;</b>")
# Full-width terminators end a sentence on their own; an ASCII one not before a digit ("98.6").
# Closing quotes and brackets stay with their sentence.
_SENTENCE_END = re.compile(r"(?:[。！？]|[.!?](?!\d))[”’\"'）)」』]*")
_CLAUSE_MARKS = ("，", "；", "、", "：", ";", ",", ":")
_JOINERS = frozenset("\u200d\ufe0e\ufe0f")


def utf16_len(s: str) -> int:
    """Length of `s` in UTF-16 code units, as Telegram counts it."""
    return len(s.encode("utf-16-le")) // 2


def to_chat_messages(
    doc: ReportDocument, *, limit: int = TELEGRAM_LIMIT, lead: str = ""
) -> list[str]:
    """The report as HTML messages of at most `limit` UTF-16 units, split between blocks.

    `lead`, HTML to be read before the report (its header), opens the first message when
    the report's first block fits beside it, and is a message of its own otherwise.
    """
    if limit < _MIN_LIMIT:
        raise ValueError(f"a message limit of {limit} cannot hold any text")
    if utf16_len(lead) > limit:
        raise ValueError(f"a lead of {utf16_len(lead)} units does not fit in {limit}")
    messages: list[str] = []
    current: list[str] = [lead] if lead.strip() else []
    size = utf16_len(lead) if current else 0
    for block in doc.blocks:
        if not block.text.strip():
            continue  # Telegram rejects a message that is only whitespace.
        pieces = _html_pieces(block, limit)
        if len(pieces) == 1 and current and size + _SEPARATOR_SIZE + utf16_len(pieces[0]) <= limit:
            current.append(pieces[0])
            size += _SEPARATOR_SIZE + utf16_len(pieces[0])
            continue
        if current:
            messages.append(BLOCK_SEPARATOR.join(current))
        # The pieces of a cut block are messages of their own, so no blank line is ever
        # inserted inside a paragraph; only the last piece shares its message with what follows.
        messages.extend(pieces[:-1])
        current, size = [pieces[-1]], utf16_len(pieces[-1])
    if current:
        messages.append(BLOCK_SEPARATOR.join(current))
    return messages


def _html_pieces(block: Block, limit: int) -> list[str]:
    """A block as HTML, cut into pieces of at most `limit` units only when it is longer."""
    whole = _block_html(block, block.text)
    if utf16_len(whole) <= limit:
        return [whole]
    tag = _TAGS.get(block.kind)
    budget = limit - (utf16_len(f"<{tag}></{tag}>") if tag else 0)
    # A piece of nothing but whitespace would be an empty message once Telegram trims it.
    pieces = (piece for piece in _pieces(block.text, budget) if piece.strip())
    return [_block_html(block, piece) for piece in pieces]


def _block_html(block: Block, text: str) -> str:
    """One block (or a piece of it) as Telegram HTML."""
    escaped = html.escape(text, quote=False)
    tag = _TAGS.get(block.kind)
    return f"<{tag}>{escaped}</{tag}>" if tag else escaped


def _pieces(text: str, budget: int) -> Iterator[str]:
    """Consecutive slices of `text`, each escaping to at most `budget` UTF-16 units."""
    start = 0
    while start < len(text):
        end = _fitting_end(text, start, budget)
        if end < len(text):
            end = _cut_point(text, start, end)
        yield text[start:end]
        start = end


def _fitting_end(text: str, start: int, budget: int) -> int:
    """The furthest index such that text[start:index] escapes to at most `budget` units."""
    used = 0
    for index in range(start, len(text)):
        used += _escaped_cost(text[index])
        if used > budget:
            return index
    return len(text)


def _escaped_cost(char: str) -> int:
    """UTF-16 units a character takes once escaped: 5 for &, 4 for < >, 2 outside the BMP."""
    if char == "&":
        return 5
    if char in "<>":
        return 4
    return 2 if ord(char) > 0xFFFF else 1


def _cut_point(text: str, start: int, end: int) -> int:
    """Where to cut in text[start:end]: after a line, else a sentence, else a clause, else at
    a space, whichever first leaves the piece at least half full; else a hard cut. (The only
    sentence end may be the "1." of a list item: cutting there sends two characters alone.)"""
    # Only cut after something visible, so that no piece is blank.
    first_visible = _skip_spaces(text, start, end)
    if first_visible == end:
        return end
    half = first_visible + (end - first_visible) // 2
    line = text.rfind("\n", half, end)
    clause = max(text.rfind(mark, half, end) for mark in _CLAUSE_MARKS)
    space = next((i for i in range(end - 1, half, -1) if text[i].isspace()), -1)
    for cut in (
        line + 1 if line >= half else None,
        _last_sentence_end(text, half, end),
        clause + 1 if clause >= half else None,
        space if space > half else None,
    ):
        if cut is not None and cut > first_visible:
            return _skip_spaces(text, cut, end)
    return _hard_cut(text, first_visible, end)


def _last_sentence_end(text: str, start: int, end: int) -> int | None:
    """Index just after the last sentence ending before `end`, if any."""
    # One character past `end` lets the look-ahead see whether "98." is followed by a digit.
    found = None
    for match in _SENTENCE_END.finditer(text, start, min(end + 1, len(text))):
        if match.start() + 1 <= end:
            found = min(match.end(), end)
    return found


def _skip_spaces(text: str, index: int, end: int) -> int:
    """Move past whitespace: it ends the earlier piece, where Telegram's trimming hides it."""
    while index < end and text[index].isspace():
        index += 1
    return index


def _hard_cut(text: str, start: int, end: int) -> int:
    """Cut at `end`, moved back so an emoji sequence or accented letter stays whole."""
    cut = end
    while cut - 1 > start and _binds_to_previous(text[cut], text[cut - 1]):
        cut -= 1
    return cut


def _binds_to_previous(char: str, previous: str) -> bool:
    """Whether cutting between `previous` and `char` would break one visible character."""
    return (
        char in _JOINERS
        or previous == "\u200d"
        or unicodedata.combining(char) != 0
        or 0x1F3FB <= ord(char) <= 0x1F3FF  # skin-tone modifiers
    )
