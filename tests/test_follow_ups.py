"""The one follow-up to a thin answer asks for what it lacks (issue 9): detail when it is
too short, a figure when it has none; never a figure from an answer that has one."""

from __future__ import annotations

import pytest

from bot.config import PROJECT_DIR
from bot.interview import engine
from bot.interview.questionnaire import load_catalogue
from bot.interview.substance import lacks_substance

CATALOGUE = load_catalogue(PROJECT_DIR / "prompts")


@pytest.mark.parametrize("report", ["annual", "integrity"])
def test_a_short_answer_with_a_figure_is_asked_for_detail_not_a_figure(report: str) -> None:
    question = CATALOGUE.get(report, "en").question("key_results")
    text = "Cut the time of a treasury payment from 3 days to 4 hours."
    lack = lacks_substance(question, text)
    assert lack is not None
    asked = question.follow_up_for(lack)
    assert "say a little more" in asked and "figure" not in asked


@pytest.mark.parametrize(("language", "figure_word"), [("en", "figure"), ("zh", "数字")])
def test_a_long_answer_without_a_figure_is_asked_for_one(language: str, figure_word: str) -> None:
    questionnaire = CATALOGUE.get("annual", language)  # type: ignore[arg-type]
    question = questionnaire.question("key_results")
    text = (
        "Led the reform of the treasury payment process across every department of the city"
        if language == "en"
        else "牵头推进全市国库集中支付改革，理顺了各部门的审批流程，"
        "群众和企业普遍反映办事更方便快捷"
    )
    lack = lacks_substance(question, text)
    assert lack is not None and lack.value == "figure"
    assert figure_word in question.follow_up_for(lack)


def test_a_resumed_follow_up_asks_for_the_same_thing() -> None:
    questionnaire = CATALOGUE.get("annual", "en")
    state = engine.initial_state(questionnaire)
    answers = {
        "post": "Deputy Director of the City Finance Bureau since 2021, in charge of treasury "
        "payments, budgets and the office; 40 staff in three divisions.",
        "tasks": "Lead the treasury payment reform, cut payment times, and pass the annual audit.",
    }
    for question in questionnaire.questions:
        if question.id == "key_results":
            break
        text = answers.get(question.id, "Studied the new budget law monthly and applied it.")
        state = engine.step(questionnaire, state, engine.Text(text * 2)).state
        if state.awaiting_follow_up:
            state = engine.step(questionnaire, state, engine.KeepAsIs(question.id)).state
    shown = engine.step(
        questionnaire, state, engine.Text("Cut payment times from 3 days to 4 hours.")
    )
    assert shown.outputs == (engine.FollowUp("key_results", "length"),)
    resumed = engine.step(questionnaire, shown.state, engine.Resume())
    assert engine.FollowUp("key_results", "length") in resumed.outputs
