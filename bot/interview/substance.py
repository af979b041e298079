"""Is an answer thin? The checks behind the one follow-up question."""

from __future__ import annotations

from enum import StrEnum

from bot.interview.questionnaire import Question
from bot.review.detectors import has_figure


class Lack(StrEnum):
    """What a thin answer is missing."""

    LENGTH = "length"
    FIGURE = "figure"


def lacks_substance(question: Question, text: str) -> Lack | None:
    """What the answer lacks by the question's own rules, or None if it is substantial.

    The figure test is the review's (rule `result_without_figure`): an entry the follow-up
    accepted is never returned by the review for want of a figure, and the reverse.
    """
    if question.min_chars and len("".join(text.split())) < question.min_chars:
        return Lack.LENGTH
    if question.needs_figure and not has_figure(text):
        return Lack.FIGURE
    return None
