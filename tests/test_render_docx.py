"""The report as a Word document, read back with python-docx: page, fonts, paragraphs, footers."""

from __future__ import annotations

from io import BytesIO

import docx
import pytest
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Length, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from bot.interview.questionnaire import Language
from bot.render.document import Block, BlockKind, ReportDocument, parse_report
from bot.render.docx import to_docx

ZH_BLOCKS = (
    Block(BlockKind.TITLE, "2026年度述职报告"),
    Block(BlockKind.SUBTITLE, "张伟（市发展改革委副主任）"),
    Block(BlockKind.SALUTATION, "各位领导、同志们："),
    Block(BlockKind.BODY, "根据组织安排，现将本人一年来的履职情况报告如下，请予评议。"),
    Block(BlockKind.HEADING1, "一、主要工作及成效"),
    Block(BlockKind.HEADING2, "（一）加强理论学习"),
    Block(BlockKind.BODY, "全年完成13项计划中的12项，预算执行率98.6%。"),
    Block(BlockKind.HEADING3, "1. 项目建设"),
    Block(BlockKind.BODY, "牵头推进“智慧政务”平台建设，按期上线。"),
    Block(BlockKind.MISSING, "【待补充：存在的问题和不足】"),
    Block(BlockKind.BODY, "特此报告，请予评议。"),
    Block(BlockKind.SIGNATURE, "张伟"),
    Block(BlockKind.SIGNATURE, "2026年12月20日"),
)
ZH_FONTS = {
    BlockKind.TITLE: "方正小标宋简体",
    BlockKind.SUBTITLE: "楷体_GB2312",
    BlockKind.SALUTATION: "仿宋_GB2312",
    BlockKind.HEADING1: "黑体",
    BlockKind.HEADING2: "楷体_GB2312",
    BlockKind.HEADING3: "仿宋_GB2312",
    BlockKind.BODY: "仿宋_GB2312",
    BlockKind.MISSING: "仿宋_GB2312",
    BlockKind.SIGNATURE: "仿宋_GB2312",
}
EN_BLOCKS = (
    Block(BlockKind.TITLE, "Annual Self-Assessment 2026"),
    Block(BlockKind.SUBTITLE, "Jane Smith, Head of Finance"),
    Block(BlockKind.HEADING1, "1. Role and responsibilities"),
    Block(BlockKind.BODY, "I have led the finance team of twelve since March 2024."),
    Block(BlockKind.HEADING2, "1.1 Key results"),
    Block(BlockKind.BODY, "I delivered 12 of 13 planned projects."),
    Block(BlockKind.MISSING, "[To be completed: goals for next year]"),
    Block(BlockKind.SIGNATURE, "Jane Smith"),
)


def render(blocks: tuple[Block, ...], language: Language = "zh") -> Document:
    """Render a report to .docx bytes and read them back."""
    title = next(b.text for b in blocks if b.kind is BlockKind.TITLE)
    doc = ReportDocument(language=language, title=title, blocks=blocks)
    return docx.Document(BytesIO(to_docx(doc)))


@pytest.fixture(scope="module")
def zh() -> Document:
    return render(ZH_BLOCKS)


@pytest.fixture(scope="module")
def en() -> Document:
    return render(EN_BLOCKS, "en")


def paragraph(document: Document, text: str) -> Paragraph:
    [found] = [p for p in document.paragraphs if p.text == text]
    return found


def fonts(run: Run) -> tuple[str | None, str | None, str | None]:
    """The run's own ASCII, high-ANSI and East Asian font names."""
    rpr = run._element.rPr
    assert rpr is not None and rpr.rFonts is not None, f"run {run.text!r} sets no font"
    slots = ("w:ascii", "w:hAnsi", "w:eastAsia")
    return tuple(rpr.rFonts.get(qn(slot)) for slot in slots)


def mm(length: Length | None) -> float:
    assert length is not None
    return float(length.mm)


def size(run: Run) -> Length:
    assert run.font.size is not None
    return run.font.size


def footer_runs(document: Document) -> list[Run]:
    section = document.sections[0]
    footers = [section.footer, section.even_page_footer]
    return [run for footer in footers for p in footer.paragraphs for run in p.runs]


def test_zh_page_is_a4_with_official_document_margins(zh: Document) -> None:
    section = zh.sections[0]
    measured = [
        section.page_width,
        section.page_height,
        section.top_margin,
        section.bottom_margin,
        section.left_margin,
        section.right_margin,
    ]
    assert [mm(length) for length in measured] == pytest.approx([210, 297, 37, 35, 28, 26], abs=0.1)


