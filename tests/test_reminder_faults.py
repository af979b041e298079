"""Telegram's faults while reminders go out, injected at the fake Bot API: none loses a
reminder, none sends one twice, none makes the dispatcher spin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.store.db import Database
from bot.store.models import Cadre, Reminder, ReminderState
from tests.fakes.bot_api import FakeBotApi
from tests.test_cycles import opens_cycle, reminders_to, team_of_two
from tests.utils.clock import FakeClock
from tests.utils.telegram import FakeTelegram

SEVEN_DAYS_BEFORE = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)


async def to(db: Database, chat_id: int) -> list[Reminder]:
    """Reminders before the deadline to one person, oldest first."""
    async with db.session() as session:
        person = (await session.exec(select(Cadre).where(Cadre.chat_id == chat_id))).one()
        return list(
            (
                await session.exec(
                    select(Reminder)
                    .where(Reminder.recipient_id == person.id, Reminder.kind == "before")
                    .order_by(col(Reminder.planned_at))
                )
            ).all()
        )


def sends_to(api: FakeBotApi, chat_id: int) -> int:
    return sum(
        1
        for call in api.calls
        if call.method == "sendMessage" and str(call.params.get("chat_id")) == str(chat_id)
    )


async def test_a_bad_gateway_is_tried_again_later_with_backoff_and_sent_once(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    boss, zhang, wang = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    clock.now = SEVEN_DAYS_BEFORE
    api.fail_sends(2)  # both members' reminders meet a 502
    await tg.remind()
    first = (await to(db, 2))[0]
    assert first.state == ReminderState.PENDING and first.not_before > clock.now
    assert "network" in (first.error or "")
    assert await tg.remind() == 0  # not due again yet: no tight loop
    clock.advance(seconds=3)
    await tg.remind()
    assert len(reminders_to(zhang)) == 1 and len(reminders_to(wang)) == 1
    assert (await to(db, 2))[0].state == ReminderState.SENT


async def test_a_flood_wait_is_honoured(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    clock.now = SEVEN_DAYS_BEFORE
    api.flood_sends(1, retry_after=30, chat_id=2)
    await tg.remind()
    assert not reminders_to(zhang)
    clock.advance(seconds=20)
    assert await tg.remind() == 0
    clock.advance(seconds=11)
    await tg.remind()
    assert len(reminders_to(zhang)) == 1


async def test_a_member_who_blocked_the_bot_is_unreachable_and_never_tried_again(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    boss, _, wang = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    api.block(2)
    clock.now = SEVEN_DAYS_BEFORE
    await tg.remind()
    assert (await to(db, 2))[0].state == ReminderState.FAILED
    assert len(reminders_to(wang)) == 1
    refused = sends_to(api, 2)
    clock.now = datetime(2026, 12, 28, 10, 0, tzinfo=UTC)
    await tg.remind()
    assert sends_to(api, 2) == refused  # no more tries
    await boss.says("/deadlines")
    assert "无法联系（已屏蔽机器人）：张伟" in boss.last_text


@pytest.fixture
async def impatient(
    settings: Settings, api: FakeBotApi, clock: FakeClock
) -> AsyncIterator[FakeTelegram]:
    """The bot with a short read timeout, so that a held send times out quickly."""
    async with FakeTelegram.running(settings, api, clock, read_timeout=0.2) as telegram:
        yield telegram


async def test_a_timeout_is_tried_once_more_then_marked_uncertain_for_the_supervisor(
    impatient: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    tg = impatient
    boss, _, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    clock.now = SEVEN_DAYS_BEFORE
    api.hold_sends()
    await tg.remind()
    assert (await to(db, 2))[0].state == ReminderState.PENDING
    clock.advance(seconds=6)
    await tg.remind()
    assert (await to(db, 2))[0].state == ReminderState.UNCERTAIN
    clock.advance(minutes=10)
    assert await tg.remind() == 0  # not tried a third time
    api.release_sends()
    await boss.says("/deadlines")
    assert "提醒可能未送达（Telegram 超时）：" in boss.last_text and "张伟" in boss.last_text


async def test_a_refused_reminder_is_given_up_and_the_rest_go_out(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    boss, _, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    clock.now = SEVEN_DAYS_BEFORE
    api.fail_sends(1, status=400)
    await tg.remind()
    states = sorted([(await to(db, 2))[0].state, (await to(db, 3))[0].state])
    assert states == [ReminderState.FAILED, ReminderState.SENT]
    assert await tg.remind() == 0
