"""A cadre's interview through the real Application, with Telegram faked at the request layer."""

from __future__ import annotations

import asyncio
import io

import pytest
from docx import Document
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.store.db import Database
from bot.store.models import Answer, Cadre, Draft, Interview, ProcessedUpdate
from tests.fakes.bot_api import FakeBotApi
from tests.utils import updates
from tests.utils.clock import FakeClock
from tests.utils.journeys import answer_for, markers, questionnaire, script
from tests.utils.telegram import FakeTelegram, FakeUser

ANNUAL = questionnaire("annual", "zh")


async def latest_interview(session: AsyncSession, user_id: int) -> Interview:
    """The user's most recent interview, as the database holds it."""
    cadre = (await session.exec(select(Cadre).where(Cadre.telegram_user_id == user_id))).one()
    interview = (
        await session.exec(
            select(Interview)
            .where(Interview.cadre_id == cadre.id)
            .order_by(col(Interview.id).desc())
        )
    ).first()
    assert interview is not None
    return interview


async def answers_of(db: Database, user_id: int) -> dict[str, list[str]]:
    """What the database holds for the user's current interview."""
    async with db.session() as session:
        interview = await latest_interview(session, user_id)
        rows = (
            await session.exec(
                select(Answer)
                .where(Answer.interview_id == interview.id)
                .order_by(col(Answer.question_id), col(Answer.seq))
            )
        ).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.question_id, []).append(row.text)
    return found


async def current_question(db: Database, user_id: int) -> str | None:
    async with db.session() as session:
        return (await latest_interview(session, user_id)).current_question


async def registered_in_annual(user: FakeUser) -> None:
    await user.registers()
    await user.starts_report("年度述职报告")


async def play(user: FakeUser, steps: list[tuple[str, str]]) -> None:
    for kind, value in steps:
        if kind == "say":
            await user.says(value)
        else:
            await user.presses(value)


# Registration ---------------------------------------------------------------------------


