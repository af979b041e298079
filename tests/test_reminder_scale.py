"""Reminders at scale: two dispatchers over the same due rows send each exactly once, and a
dispatcher killed between sending and settling costs at most what it had in flight.

The rows are real: a team of registered members, an open cycle due in three days, and one
due BEFORE reminder per member (one each, so none is stale). What reached Telegram is
counted per chat from the fake Bot API's record of sendMessage calls.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from bot.services.dispatching import Prepared
from bot.store import reminders as store
from bot.store.db import Database
from bot.store.models import (
    Cadre,
    Cycle,
    CycleStatus,
    Membership,
    Reminder,
    ReminderKind,
    ReminderState,
    Role,
    Team,
)
from bot.telegram.deps import Deps
from bot.telegram.reminder_dispatcher import CONCURRENCY, ReminderDispatcher
from tests.fakes.bot_api import FakeBotApi
from tests.utils.clock import FakeClock
from tests.utils.telegram import FakeTelegram

FIRST_CHAT = 5_000_000  # members' Telegram user and chat ids from here
MEMBERS = 2_000


@dataclass(frozen=True)
class Seeded:
    cycle_id: int
    chats: dict[int, int]  # cadre id -> chat id


async def seed(db: Database, members: int, now: datetime) -> Seeded:
    """A team of `members` registered members, an open annual cycle due in three days, and
    for each member one BEFORE reminder that fell due a minute ago. Written in bulk."""
    async with db.engine.begin() as conn:
        team_id = (
            await conn.execute(
                insert(Team).returning(Team.__table__.c.id),  # type: ignore[attr-defined]
                [
                    Team(name="规模测试组", created_at=now, updated_at=now).model_dump(
                        exclude={"id"}
                    )
                ],
            )
        ).scalar_one()
        await conn.execute(
            insert(Cadre),
            [
                Cadre(
                    telegram_user_id=FIRST_CHAT + n,
                    chat_id=FIRST_CHAT + n,
                    name=f"成员{n}",
                    registered=True,
                    created_at=now,
                    updated_at=now,
                ).model_dump(exclude={"id"})
                for n in range(members)
            ],
        )
        chats = {
            int(cadre_id): int(chat_id)
            for cadre_id, chat_id in (
                await conn.execute(
                    select(Cadre.__table__.c.id, Cadre.__table__.c.chat_id)  # type: ignore[attr-defined]
                )
            ).all()
        }
        assert len(chats) == members
        await conn.execute(
            insert(Membership),
            [
                Membership(
                    team_id=team_id, cadre_id=cadre_id, role=Role.MEMBER, joined_at=now
                ).model_dump(exclude={"id"})
                for cadre_id in chats
            ],
        )
        cycle_id = (
            await conn.execute(
                insert(Cycle).returning(Cycle.__table__.c.id),  # type: ignore[attr-defined]
                [
                    Cycle(
                        team_id=team_id,
                        report_type="annual",
                        period="2026",
                        title="2026 年度述职",
                        deadline_at=now + timedelta(days=3),
                        offsets=["1d"],
                        status=CycleStatus.OPEN,
                        opened_at=now - timedelta(days=1),
                        created_at=now,
                        updated_at=now,
                    ).model_dump(exclude={"id"})
                ],
            )
        ).scalar_one()
    due = now - timedelta(minutes=1)
    async with db.session() as session:
        await store.add(
            session,
            [
                store.Planned(cycle_id, cadre_id, ReminderKind.BEFORE, "1d", due, due)
                for cadre_id in chats
            ],
        )
        await session.commit()
    return Seeded(cycle_id, chats)


def deliveries(api: FakeBotApi) -> Counter[int]:
    """Successful sendMessage calls per chat."""
    return Counter(
        int(call.params["chat_id"])
        for call in api.calls
        if call.method == "sendMessage" and call.status == 200
    )


async def states(db: Database) -> dict[str, int]:
    """Reminder rows per state."""
    t = Reminder.__table__  # type: ignore[attr-defined]
    async with db.session() as session:
        rows = (
            await (await session.connection()).execute(
                select(t.c.state, func.count()).group_by(t.c.state)
            )
        ).all()
    return {str(state): int(count) for state, count in rows}


async def drain(dispatcher: ReminderDispatcher, *, passes: int = 500) -> int:
    """dispatch_once until a pass claims nothing; how many rows this dispatcher claimed."""
    claimed = 0
    for _ in range(passes):
        done = await dispatcher.dispatch_once()
        if not done:
            return claimed
        claimed += done
    raise AssertionError(f"still claiming after {passes} passes")


async def test_two_dispatchers_send_every_reminder_exactly_once(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock, database_url: str
) -> None:
    seeded = await seed(tg.deps.db, MEMBERS, clock())
    # The second dispatcher has a Database (an engine, a pool) of its own on the same
    # database, as a second instance would; they share only the database and the bot. On
    # PostgreSQL their claims race for real (SKIP LOCKED keeps them apart); on SQLite the
    # file's write lock (BEGIN IMMEDIATE) serialises them, not the Database's own queue.
    # (Both run on one event loop: on SQLite that holds as long as no transaction waits
    # for I/O, true of the inline connection; else the other's BEGIN would wait on the
    # loop's thread and fail after the busy timeout instead of deadlocking.)
    other_db = Database(database_url)
    try:
        other = Deps(db=other_db, res=tg.deps.res, clock=clock)
        first = ReminderDispatcher(tg.app.bot, tg.deps)
        second = ReminderDispatcher(tg.app.bot, other)
        claimed = await asyncio.gather(drain(first), drain(second))
    finally:
        await other_db.dispose()

    assert sum(claimed) == MEMBERS  # no row claimed twice
    assert all(n > 0 for n in claimed), f"one dispatcher did all the work: {claimed}"
    sent = deliveries(api)
    assert set(sent) == set(seeded.chats.values())
    twice = {chat: n for chat, n in sent.items() if n != 1}
    assert not twice, f"{len(twice)} chats got a reminder more than once"
    assert await states(tg.deps.db) == {ReminderState.SENT.value: MEMBERS}


class KilledAfterSending(ReminderDispatcher):
    """A dispatcher killed between sending and settling (kill -9 once its batch has gone
    out): the real claim, preparation and delivery run; nothing of the outcomes is
    written, so its rows stay claimed until their lease runs out. It notes which rows it
    had in flight."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.in_flight: list[store.Outcome] = []

    async def _settle(
        self, outcomes: Sequence[store.Outcome], prepared: Sequence[Prepared]
    ) -> None:
        self.in_flight.extend(outcomes)


