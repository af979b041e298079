"""Questionnaire versions (issue 9): the political-conduct question of 德 added in version 2.
A new interview asks it after study; one under way when it was added gets it as one
unanswered question and is asked it; a completed one is not reopened; what was submitted
never changes."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.config import PROJECT_DIR, Settings
from bot.interview import engine
from bot.interview.engine import State, Status
from bot.interview.questionnaire import (
    Questionnaire,
    QuestionnaireError,
    load_catalogue,
)
from bot.interview.substance import NO_CHECKS
from bot.store.db import Database, create_engine
from bot.store.models import Answer, Cadre, Interview, SubmissionVersion
from bot.store.schema import upgrade
from tests.conftest import PG_URL
from tests.fakes.bot_api import FakeBotApi
from tests.utils.clock import FakeClock
from tests.utils.journeys import NEXT, answer_for, markers, questionnaire
from tests.utils.teams import joins, submits, supervisor_with_team
from tests.utils.telegram import FakeTelegram, FakeUser

PROMPTS = PROJECT_DIR / "prompts"
ANNUAL = questionnaire("annual", "zh")
ANNUAL_V1 = ANNUAL.as_of(1)


def version_one_prompts(tmp_path: Path) -> Path:
    """prompts/ as deployed before version 2: the questions added since taken out."""
    copy = Path(shutil.copytree(PROMPTS, tmp_path / "prompts-v1"))
    added: set[str] = set()
    for path in copy.glob("*/*/questions.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["version"] = 1
        for section in data["sections"]:
            added |= {q["id"] for q in section["questions"] if q.get("since", 1) > 1}
            section["questions"] = [q for q in section["questions"] if q.get("since", 1) == 1]
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    # The review's rules of that time named only the questions there were.
    for path in copy.glob("*/*/review.yaml"):
        rules = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in rules["rules"]:
            if "questions" in rule:
                rule["questions"] = [q for q in rule["questions"] if q not in added]
        path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), "utf-8")
    return copy


@pytest.fixture
def old_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The same bot and database, with the version-1 questionnaires."""
    return settings.model_copy(update={"prompts_dir": version_one_prompts(tmp_path)})


def steps(q: Questionnaire, question_ids: list[str]) -> list[tuple[str, str]]:
    """What a diligent cadre does at these questions: ('say', text) or ('press', label)."""
    done: list[tuple[str, str]] = []
    for question_id in question_ids:
        question = q.question(question_id)
        count = 2 if question.multiple else 1
        done += [("say", answer_for(question_id, i, q.language)) for i in range(count)]
        if question.multiple:
            done.append(("press", NEXT[q.language]))
    return done


async def play(user: FakeUser, script: list[tuple[str, str]]) -> list[str]:
    shown: list[str] = []
    for kind, value in script:
        shown += await (user.says(value) if kind == "say" else user.presses(value))
    return shown


async def interview_of(db: Database, user_id: int) -> Interview:
    async with db.session() as session:
        cadre = (await session.exec(select(Cadre).where(Cadre.telegram_user_id == user_id))).one()
        return (
            await session.exec(
                select(Interview)
                .where(Interview.cadre_id == cadre.id)
                .order_by(col(Interview.id).desc())
            )
        ).first() or pytest.fail("no interview")


async def answered(db: Database, interview_id: int | None) -> list[str]:
    async with db.session() as session:
        rows = await session.exec(
            select(Answer.question_id).where(Answer.interview_id == interview_id)
        )
        return list(rows.all())


async def board(boss: FakeUser) -> str:
    """The supervisor's board of the annual reports, as shown."""
    await boss.says("/team")
    replies = await boss.presses("进度看板")
    if "查看哪一类报告" in replies[-1]:
        replies = await boss.presses("年度述职报告 · ")
    return replies[-1]


def ids(q: Questionnaire) -> list[str]:
    return [question.id for question in q.questions]


# The questionnaire ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report_type", "language"),
    [(r, lang) for r in ("annual", "integrity") for lang in ("zh", "en")],
)
def test_version_2_adds_political_conduct_for_de_right_after_study(
    report_type: str, language: str
) -> None:
    q = questionnaire(report_type, language)  # type: ignore[arg-type]
    assert q.version == 2
    conduct = q.question("political_conduct")
    assert (conduct.since, conduct.dimension) == (2, "de")
    assert q.after("study") == "political_conduct"
    assert q.section_index("political_conduct") == q.section_index("study")
    assert conduct.hint and conduct.heading and conduct.follow_up
    old = q.as_of(1)
    assert old.version == 1 and ids(old) == [i for i in ids(q) if i != "political_conduct"]
    assert q.as_of(1) is old and q.as_of(2) is q and q.as_of(7) is q


def test_as_of_leaves_out_a_section_whose_questions_are_all_newer() -> None:
    data = ANNUAL.model_dump()
    data["version"] = 3
    data["sections"] = [*data["sections"]]
    data["sections"].append(
        {
            "id": "appraisal",
            "title": "Appraisal",
            "questions": [{"id": "rating", "label": "Rating", "text": "?", "since": 3}],
        }
    )
    q = Questionnaire.model_validate(data)
    assert [s.id for s in q.as_of(2).sections] == [s.id for s in ANNUAL.sections]
    assert ids(q.as_of(2)) == ids(ANNUAL) and ids(q.as_of(1)) == ids(ANNUAL_V1)