async def test_a_newcomer_registers_then_picks_a_report_type(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    replies = await user.says("/start")
    assert "述职助手" in replies[0]
    assert user.labels() == ["中文", "English"]
    await user.presses("中文")
    assert "姓名" in user.last_text
    await user.says("张伟")
    assert "职务" in user.last_text
    await user.says("副局长")
    assert "单位" in user.last_text
    replies = await user.says("市教育局")
    assert "张伟" in replies[0]
    assert "年度述职报告" in user.labels() and "述职述廉报告" in user.labels()
    async with db.session() as session:
        cadre = (await session.exec(select(Cadre))).one()
    assert (cadre.name, cadre.position, cadre.organisation, cadre.language) == (
        "张伟",
        "副局长",
        "市教育局",
        "zh",
    )
    assert cadre.registered


async def test_english_registration_gives_an_english_interview(tg: FakeTelegram) -> None:
    user = tg.user(7, language_code="en")
    await user.registers(
        name="Jane Smith",
        position="Head teacher",
        organisation="No. 3 Middle School",
        language="English",
    )
    replies = await user.starts_report("Annual debriefing report")
    assert "Section 1/4 · Question 1/12" in replies[-1]
    assert "Post and responsibilities" not in replies[-1] or "Role" in replies[-1]


async def test_profile_changes_one_field(tg: FakeTelegram, db: Database) -> None:
    user = tg.user(42)
    await user.registers()
    await user.says("/profile")
    await user.presses("职务")
    await user.says("局长")
    assert "职务：局长" in user.last_text
    async with db.session() as session:
        assert (await session.exec(select(Cadre))).one().position == "局长"


async def test_a_command_ends_a_pending_profile_change_so_the_next_text_is_an_answer(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says("/profile")
    await user.presses("姓名")
    replies = await user.says("/start")
    assert "第 1/12 题" in replies[-1]
    await user.says(answer_for("post"))
    assert (await answers_of(db, 42))["post"] == [answer_for("post")]
    async with db.session() as session:
        assert (await session.exec(select(Cadre))).one().name == "张伟"


async def test_while_a_profile_change_is_pending_a_sticker_repeats_the_field_prompt(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says("/profile")
    await user.presses("职务")
    replies = await user.sends(updates.sticker_update(42))
    assert "新的职务" in replies[-1]
    await user.says("局长")
    async with db.session() as session:
        assert (await session.exec(select(Cadre))).one().position == "局长"
    assert await answers_of(db, 42) == {}


async def test_the_command_menu_is_published_in_both_languages(tg: FakeTelegram) -> None:
    calls = [c for c in tg.api.calls if c.method == "setMyCommands"]
    languages = {c.params.get("language_code") for c in calls}
    assert {"zh", "en"} <= languages
    assert all(len(c.params["commands"]) == 17 for c in calls)


# The interview ---------------------------------------------------------------------------


async def test_each_question_shows_section_progress_hint_and_buttons(tg: FakeTelegram) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    question = user.last_text
    assert "岗位职责及基本情况" in question
    assert "第 1/4 部分 · 第 1/12 题" in question
    assert "示例" in question
    assert user.labels() == []  # the first question: no Back, and it cannot be skipped
    await user.says(answer_for("post"))
    assert "第 1/4 部分 · 第 2/12 题" in user.last_text
    assert user.labels() == ["‹ 上一题", "跳过"]


async def test_every_answer_is_in_the_database_when_it_is_acknowledged(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    assert (await answers_of(db, 42)) == {"post": [answer_for("post")]}
    assert await current_question(db, 42) == "tasks"


async def test_a_thin_answer_gets_one_follow_up_which_can_be_declined(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    replies = await user.says("副局长")
    assert "人数" in replies[-1] or "单位" in replies[-1]
    assert user.labels() == ["保留原样"]
    await user.presses("保留原样")
    assert "第 2/12 题" in user.last_text
    assert (await answers_of(db, 42))["post"] == ["副局长"]


async def test_a_follow_up_addition_completes_the_same_answer(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says("副局长")
    await user.says("分管办公室和财务科，共32人")
    assert (await answers_of(db, 42))["post"] == ["副局长。分管办公室和财务科，共32人"]
    assert "第 2/12 题" in user.last_text


async def test_a_follow_up_that_retypes_the_whole_answer_replaces_it(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says("副局长")
    await user.says("副局长，2023年3月起分管办公室和财务科，共32人")
    assert (await answers_of(db, 42))["post"] == ["副局长，2023年3月起分管办公室和财务科，共32人"]


async def test_results_are_collected_one_per_message_until_next(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    for qid in ("post", "tasks", "study", "political_conduct"):
        await user.says(answer_for(qid))
    await user.says(answer_for("key_results", 0))
    assert "第 1 项" in user.last_text
    await user.says(answer_for("key_results", 1))
    assert "第 2 项" in user.last_text
    await user.presses("下一题")
    assert (await answers_of(db, 42))["key_results"] == [
        answer_for("key_results", 0),
        answer_for("key_results", 1),
    ]
    assert await current_question(db, 42) == "hardest"


async def test_a_list_takes_at_most_its_limit_of_items_and_says_so(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    for qid in ("post", "tasks", "study", "political_conduct"):
        await user.says(answer_for(qid))
    limit = ANNUAL.question("key_results").max_entries
    for i in range(limit):
        await user.says(answer_for("key_results", i))
    replies = await user.says(answer_for("key_results", limit))
    assert f"最多列 {limit} 条" in replies[0] and "下一题 ›" in user.labels()
    assert len((await answers_of(db, 42))["key_results"]) == limit
    await user.says("/edit")
    await user.presses("重点工作成效")
    assert "＋ 新增一项" not in user.labels()


async def test_skip_and_back_move_through_the_questions(tg: FakeTelegram, db: Database) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    await user.presses("跳过")
    assert await current_question(db, 42) == "study"
    await user.presses("上一题")
    assert await current_question(db, 42) == "tasks"
    await user.presses("上一题")
    assert answer_for("post") in user.last_text  # the earlier answer is shown
    await user.presses("下一题")
    assert await current_question(db, 42) == "tasks"


async def test_a_full_interview_ends_with_the_draft_in_chat_and_as_docx(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await play(user, script(ANNUAL))
    texts = user.texts
    start = max(i for i, t in enumerate(texts) if "第 1 版初稿" in t)
    # The header opens the draft's first message; the report follows it.
    draft = "\n".join(texts[start:]).split("第 1 版初稿", 1)[1]
    expected = markers(ANNUAL)
    assert [m for m in expected if draft.count(m) != 1] == []
    positions = [draft.index(m) for m in expected]
    assert positions == sorted(positions), "answers appear in questionnaire order"
    for phrase in (
        "2026年度述职报告",
        "各位领导、同志们：",
        "一、岗位职责及基本情况",
        "四、下一步工作打算",
        "张伟",
        "2026年11月25日",
    ):
        assert phrase in draft
    assert all(len(t) <= 4096 for t in tg.api.texts(42))

    ((name, content),) = user.documents
    assert name.endswith(".docx") and "张伟" in name
    word = Document(io.BytesIO(content))
    assert word.core_properties.author == "张伟"
    body = "\n".join(p.text for p in word.paragraphs)
    assert [m for m in expected if body.count(m) != 1] == []
    async with db.session() as session:
        drafts = (await session.exec(select(Draft))).all()
        interview = await latest_interview(session, 42)
    assert [(d.version, d.missing) for d in drafts] == [(1, 0)]
    assert interview.status == "completed" and interview.completed_at is not None


async def test_draft_at_any_time_marks_what_is_missing_and_keeps_versions(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    replies = await user.says("/draft")
    assert "第 1 版初稿" in replies[0] and "11 项回答未填写" in replies[0]
    assert "【待补充：年度主要任务】" in "\n".join(replies)
    assert "第 2/12 题" in tg.api.last_text(42) or len(user.documents) == 1
    await user.says(answer_for("tasks"))
    replies = await user.says("/draft")
    assert "第 2 版初稿" in replies[0] and "10 项回答未填写" in replies[0]
    async with db.session() as session:
        versions = [d.version for d in (await session.exec(select(Draft))).all()]
    assert versions == [1, 2]
    assert len(user.documents) == 2


async def test_an_unchanged_draft_is_not_stored_or_sent_again_unless_asked(
    tg: FakeTelegram, db: Database
) -> None:
    """/draft a hundred times is not a hundred versions and files: a draft like the last
    version says so; its .docx comes again on request."""
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    await user.says("/draft")
    before = len(tg.api.calls)
    for _ in range(5):
        replies = await user.says("/draft")
        assert replies == [replies[0]] and "第 1 版初稿以来" in replies[0]
    # One short message each, no file.
    assert [c.method for c in tg.api.calls[before:]] == ["sendMessage"] * 5
    async with db.session() as session:
        assert [d.version for d in (await session.exec(select(Draft))).all()] == [1]
    await user.presses("再次发送 Word 文件")
    ((name, _content), (again, _)) = user.documents
    assert again == name and name.endswith("_v1.docx")
    async with db.session() as session:
        assert [d.version for d in (await session.exec(select(Draft))).all()] == [1]
    # Anything that changes the draft makes it a new version again.
    await user.says(answer_for("tasks"))
    replies = await user.says("/draft")
    assert "第 2 版初稿" in replies[0]
    assert len(user.documents) == 3


async def test_user_text_is_escaped_in_questions_and_drafts(tg: FakeTelegram) -> None:
    user = tg.user(42)
    await user.registers(name="<b>张</b> & Co")
    await user.starts_report("年度述职报告")
    await user.says("<script>alert(1)</script> 分管办公室、财务科，共32人，任职三年")
    await user.says("/draft")
    raw = "\n".join(tg.api.texts(42))
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    assert "&lt;b&gt;张&lt;/b&gt; &amp; Co" in raw


# Commands during the interview ------------------------------------------------------------


async def test_help_and_status_do_not_lose_the_place(tg: FakeTelegram, db: Database) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    replies = await user.says("/help")
    assert "/status" in replies[0] and "第 2/12 题" in replies[-1]
    replies = await user.says("/status")
    assert "已回答 1/12 题" in replies[0] and "第 2/12 题" in replies[0]
    assert "年度主要任务" in replies[0]
    # Continue, then a jump button for every other unanswered question.
    assert user.labels() == ["继续"] + [q.label for q in ANNUAL.questions[2:]]
    await user.says(answer_for("tasks"))
    assert (await answers_of(db, 42)).keys() == {"post", "tasks"}


async def test_cancel_pauses_and_start_resumes_at_the_same_question(
    tg: FakeTelegram, db: Database, clock: FakeClock
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    replies = await user.says("/cancel")
    assert "已暂停" in replies[0]
    clock.advance(days=3)
    replies = await user.says("/start")
    assert "欢迎回来" in replies[0] and "第 2/12 题" in replies[-1]
    assert "tasks" not in await answers_of(db, 42)
    await user.says(answer_for("tasks"))
    assert await current_question(db, 42) == "study"


async def test_a_message_after_cancel_is_kept_as_the_answer_and_the_reply_says_where(
    tg: FakeTelegram, db: Database, clock: FakeClock
) -> None:
    """Nothing the cadre typed is dropped: a text after /cancel answers the question they
    stopped at, and the reply names it and how to change it."""
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    await user.says("/cancel")
    clock.advance(days=3)
    replies = await user.says(answer_for("tasks"))
    assert "欢迎回来" in replies[0] and "“年度主要任务”" in replies[0] and "/edit" in replies[0]
    assert "第 3/12 题" in replies[-1]
    assert (await answers_of(db, 42))["tasks"] == [answer_for("tasks")]
    assert await current_question(db, 42) == "study"
    # Even a greeting is kept (and can be replaced with /edit), never silently dropped.
    await user.says("/cancel")
    replies = await user.says("你好")
    assert "“加强理论学习”" in replies[0]
    assert (await answers_of(db, 42))["study"] == ["你好"]


async def test_restart_needs_confirmation_and_keeps_the_old_answers(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    await user.says("/restart")
    await user.presses("不，继续作答")
    assert await current_question(db, 42) == "tasks"
    await user.says("/restart")
    await user.presses("确定，重新开始")
    await user.starts_report("述职述廉报告")
    assert "第 1/15 题" in user.last_text
    async with db.session() as session:
        interviews = (await session.exec(select(Interview).order_by(col(Interview.id)))).all()
        kept = (await session.exec(select(Answer))).all()
    assert [i.status for i in interviews] == ["abandoned", "active"]
    assert [a.question_id for a in kept] == ["post"]


async def test_a_restart_confirmation_is_refused_once_the_interview_has_moved_on(
    tg: FakeTelegram, db: Database
) -> None:
    """A confirmation is for the state it was asked in: "Yes, start over" pressed after
    two more answers would archive answers the cadre gave after being asked."""
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    await user.says("/restart")
    confirmation = user.button("确定，重新开始")
    await user.says(answer_for("tasks"))
    await user.says(answer_for("study"))
    replies = await user.presses_data(confirmation[1], message_id=confirmation[0])
    assert "之前的步骤" in replies[0] and "第 4/12 题" in replies[-1]
    async with db.session() as session:
        interviews = (await session.exec(select(Interview))).all()
    assert [i.status for i in interviews] == ["active"]
    assert (await answers_of(db, 42)).keys() == {"post", "tasks", "study"}
    # Asked again, now, it works.
    await user.says("/restart")
    await user.presses("确定，重新开始")
    async with db.session() as session:
        interviews = (await session.exec(select(Interview))).all()
    assert [i.status for i in interviews] == ["abandoned"]


async def test_every_change_of_the_position_is_a_new_revision(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    revisions = []
    for step in (answer_for("post"), "/status", answer_for("tasks"), "/cancel", "/start"):
        await user.says(step)
        async with db.session() as session:
            revisions.append((await latest_interview(session, 42)).revision)
    assert revisions == [1, 1, 2, 3, 4]  # /status changes nothing


async def test_edit_replaces_an_answer_and_returns_to_the_current_question(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    await user.says(answer_for("tasks"))
    await user.says("/edit")
    assert user.labels() == ["现任职务与分管工作", "年度主要任务"]
    await user.presses("现任职务与分管工作")
    assert answer_for("post") in user.last_text
    replies = await user.says("2024年3月起任市教育局副局长，分管基础教育，共42人")
    assert "已保存" in replies[0] and "第 3/12 题" in replies[-1]
    assert (await answers_of(db, 42))["post"] == [
        "2024年3月起任市教育局副局长，分管基础教育，共42人"
    ]


@pytest.mark.parametrize("interruption", ["/start", "/status", "sticker"])
async def test_an_interrupted_edit_shows_the_edit_again_and_replaces_that_answer(
    tg: FakeTelegram, db: Database, interruption: str
) -> None:
    """What the bot shows after an interruption is what the next text does."""
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    await user.says(answer_for("tasks"))
    await user.says("/edit")
    await user.presses("现任职务与分管工作")
    if interruption == "sticker":
        await user.sends(updates.sticker_update(42))
    else:
        await user.says(interruption)
    if interruption == "/status":
        await user.presses("继续")
    assert "现任职务与分管工作" in user.last_text and "新内容" in user.last_text
    await user.says("2024年3月起任市教育局副局长，分管基础教育，共42人")
    stored = await answers_of(db, 42)
    assert stored["post"] == ["2024年3月起任市教育局副局长，分管基础教育，共42人"]
    assert stored["tasks"] == [answer_for("tasks")] and "study" not in stored
    assert await current_question(db, 42) == "study"


async def test_edit_replaces_one_item_of_a_list(tg: FakeTelegram, db: Database) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    for qid in ("post", "tasks", "study", "political_conduct"):
        await user.says(answer_for(qid))
    await user.says(answer_for("key_results", 0))
    await user.says(answer_for("key_results", 1))
    await user.says("/edit")
    await user.presses("重点工作成效")
    await user.presses("第 2 项")
    await user.says("新增学位3200个，提前两个月完成")
    assert (await answers_of(db, 42))["key_results"] == [
        answer_for("key_results", 0),
        "新增学位3200个，提前两个月完成",
    ]


# Exactly once, and only one's own -----------------------------------------------------------


async def test_a_redelivered_update_is_applied_once(tg: FakeTelegram, db: Database) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"), update_id=900_001)
    replies = await user.says(answer_for("post"), update_id=900_001)
    assert (await answers_of(db, 42)) == {"post": [answer_for("post")]}
    assert await current_question(db, 42) == "tasks"
    assert "第 2/12 题" in replies[-1]  # the redelivery just shows where the cadre is
    async with db.session() as session:
        assert (await session.get(ProcessedUpdate, 900_001)) is not None


async def test_concurrent_messages_from_one_cadre_are_all_kept(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    for qid in ("post", "tasks", "study", "political_conduct"):
        await user.says(answer_for(qid))
    items = [answer_for("key_results", i) for i in range(6)]
    await asyncio.gather(*(user.says(item) for item in items))
    assert sorted((await answers_of(db, 42))["key_results"]) == sorted(items)


async def test_two_cadres_never_see_each_others_questions_or_answers(
    tg: FakeTelegram, db: Database
) -> None:
    alice, bob = tg.user(1), tg.user(2)
    await asyncio.gather(registered_in_annual(alice), bob.registers(name="李娜"))
    await bob.starts_report("述职述廉报告")
    await asyncio.gather(
        alice.says("ALICE-SECRET 分管办公室、财务科，共32人，任职三年"),
        bob.says("BOB-SECRET 分管人事、纪检工作，共18人，任职五年"),
    )
    await bob.says("/draft")
    assert not any("ALICE-SECRET" in t for t in bob.texts)
    assert not any("BOB-SECRET" in t for t in alice.texts)
    assert (await answers_of(db, 1))["post"][0].startswith("ALICE-SECRET")
    assert (await answers_of(db, 2))["post"][0].startswith("BOB-SECRET")


async def test_a_forged_button_for_someone_elses_interview_changes_nothing(
    tg: FakeTelegram, db: Database
) -> None:
    alice, mallory = tg.user(1), tg.user(666)
    await registered_in_annual(alice)
    await alice.says(answer_for("post"))
    await registered_in_annual(mallory)
    async with db.session() as session:
        alice_interview = (
            await session.exec(select(Interview).order_by(col(Interview.id)))
        ).first()
    assert alice_interview is not None
    for data in (
        f"v1:skip:{alice_interview.id}:tasks:-1",
        f"v1:draft:{alice_interview.id}::-1",
        f"v1:restart:{alice_interview.id}::-1",
        "v1:edite:1:post:0",
        "garbage",
        "v1:nope:1::-1",
        "v1:skip:-5:tasks:-1",
        "v1:skip:1:DROP TABLE:-1",
    ):
        replies = await mallory.presses_data(data)
        assert replies, f"{data!r} got no reply"
    assert await current_question(db, 1) == "tasks"
    assert (await answers_of(db, 1)) == {"post": [answer_for("post")]}
    assert alice.documents == [] and mallory.documents == []
    assert not any(answer_for("post") in t for t in mallory.texts)


async def test_a_press_on_a_message_in_another_chat_is_refused_without_effect(
    tg: FakeTelegram, db: Database
) -> None:
    """The sender is the identity, not the message's chat: B's forged press on a message in
    A's chat must neither show B's place to A nor move B's stored chat."""
    alice, bob = tg.user(1), tg.user(2)
    await registered_in_annual(alice)
    await registered_in_annual(bob)
    await bob.says(answer_for("post"))
    alice_sees = list(alice.texts)
    _, skip = bob.button("跳过")
    in_alices_chat = {
        "message_id": 1,
        "date": 0,
        "text": "…",
        "chat": updates.private_chat(updates.private_user(1)),
        "from": updates.bot_user(),
    }
    await bob.sends(updates.callback_update(2, skip, message=in_alices_chat))
    assert alice.texts == alice_sees
    assert await current_question(db, 2) == "tasks"
    async with db.session() as session:
        chats = {c.telegram_user_id: c.chat_id for c in (await session.exec(select(Cadre)))}
    assert chats == {1: 1, 2: 2}
    assert [c for c in tg.api.calls if c.params.get("chat_id") not in (None, 1, 2)] == []


async def test_a_press_answered_too_late_for_telegram_still_applies_without_error(
    tg: FakeTelegram, db: Database
) -> None:
    """Telegram refuses to answer a callback query after ~15 s (a press handled late, e.g.
    replayed from the inbox after a restart); the press itself must still count."""
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    tg.api.expire_callback_queries()
    replies = await user.presses("跳过")
    assert "第 3/12 题" in replies[-1] and not any("出了点问题" in r for r in replies)
    assert await current_question(db, 42) == "study"


async def test_a_press_is_answered_in_the_pressed_message(tg: FakeTelegram, db: Database) -> None:
    """One call per press: the pressed message becomes the next question, its old keyboard
    gone with it; no new message, no separate edit of the keyboard."""
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    message_id, _ = user.button("跳过")
    before = len(tg.api.calls)
    await user.presses("跳过")
    calls = [c for c in tg.api.calls[before:] if c.method != "answerCallbackQuery"]
    assert [(c.method, c.params["message_id"]) for c in calls] == [("editMessageText", message_id)]
    shown = next(m for m in tg.api.bot_messages(42) if m["message_id"] == message_id)
    assert "第 3/12 题" in shown["text"] and user.labels() == ["‹ 上一题", "跳过"]


async def test_a_press_whose_message_cannot_be_edited_is_answered_with_a_new_message(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    _, skip = user.button("跳过")
    before = len(tg.api.sent_messages(42))
    replies = await user.presses_data(skip, message_id=987_654)  # deleted, or never ours
    assert "第 3/12 题" in replies[-1]
    assert len(tg.api.sent_messages(42)) == before + 1
    assert await current_question(db, 42) == "study"


async def test_a_button_from_an_earlier_question_is_refused(tg: FakeTelegram, db: Database) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    skip_tasks = user.button("跳过")
    await user.presses("跳过")  # now at "study"
    replies = await user.presses_data(skip_tasks[1], message_id=skip_tasks[0])
    assert "之前的步骤" in replies[0]
    assert await current_question(db, 42) == "study"


# Resuming after a restart of the bot --------------------------------------------------------


async def test_a_cadre_continues_at_the_same_question_after_the_bot_restarts(
    settings: Settings, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    async with FakeTelegram.running(settings, api, clock) as first:
        user = first.user(42)
        await registered_in_annual(user)
        await user.says(answer_for("post"))
        await user.says(answer_for("tasks"))
    clock.advance(days=5)
    async with FakeTelegram.running(settings, api, clock) as second:
        user = second.user(42)
        replies = await user.says("/start")
        assert "第 3/12 题" in replies[-1]
        await user.says(answer_for("study"))
    assert (await answers_of(db, 42)).keys() == {"post", "tasks", "study"}


async def test_no_per_user_state_is_kept_in_process_memory(tg: FakeTelegram) -> None:
    for user_id in range(1, 51):
        await tg.user(user_id).says("/start")
    assert len(tg.app.user_data) == 0 and len(tg.app.chat_data) == 0
    # PTB would otherwise remember every user and chat id for a persistence we do not use.
    assert not tg.app._user_ids_to_be_updated_in_persistence
    assert not tg.app._chat_ids_to_be_updated_in_persistence


async def test_a_button_pressed_outside_a_private_chat_changes_nothing(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    group_message = {
        "message_id": 1,
        "date": 0,
        "text": "…",
        "chat": updates.group_chat(),
        "from": updates.bot_user(),
    }
    await user.sends(updates.callback_update(42, "v1:back:1:post:-1", message=group_message))
    assert await current_question(db, 42) == "post"
    async with db.session() as session:
        cadre = (await session.exec(select(Cadre))).one()
    assert cadre.chat_id == 42  # replies never get redirected to the group
    assert tg.api.texts(updates.GROUP_CHAT_ID) == []
