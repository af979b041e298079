"""The one follow-up to a thin answer asks for what it lacks (issue 9): the fact behind a
stock phrase, the cadre's own part in what "we" did, detail when it is too short, a figure
when it has none; never two follow-ups for one answer. Stock phrases and "we" are the
pre-submission review's rules, so the interview and the review agree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlmodel import col, select

from bot.config import PROJECT_DIR
from bot.interview import engine
from bot.interview.questionnaire import Language, QuestionnaireError, load_catalogue
from bot.interview.substance import FOLLOWED_DETECTORS, NO_CHECKS, Checks, Lack, lacks_substance
from bot.review import load_rulebook
from bot.services.resources import load_resources
from bot.store.db import Database
from bot.store.models import Answer, Cadre, Interview
from tests.utils.journeys import answer_for, questionnaire
from tests.utils.teams import joins, supervisor_with_team
from tests.utils.telegram import FakeTelegram, FakeUser

PROMPTS = PROJECT_DIR / "prompts"
CATALOGUE = load_catalogue(PROMPTS)
RULEBOOK = load_rulebook(PROMPTS, CATALOGUE)


def checks_of(report: str, language: Language) -> Checks:
    q = CATALOGUE.get(report, language)
    return Checks.from_rules(q, RULEBOOK.rules_for(q))


# Through the bot ---------------------------------------------------------------------------

KEEP_ZH = "\n\n请在下一条消息中补充，或点击“保留原样”。"
KEEP_EN = "\n\nSend your addition as the next message, or press Keep as is."


async def entries_of(db: Database, question_id: str, *, cadre_user: int = 42) -> list[str]:
    """What is stored for a question of the user's interview, in order."""
    async with db.session() as session:
        statement = (
            select(Answer.text)
            .join(Interview, col(Interview.id) == col(Answer.interview_id))
            .join(Cadre, col(Cadre.id) == col(Interview.cadre_id))
            .where(
                col(Cadre.telegram_user_id) == cadre_user, col(Answer.question_id) == question_id
            )
            .order_by(col(Answer.seq))
        )
        return list((await session.exec(statement)).all())


async def at_key_results(
    user: FakeUser, language: Language = "zh", *, registered: bool = False
) -> None:
    """Register, start the annual report and answer every question before the results."""
    if language == "zh":
        if not registered:
            await user.registers()
        await user.starts_report("年度述职报告")
    else:
        await user.registers(
            name="Anna Clarke",
            position="Deputy Director",
            organisation="City Housing",
            language="English",
        )
        await user.starts_report("Annual debriefing report")
    for question in questionnaire("annual", language).questions:
        if question.id == "key_results":
            return
        await user.says(answer_for(question.id, 0, language))


async def test_a_result_credited_to_we_is_asked_what_the_cadre_did_personally(
    tg: FakeTelegram,
) -> None:
    user = tg.user(42)
    await at_key_results(user)
    # Also too short (16 of 20 characters): the missing role is asked for, not the length.
    replies = await user.says("我们局全年新建高标准农田2.6万亩")
    assert replies == [
        "这一条写的是“我们”或单位的成绩。您本人在其中做了什么——牵头、负责、亲自推动了哪一环？"
        + KEEP_ZH
    ]
    assert user.labels() == ["保留原样"]
    replies = await user.says("项目由我牵头，我带队逐村落实选址和验收。")
    assert replies[-1].startswith("已保存为第 1 项")


async def test_a_stock_phrase_is_asked_for_the_concrete_fact(tg: FakeTelegram) -> None:
    user = tg.user(42)
    await at_key_results(user)
    replies = await user.says("工作取得了较好成绩。")
    assert replies == [
        "“取得了较好成绩”“圆满完成”这类话说的是结论。能具体说说成绩是什么吗——完成了什么、"
        "数字或对比是多少？" + KEEP_ZH
    ]


async def test_the_fact_behind_a_stock_phrase_goes_before_it(
    tg: FakeTelegram, db: Database
) -> None:
    """The verdict stays, as the conclusion of its fact, not as the item's empty opening."""
    user = tg.user(42)
    await at_key_results(user)
    await user.says("一是工作取得了较好成绩。")
    await user.says("牵头把国库集中支付时间由3天缩短到4小时，全年零差错。")
    assert await entries_of(db, "key_results") == [
        "一是牵头把国库集中支付时间由3天缩短到4小时，全年零差错，工作取得了较好成绩。"
    ]
    # In English the verdict follows as its own sentence.
    other = tg.user(43, language_code="en")
    await at_key_results(other, "en")
    await other.says("Good results.")
    await other.says("Cut the time of a treasury payment from 3 days to 4 hours")
    assert await entries_of(db, "key_results", cadre_user=43) == [
        "Cut the time of a treasury payment from 3 days to 4 hours. Good results."
    ]