def test_every_block_appears_once_in_document_order(zh: Document, en: Document) -> None:
    assert [p.text for p in zh.paragraphs] == [b.text for b in ZH_BLOCKS]
    assert [p.text for p in en.paragraphs] == [b.text for b in EN_BLOCKS]


def test_every_run_sets_the_east_asian_font(zh: Document) -> None:
    for block, p in zip(ZH_BLOCKS, zh.paragraphs, strict=True):
        assert p.runs
        for run in p.runs:
            assert fonts(run) == (ZH_FONTS[block.kind],) * 3, block


def test_footer_runs_set_the_east_asian_font_too(zh: Document) -> None:
    runs = footer_runs(zh)
    assert runs
    for run in runs:
        assert fonts(run) == ("宋体",) * 3
        assert run.font.size == Pt(14)


def test_title_is_centred_22pt_xiaobiaosong(zh: Document) -> None:
    title = paragraph(zh, "2026年度述职报告")

    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert title.runs[0].font.size == Pt(22)
    assert fonts(title.runs[0])[2] == "方正小标宋简体"


def test_subtitle_is_centred_16pt_kaiti(zh: Document) -> None:
    subtitle = paragraph(zh, "张伟（市发展改革委副主任）")

    assert subtitle.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert subtitle.runs[0].font.size == Pt(16)


def test_salutation_has_no_first_line_indent(zh: Document) -> None:
    salutation = paragraph(zh, "各位领导、同志们：")

    assert not salutation.paragraph_format.first_line_indent
    assert salutation.alignment in (None, WD_ALIGN_PARAGRAPH.LEFT)


def test_body_is_16pt_indented_two_characters_on_exact_28pt_lines(zh: Document) -> None:
    for block in ZH_BLOCKS:
        if block.kind is not BlockKind.BODY:
            continue
        p = paragraph(zh, block.text)
        shape = p.paragraph_format
        assert shape.first_line_indent == Pt(32)
        assert shape.line_spacing_rule == WD_LINE_SPACING.EXACTLY
        assert shape.line_spacing == Pt(28)
        assert p.runs[0].font.size == Pt(16)


def test_every_zh_paragraph_is_on_the_28pt_grid_without_extra_spacing_after(zh: Document) -> None:
    for p in zh.paragraphs:
        assert p.paragraph_format.line_spacing == Pt(28)
        assert p.paragraph_format.space_after == Pt(0)


def test_headings_use_heiti_kaiti_and_the_body_font_in_16pt(zh: Document) -> None:
    expected = {
        "一、主要工作及成效": "黑体",
        "（一）加强理论学习": "楷体_GB2312",
        "1. 项目建设": "仿宋_GB2312",
    }
    for text, font in expected.items():
        run = paragraph(zh, text).runs[0]
        assert fonts(run)[2] == font
        assert run.font.size == Pt(16)


def test_missing_answer_is_highlighted_in_the_body_font(zh: Document) -> None:
    run = paragraph(zh, "【待补充：存在的问题和不足】").runs[0]

    assert run.font.highlight_color == WD_COLOR_INDEX.YELLOW
    assert fonts(run)[2] == "仿宋_GB2312"


def test_signature_lines_are_right_aligned(zh: Document) -> None:
    for text in ("张伟", "2026年12月20日"):
        assert paragraph(zh, text).alignment == WD_ALIGN_PARAGRAPH.RIGHT


def test_a_blank_line_separates_the_title_and_the_signature_from_the_text(zh: Document) -> None:
    assert paragraph(zh, "各位领导、同志们：").paragraph_format.space_before == Pt(28)
    assert paragraph(zh, "张伟").paragraph_format.space_before == Pt(28)
    assert paragraph(zh, "2026年12月20日").paragraph_format.space_before == Pt(0)


def test_zh_page_numbers_alternate_right_and_left_with_dashes(zh: Document) -> None:
    section = zh.sections[0]
    odd, even = section.footer.paragraphs[0], section.even_page_footer.paragraphs[0]

    assert zh.settings.odd_and_even_pages_header_footer
    assert odd.alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert even.alignment == WD_ALIGN_PARAGRAPH.LEFT
    for footer in (odd, even):
        assert footer.text == "— 1 —"
        instructions = footer._p.xpath(".//w:instrText")
        assert [i.text.strip() for i in instructions] == ["PAGE"]


