"""The report as a list of typed blocks, parsed from the restricted HTML that templates emit.

Report templates (`prompts/<type>/<lang>/report.html.j2`) are rendered with autoescaping, so
user text can never become markup. They may only use these elements:

    <h1>title</h1>                      the report's title
    <p class="subtitle">…</p>           a centred line under the title (name, post)
    <p class="salutation">…</p>         a paragraph without first-line indent
    <h2>一、…</h2> <h3>（一）…</h3> <h4>1. …</h4>   headings, numbered by the template
    <p>…</p>                            a body paragraph
    <p class="missing">…</p>            a placeholder for an answer not yet given
    <p class="signature">…</p>          right-aligned lines at the end (name, date)

Both the chat message and the Word document are made from the parsed blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser

from bot.interview.questionnaire import Language


class BlockKind(StrEnum):
    """What a block is, which decides how it is laid out."""

    TITLE = "title"
    SUBTITLE = "subtitle"
    SALUTATION = "salutation"
    HEADING1 = "heading1"
    HEADING2 = "heading2"
    HEADING3 = "heading3"
    BODY = "body"
    MISSING = "missing"
    SIGNATURE = "signature"


@dataclass(frozen=True)
class Block:
    """One paragraph of the report, as plain (unescaped) text."""

    kind: BlockKind
    text: str


@dataclass(frozen=True)
class ReportDocument:
    """A rendered report: its language, title and blocks in order, and who wrote it."""

    language: Language
    title: str
    blocks: tuple[Block, ...]
    author: str = ""  # the file's author property; empty leaves it blank


class TemplateMarkupError(ValueError):
    """A report template emitted markup outside the restricted set."""


_TAGS = {
    "h1": BlockKind.TITLE,
    "h2": BlockKind.HEADING1,
    "h3": BlockKind.HEADING2,
    "h4": BlockKind.HEADING3,
}
_P_CLASSES = {
    None: BlockKind.BODY,
    "subtitle": BlockKind.SUBTITLE,
    "salutation": BlockKind.SALUTATION,
    "missing": BlockKind.MISSING,
    "signature": BlockKind.SIGNATURE,
}


class _BlockParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._open: tuple[str, BlockKind] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._open is not None:
            raise TemplateMarkupError(f"<{tag}> inside <{self._open[0]}>")
        attributes = dict(attrs)
        if tag == "p" and set(attributes) <= {"class"} and attributes.get("class") in _P_CLASSES:
            self._open = (tag, _P_CLASSES[attributes.get("class")])
        elif tag in _TAGS and not attributes:
            self._open = (tag, _TAGS[tag])
        else:
            raise TemplateMarkupError(f"unsupported element <{tag} {attrs}>")
        self._text = []

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or self._open[0] != tag:
            raise TemplateMarkupError(f"unexpected </{tag}>")
        # Templates emit one element per line of an answer, so a line break inside an element can
        # only be the template's indentation: every run of whitespace becomes a single space.
        text = " ".join("".join(self._text).split())
        if text:
            self.blocks.append(Block(self._open[1], text))
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)
        elif data.strip():
            raise TemplateMarkupError(f"text outside any block: {data.strip()[:40]!r}")

    def finish(self) -> list[Block]:
        """End the input and return the blocks; an element left open is an error."""
        self.close()
        if self._open is not None:
            raise TemplateMarkupError(f"unclosed <{self._open[0]}>")
        return self.blocks


def parse_report(html: str, *, language: Language) -> ReportDocument:
    """Parse a rendered report template into blocks; reject anything outside the markup set."""
    parser = _BlockParser()
    parser.feed(html)
    blocks = parser.finish()
    titles = [b.text for b in blocks if b.kind is BlockKind.TITLE]
    if len(titles) != 1:
        raise TemplateMarkupError(f"a report needs exactly one <h1>, found {len(titles)}")
    return ReportDocument(language=language, title=titles[0], blocks=tuple(blocks))
