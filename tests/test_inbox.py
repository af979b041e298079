"""The durable poller: updates are in the inbox before Telegram is told they arrived."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select
from telegram import Update
from telegram.ext import TypeHandler

from bot.config import Settings
from bot.store.db import Database, is_sqlite, is_transient
from bot.store.lease import NAMESPACE
from bot.store.models import InboxUpdate
from bot.telegram.polling import InboxPoller
from tests.fakes.bot_api import FakeBotApi
from tests.test_cadre_interview import answers_of, current_question
from tests.utils import updates
from tests.utils.clock import FakeClock
from tests.utils.journeys import answer_for
from tests.utils.telegram import FakeTelegram


def poller(tg: FakeTelegram) -> InboxPoller:
    return InboxPoller(tg.app, tg.deps, timeout=0)


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until `check()` holds (the poller runs concurrently), or fail."""
    for _ in range(int(seconds / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def inbox_ids(db: Database) -> list[int]:
    async with db.session() as session:
        return sorted((await session.exec(select(InboxUpdate.update_id))).all())


async def test_fetched_updates_are_stored_before_their_offset_is_confirmed(
    tg: FakeTelegram, db: Database
) -> None:
    ids = [tg.api.push_update(updates.text_update(42, "/start")) for _ in range(3)]
    handling = asyncio.Event()

    async def hold_the_handlers(_update: object, _context: object) -> None:
        await handling.wait()

    tg.app.add_handler(TypeHandler(Update, hold_the_handlers), group=-1)
    p = poller(tg)
    assert await p.fetch_once() == 3
    assert await inbox_ids(db) == ids
    assert tg.api.confirmed_up_to < ids[0]  # the next getUpdates confirms them
    handling.set()
    await p.drain_all()
    await p.fetch_once()
    assert tg.api.confirmed_up_to == ids[-1]
    assert await inbox_ids(db) == []


async def test_drain_hands_each_stored_update_to_the_bot_once_in_order(
    tg: FakeTelegram, db: Database
) -> None:
    for text in ("/start",):
        tg.api.push_update(updates.text_update(42, text))
    p = poller(tg)
    await p.fetch_once()
    await p.drain_all()
    assert await inbox_ids(db) == []
    assert "述职助手" in tg.api.texts(42)[0]
    assert await p.recover() == 0  # nothing left in the inbox to hand out


async def test_an_update_redelivered_after_a_crash_is_applied_once(
    settings: Settings, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    async with FakeTelegram.running(settings, api, clock) as tg:
        user = tg.user(42)
        await user.registers()
        await user.starts_report("年度述职报告")
        answer_id = api.push_update(updates.text_update(42, answer_for("post")))
        first = poller(tg)
        await first.fetch_once()
        await first.drain_all()  # handled, but the crash comes before the offset moves
    assert answer_id in api.pending_update_ids()

    async with FakeTelegram.running(settings, api, clock) as tg:
        second = poller(tg)
        await second.fetch_once()  # Telegram serves the unconfirmed update again
        await second.drain_all()
        await second.fetch_once()
    assert api.pending_update_ids() == []
    assert await answers_of(db, 42) == {"post": [answer_for("post")]}
    assert await current_question(db, 42) == "tasks"


async def test_updates_of_different_cadres_are_all_handled_in_one_drain(
    tg: FakeTelegram, db: Database
) -> None:
    for user_id in range(1, 21):
        tg.api.push_update(updates.text_update(user_id, "/start"))
    p = poller(tg)
    await p.fetch_once()
    assert p.queued == 20  # handed out at once, straight from the fetch
    await p.drain_all()
    assert p.queued == 0 and await inbox_ids(db) == []
    assert all(tg.api.texts(user_id) for user_id in range(1, 21))


async def test_old_dedup_records_are_forgotten_and_recent_ones_kept(
    tg: FakeTelegram, db: Database, clock: FakeClock
) -> None:
    from datetime import timedelta

    from bot.store.models import ProcessedUpdate
    from bot.store.queries import forget_processed_updates

    user = tg.user(42)
    await user.says("/start", update_id=500)
    clock.advance(days=8)
    await user.says("/help", update_id=501)
    async with db.session() as session:
        dropped = await forget_processed_updates(
            session=session, before=clock() - timedelta(days=7)
        )
    async with db.session() as session:
        kept = (await session.exec(select(ProcessedUpdate.update_id))).all()
    assert dropped == 1 and list(kept) == [501]


async def test_an_update_whose_handler_fails_is_kept_aside_and_the_user_told(
    settings: Settings, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    from sqlalchemy import text

    async with FakeTelegram.running(settings, api, clock, allow_errors=True) as tg:
        user = tg.user(42)
        await user.registers()
        await user.starts_report("年度述职报告")
        async with db.engine.begin() as connection:  # a real failure: the table is gone
            await connection.execute(text("ALTER TABLE answer RENAME TO answer_gone"))
        try:
            failing = api.push_update(updates.text_update(42, answer_for("post")))
            unreadable = api.push_update(updates.text_update(42, "x"))
            p = poller(tg)
            await p.fetch_once()
            async with db.session() as session:  # an update this version cannot read
                row = await session.get(InboxUpdate, unreadable)
                assert row is not None
                row.payload = '{"update_id": "not a number"'
                await session.commit()
            await p.drain_all()
        finally:
            async with db.engine.begin() as connection:
                await connection.execute(text("ALTER TABLE answer_gone RENAME TO answer"))
        assert tg.errors, "the handler really failed"
        assert "已保存的回答不会丢失" in user.last_text
    async with db.session() as session:
        rows = (await session.exec(select(InboxUpdate))).all()
    assert sorted((r.update_id, r.failed_at is not None) for r in rows) == [
        (failing, True),
        (unreadable, True),
    ]


async def test_a_reply_lost_after_the_answer_was_saved_is_not_reported_as_a_failure(
    tg: FakeTelegram, db: Database
) -> None:
    """Telegram is down when the acknowledgement goes out: the answer is saved, so the
    update is handled (not set aside with "try again"), and the cadre who sends the same
    answer again is told it is already saved instead of it landing on the next question."""
    user = tg.user(42)
    await user.registers()
    await user.starts_report("年度述职报告")
    tg.api.fail_sends(1000)
    tg.api.push_update(updates.text_update(42, answer_for("post")))
    p = poller(tg)
    await p.fetch_once()
    await p.drain_all()
    tg.api.fail_sends(0)  # Telegram is back
    assert await inbox_ids(db) == []
    assert not any("出了点问题" in t for t in user.texts)
    replies = await user.says(answer_for("post"))
    assert "已经保存过了" in replies[0] and "第 2/12 题" in replies[-1]
    assert await answers_of(db, 42) == {"post": [answer_for("post")]}


async def test_polling_goes_on_after_storing_fetched_updates_failed(
    tg: FakeTelegram, db: Database
) -> None:
    """A database failure while storing confirms nothing: the same updates are fetched
    again and handled once the database is back, and the process never stops polling."""
    from sqlalchemy import text

    user = tg.user(42)
    p = InboxPoller(tg.app, tg.deps, timeout=1)
    stop = asyncio.Event()
    async with db.engine.begin() as connection:  # a real failure: the table is gone
        await connection.execute(text("ALTER TABLE inbox_update RENAME TO inbox_gone"))
    running = asyncio.create_task(p.run(stop))
    try:
        first = tg.api.push_update(updates.text_update(42, "/start"))
        await asyncio.sleep(1.5)
        assert not user.texts and first in tg.api.pending_update_ids()
        async with db.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE inbox_gone RENAME TO inbox_update"))
        await eventually(lambda: bool(user.texts))
        assert "述职助手" in user.texts[0]
        assert not running.done()
    finally:
        stop.set()
        await running


async def test_a_dedup_record_is_kept_while_its_update_is_still_in_the_inbox(
    tg: FakeTelegram, db: Database, clock: FakeClock
) -> None:
    """A process killed after applying an update but before removing it from the inbox
    leaves both records; pruning must not forget the first while the second is there."""
    from datetime import timedelta

    from bot.store.inbox import store_updates
    from bot.store.queries import forget_processed_updates

    user = tg.user(42)
    await user.registers()
    await user.starts_report("年度述职报告")
    update = updates.text_update(42, answer_for("post"), update_id=7000)
    await user.sends(update)  # applied...
    async with db.session() as session:  # ...and, as the crash left it, still in the inbox
        await store_updates(session=session, updates=[(7000, json.dumps(update))], now=clock())
    clock.advance(days=8)
    async with db.session() as session:
        await forget_processed_updates(session=session, before=clock() - timedelta(days=7))
    p = poller(tg)
    assert await p.recover() == 1  # the row applied before the "crash" comes round again
    await p.drain_all()
    assert await answers_of(db, 42) == {"post": [answer_for("post")]}
    assert await current_question(db, 42) == "tasks"
    assert await inbox_ids(db) == []


async def test_a_cadre_with_a_backlog_does_not_hold_up_a_newcomer(
    tg: FakeTelegram, db: Database
) -> None:
    """Each cadre's updates are served by a worker of their own: one who arrives while
    another's long queue is being worked through is answered at once, not after it."""
    for _ in range(40):
        tg.api.push_update(updates.text_update(1, "/help"))
    p = InboxPoller(tg.app, tg.deps, timeout=1)
    stop = asyncio.Event()
    running = asyncio.create_task(p.run(stop))
    try:
        await eventually(lambda: bool(tg.api.texts(1)))
        tg.api.push_update(updates.text_update(2, "/start"))
        await eventually(lambda: bool(tg.api.texts(2)))
        backlog = len(await inbox_ids(db))
        assert backlog > 0, "the first cadre's queue was already done: no backlog to pass"
    finally:
        stop.set()
        await running


async def test_stopping_mid_read_finishes_the_read_and_leaves_the_database_free(
    tg: FakeTelegram, db: Database, database_url: str, clock: FakeClock
) -> None:
    """The stop signal lands while the poller reads the inbox back at start-up. The query
    is finished, not cancelled: a connection cut off mid-call can keep SQLite's write lock,
    and the update a worker is handling could then never be settled. Nothing is lost
    either: the update is still in the inbox for the next start."""
    from sqlalchemy import event

    from bot.store.inbox import store_updates

    update = updates.text_update(42, "/start", update_id=7000)
    async with db.session() as session:  # stored by an earlier run that did not handle it
        await store_updates(session=session, updates=[(7000, json.dumps(update))], now=clock())
    p = InboxPoller(tg.app, tg.deps, timeout=1)
    stop = asyncio.Event()

    def stop_while_reading_the_inbox(_conn: object, _cursor: object, statement: str, *_: object):
        if statement.lstrip().upper().startswith("SELECT") and "inbox_update" in statement:
            stop.set()

    engine = tg.deps.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", stop_while_reading_the_inbox)
    try:
        await asyncio.wait_for(p.run(stop), timeout=60)
    finally:
        event.remove(engine, "before_cursor_execute", stop_while_reading_the_inbox)

    if tg.deps.db.is_sqlite:
        # Another writer gets the lock at once (timeout 0: a held lock fails right away).
        path = make_url(database_url).database
        assert path
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
    assert await inbox_ids(db) == [7000]
    assert not tg.api.texts(42)
    p = poller(tg)
    await p.recover()
    await p.drain_all()
    assert await inbox_ids(db) == []
    assert len(tg.api.texts(42)) == 1 and "述职助手" in tg.api.texts(42)[0]


async def test_an_update_that_meets_a_locked_database_is_applied_later_and_in_order(
    settings: Settings, api: FakeBotApi, clock: FakeClock, database_url: str, db: Database
) -> None:
    """Another process holds SQLite's write lock past the busy timeout. The cadre's update is
    not failed with "try again": it stays in the inbox and is tried again once the lock is
    gone, and their next update waits behind it, so both are applied once and in order."""
    if not is_sqlite(database_url):
        pytest.skip("SQLite's write lock")
    async with FakeTelegram.running(settings, api, clock, allow_errors=True) as tg:
        user = tg.user(42)
        await user.registers()
        await user.starts_report("年度述职报告")
        await tg.deps.db.dispose()
        tg.deps.db = Database(database_url, busy_timeout_ms=50)
        api.push_update(updates.text_update(42, answer_for("post")))
        api.push_update(updates.text_update(42, answer_for("tasks")))
        p = InboxPoller(tg.app, tg.deps, timeout=1)
        await p.fetch_once()
        sent_before = len(user.texts)
        holder = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)

        async def lock_before_the_first_handler(_update: object, _context: object) -> None:
            if not holder.in_transaction and not tg.errors:
                holder.execute("BEGIN IMMEDIATE")  # the drain has read the inbox by now

        tg.app.add_handler(TypeHandler(Update, lock_before_the_first_handler), group=-1)
        stop = asyncio.Event()
        running = asyncio.create_task(p.run(stop))
        try:
            await eventually(lambda: bool(tg.errors))  # the handler met the lock
            assert len(user.texts) == sent_before
            holder.execute("ROLLBACK")
            await eventually(lambda: "第 3/12 题" in user.last_text)
        finally:
            stop.set()
            await running
            holder.close()
        assert all(is_transient(error) for error in tg.errors)
        assert not any("出了点问题" in t for t in user.texts)
        assert sum("第 2/12 题" in t for t in user.texts) == 1
    assert await answers_of(db, 42) == {
        "post": [answer_for("post")],
        "tasks": [answer_for("tasks")],
    }
    assert await inbox_ids(db) == []


async def advisory_lock_held(db: Database, bot_id: int) -> bool:
    """Whether some session holds this bot's polling lease (a PostgreSQL advisory lock)."""
    from sqlalchemy import text

    async with db.engine.connect() as connection:
        held = await connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :namespace AND objid = :key AND objsubid = 2"
            ),
            {"namespace": NAMESPACE, "key": bot_id % 2**31},
        )
        return bool(held.scalar_one())


async def test_connections_dropped_by_postgresql_are_replaced_without_bothering_the_cadre(
    settings: Settings, api: FakeBotApi, clock: FakeClock, database_url: str, db: Database
) -> None:
    """The server drops every connection the bot holds (a restart, a failover). Pooled
    connections are not pinged before use, so the first statement on one fails; that is a
    connection failure, tried again on a new one, and the cadre never hears of it."""
    if is_sqlite(database_url):
        pytest.skip("PostgreSQL's connections")
    from sqlalchemy import text

    async with FakeTelegram.running(settings, api, clock, allow_errors=True) as tg:
        user = tg.user(42)
        await user.registers()
        await user.starts_report("年度述职报告")
        admin = Database(database_url)
        async with admin.engine.connect() as connection:
            dropped = await connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            assert dropped.scalar_one() > 0
        api.push_update(updates.text_update(42, answer_for("post")))
        p = InboxPoller(tg.app, tg.deps, timeout=1)
        stop = asyncio.Event()
        running = asyncio.create_task(p.run(stop))
        try:
            await eventually(lambda: "第 2/12 题" in user.last_text, seconds=30)
            # The polling lease died with its connection; it must be taken again, or
            # another instance could start polling beside this one.
            for _ in range(300):
                if await advisory_lock_held(admin, tg.app.bot.id):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the polling lease was never taken again")
        finally:
            stop.set()
            await running
            await admin.dispose()
        assert not any("出了点问题" in t for t in user.texts)
    await db.dispose()  # its pooled connections were dropped too
    assert await answers_of(db, 42) == {"post": [answer_for("post")]}
    assert await inbox_ids(db) == []