async def test_a_dispatcher_killed_after_sending_duplicates_at_most_its_batch(
    tg: FakeTelegram, api: FakeBotApi, clock: FakeClock
) -> None:
    members = 500
    seeded = await seed(tg.deps.db, members, clock())
    killed = KilledAfterSending(tg.app.bot, tg.deps)
    assert killed.concurrency == CONCURRENCY
    assert await killed.dispatch_once() == CONCURRENCY
    in_flight = {o.id for o in killed.in_flight}
    assert len(in_flight) == CONCURRENCY
    assert all(o.state is ReminderState.SENT for o in killed.in_flight)  # it did send them
    assert sum(deliveries(api).values()) == CONCURRENCY

    # A healthy dispatcher, meanwhile, sends the rest and leaves the claimed rows alone.
    fresh = ReminderDispatcher(tg.app.bot, tg.deps)
    assert await drain(fresh) == members - CONCURRENCY
    assert max(deliveries(api).values()) == 1
    assert await states(tg.deps.db) == {
        ReminderState.SENT.value: members - CONCURRENCY,
        ReminderState.SENDING.value: CONCURRENCY,
    }
    # Exactly at the end of the lease the rows are still held ...
    clock.advance(seconds=store.LEASE.total_seconds())
    assert await drain(fresh) == 0
    # ... and just after it they are claimed again and sent a second time.
    clock.advance(seconds=1)
    assert await drain(fresh) == CONCURRENCY

    sent = deliveries(api)
    assert set(sent) == set(seeded.chats.values())  # nobody missed
    duplicated = sum(n - 1 for n in sent.values())
    assert duplicated == len(in_flight) <= CONCURRENCY
    async with tg.deps.db.session() as session:
        t = Reminder.__table__  # type: ignore[attr-defined]
        recipients = (
            await (await session.connection()).execute(
                select(t.c.recipient_id).where(t.c.id.in_(in_flight))
            )
        ).scalars()
        twice = {seeded.chats[r] for r in recipients}
    assert {chat for chat, n in sent.items() if n > 1} == twice  # the ones in flight
    assert await states(tg.deps.db) == {ReminderState.SENT.value: members}
