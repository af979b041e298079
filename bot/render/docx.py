"""The report as a Word document: official-document layout in Chinese, business layout in English.

The Chinese layout follows GB/T 9704-2012 as debriefing reports are printed: A4, 仿宋 body at
3号 with a two-character indent on a fixed 28 pt line, 小标宋 title, page numbers "— N —"
alternating right and left. Formatting is applied directly to paragraphs and runs rather than
through styles, so the text keeps its look when pasted into another office's template, which is
how many reports end up being filed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from types import MappingProxyType

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.oxml.text.paragraph import CT_P
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Length, Mm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from bot.interview.questionnaire import Language
from bot.render.document import BlockKind, ReportDocument

# Font names as Chinese Word installations know them; a machine without one substitutes itself.
XIAOBIAOSONG = "方正小标宋简体"
FANGSONG = "仿宋_GB2312"
HEITI = "黑体"
KAITI = "楷体_GB2312"
SONGTI = "宋体"
CALIBRI = "Calibri"

_ZERO = Pt(0)
# Not in python-docx's RELATIONSHIP_TYPE: a Microsoft extension, not part of the standard.
_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


@dataclass(frozen=True)
class BlockStyle:
    """How one kind of block looks: its run font and its paragraph shape."""

    font: str
    size: Length
    bold: bool = False
    italic: bool = False
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT
    first_line_indent: Length = _ZERO
    space_before: Length = _ZERO
    space_after: Length = _ZERO
    highlight: WD_COLOR_INDEX | None = None
    outline_level: int | None = None  # lets Word's navigation pane and TOC find headings


@dataclass(frozen=True)
class PageNumberStyle:
    """The page number in the footer: its font, decoration and where it sits."""

    font: str
    size: Length
    prefix: str
    suffix: str
    odd_align: WD_ALIGN_PARAGRAPH
    even_align: WD_ALIGN_PARAGRAPH | None  # None: odd and even pages share one footer
    inset: Length  # distance from the margin on the aligned side


@dataclass(frozen=True)
class Layout:
    """Everything that differs between the Chinese and the English document."""

    margins: tuple[Length, Length, Length, Length]  # top, bottom, left, right
    footer_distance: Length
    line_spacing: Length | float  # a Length is an exact spacing, a float a multiple
    gap: Length  # blank space after the title group and before the signature
    language_tag: str  # the document's language, as in its file properties
    languages: tuple[str, str]  # Latin and East Asian proofing language
    blocks: Mapping[BlockKind, BlockStyle]
    page_number: PageNumberStyle


A4 = (Mm(210), Mm(297))

ZH_LAYOUT = Layout(
    margins=(Mm(37), Mm(35), Mm(28), Mm(26)),
    # Puts the page number about 7 mm under the text block, as GB/T 9704 asks.
    footer_distance=Mm(23),
    line_spacing=Pt(28),
    gap=Pt(28),
    language_tag="zh-CN",
    languages=("en-US", "zh-CN"),
    blocks=MappingProxyType(
        {
            BlockKind.TITLE: BlockStyle(XIAOBIAOSONG, Pt(22), align=WD_ALIGN_PARAGRAPH.CENTER),
            BlockKind.SUBTITLE: BlockStyle(KAITI, Pt(16), align=WD_ALIGN_PARAGRAPH.CENTER),
            BlockKind.SALUTATION: BlockStyle(FANGSONG, Pt(16)),
            BlockKind.HEADING1: BlockStyle(
                HEITI, Pt(16), first_line_indent=Pt(32), outline_level=0
            ),
            BlockKind.HEADING2: BlockStyle(
                KAITI, Pt(16), first_line_indent=Pt(32), outline_level=1
            ),
            BlockKind.HEADING3: BlockStyle(
                FANGSONG, Pt(16), first_line_indent=Pt(32), outline_level=2
            ),
            BlockKind.BODY: BlockStyle(
                FANGSONG, Pt(16), align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_line_indent=Pt(32)
            ),
            BlockKind.MISSING: BlockStyle(
                FANGSONG, Pt(16), first_line_indent=Pt(32), highlight=WD_COLOR_INDEX.YELLOW
            ),
            BlockKind.SIGNATURE: BlockStyle(FANGSONG, Pt(16), align=WD_ALIGN_PARAGRAPH.RIGHT),
        }
    ),
    page_number=PageNumberStyle(
        font=SONGTI,
        size=Pt(14),
        prefix="— ",
        suffix=" —",
        odd_align=WD_ALIGN_PARAGRAPH.RIGHT,
        even_align=WD_ALIGN_PARAGRAPH.LEFT,
        inset=Pt(14),  # one 4号 character in from the edge of the text block
    ),
)

EN_LAYOUT = Layout(
    margins=(Mm(25), Mm(25), Mm(25), Mm(25)),
    footer_distance=Mm(12.5),
    line_spacing=1.15,
    gap=Pt(12),
    language_tag="en-GB",
    languages=("en-GB", "zh-CN"),
    blocks=MappingProxyType(
        {
            BlockKind.TITLE: BlockStyle(
                CALIBRI, Pt(18), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=Pt(6)
            ),
            BlockKind.SUBTITLE: BlockStyle(
                CALIBRI, Pt(12), align=WD_ALIGN_PARAGRAPH.CENTER, space_after=Pt(6)
            ),
            BlockKind.SALUTATION: BlockStyle(CALIBRI, Pt(12), space_after=Pt(6)),
            BlockKind.HEADING1: BlockStyle(
                CALIBRI, Pt(14), bold=True, space_before=Pt(12), space_after=Pt(6), outline_level=0
            ),
            BlockKind.HEADING2: BlockStyle(
                CALIBRI, Pt(13), bold=True, space_before=Pt(10), space_after=Pt(6), outline_level=1
            ),
            BlockKind.HEADING3: BlockStyle(
                CALIBRI,
                Pt(13),
                bold=True,
                italic=True,
                space_before=Pt(6),
                space_after=Pt(6),
                outline_level=2,
            ),
            BlockKind.BODY: BlockStyle(CALIBRI, Pt(12), space_after=Pt(6)),
            BlockKind.MISSING: BlockStyle(
                CALIBRI, Pt(12), italic=True, space_after=Pt(6), highlight=WD_COLOR_INDEX.YELLOW
            ),
            BlockKind.SIGNATURE: BlockStyle(CALIBRI, Pt(12)),
        }
    ),
    page_number=PageNumberStyle(
        font=CALIBRI,
        size=Pt(10),
        prefix="",
        suffix="",
        odd_align=WD_ALIGN_PARAGRAPH.CENTER,
        even_align=None,
        inset=Pt(0),
    ),
)

LAYOUTS: Mapping[Language, Layout] = MappingProxyType({"zh": ZH_LAYOUT, "en": EN_LAYOUT})

_TITLE_GROUP = frozenset({BlockKind.TITLE, BlockKind.SUBTITLE})
# Styles the report refers to (footers use "Footer"), with the ones they are based on or linked to.
_KEPT_STYLES = frozenset(
    {"Normal", "DefaultParagraphFont", "TableNormal", "NoList"}
    | {"Header", "HeaderChar", "Footer", "FooterChar"}
)


def to_docx(doc: ReportDocument) -> bytes:
    """The report as the bytes of a .docx file, laid out for its language."""
    document = docx.Document(BytesIO(_empty_report(doc.language)))
    _set_properties(document, doc.title, doc.author)
    _add_blocks(document, doc)
    return _saved(document)


@cache
def _empty_report(language: Language) -> bytes:
    """A .docx with the page, footers and defaults of the language's layout and no text yet."""
    # Built once per process: loading python-docx's template (two 430 KB style parts), trimming
    # it and setting it up took half the time to make a report. Only the bytes are kept, so
    # each report starts from its own copy and no XML is shared between threads.
    layout = LAYOUTS[language]
    document = docx.Document()
    _drop_template_extras(document)
    _drop_unused_styles(document)
    _clear_properties(document, layout.language_tag)
    _set_languages(document, layout.languages)
    _set_page(document.sections[0], layout)
    _add_page_numbers(document, layout.page_number)
    return _saved(document)


