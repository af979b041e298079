"""Running a team: members listed and removed, co-supervisors, rename, delete, leave, a
successor; and /forget_me."""

from __future__ import annotations

from sqlmodel import col, select

from bot.store.db import Database
from bot.store.models import (
    Answer,
    Cadre,
    Draft,
    Interview,
    Invite,
    Membership,
    ReviewDecision,
    Submission,
    SubmissionVersion,
    Team,
)
from tests.utils.teams import (
    invite_code,
    joins,
    member_who_submits,
    supervisor_with_team,
)
from tests.utils.telegram import FakeTelegram


async def memberships(db: Database) -> list[tuple[int, int, str, bool]]:
    async with db.session() as session:
        rows = (await session.exec(select(Membership).order_by(col(Membership.id)))).all()
    return [(m.team_id, m.cadre_id, m.role, m.left_at is None) for m in rows]


async def test_a_supervisor_lists_and_removes_a_member_who_is_told(
    tg: FakeTelegram, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = await member_who_submits(tg, 2, code)
    await boss.says("/team")
    await boss.presses("成员")
    assert "1. 张伟 · 副局长 · 市教育局" in boss.last_text
    await boss.presses("移除 1. 张伟")
    assert "仍保留在团队中" in boss.last_text
    await boss.presses("确定移除")
    assert "已把张伟移出" in "\n".join(boss.texts[-2:])
    await tg.deliver()
    assert "移出" in cadre.last_text
    # The report stays with the team, as a former member's.
    await boss.says("/team")
    await boss.presses("进度看板")
    assert "张伟 — 待审阅（第 1 版）（原成员）" in boss.last_text
    replies = await cadre.says("/submit")
    assert "还没有加入任何团队" in replies[-1]


async def test_a_co_supervisor_invite_works_once(tg: FakeTelegram, db: Database) -> None:
    boss, deputy, late = tg.user(1), tg.user(2), tg.user(3)
    await supervisor_with_team(boss)
    await boss.says("/team")
    await boss.presses("添加共同审阅人")
    code = invite_code(boss.last_text)
    await deputy.registers(name="王副书记")
    replies = await deputy.says(f"/start {code}")
    assert "共同审阅人" in replies[-1]
    await deputy.presses("加入")
    await tg.deliver()
    assert "王副书记" in boss.last_text and "共同审阅人" in boss.last_text
    await late.registers(name="迟到者")
    replies = await late.says(f"/start {code}")
    assert "邀请链接无效" in replies[-1]
    roles = [(m[2], m[3]) for m in await memberships(db)]
    assert roles == [("supervisor", True), ("supervisor", True)]


async def test_rename_takes_the_next_text_and_any_command_cancels_it(
    tg: FakeTelegram, db: Database
) -> None:
    boss = tg.user(1)
    await supervisor_with_team(boss)
    await boss.says("/team")
    await boss.presses("重命名")
    await boss.says("/status")
    await boss.says("不该成为名称")
    await boss.says("/team")
    await boss.presses("重命名")
    await boss.says("市教育局2026述职组")
    async with db.session() as session:
        names = (await session.exec(select(Team.name))).all()
    assert names == ["市教育局2026述职组"]


async def test_deleting_a_team_says_what_happens_and_keeps_members_drafts(
    tg: FakeTelegram, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = await member_who_submits(tg, 2, code)
    await boss.says("/team")
    await boss.presses("删除团队")
    assert "1 名成员" in boss.last_text and "1 份报告" in boss.last_text
    await boss.presses("确定删除")
    await tg.deliver()
    assert "删除团队" in cadre.last_text
    async with db.session() as session:
        assert (await session.exec(select(Team))).all() == []
        assert (await session.exec(select(Submission))).all() == []
        assert (await session.exec(select(SubmissionVersion))).all() == []
        assert (await session.exec(select(Invite))).all() == []
        assert len((await session.exec(select(Answer))).all()) > 10  # the member's own
    replies = await boss.says(f"/start {code}")
    assert "邀请链接无效" in replies[-1]


async def test_a_member_leaves_and_the_supervisor_is_told(tg: FakeTelegram, db: Database) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    await joins(cadre, code)
    await cadre.says("/team")
    await cadre.presses("退出")
    await cadre.presses("确定退出")
    await tg.deliver()
    assert "张伟已退出" in boss.last_text
    assert [m[3] for m in await memberships(db)] == [True, False]


async def test_a_sole_supervisor_names_a_successor_before_stepping_down(
    tg: FakeTelegram, db: Database
) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    await joins(cadre, code)
    await boss.says("/team")
    await boss.presses("不再担任审阅人")
    assert "唯一的审阅人" in boss.last_text
    await boss.presses("由张伟接任")
    await tg.deliver()
    assert "指定您为" in cadre.last_text
    await boss.says("/team")
    await boss.presses("不再担任审阅人")
    await boss.presses("确定退出")
    assert [(m[2], m[3]) for m in await memberships(db)] == [
        ("supervisor", False),
        ("supervisor", True),
    ]


async def test_forget_me_deletes_the_person_and_their_submissions(
    tg: FakeTelegram, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = await member_who_submits(tg, 2, code)
    await tg.deliver()
    await boss.presses("退回")
    await boss.says("请补充。")
    replies = await cadre.says("/forget_me")
    text = replies[-1]
    assert "1 份报告" in text and "48 小时" in text and "市教育局述职组" in text
    await cadre.presses("确定删除全部资料")
    assert "已全部删除" in cadre.last_text
    await tg.deliver()
    assert "删除了自己在机器人中的全部资料" in boss.last_text
    async with db.session() as session:
        assert (
            await session.exec(select(Cadre).where(Cadre.telegram_user_id == 2))
        ).first() is None
        for model in (Interview, Answer, Draft, Submission, SubmissionVersion, ReviewDecision):
            assert (await session.exec(select(model))).all() == [], model.__name__
    await boss.says("/team")
    await boss.presses("进度看板")
    assert "张伟" not in boss.last_text


async def test_a_sole_supervisor_cannot_forget_themselves_until_a_successor_is_named(
    tg: FakeTelegram, db: Database
) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    await joins(cadre, code)
    replies = await boss.says("/forget_me")
    assert "需要有人接任" in "\n".join(replies)
    assert "确定删除全部资料" not in boss.labels()
    await boss.presses("由张伟接任")
    await boss.says("/forget_me")
    await boss.presses("确定删除全部资料")
    async with db.session() as session:
        people = (await session.exec(select(Cadre.telegram_user_id))).all()
    assert people == [2]
    assert [(m[2], m[3]) for m in await memberships(db)] == [("supervisor", True)]
