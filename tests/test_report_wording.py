"""The draft reads like a report, not a paste of answers: the cadre's own enumerators are
not doubled, and the post is said with its unit once (issue 9, first defects)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import PROJECT_DIR
from bot.interview.questionnaire import load_catalogue
from bot.render.document import BlockKind, ReportDocument
from bot.render.report import (
    Author,
    make_environment,
    post_in_unit,
    render_report,
    without_enumerator,
)

PROMPTS = PROJECT_DIR / "prompts"
CATALOGUE = load_catalogue(PROMPTS)
ENV = make_environment(PROMPTS)


def draft(
    language: str, answers: dict[str, tuple[str, ...]], author: Author, report: str = "annual"
) -> str:
    document: ReportDocument = render_report(
        ENV,
        CATALOGUE.get(report, language),  # type: ignore[arg-type]
        answers=answers,
        skipped=set(),
        author=author,
        period="2026",
        today=date(2026, 11, 25),
    )
    return "\n".join(block.text for block in document.blocks)


ZH = Author(name="王强", position="某市财政局副局长", organisation="某市财政局")
EN = Author(
    name="Anna Clarke",
    position="Deputy Director, Finance Bureau",
    organisation="City Finance Bureau",
)


@pytest.mark.parametrize("report", ["annual", "integrity"])
def test_the_cadres_own_enumerators_are_not_doubled(report: str) -> None:
    text = draft(
        "zh",
        {
            "shortcomings": (
                "一是深入基层调研还不够。",
                "二是，统筹协调能力有待提高。",
                "③创新意识不强。",
            )
        },
        ZH,
        report,
    )
    assert "一是深入基层调研还不够" in text and "二是统筹协调能力有待提高" in text
    assert "一是一是" not in text and "二是二是" not in text and "三是③" not in text
    english = draft(
        "en",
        {"shortcomings": ("1. Too little time in the field.", "2) Weak coordination.")},
        EN,
        report,
    )
    assert "1. Too little time in the field." in english and "2. Weak coordination." in english
    assert "1. 1." not in english and "2. 2)" not in english


@pytest.mark.parametrize("report", ["annual", "integrity"])
def test_the_post_is_said_with_its_unit_once(report: str) -> None:
    text = draft("zh", {}, ZH, report)
    assert "本人现任某市财政局副局长。" in text and "某市财政局某市财政局" not in text
    english = draft("en", {}, EN, report)
    assert "Deputy Director, City Finance Bureau" in english
    assert "Finance Bureau, City Finance Bureau" not in english


@pytest.mark.parametrize(
    ("position", "organisation", "language", "said"),
    [
        ("副局长", "某市财政局", "zh", "某市财政局副局长"),
        ("某市财政局副局长", "某市财政局", "zh", "某市财政局副局长"),
        ("财政局副局长", "某市财政局", "zh", "某市财政局副局长"),
        ("党组书记", "", "zh", "党组书记"),
        ("Deputy Director", "City Finance Bureau", "en", "Deputy Director, City Finance Bureau"),
        ("Director of City Housing", "City Housing", "en", "Director of City Housing"),
    ],
)
def test_post_in_unit(position: str, organisation: str, language: str, said: str) -> None:
    assert post_in_unit(position, organisation, language) == said


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("一是深入基层", "深入基层"),
        ("第二，加强学习", "加强学习"),
        ("（三）完善制度", "完善制度"),
        ("4、狠抓落实", "狠抓落实"),
        ("1.5倍的增长", "1.5倍的增长"),  # a number, not an enumerator
        ("第一书记驻村", "第一书记驻村"),  # a title, not an enumerator
        ("First, more field visits", "more field visits"),
        ("a) fewer meetings", "fewer meetings"),
        ("一是", "一是"),  # nothing else: kept
    ],
)
def test_without_enumerator(typed: str, kept: str) -> None:
    assert without_enumerator(typed) == kept


def test_list_items_end_as_sentences_of_the_report() -> None:
    text = draft("zh", {"shortcomings": ("调研不够深入；", "协调能力不强", "创新意识不足。")}, ZH)
    assert "一是调研不够深入。" in text and "二是协调能力不强。" in text
    assert "三是创新意识不足。" in text and "；" not in text
    english = draft("en", {"goals": ("Open two clinics;", "Cut waiting times")}, EN)
    assert "1. Open two clinics." in english and "2. Cut waiting times." in english


@pytest.mark.parametrize("report", ["annual", "integrity"])
def test_lead_ins_agree_with_the_number_of_items(report: str) -> None:
    one = draft(
        "zh", {"shortcomings": ("调研不够深入。",), "improvements": ("每月下基层。",)}, ZH, report
    )
    assert "以下不足" not in one and "主要不足是：" in one
    assert "从以下方面" not in one and "我的改进措施是：" in one
    two = draft("zh", {"shortcomings": ("调研不够深入。", "协调能力不强。")}, ZH, report)
    assert "以下不足：" in two
    # One answer holding a list typed line by line is several items.
    lines = draft("zh", {"goals": ("抓好项目建设。\n抓好队伍建设。",)}, ZH, report)
    assert "我将重点做好以下工作：" in lines
    english = draft(
        "en", {"lessons_learnt": ("Listen first.",), "goals": ("Open a clinic.",)}, EN, report
    )
    assert "this is the lesson I draw:" in english and "My main goal for next year is:" in english
    several = draft("en", {"lessons_learnt": ("Listen first.", "Measure.")}, EN, report)
    assert "these are the lessons I draw:" in several


@pytest.mark.parametrize(
    ("report", "language"), [(r, lang) for r in ("annual", "integrity") for lang in ("zh", "en")]
)
def test_every_section_has_a_lead_and_subheadings_are_not_form_labels(
    report: str, language: str
) -> None:
    questionnaire = CATALOGUE.get(report, language)  # type: ignore[arg-type]
    answers = {q.id: (f"Answer to {q.id}.",) for q in questionnaire.questions}
    document = render_report(
        ENV,
        questionnaire,
        answers=answers,
        skipped=set(),
        author=ZH if language == "zh" else EN,
        period="2026",
        today=date(2026, 11, 25),
    )
    blocks = document.blocks
    labels = {q.label for q in questionnaire.questions}
    headings = [b for b in blocks if b.kind is BlockKind.HEADING2]  # <h3>
    assert headings and not [h.text for h in headings if h.text.split(" ", 1)[-1] in labels]
    assert not [h for h in headings if any(h.text.endswith(label) for label in labels)]
    # The block after each section heading is a sentence of the report, not an answer.
    for index, block in enumerate(blocks):
        if block.kind is BlockKind.HEADING1:  # <h2>
            following = blocks[index + 1]
            assert following.kind is BlockKind.BODY and "Answer to" not in following.text


def test_a_lone_item_keeps_no_enumerator_of_its_own() -> None:
    text = draft("zh", {"shortcomings": ("一是深入基层调研还不够；",)}, ZH)
    assert "主要不足是：\n深入基层调研还不够。" in text
    listed = draft("zh", {"shortcomings": ("一是调研不够；\n二是协调不够；",)}, ZH)
    assert "一是调研不够。" in listed and "二是协调不够。" in listed
