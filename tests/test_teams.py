"""Teams end to end through the real Application: create, invite, join, submit, review."""

from __future__ import annotations

from sqlmodel import col, select

from bot.store.db import Database
from bot.store.models import Invite, Membership, ReviewDecision, Submission, SubmissionVersion
from tests.utils.teams import (
    completes_annual_report,
    invite_code,
    joins,
    submits,
    supervisor_with_team,
)
from tests.utils.telegram import FakeTelegram


async def test_a_supervisor_creates_a_team_and_gets_an_invite_link(
    tg: FakeTelegram, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    assert "市教育局述职组" in boss.last_text
    assert f"https://t.me/debrief_test_bot?start={code}" in boss.last_text
    assert len(code) >= 16  # 96 random bits
    async with db.session() as session:
        invite = (await session.exec(select(Invite))).one()
        member = (await session.exec(select(Membership))).one()
    assert invite.code == code and member.role == "supervisor"


async def test_a_member_joins_and_the_supervisor_is_told(tg: FakeTelegram, db: Database) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    replies = await cadre.says(f"/start {code}")
    assert "市教育局述职组" in replies[-1] and "李书记" in replies[-1]
    await cadre.presses("加入")
    assert "已加入" in cadre.last_text
    await tg.deliver()
    assert "张伟" in boss.last_text and "已加入" in boss.last_text


async def test_a_stranger_registers_first_and_then_confirms(tg: FakeTelegram) -> None:
    boss, stranger = tg.user(1), tg.user(3)
    code = await supervisor_with_team(boss)
    await joins(stranger, code, name="王芳", registered=False)
    assert "已加入" in stranger.last_text


async def test_a_bad_rotated_or_deleted_code_creates_nothing(
    tg: FakeTelegram, db: Database
) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await boss.says("/team")
    await boss.presses("邀请链接")
    await boss.presses("更换链接")
    new_code = invite_code(boss.last_text)
    assert new_code != code
    await cadre.registers()
    for attempt in (code, "AAAAAAAAAAAAAAAA", "x"):
        replies = await cadre.says(f"/start {attempt}")
        assert "邀请链接无效" in replies[-1]
    stranger = tg.user(9)
    replies = await stranger.says(f"/start {code}")
    assert "邀请链接无效" in replies[-1]
    async with db.session() as session:
        members = (await session.exec(select(Membership))).all()
    assert len(members) == 1  # the supervisor alone


async def test_submit_review_return_resubmit_approve(tg: FakeTelegram, db: Database) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    await joins(cadre, code)
    await completes_annual_report(cadre)
    shown = await submits(cadre)
    assert "第 1 版" in shown[-1]
    await tg.deliver()
    assert boss.documents and "张伟" in boss.captions[-1]
    assert "通过" in " ".join(boss.labels())

    await boss.presses("退回")
    assert "修改意见" in boss.last_text
    await boss.says("成效部分请补充与上年的对比。\n不足部分原因太笼统。")
    assert "退回" in boss.last_text
    await tg.deliver()
    assert "成效部分请补充与上年的对比" in cadre.last_text

    await cadre.says("/edit")
    await cadre.presses("存在的不足及原因")
    await cadre.presses("第 1 项")
    await cadre.says(
        "调查研究不够深入，主要原因是本人忙于日常事务，沉到一线蹲点调研少，今后每季度蹲点不少于5天。"
    )
    shown = await submits(cadre)
    assert "第 2 版" in shown[-1]
    await tg.deliver()
    assert "与第 1 版相比" in " ".join(boss.texts)
    await boss.presses("通过")
    await tg.deliver()
    assert "审阅通过" in cadre.last_text
    async with db.session() as session:
        submission = (await session.exec(select(Submission))).one()
        versions = (
            await session.exec(select(SubmissionVersion).order_by(col(SubmissionVersion.number)))
        ).all()
        decisions = (
            await session.exec(select(ReviewDecision).order_by(col(ReviewDecision.version)))
        ).all()
    assert submission.status == "approved" and submission.version == 2
    assert [v.number for v in versions] == [1, 2]
    assert [(d.version, d.decision) for d in decisions] == [(1, "returned"), (2, "approved")]
    assert versions[0].docx[:2] == b"PK"


async def test_a_member_of_two_teams_picks_the_team_and_each_gets_its_own_submission(
    tg: FakeTelegram, db: Database
) -> None:
    first_boss, second_boss, cadre = tg.user(1), tg.user(2), tg.user(3)
    first = await supervisor_with_team(first_boss, "甲组")
    second = await supervisor_with_team(second_boss, "乙组", name="孙书记")
    await cadre.registers()
    await joins(cadre, first)
    await joins(cadre, second)
    await completes_annual_report(cadre)
    replies = await cadre.says("/submit")
    assert "提交给哪个团队" in replies[-1] and cadre.labels() == ["甲组", "乙组"]
    await cadre.presses("乙组")
    if "仍然提交" in cadre.labels():
        await cadre.presses("仍然提交")
    assert "乙组" in cadre.last_text and "第 1 版" in cadre.last_text
    await tg.deliver()
    assert second_boss.documents and not first_boss.documents
    async with db.session() as session:
        submissions = (await session.exec(select(Submission))).all()
    assert len(submissions) == 1


async def test_opening_the_link_of_ones_own_team_changes_nothing(
    tg: FakeTelegram, db: Database
) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await boss.says(f"/start {code}")
    await boss.presses("加入")
    assert "已经在" in boss.last_text
    await cadre.registers()
    await joins(cadre, code)
    await cadre.says(f"/start {code}")
    await cadre.presses("加入")
    assert "已经在" in cadre.last_text
    async with db.session() as session:
        roles = [m.role for m in (await session.exec(select(Membership))).all()]
    assert sorted(roles) == ["member", "supervisor"]


async def test_the_finished_draft_of_a_team_member_comes_with_a_submit_button(
    tg: FakeTelegram,
) -> None:
    boss, cadre, loner = tg.user(1), tg.user(2), tg.user(3)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    await joins(cadre, code)
    await completes_annual_report(cadre)
    assert cadre.documents[-1][0].endswith(".docx")
    replies = await cadre.presses("提交审阅")
    assert "可能会就" in replies[-1] or "第 1 版" in replies[-1]
    await loner.registers(name="独行者")
    await completes_annual_report(loner)
    assert loner.documents and not any(
        "提交审阅" in label for _, b in loner.keyboards() for label, _ in b
    )