async def test_a_numbered_next_item_is_not_taken_for_the_addition(
    tg: FakeTelegram, db: Database
) -> None:
    """A list's follow-up waits, and the cadre goes on with item 2: it is item 2."""
    user = tg.user(7, language_code="en")
    await at_key_results(user, "en")
    replies = await user.says("1. Launched the integrated budget system;")
    assert replies[-1].startswith("Could you say a little more")
    await user.says("2. Shortened the average procurement cycle by 30%, saving 21 million yuan.")
    assert await entries_of(db, "key_results", cadre_user=7) == [
        "1. Launched the integrated budget system;",
        "2. Shortened the average procurement cycle by 30%, saving 21 million yuan.",
    ]


async def test_an_answer_lacking_everything_gets_one_follow_up_which_can_be_declined(
    tg: FakeTelegram,
) -> None:
    """A stock phrase, "we", too short and no figure: the stock phrase is asked about, once."""
    user = tg.user(7, language_code="en")
    await at_key_results(user, "en")
    replies = await user.says("We delivered good results.")
    assert replies == [
        "“Good results” and “successfully completed” are conclusions. Could you say what the "
        "result actually was: what was done, and what figure or comparison shows it?" + KEEP_EN
    ]
    replies = await user.presses("Keep as is")
    assert replies[-1].startswith("Saved as item 1.")
    replies = await user.says("Cut the repairs backlog by half.")
    assert replies[-1].startswith("Could you say a little more")  # the next item's own


async def test_the_addition_to_a_follow_up_is_not_followed_up_again(tg: FakeTelegram) -> None:
    user = tg.user(42)
    await at_key_results(user)
    await user.says("我们圆满完成了年度任务。")
    replies = await user.says("我们也很努力。")  # still "we", still no figure
    assert replies[-1].startswith("已保存为第 1 项")


async def test_an_answer_with_a_personal_role_and_a_figure_gets_no_follow_up(
    tg: FakeTelegram,
) -> None:
    user = tg.user(7, language_code="en")
    await at_key_results(user, "en")
    replies = await user.says(
        "I led the delivery of 412 new social homes against a target of 400, two months ahead "
        "of schedule and 3% under budget."
    )
    assert replies[-1].startswith("Saved as item 1.")


async def test_a_resumed_stock_phrase_follow_up_asks_for_the_same_thing(
    tg: FakeTelegram,
) -> None:
    user = tg.user(42)
    await at_key_results(user)
    await user.says("一是工作取得了较好成绩。")
    await user.says("/cancel")
    replies = await user.says("/start")
    assert replies == [
        "欢迎回来，我们从上次停下的地方继续。\n\n“取得了较好成绩”“圆满完成”这类话说的是结论。"
        "能具体说说成绩是什么吗——完成了什么、数字或对比是多少？" + KEEP_ZH
    ]


async def test_a_kept_stock_phrase_is_listed_by_the_pre_submission_review(
    tg: FakeTelegram,
) -> None:
    """The follow-up's rule is the review's: the entry the cadre kept is flagged again."""
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    await joins(cadre, code)
    await at_key_results(cadre, registered=True)
    await cadre.says("一是工作取得了较好成绩。")
    await cadre.presses("保留原样")
    await cadre.says(answer_for("key_results", 1))
    await cadre.presses("下一题")
    q = questionnaire("annual", "zh")
    for question in q.questions[q.index("key_results") + 1 :]:
        await cadre.says(answer_for(question.id, 0))
        if question.multiple:
            await cadre.presses("下一题")
    replies = await cadre.says("/submit")
    assert (
        "重点工作成效：“重点工作成效”这一条用“取得了较好成绩”“圆满完成”一类的套话下结论，"
        "看不出具体成绩。" in replies[-1]
    )
    assert "修改 1" in " ".join(cadre.labels())


# The checks, without the bot ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lack"),
    [
        ("We delivered good results.", Lack.STOCK),  # also "we", short, no figure
        ("We delivered 412 new social homes.", Lack.COLLECTIVE),  # also short
        ("I delivered 412 new social homes.", Lack.LENGTH),
        (
            "I led the delivery of the new social homes, working with the contractors every week.",
            Lack.FIGURE,
        ),
        (
            "I led the delivery of 412 new social homes, working with the contractors every week.",
            None,
        ),
    ],
)
def test_lacks_are_asked_for_in_order_of_precedence(text: str, lack: Lack | None) -> None:
    question = CATALOGUE.get("annual", "en").question("key_results")
    assert lacks_substance(question, text, checks_of("annual", "en")) is lack


