"""Messages to other people go through the outbox: delivered once, paced per chat, merged
into a digest when many wait, and never lost to Telegram's faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.store.db import Database
from bot.store.models import Cadre, Outbox, Submission
from bot.store.outbox import forget_delivered
from bot.telegram.outbox_sender import OutboxSender
from tests.fakes.bot_api import FakeBotApi
from tests.utils.clock import FakeClock
from tests.utils.teams import (
    completes_annual_report,
    invite_code,
    joins,
    member_who_submits,
    submits,
    supervisor_with_team,
)
from tests.utils.telegram import FakeTelegram


async def outbox_rows(db: Database) -> list[Outbox]:
    async with db.session() as session:
        return list((await session.exec(select(Outbox))).all())


async def test_more_than_five_waiting_for_one_supervisor_become_one_digest(
    tg: FakeTelegram,
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    for number in range(7):
        cadre = tg.user(10 + number)
        await cadre.registers(name=f"干部{number}")
        await joins(cadre, code)
    await tg.deliver()  # seven joins: one digest already
    assert "7 条新通知" in boss.last_text
    for number in range(7):
        cadre = tg.user(10 + number)
        await completes_annual_report(cadre)
        await submits(cadre)
    documents_before = len(boss.documents)
    messages_before = len(boss.texts)
    await tg.deliver()
    assert len(boss.texts) == messages_before + 1
    assert len(boss.documents) == documents_before  # .docx on request only
    digest = boss.last_text
    assert "7 条新通知" in digest
    assert all(f"干部{n}提交了" in digest for n in range(7))
    labels = boss.labels()
    assert any("看板" in label for label in labels)
    assert sum(label.startswith("📄") for label in labels) == 7
    await boss.presses("📄 干部3")
    assert boss.documents[-1][1][:2] == b"PK" and "干部3" in boss.captions[-1]
    assert "✅ 通过" in boss.labels()


async def test_a_few_notifications_come_one_by_one_at_most_one_a_second(
    tg: FakeTelegram, api: FakeBotApi
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    await member_who_submits(tg, 2, code, "张伟")
    await member_who_submits(tg, 3, code, "王芳")
    sender = OutboxSender(tg.app.bot, tg.deps, per_chat_seconds=1.0)
    assert await sender.send_due() == 1  # the first of four (two joins, two reports)
    assert await sender.send_due() == 0  # the same chat again within the second
    await asyncio.sleep(1.05)
    assert await sender.send_due() == 1


async def test_a_supervisor_who_blocked_the_bot_does_not_fail_the_submission(
    tg: FakeTelegram, api: FakeBotApi, db: Database
) -> None:
    boss, deputy = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await boss.says("/team")
    await boss.presses("添加共同审阅人")
    deputy_code = invite_code(boss.last_text)
    await deputy.registers(name="王副书记")
    await deputy.says(f"/start {deputy_code}")
    await deputy.presses("加入")
    await tg.deliver()
    api.block(1)
    cadre = await member_who_submits(tg, 3, code, "张伟")
    assert "第 1 版" in cadre.last_text
    await tg.deliver()
    assert deputy.documents and "张伟" in deputy.captions[-1]
    assert "没能送达李书记" in cadre.last_text
    async with db.session() as session:
        blocked = (await session.exec(select(Cadre).where(Cadre.telegram_user_id == 1))).one()
        submission = (await session.exec(select(Submission))).one()
    assert blocked.blocked_at is not None and submission.status == "submitted"
    await deputy.says("/team")
    assert "无法联系：李书记" in deputy.last_text
    await deputy.presses("进度看板")
    assert "无法联系：李书记" in deputy.last_text and "张伟 — 待审阅" in deputy.last_text
    await cadre.says("/history")
    assert "未能送达李书记" in cadre.last_text
    await tg.deliver()  # nothing more is tried for the blocked chat
    refused = [c for c in api.calls if c.status == 403 and str(c.params.get("chat_id")) == "1"]
    assert len(refused) == 1


async def test_a_bad_gateway_is_tried_again_later_and_delivered_once(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = tg.user(2)
    await cadre.registers()
    await joins(cadre, code)
    api.fail_sends(1)
    assert await tg.deliver() == 0
    [row] = await outbox_rows(db)
    assert row.sent_at is None and row.attempts == 1 and row.due_at > clock.now
    assert await tg.deliver() == 0  # not due yet: no tight loop
    clock.advance(seconds=3)
    assert await tg.deliver() == 1
    assert sum("已加入" in text for text in boss.texts) == 1


async def test_a_flood_wait_is_honoured(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = tg.user(2)
    await cadre.registers()
    await joins(cadre, code)
    api.flood_sends(1, retry_after=30)
    assert await tg.deliver() == 0
    clock.advance(seconds=20)
    assert await tg.deliver() == 0
    clock.advance(seconds=11)
    assert await tg.deliver() == 1
    assert sum("已加入" in text for text in boss.texts) == 1


@pytest.fixture
async def impatient(
    settings: Settings, api: FakeBotApi, clock: FakeClock
) -> AsyncIterator[FakeTelegram]:
    """The bot with a short read timeout, so that a held send times out quickly."""
    async with FakeTelegram.running(settings, api, clock, read_timeout=0.2) as telegram:
        yield telegram


async def test_a_timeout_is_tried_once_more_then_given_up_as_uncertain(
    impatient: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    tg = impatient
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = tg.user(2)
    await cadre.registers()
    await joins(cadre, code)
    api.hold_sends()
    assert await tg.deliver() == 0
    clock.advance(seconds=6)
    assert await tg.deliver() == 1
    [row] = await outbox_rows(db)
    assert row.failed_at is not None and "uncertain" in (row.error or "")
    clock.advance(minutes=10)
    assert await tg.deliver() == 0
    api.release_sends()

    def tries(api: FakeBotApi) -> int:
        return sum(
            1
            for call in api.calls
            if call.method == "sendMessage" and "已加入" in str(call.params.get("text"))
        )

    # Both tries may have gone out (that is what a timeout means); there is no third.
    await api.wait_for_async(lambda api: tries(api) == 2)
    assert tries(api) == 2


async def test_delivered_messages_are_forgotten_after_thirty_days_given_up_ones_kept(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    await member_who_submits(tg, 2, code, "张伟")
    await tg.deliver()
    api.block(2)
    await boss.presses("通过")
    await tg.deliver()  # the approval cannot reach the member: given up
    clock.advance(days=29)
    async with db.session() as session:
        assert await forget_delivered(session=session, before=clock() - timedelta(days=30)) == 0
    clock.advance(days=2)
    async with db.session() as session:
        assert await forget_delivered(session=session, before=clock() - timedelta(days=30)) == 2
    assert [(row.kind, row.error) for row in await outbox_rows(db)] == [("decided", "blocked")]


async def test_a_chat_held_back_by_telegram_holds_back_no_other_chat(
    tg: FakeTelegram, settings: Settings, api: FakeBotApi, clock: FakeClock
) -> None:
    first_boss, second_boss = tg.user(1), tg.user(2)
    first = await supervisor_with_team(first_boss, "甲组")
    second = await supervisor_with_team(second_boss, "乙组", name="孙书记")
    members = [tg.user(3), tg.user(4), tg.user(5)]
    for member, code, name in zip(
        members, (first, second, second), ("张伟", "王芳", "赵强"), strict=True
    ):
        await member.registers(name=name)
        await joins(member, code)
    await tg.deliver()  # the joins: out of the way
    for member in members:
        await completes_annual_report(member)
        await submits(member)
    api.clear()
    # The sender of a bot with its rate limiter, as shipped (the interviews above ran
    # without one, only to be quick).
    async with FakeTelegram.running(settings, api, clock, rate_limit=True) as limited:
        sender = OutboxSender(limited.app.bot, limited.deps, per_chat_seconds=0.0)
        stop, owner = asyncio.Event(), asyncio.Event()
        owner.set()
        api.flood_sends(1, retry_after=3, chat_id=1)  # the first supervisor's chat waits 3 s
        running = asyncio.create_task(sender.run(stop, owner))
        try:
            # The second supervisor gets both reports while the first one's chat waits.
            await api.wait_for_async(lambda api: len(api.documents(2)) == 2, timeout=2.5)
            assert api.documents(1) == []
            await api.wait_for_async(lambda api: len(api.documents(1)) == 1, timeout=6)
        finally:
            stop.set()
            await running


async def test_the_running_sender_comes_back_for_a_postponed_message_by_itself(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    cadre = tg.user(2)
    await cadre.registers()
    await joins(cadre, code)
    sender = OutboxSender(tg.app.bot, tg.deps, per_chat_seconds=0.0)
    stop, owner = asyncio.Event(), asyncio.Event()
    owner.set()
    api.fail_sends(1)
    running = asyncio.create_task(sender.run(stop, owner))
    try:
        await api.wait_for_async(lambda api: any(c.status == 502 for c in api.calls), timeout=3)
        await asyncio.sleep(0.5)  # the sender has recorded the fault and gone quiet
        clock.advance(seconds=3)  # past the backoff: nothing wakes the sender but its timer
        await api.wait_for_async(lambda api: any("已加入" in t for t in api.texts(1)), timeout=5)
    finally:
        stop.set()
        await running
