"""Is an answer thin? The checks behind the one follow-up question."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.interview.questionnaire import Question, Questionnaire, QuestionnaireError
from bot.review.detectors import EntryDetector, has_figure
from bot.review.rules import Rule


class Lack(StrEnum):
    """What a thin answer is missing, in order of precedence: an answer gets one follow-up,
    for the first of these it lacks.

    A stock conclusion (取得了较好成绩) comes first: there is no fact yet, and the fact asked
    for usually brings its figure and its length along; whose work it was only matters once
    there is a fact. A missing role comes before length and figure, since a cadre asked what
    they did themselves tells it in their own words, with detail. Length before figure as
    before: more detail often includes the figure.
    """

    STOCK = "stock"
    COLLECTIVE = "collective"
    LENGTH = "length"
    FIGURE = "figure"


# The review's entry detectors whose findings the interview follows up on at once, and what
# each finds lacking. Their rules (phrase lists, the questions they apply to) are the review's
# own objects, loaded from prompts/<type>/<lang>/review.yaml: one definition for both.
FOLLOWED_DETECTORS: Mapping[str, Lack] = {
    "stock_phrase_only": Lack.STOCK,
    "collective_only": Lack.COLLECTIVE,
}


@dataclass(frozen=True)
class Checks:
    """The review rules the interview applies to a questionnaire's answers, by question."""

    by_question: Mapping[str, tuple[tuple[Lack, Rule], ...]] = field(default_factory=dict)

    @classmethod
    def from_rules(cls, questionnaire: Questionnaire, rules: Iterable[Rule]) -> Checks:
        """The checks of a questionnaire's review rules: each followed rule applies to the
        questions it lists, as in the review. QuestionnaireError if such a question has no
        follow-up text for what the rule finds lacking."""
        by_question: dict[str, list[tuple[Lack, Rule]]] = {}
        for rule in rules:
            lack = FOLLOWED_DETECTORS.get(rule.detector)
            if lack is None:
                continue
            for question_id in rule.questions:
                if not questionnaire.question(question_id).asks_for(lack):
                    raise QuestionnaireError(
                        f"{questionnaire.report_type}/{questionnaire.language}/questions.yaml: "
                        f"question "
                        f"{question_id!r} is checked by rule {rule.id!r} but has no "
                        f"follow_up_{lack.value}"
                    )
                by_question.setdefault(question_id, []).append((lack, rule))
        return cls({question_id: tuple(found) for question_id, found in by_question.items()})

    def found(self, question_id: str, text: str) -> set[Lack]:
        """What the rules applying to a question find lacking in an entry."""
        lacks = set()
        for lack, rule in self.by_question.get(question_id, ()):
            detector = rule.spec
            assert isinstance(detector, EntryDetector)
            if detector.flags(rule.params, text):
                lacks.add(lack)
        return lacks


NO_CHECKS = Checks()  # the question's own length and figure checks only


def lacks_substance(question: Question, text: str, checks: Checks) -> Lack | None:
    """What the answer lacks, first in precedence (see `Lack`), or None if it is substantial.

    Length and figure are the question's own rules; a stock phrase and a missing personal
    role are the review's rules (`checks`). The figure test is the review's too (rule
    `result_without_figure`): an entry the follow-up accepted is never returned by the review
    for want of a figure, and the reverse.
    """
    lacks = checks.found(question.id, text)
    if question.min_chars and len("".join(text.split())) < question.min_chars:
        lacks.add(Lack.LENGTH)
    if question.needs_figure and not has_figure(text):
        lacks.add(Lack.FIGURE)
    return next((lack for lack in Lack if lack in lacks), None)