def _saved(document: Document) -> bytes:
    """The document as the bytes of a .docx file."""
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def _set_font(run: Run, name: str, size: Length) -> None:
    """Give a run one font in every slot Word chooses from, the East Asian one included."""
    run.font.name = name  # the ASCII and high-ANSI slots
    fonts = run._r.get_or_add_rPr().get_or_add_rFonts()
    # Without the East Asian slot Word sets Chinese characters in the default font.
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:cs"), name)
    run.font.size = size


def _drop_template_extras(document: Document) -> None:
    """Drop parts of python-docx's template that a report does not need."""
    # stylesWithEffects (430 KB, read only by Word 2010) doubles the time to save; numbering
    # refers to list styles we drop; the custom XML is an empty bibliography, three more parts
    # to read and write for every report; the thumbnail would show python-docx's sample page as
    # the file's preview. Word recreates any of them if the reader needs it.
    for rel_id, rel in list(document.part.rels.items()):
        if rel.reltype in (_STYLES_WITH_EFFECTS, RT.NUMBERING, RT.CUSTOM_XML):
            document.part.drop_rel(rel_id)
    package_rels = document.part.package.rels
    for rel_id, rel in list(package_rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package_rels[rel_id]


def _drop_unused_styles(document: Document) -> None:
    """Remove the template's styles that no paragraph of ours uses."""
    # The template defines 164 styles; writing them out took most of the time to save. Word
    # still offers its built-in styles to a reader who edits the report.
    styles = document.styles.element
    # One slice assignment: removing the styles one by one costs several milliseconds more.
    styles[:] = [
        child
        for child in styles
        if child.tag != qn("w:style") or child.get(qn("w:styleId")) in _KEPT_STYLES
    ]


def _clear_properties(document: Document, language_tag: str) -> None:
    """File properties without any trace of the template's author, in the report's language."""
    properties = document.core_properties
    properties.author = ""
    properties.last_modified_by = ""
    properties.comments = ""
    properties.language = language_tag


def _set_properties(document: Document, title: str, author: str) -> None:
    """File properties of one report: its title and who wrote it."""
    properties = document.core_properties
    properties.title = title
    properties.author = author


def _set_languages(document: Document, languages: tuple[str, str]) -> None:
    """Declare the proofing languages, Chinese for East Asian text."""
    # The template declares Japanese for East Asian theme fonts, which makes Word pick Japanese
    # glyphs and fallback fonts for Chinese text.
    latin, east_asian = languages
    default_path = "/".join(qn(tag) for tag in ("w:docDefaults", "w:rPrDefault", "w:rPr", "w:lang"))
    for lang in (
        document.styles.element.find(default_path),
        document.settings.element.find(qn("w:themeFontLang")),
    ):
        if lang is not None:
            lang.set(qn("w:val"), latin)
            lang.set(qn("w:eastAsia"), east_asian)


def _set_page(section: Section, layout: Layout) -> None:
    """A4 paper with the layout's margins (the template is US Letter)."""
    section.page_width, section.page_height = A4
    top, bottom, left, right = layout.margins
    section.top_margin, section.bottom_margin = top, bottom
    section.left_margin, section.right_margin = left, right
    section.footer_distance = layout.footer_distance


def _add_blocks(document: Document, doc: ReportDocument) -> None:
    """One paragraph per block, one per line of a multi-line body."""
    looks: dict[tuple[BlockKind, bool], CT_P] = {}  # each look's model paragraph, parsed once
    previous: BlockKind | None = None
    for block in doc.blocks:
        for line in _lines(block.text):
            look = (block.kind, _starts_group(previous, block.kind))
            if look not in looks:
                looks[look] = parse_xml(_formatted_paragraph(doc.language, *look))
            _add_paragraph_like(document, looks[look], line)
            previous = block.kind


@cache
def _formatted_paragraph(language: Language, kind: BlockKind, opens_group: bool) -> str:
    """The XML of a paragraph of one empty run, formatted as its kind of block."""
    # Formatted once per process: python-docx takes about 0.5 ms to format a paragraph and a run
    # through its API; parsing and copying the result takes microseconds.
    layout = LAYOUTS[language]
    style = layout.blocks[kind]
    # Outside any document: formatting a paragraph never reaches the part it would belong to.
    paragraph = Paragraph(OxmlElement("w:p"), None)  # type: ignore[arg-type]
    space_before = max(layout.gap, style.space_before) if opens_group else style.space_before
    _shape_paragraph(paragraph, style, layout.line_spacing, space_before)
    _add_run(paragraph, style)
    return paragraph._p.xml


def _add_paragraph_like(document: Document, model: CT_P, text: str) -> None:
    """A paragraph with the paragraph and run properties of `model`, holding `text`."""
    paragraph = document.add_paragraph()
    paragraph._p.extend(deepcopy(model))  # its properties and its run
    # add_text writes the text as it is: _lines leaves no tab or line break that Run.text would
    # have to look for, character by character, at ten times the cost.
    paragraph.runs[0].add_text(text)


def _lines(text: str) -> Iterable[str]:
    """The non-blank lines of a block, spaces and tabs collapsed: each becomes a paragraph with
    its own indent."""
    return (" ".join(line.split()) for line in text.splitlines() if line.strip())


def _starts_group(previous: BlockKind | None, kind: BlockKind) -> bool:
    """Whether a blank line goes before this block: after the title, before the signature."""
    after_title = previous in _TITLE_GROUP and kind not in _TITLE_GROUP
    before_signature = kind is BlockKind.SIGNATURE and previous not in (None, BlockKind.SIGNATURE)
    return after_title or before_signature


def _shape_paragraph(
    paragraph: Paragraph, style: BlockStyle, line_spacing: Length | float, space_before: Length
) -> None:
    """Alignment, indent and spacing, all set explicitly to override the template's defaults."""
    shape = paragraph.paragraph_format
    shape.alignment = style.align
    shape.first_line_indent = style.first_line_indent
    shape.line_spacing = line_spacing  # a Length makes Word use exactly this spacing
    shape.space_before = space_before
    shape.space_after = style.space_after
    if style.outline_level is not None:
        shape.keep_with_next = True  # a heading is never the last line of a page
        paragraph._p.get_or_add_pPr().get_or_add_outlineLvl().val = style.outline_level


def _add_run(paragraph: Paragraph, style: BlockStyle) -> None:
    """A run without text yet, in the block's font."""
    run = paragraph.add_run()
    _set_font(run, style.font, style.size)
    if style.bold:
        run.font.bold = True
    if style.italic:
        run.font.italic = True
    if style.highlight is not None:
        run.font.highlight_color = style.highlight


def _add_page_numbers(document: Document, style: PageNumberStyle) -> None:
    """Page numbers in the footer, on alternating sides when the layout asks for it."""
    section = document.sections[0]
    _fill_footer(section.footer.paragraphs[0], style, style.odd_align)
    if style.even_align is not None:
        # With this setting the default footer serves odd pages only.
        document.settings.odd_and_even_pages_header_footer = True
        _fill_footer(section.even_page_footer.paragraphs[0], style, style.even_align)


def _fill_footer(paragraph: Paragraph, style: PageNumberStyle, align: WD_ALIGN_PARAGRAPH) -> None:
    """One footer paragraph: prefix, the PAGE field, suffix."""
    shape = paragraph.paragraph_format
    shape.alignment = align
    shape.space_before = shape.space_after = Pt(0)
    shape.line_spacing = 1.0
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        shape.right_indent = style.inset
    elif align == WD_ALIGN_PARAGRAPH.LEFT:
        shape.left_indent = style.inset
    runs = [paragraph.add_run(style.prefix)] if style.prefix else []
    runs += _add_page_field(paragraph)
    runs += [paragraph.add_run(style.suffix)] if style.suffix else []
    for run in runs:
        _set_font(run, style.font, style.size)


def _add_page_field(paragraph: Paragraph) -> list[Run]:
    """A PAGE field, which Word fills with the number of the page it is printed on."""
    begin, instruction, separate = paragraph.add_run(), paragraph.add_run(), paragraph.add_run()
    begin._r.append(_field_char("begin"))
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = " PAGE "
    instruction._r.append(code)
    separate._r.append(_field_char("separate"))
    result = paragraph.add_run("1")  # shown until Word updates the field
    end = paragraph.add_run()
    end._r.append(_field_char("end"))
    return [begin, instruction, separate, result, end]


def _field_char(kind: str) -> BaseOxmlElement:
    """A w:fldChar marking the begin, separate or end of a complex field."""
    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), kind)
    return element
