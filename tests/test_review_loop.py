"""The review loop in detail: the comment a supervisor owes, co-supervisors, stale buttons,
and two decisions at the same moment."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.store.db import Database
from bot.store.models import Answer, ReviewDecision, Submission
from tests.utils import updates
from tests.utils.teams import (
    completes_annual_report,
    invite_code,
    joins,
    submits,
    supervisor_with_team,
)
from tests.utils.telegram import FakeTelegram, FakeUser


async def team_with_submission(tg: FakeTelegram) -> tuple[FakeUser, FakeUser, FakeUser]:
    """A supervisor, a co-supervisor, and a member whose report awaits them."""
    boss, deputy, cadre = tg.user(1), tg.user(2), tg.user(3)
    code = await supervisor_with_team(boss)
    await boss.says("/team")
    await boss.presses("添加共同审阅人")
    await deputy.registers(name="王副书记")
    await deputy.says(f"/start {invite_code(boss.last_text)}")
    await deputy.presses("加入")
    await cadre.registers()
    await joins(cadre, code)
    await completes_annual_report(cadre)
    await submits(cadre)
    await tg.deliver()
    return boss, deputy, cadre


async def decisions(db: Database) -> list[tuple[int, str, str]]:
    async with db.session() as session:
        rows = (await session.exec(select(ReviewDecision))).all()
    return [(d.version, d.decision, d.comment) for d in rows]


async def test_the_comment_mark_comes_before_the_supervisors_own_interview(
    tg: FakeTelegram, db: Database
) -> None:
    boss, _, _ = await team_with_submission(tg)
    await boss.says("/new")
    await boss.starts_report("年度述职报告")  # the supervisor is writing a report too
    await boss.presses("退回")
    await boss.says("请补充数据。")
    assert "退回" in boss.last_text
    assert await decisions(db) == [(1, "returned", "请补充数据。")]
    async with db.session() as session:
        answers = (await session.exec(select(Answer.text))).all()
    assert "请补充数据。" not in answers


async def test_any_command_cancels_the_mark_and_the_next_text_is_an_answer_again(
    tg: FakeTelegram, db: Database
) -> None:
    boss, _, _ = await team_with_submission(tg)
    await boss.presses("退回")
    replies = await boss.says("/cancel")
    assert "已取消" in replies[-1]
    await boss.says("这段话不是意见。")
    assert await decisions(db) == []


async def test_a_reply_to_the_prompt_is_the_comment_even_after_a_command(
    tg: FakeTelegram, db: Database
) -> None:
    boss, _, cadre = await team_with_submission(tg)
    await boss.presses("退回")
    prompt = boss.last_message_id()
    await boss.says("/help")
    await boss.says("成效部分请补充对比。", reply_to=prompt)
    assert await decisions(db) == [(1, "returned", "成效部分请补充对比。")]
    await tg.deliver()
    assert "成效部分请补充对比。" in cadre.last_text
    assert cadre.labels() == ["修改回答", "重新提交"]


async def test_an_empty_comment_or_a_sticker_is_asked_again(tg: FakeTelegram, db: Database) -> None:
    boss, _, _ = await team_with_submission(tg)
    await boss.presses("退回")
    replies = await boss.says("   ")
    assert "意见不能为空" in replies[-1]
    replies = await boss.sends(updates.sticker_update(boss.id))
    assert "您正在写修改意见" in replies[-1]
    await boss.says("第二部分请充实。")
    assert await decisions(db) == [(1, "returned", "第二部分请充实。")]


async def test_the_first_decision_wins_and_the_other_supervisor_is_told_who_decided(
    tg: FakeTelegram, db: Database
) -> None:
    boss, deputy, cadre = await team_with_submission(tg)
    await deputy.presses("通过")
    replies = await boss.presses("通过")
    assert "王副书记已于" in replies[-1] and "通过了这一版" in replies[-1]
    await boss.presses("退回")
    assert "王副书记已于" in boss.last_text
    assert await decisions(db) == [(1, "approved", "")]
    await tg.deliver()
    assert sum("审阅通过" in t for t in cadre.texts) == 1


async def test_a_button_of_an_older_version_decides_nothing(tg: FakeTelegram, db: Database) -> None:
    boss, _, cadre = await team_with_submission(tg)
    old_approve = boss.button("通过")
    await cadre.says("/edit")
    await cadre.presses("重点工作成效")
    await cadre.presses("第 1 项")
    await cadre.says(
        "牵头推进高标准农田建设，全年新建2.6万亩，较上年增长30%，全市排名由第5位升至第2位。"
    )
    await submits(cadre)
    await tg.deliver()
    message_id, data = old_approve
    replies = await boss.sends(updates.callback_update(boss.id, data, message_id=message_id))
    assert "之后已提交第 2 版" in replies[-1]
    assert await decisions(db) == []
    assert "与第 1 版相比" in "\n".join(boss.texts)


async def test_two_supervisors_deciding_at_the_same_moment_record_one_decision(
    tg: FakeTelegram, db: Database
) -> None:
    """On PostgreSQL the two presses run in parallel transactions: the conditional update
    lets exactly one of them through, whichever order they take."""
    boss, deputy, _ = await team_with_submission(tg)
    boss_press, deputy_press = boss.button("通过"), deputy.button("通过")
    await asyncio.gather(
        tg.process(updates.callback_update(boss.id, boss_press[1], message_id=boss_press[0])),
        tg.process(updates.callback_update(deputy.id, deputy_press[1], message_id=deputy_press[0])),
    )
    assert [d[:2] for d in await decisions(db)] == [(1, "approved")]
    async with db.session() as session:
        submission = (await session.exec(select(Submission))).one()
    assert submission.status == "approved"
    said = [boss.last_text, deputy.last_text]
    assert sum("已通过张伟的第 1 版" in t for t in said) == 1
    assert sum("通过了这一版" in t for t in said) == 1
