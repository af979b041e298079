"""Edges found in review: ids that must never name another row, a member made supervisor,
one-use links and the last supervisor under concurrency, partial sends, refused sends,
removed members and their old link, and what /forget_me leaves in the outbox."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select

from bot.store.db import Database
from bot.store.models import Membership, Outbox, ReviewDecision, Submission, SubmissionVersion
from tests.fakes.bot_api import FakeBotApi
from tests.utils import updates
from tests.utils.clock import FakeClock
from tests.utils.teams import (
    invite_code,
    joins,
    member_who_submits,
    submits,
    supervisor_with_team,
)
from tests.utils.telegram import FakeTelegram


async def test_an_old_button_never_acts_on_a_later_report_that_took_its_place(
    tg: FakeTelegram, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    first = await member_who_submits(tg, 2, code, "甲")
    await tg.deliver()
    old_approve = boss.button("通过")
    await boss.presses("退回")  # the comment is now owed on 甲's report
    await first.says("/forget_me")
    await first.presses("确定删除全部资料")
    await member_who_submits(tg, 3, code, "乙")
    replies = await boss.says("甲同志：第三部分数据有误。")
    assert "这项操作不可用" in replies[-1]
    message_id, data = old_approve
    replies = await boss.sends(updates.callback_update(boss.id, data, message_id=message_id))
    assert "这项操作不可用" in replies[-1]
    async with db.session() as session:
        assert (await session.exec(select(ReviewDecision))).all() == []
        assert (await session.exec(select(Submission))).one().status == "submitted"


async def test_a_member_made_supervisor_does_not_decide_on_their_own_report(
    tg: FakeTelegram, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = await member_who_submits(tg, 2, code, "张伟")
    await tg.deliver()
    await boss.says("/team")
    await boss.presses("不再担任审阅人")
    await boss.presses("由张伟接任")
    await cadre.says("/history")
    version = await _version_id(db)
    replies = await cadre.presses_data(f"v1:appr:{version}::-1")
    assert "这项操作不可用" in replies[-1]
    await cadre.presses_data(f"v1:open:{version}::-1")
    assert "通过" not in " ".join(cadre.labels())
    async with db.session() as session:
        assert (await session.exec(select(ReviewDecision))).all() == []


async def _version_id(db: Database) -> int:
    async with db.session() as session:
        version = (await session.exec(select(SubmissionVersion))).one()
    assert version.id is not None
    return version.id


async def test_a_one_use_link_pressed_by_two_at_once_makes_one_supervisor(
    tg: FakeTelegram, db: Database
) -> None:
    boss, one, two = tg.user(1), tg.user(2), tg.user(3)
    await supervisor_with_team(boss)
    await boss.says("/team")
    await boss.presses("添加共同审阅人")
    code = invite_code(boss.last_text)
    for user, name in ((one, "甲"), (two, "乙")):
        await user.registers(name=name)
        await user.says(f"/start {code}")
    presses = [user.button("加入") for user in (one, two)]
    await asyncio.gather(
        *(
            tg.process(updates.callback_update(user.id, data, message_id=message_id))
            for user, (message_id, data) in zip((one, two), presses, strict=True)
        )
    )
    async with db.session() as session:
        roles = [m.role for m in (await session.exec(select(Membership))).all()]
    assert roles.count("supervisor") == 2  # the creator and exactly one of the two


async def test_two_supervisors_stepping_down_at_once_leave_one_in_charge(
    tg: FakeTelegram, db: Database
) -> None:
    boss, deputy = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await boss.says("/team")
    await boss.presses("添加共同审阅人")
    await deputy.registers(name="王副书记")
    await deputy.says(f"/start {invite_code(boss.last_text)}")
    await deputy.presses("加入")
    cadre = tg.user(3)
    await cadre.registers()
    await joins(cadre, code)
    for user in (boss, deputy):
        await user.says("/team")
        await user.presses("不再担任审阅人")
    presses = [user.button("确定退出") for user in (boss, deputy)]
    await asyncio.gather(
        *(
            tg.process(updates.callback_update(user.id, data, message_id=message_id))
            for user, (message_id, data) in zip((boss, deputy), presses, strict=True)
        )
    )
    async with db.session() as session:
        current = (
            await session.exec(
                select(Membership).where(
                    Membership.role == "supervisor", col(Membership.left_at).is_(None)
                )
            )
        ).all()
    assert len(current) == 1


async def test_a_document_that_failed_after_its_text_went_out_sends_only_the_document(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = await member_who_submits(tg, 2, code, "张伟")
    await tg.deliver()
    await boss.presses("退回")
    await boss.says("请补充。")
    await cadre.says("/edit")
    await cadre.presses("经验教训")
    await cadre.says(
        "推进涉及群众利益的项目必须先听意见再定方案，本人今后每个项目先走访不少于10户。"
    )
    await submits(cadre)
    api.fail_sends(1, method="sendDocument")
    await tg.deliver()
    clock.advance(minutes=1)
    await tg.deliver()
    assert sum("与第 1 版相比" in text for text in boss.texts) == 1
    assert len(boss.documents) == 2


async def test_a_notification_telegram_refuses_is_given_up_and_the_author_told(
    tg: FakeTelegram, api: FakeBotApi, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    await tg.deliver()
    cadre = await member_who_submits(tg, 2, code, "张伟")
    api.fail_sends(1, method="sendDocument", status=400)
    await tg.deliver()
    assert "没能送达" in cadre.last_text and "没有其他审阅人收到" in cadre.last_text
    async with db.session() as session:
        row = (await session.exec(select(Outbox).where(Outbox.kind == "submitted"))).one()
    assert row.failed_at is not None and (row.error or "").startswith("refused")


async def test_a_removed_member_needs_a_new_link_to_join_again(
    tg: FakeTelegram, clock: FakeClock
) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    await joins(cadre, code)
    clock.advance(days=1)
    await boss.says("/team")
    await boss.presses("成员")
    await boss.presses("移除 1.")
    await boss.presses("确定移除")
    await cadre.says(f"/start {code}")
    await cadre.presses("加入")
    assert "原来的邀请链接不能再用于加入" in cadre.last_text
    clock.advance(minutes=5)
    await boss.says("/team")
    await boss.presses("邀请链接")
    await boss.presses("更换链接")
    await joins(cadre, invite_code(boss.last_text))
    assert "已加入" in cadre.last_text


async def test_forget_me_removes_delivered_messages_about_the_person(
    tg: FakeTelegram, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = tg.user(2)
    await cadre.registers(name="张伟")
    await joins(cadre, code)
    await tg.deliver()  # "张伟 joined" delivered to the supervisor
    await cadre.says("/forget_me")
    await cadre.presses("确定删除全部资料")
    async with db.session() as session:
        kinds = [row.kind for row in (await session.exec(select(Outbox))).all()]
    assert kinds == ["left"]  # only the notice that they left, which the supervisor needs