def test_a_short_answer_with_a_figure_is_asked_for_detail_not_a_figure() -> None:
    question = CATALOGUE.get("annual", "en").question("key_results")
    text = "Cut the time of a treasury payment from 3 days to 4 hours."
    lack = lacks_substance(question, text, checks_of("annual", "en"))
    assert lack is Lack.LENGTH
    asked = question.follow_up_for(lack)
    assert "say a little more" in asked and "figure" not in asked


@pytest.mark.parametrize(("language", "figure_word"), [("en", "figure"), ("zh", "数字")])
def test_a_long_answer_without_a_figure_is_asked_for_one(
    language: Language, figure_word: str
) -> None:
    question = CATALOGUE.get("annual", language).question("key_results")
    text = (
        "I led the reform of the treasury payment process across every department of the city"
        if language == "en"
        else "我牵头推进全市国库集中支付改革，理顺了各部门的审批流程，"
        "群众和企业普遍反映办事更方便快捷"
    )
    lack = lacks_substance(question, text, checks_of("annual", language))
    assert lack is Lack.FIGURE
    assert figure_word in question.follow_up_for(lack)


def test_an_item_number_is_not_a_figure() -> None:
    question = CATALOGUE.get("annual", "zh").question("key_results")
    text = "1、牵头推进全市国库集中支付改革，理顺了各部门的审批流程，办事更方便快捷"
    assert lacks_substance(question, text, NO_CHECKS) is Lack.FIGURE


@pytest.mark.parametrize(("report", "language"), [key for key, _ in RULEBOOK])
def test_the_interview_follows_up_exactly_where_the_review_would_flag(
    report: str, language: Language
) -> None:
    """Stock phrases and "we" are the review's rules, applied to the questions the review
    applies them to, and every such question says what to ask."""
    q = CATALOGUE.get(report, language)
    checks = checks_of(report, language)
    followed = [rule for rule in RULEBOOK.rules_for(q) if rule.detector in FOLLOWED_DETECTORS]
    assert {rule.id for rule in followed} == {"empty_stock_phrase", "we_without_own_role"}
    for rule in followed:
        lack = FOLLOWED_DETECTORS[rule.detector]
        for question in q.questions:
            for text in (*rule.examples.flag, *rule.examples.pass_):
                assert isinstance(text, str)
                asked = lack in checks.found(question.id, text)
                assert asked == (question.id in rule.questions and text in rule.examples.flag)
        for question_id in rule.questions:
            asked = q.question(question_id).follow_up_for(lack)
            assert asked and asked != q.question(question_id).follow_up, (question_id, lack)


def test_each_question_asks_in_its_own_words_in_both_languages() -> None:
    for report in ("annual", "integrity"):
        for lack in (Lack.COLLECTIVE, Lack.STOCK):
            for language in ("zh", "en"):
                q = CATALOGUE.get(report, language)
                ids = [x.id for x in q.questions if x.asks_for(lack.value)]
                texts = [q.question(i).follow_up_for(lack) for i in ids]
                assert len(set(texts)) == len(texts), (report, language, lack)
            zh, en = (CATALOGUE.get(report, language) for language in ("zh", "en"))
            assert [x.id for x in zh.questions if x.asks_for(lack.value)] == [
                x.id for x in en.questions if x.asks_for(lack.value)
            ]


def test_start_up_refuses_a_checked_question_without_its_follow_up(tmp_path: Path) -> None:
    prompts = Path(shutil.copytree(PROMPTS, tmp_path / "prompts"))
    path = prompts / "annual" / "en" / "questions.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section in data["sections"]:
        for question in section["questions"]:
            if question["id"] == "hardest":
                del question["follow_up_stock"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        QuestionnaireError,
        match=r"annual/en/questions\.yaml: question 'hardest' is checked by rule "
        r"'empty_stock_phrase' but has no follow_up_stock",
    ):
        load_resources(prompts, default_language="zh", zone="Asia/Shanghai", answer_limit=4096)


def test_a_resumed_follow_up_asks_for_the_same_thing() -> None:
    q = CATALOGUE.get("annual", "en")
    checks = checks_of("annual", "en")
    state = engine.initial_state(q)
    for question in q.questions:
        if question.id == "key_results":
            break
        answer = engine.Text(answer_for(question.id, 0, "en"))
        state = engine.step(q, state, answer, checks=checks).state
        assert not state.awaiting_follow_up
    for text, lack in (
        ("Cut payment times from 3 days to 4 hours.", "length"),
        ("We delivered 412 new social homes.", "collective"),
        ("1. Good results.", "stock"),
    ):
        shown = engine.step(q, state, engine.Text(text), checks=checks)
        assert shown.outputs == (engine.FollowUp("key_results", lack),)
        paused = engine.step(q, shown.state, engine.Pause(), checks=checks)
        resumed = engine.step(q, paused.state, engine.Resume(), checks=checks)
        assert engine.FollowUp("key_results", lack) in resumed.outputs
