"""Whole interviews, answered the way a diligent cadre would."""

from __future__ import annotations

from pathlib import Path

from bot.config import PROJECT_DIR
from bot.interview.questionnaire import Language, Questionnaire, load_catalogue

NEXT = {"zh": "下一题", "en": "Next"}


def questionnaire(report_type: str = "annual", language: Language = "zh") -> Questionnaire:
    """A questionnaire from the real prompts/."""
    return load_catalogue(Path(PROJECT_DIR / "prompts")).get(report_type, language)


def answer_for(question_id: str, entry: int = 0, language: Language = "zh") -> str:
    """A substantial answer (long enough, with figures) carrying a unique marker."""
    marker = f"MARK-{question_id}-{entry}"
    if language == "zh":
        return (
            f"{marker}：本年度完成重点项目12个，较上年增长15%，覆盖全市38所学校，惠及师生2.3万人。"
        )
    return (
        f"{marker}: in 2026 I delivered 12 projects, 15% more than last year, covering "
        "38 schools and about 23,000 pupils and staff across the city."
    )


def script(q: Questionnaire, *, entries: int = 2) -> list[tuple[str, str]]:
    """What to do at every question: ('say', text) or ('press', label)."""
    steps: list[tuple[str, str]] = []
    for question in q.questions:
        count = entries if question.multiple else 1
        steps += [("say", answer_for(question.id, i, q.language)) for i in range(count)]
        if question.multiple:
            steps.append(("press", NEXT[q.language]))
    return steps


def markers(q: Questionnaire, *, entries: int = 2) -> list[str]:
    """The markers of every answer the script gives, in questionnaire order."""
    return [
        f"MARK-{question.id}-{i}"
        for question in q.questions
        for i in range(entries if question.multiple else 1)
    ]
