"""Questionnaires, messages and report templates load, agree, and render every answer once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.config import PROJECT_DIR
from bot.interview.questionnaire import (
    Questionnaire,
    QuestionnaireError,
    load_catalogue,
    load_questionnaire,
)
from bot.render.document import BlockKind, TemplateMarkupError, parse_report
from bot.render.messages import MessagesError, load_messages
from bot.render.report import Author, make_environment, render_report
from bot.services.resources import load_resources

PROMPTS = PROJECT_DIR / "prompts"
CATALOGUE = load_catalogue(PROMPTS)
ENV = make_environment(PROMPTS)
AUTHOR = Author(name="张伟", position="副局长", organisation="市教育局")
KINDS = [(q.report_type, q.language) for q in CATALOGUE]


def render(q: Questionnaire, answers: dict[str, tuple[str, ...]], skipped: set[str] | None = None):
    return render_report(
        ENV,
        q,
        answers=answers,
        skipped=skipped or set(),
        author=AUTHOR,
        period="2026",
        today=date(2026, 11, 25),
    )


def test_both_report_types_exist_in_both_languages() -> None:
    assert {("annual", "zh"), ("annual", "en"), ("integrity", "zh"), ("integrity", "en")} <= set(
        KINDS
    )


def test_everything_under_prompts_loads_and_validates() -> None:
    resources = load_resources(
        PROMPTS, default_language="zh", zone="Asia/Shanghai", answer_limit=4096
    )
    assert resources.catalogue.report_types("zh")


@pytest.mark.parametrize(("report_type", "language"), KINDS)
def test_every_answer_appears_exactly_once_in_order(report_type: str, language: str) -> None:
    q = CATALOGUE.get(report_type, language)  # type: ignore[arg-type]
    answers = {
        question.id: tuple(f"M-{question.id}-{i}" for i in range(3 if question.multiple else 1))
        for question in q.questions
    }
    answers[q.questions[1].id] = (f"M-{q.questions[1].id}-0\nsecond line M-two",)
    document = render(q, answers)
    text = "\n".join(block.text for block in document.blocks)
    expected = [
        m
        for entries in answers.values()
        for e in entries
        for m in e.split("\n")
        if m.startswith("M-")
    ] + ["M-two"]
    for marker in expected:
        assert text.count(marker) == 1, marker
    order = [text.index(f"M-{question.id}-0") for question in q.questions]
    assert order == sorted(order)
    assert not [b for b in document.blocks if b.kind is BlockKind.MISSING]
    kinds = [b.kind for b in document.blocks]
    assert kinds[0] is BlockKind.TITLE and kinds[-1] is BlockKind.SIGNATURE
    assert "2026" in document.title


@pytest.mark.parametrize(("report_type", "language"), KINDS)
def test_unanswered_questions_are_marked_once_and_skipped_ones_left_out(
    report_type: str, language: str
) -> None:
    q = CATALOGUE.get(report_type, language)  # type: ignore[arg-type]
    skippable = {question.id for question in q.questions if question.skippable}
    blank = render(q, {})
    assert len([b for b in blank.blocks if b.kind is BlockKind.MISSING]) == len(q.questions)
    skipped = render(q, {}, skipped=skippable)
    missing = [b for b in skipped.blocks if b.kind is BlockKind.MISSING]
    assert len(missing) == len(q.questions) - len(skippable)


def test_user_text_cannot_inject_markup_into_the_report() -> None:
    q = CATALOGUE.get("annual", "zh")
    document = render(q, {"post": ("</p><h1>fake title</h1><p>",)})
    assert [b.text for b in document.blocks if b.kind is BlockKind.TITLE] == ["2026年度述职报告"]
    assert any("<h1>fake title</h1>" in b.text for b in document.blocks)


def test_a_template_with_unknown_markup_is_rejected() -> None:
    with pytest.raises(TemplateMarkupError):
        parse_report("<h1>t</h1><div>x</div>", language="zh")
    with pytest.raises(TemplateMarkupError):
        parse_report("<p>no title</p>", language="zh")


def test_a_questionnaire_with_duplicate_ids_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "questions.yaml"
    path.write_text(
        "report_type: annual\nlanguage: zh\nname: x\nsections:\n"
        "  - id: a\n    title: A\n    questions:\n"
        "      - {id: q, label: Q, text: ask}\n      - {id: q, label: Q, text: again}\n",
        encoding="utf-8",
    )
    with pytest.raises(QuestionnaireError, match="duplicate question ids: q"):
        load_questionnaire(path)


def test_a_substance_check_without_a_follow_up_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "questions.yaml"
    path.write_text(
        "report_type: annual\nlanguage: zh\nname: x\nsections:\n"
        "  - id: a\n    title: A\n    questions:\n"
        "      - {id: q, label: Q, text: ask, min_chars: 10}\n",
        encoding="utf-8",
    )
    with pytest.raises(QuestionnaireError, match="no follow_up"):
        load_questionnaire(path)


def test_message_catalogues_must_agree(tmp_path: Path) -> None:
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "zh.yaml").write_text("a: '{x}'\nb: y\n", encoding="utf-8")
    (tmp_path / "messages" / "en.yaml").write_text("a: '{y}'\nb: y\n", encoding="utf-8")
    with pytest.raises(MessagesError, match="placeholders differ"):
        load_messages(tmp_path)
    (tmp_path / "messages" / "en.yaml").write_text("a: '{x}'\n", encoding="utf-8")
    with pytest.raises(MessagesError, match="keys differ"):
        load_messages(tmp_path)