def test_multi_line_body_becomes_one_indented_paragraph_per_line() -> None:
    document = render(
        (Block(BlockKind.TITLE, "述职报告"), Block(BlockKind.BODY, "第一行。\n\n  第二行。"))
    )

    assert [p.text for p in document.paragraphs] == ["述职报告", "第一行。", "第二行。"]
    assert document.paragraphs[2].paragraph_format.first_line_indent == Pt(32)


def test_file_properties_carry_the_title_and_not_the_template_author(zh: Document) -> None:
    assert zh.core_properties.title == "2026年度述职报告"
    assert zh.core_properties.author == ""
    assert zh.core_properties.last_modified_by == ""
    assert zh.core_properties.comments == ""
    assert zh.core_properties.language == "zh-CN"


def test_file_properties_name_the_author_when_the_report_has_one() -> None:
    doc = ReportDocument(language="zh", title="述职报告", blocks=ZH_BLOCKS, author="张伟")

    properties = docx.Document(BytesIO(to_docx(doc))).core_properties

    assert properties.author == "张伟"
    assert properties.last_modified_by == ""


def test_each_report_starts_from_an_empty_page() -> None:
    first = render((Block(BlockKind.TITLE, "第一份"), Block(BlockKind.BODY, "甲。")))
    second = render((Block(BlockKind.TITLE, "第二份"), Block(BlockKind.BODY, "乙。")))

    assert [p.text for p in first.paragraphs] == ["第一份", "甲。"]
    assert [p.text for p in second.paragraphs] == ["第二份", "乙。"]
    assert second.core_properties.title == "第二份"
    assert [p.text for p in second.sections[0].footer.paragraphs] == ["— 1 —"]


def test_a_template_s_indentation_inside_a_paragraph_does_not_reach_the_document() -> None:
    html = "<h1>述职报告</h1>\n<p>\n    第一句，\n    第二句。\n</p>\n<p>a\t\tb  c</p>"
    document = docx.Document(BytesIO(to_docx(parse_report(html, language="zh"))))

    assert [p.text for p in document.paragraphs] == ["述职报告", "第一句， 第二句。", "a b c"]


def test_zh_document_declares_chinese_for_east_asian_text(zh: Document) -> None:
    [lang] = zh.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:lang")

    assert lang.get(qn("w:eastAsia")) == "zh-CN"


def test_en_page_is_a4_with_25mm_margins(en: Document) -> None:
    section = en.sections[0]
    margins = [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin]

    assert mm(section.page_width) == pytest.approx(210, abs=0.1)
    assert mm(section.page_height) == pytest.approx(297, abs=0.1)
    assert [mm(margin) for margin in margins] == pytest.approx([25] * 4, abs=0.1)


def test_en_body_is_12pt_calibri_with_6pt_after_and_no_indent(en: Document) -> None:
    p = paragraph(en, "I delivered 12 of 13 planned projects.")

    assert fonts(p.runs[0]) == ("Calibri",) * 3
    assert p.runs[0].font.size == Pt(12)
    assert p.paragraph_format.space_after == Pt(6)
    assert not p.paragraph_format.first_line_indent


def test_every_en_run_sets_its_font_in_every_slot(en: Document) -> None:
    for p in en.paragraphs:
        for run in p.runs:
            assert fonts(run) == ("Calibri",) * 3


def test_en_title_is_centred_bold_and_larger(en: Document) -> None:
    run = paragraph(en, "Annual Self-Assessment 2026").runs[0]

    assert paragraph(en, "Annual Self-Assessment 2026").alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert run.font.bold
    assert Pt(16) <= size(run) <= Pt(18)


def test_en_headings_are_bold_13_to_14pt(en: Document) -> None:
    for text in ("1. Role and responsibilities", "1.1 Key results"):
        run = paragraph(en, text).runs[0]
        assert run.font.bold
        assert Pt(13) <= size(run) <= Pt(14)


def test_en_signature_is_left_aligned(en: Document) -> None:
    assert paragraph(en, "Jane Smith").alignment in (None, WD_ALIGN_PARAGRAPH.LEFT)


def test_en_page_number_is_a_plain_centred_number_on_every_page(en: Document) -> None:
    footer = en.sections[0].footer.paragraphs[0]

    assert not en.settings.odd_and_even_pages_header_footer
    assert footer.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert footer.text == "1"
    assert [i.text.strip() for i in footer._p.xpath(".//w:instrText")] == ["PAGE"]
    assert all(fonts(run) == ("Calibri",) * 3 for run in footer.runs)