def test_a_question_newer_than_its_questionnaire_is_rejected() -> None:
    data = ANNUAL.model_dump()
    data["version"] = 1
    with pytest.raises(ValueError, match="political_conduct"):
        Questionnaire.model_validate(data)


def test_the_languages_of_a_report_type_must_agree_on_versions(tmp_path: Path) -> None:
    prompts = Path(shutil.copytree(PROMPTS, tmp_path / "prompts"))
    path = prompts / "annual" / "en" / "questions.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["version"] = 3
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    with pytest.raises(QuestionnaireError, match="disagree on the version"):
        load_catalogue(prompts)


# The engine -------------------------------------------------------------------------------


def settled_state(q: Questionnaire, *, but: str, current: str) -> State:
    """An interview with every question of q answered except `but`, standing at `current`."""
    answers = {i: (answer_for(i),) for i in ids(q) if i != but}
    return State(status=Status.ACTIVE, current=current, answers=answers)


def test_at_the_end_an_unanswered_question_is_asked_and_then_the_interview_ends() -> None:
    state = settled_state(ANNUAL, but="political_conduct", current="goals")
    t = engine.step(ANNUAL, state, engine.Next("goals"), checks=NO_CHECKS)
    assert t.outputs == (
        engine.Notice("unanswered_left", {"count": 1, "label": "政治表现"}),
        engine.Ask("political_conduct"),
    )
    assert t.state.status is Status.ACTIVE and t.state.current == "political_conduct"
    # Once it is answered the interview ends: not a walk through the answers after it.
    t = engine.step(ANNUAL, t.state, engine.Text(answer_for("political_conduct")), checks=NO_CHECKS)
    assert t.outputs == (engine.Finished(),) and t.state.status is Status.COMPLETED
    assert t.state.return_to is None


def test_an_unanswered_question_at_the_end_may_be_skipped() -> None:
    state = settled_state(ANNUAL, but="political_conduct", current="goals")
    asked = engine.step(ANNUAL, state, engine.Next("goals"), checks=NO_CHECKS).state
    t = engine.step(ANNUAL, asked, engine.Skip("political_conduct"), checks=NO_CHECKS)
    assert t.outputs == (engine.Finished(),) and "political_conduct" in t.state.skipped


def test_a_completed_interview_of_version_1_is_complete_in_its_own_version() -> None:
    answers = {i: (answer_for(i),) for i in ids(ANNUAL_V1)}
    state = State(status=Status.COMPLETED, current=None, answers=answers)
    t = engine.step(ANNUAL_V1, state, engine.Where(), checks=NO_CHECKS)
    assert t.outputs == (engine.Completed(),) and t.state == state


# Through the bot --------------------------------------------------------------------------


async def test_a_new_interview_asks_political_conduct_after_study(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await user.registers()
    await user.starts_report("年度述职报告")
    await play(user, steps(ANNUAL, ["post", "tasks"]))
    replies = await user.says(answer_for("study"))
    assert "第 2/4 部分 · 第 4/12 题" in replies[-1]
    assert ANNUAL.question("political_conduct").text in replies[-1]
    assert "两个确立" in replies[-1]  # the example in the hint
    replies = await user.says(answer_for("political_conduct"))
    assert "第 5/12 题" in replies[-1]
    interview = await interview_of(db, 42)
    assert interview.questionnaire_version == 2 and interview.current_question == "key_results"


async def test_an_interview_under_way_gets_the_new_question_unanswered_and_is_asked_it(
    settings: Settings, old_settings: Settings, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    before = ids(ANNUAL_V1)[: ids(ANNUAL_V1).index("diligence")]
    async with FakeTelegram.running(old_settings, api, clock) as first:
        user = first.user(42)
        await user.registers()
        await user.starts_report("年度述职报告")
        await play(user, steps(ANNUAL_V1, before))
        assert "第 6/11 题" in user.last_text
    interview = await interview_of(db, 42)
    assert (interview.questionnaire_version, interview.current_question) == (1, "diligence")

    clock.advance(days=3)
    async with FakeTelegram.running(settings, api, clock) as second:
        user = second.user(42)
        replies = await user.says("/status")
        assert "已回答 5/12 题" in replies[0] and "尚未回答：" in replies[0]
        assert "政治表现" in replies[0].split("尚未回答：")[1]
        interview = await interview_of(db, 42)
        assert (interview.questionnaire_version, interview.current_question) == (2, "diligence")
        # The cadre continues where they were ...
        replies = await user.says("/start")
        assert "第 7/12 题" in replies[-1] and "勤勉敬业" in replies[-1]
        rest = ids(ANNUAL)[ids(ANNUAL).index("diligence") :]
        shown = await play(user, steps(ANNUAL, rest))
        # ... and is asked the new question once they reach the end, before the draft.
        assert "还有 1 道题尚未回答" in shown[-1] and "“政治表现”" in shown[-1]
        assert "第 4/12 题" in shown[-1] and not any("初稿" in t for t in shown)
        replies = await user.says(answer_for("political_conduct"))
        assert "全部问题已回答完毕" in replies[0]
        draft = "\n".join(replies).split("第 1 版初稿", 1)[1]
    assert [m for m in markers(ANNUAL) if draft.count(m) != 1] == []
    positions = [draft.index(m) for m in markers(ANNUAL)]
    assert positions == sorted(positions) and "待补充" not in draft
    interview = await interview_of(db, 42)
    assert interview.status == "completed"
    assert (await answered(db, interview.id)).count("political_conduct") == 1


async def test_a_completed_interview_of_version_1_is_not_reopened(
    settings: Settings, old_settings: Settings, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    async with FakeTelegram.running(old_settings, api, clock) as first:
        boss = first.user(1)
        code = await supervisor_with_team(boss)
        done, writing = first.user(42), first.user(43)
        await done.registers(name="张伟")
        await joins(done, code)
        await done.starts_report("年度述职报告")
        await play(done, steps(ANNUAL_V1, ids(ANNUAL_V1)))
        assert "第 1 版初稿" in "\n".join(done.texts)
        # Another member has answered the first two sections of version 1.
        await writing.registers(name="王芳")
        await joins(writing, code)
        await writing.starts_report("年度述职报告")
        await play(
            writing, steps(ANNUAL_V1, ids(ANNUAL_V1)[: ids(ANNUAL_V1).index("shortcomings")])
        )

    async with FakeTelegram.running(settings, api, clock) as second:
        done, boss = second.user(42), second.user(1)
        replies = await done.says("/status")
        assert "已完成" in replies[0] and "已回答 11/11 题" in replies[0]
        assert "尚未回答：无" in replies[0]
        replies = await done.says("/draft")
        assert "没有变化" in replies[0]  # the same draft: nothing added, no placeholder
        replies = await done.says("这是一段补充说明，看看会不会被当作新问题的回答。")
        assert "报告已完成" in replies[-1]
        interview = await interview_of(db, 42)
        assert (interview.status, interview.questionnaire_version) == ("completed", 1)
        assert "political_conduct" not in await answered(db, interview.id)
        # The board reads each interview against its own questionnaire: the completed one
        # has every section done; the one under way now lacks the new question of results.
        shown = await board(boss)
        assert "张伟 — 撰写中 4/4 部分" in shown and "王芳 — 撰写中 1/4 部分" in shown


async def test_a_submitted_version_is_kept_as_it_was_sent(
    settings: Settings, old_settings: Settings, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    async with FakeTelegram.running(old_settings, api, clock) as first:
        boss = first.user(1)
        code = await supervisor_with_team(boss)
        cadre = first.user(42)
        await cadre.registers(name="张伟")
        await joins(cadre, code)
        await cadre.starts_report("年度述职报告")
        await play(cadre, steps(ANNUAL_V1, ids(ANNUAL_V1)))
        await submits(cadre)
        await first.deliver()
    async with db.session() as session:
        (frozen,) = (await session.exec(select(SubmissionVersion))).all()
    assert "MARK-political_conduct" not in frozen.body and "待补充" not in frozen.body

    async with FakeTelegram.running(settings, api, clock) as second:
        cadre, boss = second.user(42), second.user(1)
        await cadre.says("/history")
        await cadre.says("/draft")
        assert "张伟 — 待审阅（第 1 版）" in await board(boss)
        await cadre.says("/submit")  # nothing changed: the same report again, or a refusal
        await second.deliver()
    async with db.session() as session:
        versions = (
            await session.exec(select(SubmissionVersion).order_by(col(SubmissionVersion.id)))
        ).all()
    assert (versions[0].body, versions[0].docx) == (frozen.body, frozen.docx)
    assert all("MARK-political_conduct" not in v.body for v in versions)


# The migration ----------------------------------------------------------------------------


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A database with no schema yet: a SQLite file, or a fresh PostgreSQL database."""
    if not PG_URL:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        yield db
        await db.dispose()
        return
    name = f"debrief_migration_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    async with admin.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    try:
        yield db
    finally:
        await db.dispose()
        async with admin.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_interviews_that_exist_before_the_migration_are_version_1(
    empty_database: Database,
) -> None:
    db = empty_database
    await upgrade(db, "0004")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO cadre (telegram_user_id, chat_id, name, position, organisation,"
                " language, registered, created_at, updated_at) VALUES"
                " (42, 42, '张伟', '副局长', '市教育局', 'zh', true, :now, :now)"
            ),
            {"now": now},
        )
        await connection.execute(
            text(
                "INSERT INTO interview (cadre_id, report_type, language, period, status,"
                " awaiting_follow_up, skipped, started_at, updated_at) VALUES"
                " (1, 'annual', 'zh', '2026', 'active', false, '[]', :now, :now)"
            ),
            {"now": now},
        )
    await upgrade(db)
    async with db.engine.connect() as connection:
        version = await connection.scalar(text("SELECT questionnaire_version FROM interview"))
    assert version == 1
