"""The poller under load and under faults: every update applied once, nothing spins, and
only the holder of the polling lease touches what it fetched."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlmodel import select
from telegram import Update
from telegram.ext import TypeHandler

from bot.config import Settings
from bot.store.db import Database, is_sqlite
from bot.store.identity import DatabaseOfAnotherBot
from bot.store.inbox import forget_failed_updates, store_updates
from bot.store.lease import NAMESPACE, Lease, polling_lease
from bot.store.models import InboxUpdate
from bot.telegram.polling import MAX_ATTEMPTS, InboxPoller
from tests.fakes.bot_api import FakeBotApi
from tests.test_cadre_interview import answers_of
from tests.test_inbox import advisory_lock_held, eventually, inbox_ids
from tests.utils import updates
from tests.utils.clock import FakeClock
from tests.utils.journeys import answer_for
from tests.utils.telegram import FakeTelegram, plain


def count_handled(tg: FakeTelegram) -> Counter[int]:
    """How often each update id reaches the handlers (a handler ahead of all others)."""
    seen: Counter[int] = Counter()

    async def count(update: Update, _context: object) -> None:
        seen[update.update_id] += 1

    tg.app.add_handler(TypeHandler(Update, count), group=-1)
    return seen


@asynccontextmanager
async def polling(poller: InboxPoller) -> AsyncIterator[asyncio.Event]:
    """The poller running as in production until the block ends."""
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await running


async def test_under_load_every_update_reaches_the_handlers_exactly_once(
    tg: FakeTelegram, db: Database
) -> None:
    """Forty cadres send eight commands each while the poller runs; each update is handled
    once (a second handling would show the cadre their place again)."""
    seen = count_handled(tg)
    p = InboxPoller(tg.app, tg.deps, timeout=1)
    pushed: list[int] = []
    async with polling(p):
        for round_ in range(8):
            for user_id in range(1, 41):
                command = "/start" if round_ == 0 else ("/status", "/help")[round_ % 2]
                pushed.append(tg.api.push_update(updates.text_update(user_id, command)))
            await asyncio.sleep(0.05)
        await eventually(lambda: set(seen) >= set(pushed), seconds=60)
        await eventually(lambda: not tg.api.pending_update_ids(), seconds=10)
    assert [uid for uid, n in seen.items() if n != 1] == []
    assert await inbox_ids(db) == []


def _fail_inserts_of_answers(_conn: object, _cursor: object, statement: str, *_: object) -> None:
    if statement.lstrip().upper().startswith("INSERT INTO ANSWER"):
        raise sqlite3.OperationalError("database or disk is full")


async def test_a_full_disk_is_waited_out_with_backoff_and_the_cadre_is_told_once(
    settings: Settings, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    """The disk fills up after an answer was stored in the inbox. Applying it fails each
    time; it is tried a few times with growing pauses (not in a tight loop that sends the
    question again and again), then set aside, and the cadre hears of it once."""
    if not is_sqlite(settings.database):
        pytest.skip("SQLite's 'database or disk is full'")
    async with FakeTelegram.running(settings, api, clock, allow_errors=True) as tg:
        user = tg.user(42)
        await user.registers()
        await user.starts_report("年度述职报告")
        seen = count_handled(tg)
        sent_before = len(api.calls)
        engine = tg.deps.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", _fail_inserts_of_answers)
        try:
            answer = api.push_update(updates.text_update(42, answer_for("post")))
            p = InboxPoller(tg.app, tg.deps, timeout=1, retry_delay=0.05)
            async with polling(p):
                await eventually(lambda: "出了点问题" in user.last_text, seconds=30)
                await asyncio.sleep(1.0)  # time for any further (wrong) attempt
        finally:
            event.remove(engine, "before_cursor_execute", _fail_inserts_of_answers)
    assert seen[answer] == MAX_ATTEMPTS
    sends = [c for c in api.calls[sent_before:] if c.method in ("sendMessage", "editMessageText")]
    assert len(sends) == 1 and "出了点问题" in plain(sends[0].params["text"])
    async with db.session() as session:
        row = await session.get(InboxUpdate, answer)
    assert row is not None and row.failed_at is not None  # kept for the operator
    assert await answers_of(db, 42) == {}


def _chattr(flag: str, path: str) -> bool:
    return subprocess.run(["chattr", flag, path], capture_output=True).returncode == 0


async def test_a_database_opened_read_only_recovers_once_it_is_writable_again(
    settings: Settings, api: FakeBotApi, clock: FakeClock, database_url: str, db: Database
) -> None:
    """The file was read-only when the bot connected (root ignores permission bits, so
    the file is made immutable). The cadre's answer waits in the inbox; once the file is
    writable again the connection is replaced and the answer applied, once."""
    if not is_sqlite(database_url):
        pytest.skip("a SQLite file")
    path = make_url(database_url).database or ""
    async with FakeTelegram.running(settings, api, clock, allow_errors=True) as tg:
        user = tg.user(42)
        await user.registers()
        await user.starts_report("年度述职报告")
        answer = 7000  # stored by a run that ended before handling it
        update = updates.text_update(42, answer_for("post"), update_id=answer)
        async with db.session() as session:
            await store_updates(
                session=session, updates=[(answer, json.dumps(update))], now=clock()
            )
        # Every connection closed, so that SQLite folds its log back into the file.
        await db.dispose()
        await tg.deps.db.dispose()
        assert _chattr("+i", path), "chattr is needed to make the file read-only for root"
        try:
            seen = count_handled(tg)
            p = InboxPoller(tg.app, tg.deps, timeout=1, retry_delay=0.2)
            assert await p.recover() == 1
            worker = asyncio.create_task(p.drain_all())
            await eventually(lambda: seen[answer] >= 2, seconds=30)
        finally:
            _chattr("-i", path)
        await asyncio.wait_for(worker, timeout=30)
    assert not any("出了点问题" in t for t in user.texts)
    assert await answers_of(db, 42) == {"post": [answer_for("post")]}
    assert await inbox_ids(db) == []


async def _steal_lease(db: Database, bot_id: int, database_url: str) -> Lease:
    """Another instance takes the polling lease from under the poller."""
    if is_sqlite(database_url):
        # Someone removes the lock file; the next instance locks a new one of that name.
        os.unlink(f"{make_url(database_url).database}.poller.lock")
    else:
        async with db.engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                    "'advisory' AND classid = :namespace AND objid = :key"
                ),
                {"namespace": NAMESPACE, "key": bot_id % 2**31},
            )
    thief = polling_lease(db, bot_id)
    assert await thief.try_acquire()
    return thief


async def test_updates_fetched_by_a_poll_that_outlived_the_lease_are_left_to_its_new_holder(
    tg: FakeTelegram, db: Database, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The lease is lost while a long poll is out. What that poll brings back is neither
    stored nor handled here (the new holder gets it from Telegram, since nothing confirmed
    it); once the lease is back, it is handled once."""
    caplog.set_level(logging.INFO, logger="bot.telegram.polling")
    seen = count_handled(tg)
    p = InboxPoller(tg.app, tg.deps, timeout=20)
    async with polling(p):
        await eventually(lambda: "holds the polling lease" in caplog.text)
        await eventually(lambda: tg.api.get_updates_calls > 0)
        thief = await _steal_lease(db, tg.app.bot.id, database_url)
        try:
            await eventually(lambda: "lease was lost" in caplog.text)
            late = tg.api.push_update(updates.text_update(42, "/start"))
            await eventually(lambda: "dropped 1 fetched updates" in caplog.text)
            await asyncio.sleep(0.5)
            assert seen[late] == 0 and await inbox_ids(db) == []
            assert late in tg.api.pending_update_ids()
        finally:
            await thief.release()
        await eventually(lambda: seen[late] == 1, seconds=30)
    assert not tg.api.pending_update_ids() or tg.api.pending_update_ids() == [late]
    assert seen[late] == 1


async def test_stopping_gives_the_lease_back_at_once(
    tg: FakeTelegram, db: Database, database_url: str
) -> None:
    """A stopped poller's lease is free for a standby at once, not when the process's
    connections are closed."""
    p = InboxPoller(tg.app, tg.deps, timeout=1)
    async with polling(p):
        await eventually(lambda: tg.api.get_updates_calls > 0)
        if not is_sqlite(database_url):
            assert await advisory_lock_held(db, tg.app.bot.id)
    other = polling_lease(db, tg.app.bot.id)
    assert await other.try_acquire()
    await other.release()
    if not is_sqlite(database_url):
        assert not await advisory_lock_held(db, tg.app.bot.id)


async def test_a_removed_lock_file_is_noticed_by_its_holder(tmp_path: Path) -> None:
    """Deleting the SQLite lock file must not give two pollers: the holder notices its lock
    guards a file that is gone, and stands by while the new file's holder polls."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'debrief.db'}")
    try:
        first, second = polling_lease(db, 1), polling_lease(db, 1)
        assert await first.try_acquire() and not await second.try_acquire()
        (tmp_path / "debrief.db.poller.lock").unlink()
        assert await second.try_acquire()  # a new lock file
        assert not await first.alive()
        assert not await first.try_acquire()
        assert await second.alive()
        await second.release()
        assert await first.try_acquire()
        await first.release()
    finally:
        await db.dispose()


async def test_a_database_made_by_another_bot_is_refused(
    settings: Settings, api: FakeBotApi, clock: FakeClock, db: Database
) -> None:
    """Update ids, chats and the lease are a bot's own: a second bot on the same database
    would answer the first one's users. The bot id decides, so a new token of the same bot
    is welcome."""
    async with FakeTelegram.running(settings, api, clock) as tg:
        await tg.user(42).says("/start")
    other_bot = FakeBotApi(bot_id=654321, username="other_bot")
    other_token = "654321:OTHER-token_abcdefghijklmnopqrstuvwxyz01"
    other = settings.model_copy(update={"telegram_bot_token": SecretStr(other_token)})
    with pytest.raises(DatabaseOfAnotherBot, match="@debrief_test_bot"):
        async with FakeTelegram.running(other, other_bot, clock):
            pass
    assert not other_bot.sent_messages()
    reissued = "123456:REISSUED-token_abcdefghijklmnopqrstuvwx"
    same_bot = settings.model_copy(update={"telegram_bot_token": SecretStr(reissued)})
    async with FakeTelegram.running(same_bot, api, clock) as tg:
        assert await tg.user(42).says("/help")


async def test_a_backlog_of_one_cadre_does_not_hold_up_another(
    tg: FakeTelegram, db: Database
) -> None:
    """700 updates of one cadre are waiting (a client that resent everything, say). Another
    cadre who writes now is answered within the first few of them, not after hundreds."""
    for _ in range(700):
        tg.api.push_update(updates.text_update(1, "/help"))
    newcomer = tg.api.push_update(updates.text_update(2, "/start"))
    p = InboxPoller(tg.app, tg.deps, timeout=1)
    async with polling(p):
        await eventually(lambda: bool(tg.api.texts(2)), seconds=60)
        calls = tg.api.calls
    first_to_newcomer = next(
        i for i, c in enumerate(calls) if c.method == "sendMessage" and c.params["chat_id"] == 2
    )
    backlog_answered = sum(
        1
        for c in calls[:first_to_newcomer]
        if c.method == "sendMessage" and c.params["chat_id"] == 1
    )
    assert backlog_answered < 150, f"the newcomer waited behind {backlog_answered} replies"
    assert newcomer not in tg.api.pending_update_ids()


async def test_serving_never_reads_the_inbox_back(tg: FakeTelegram, db: Database) -> None:
    """The inbox is a log, not a queue that is scanned: it is read once when the lease is
    taken, and never per update (a scan per update grew with every failed row kept)."""
    reads: list[str] = []

    def count_reads(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "inbox_update" in statement:
            reads.append(statement)

    engine = tg.deps.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count_reads)
    try:
        p = InboxPoller(tg.app, tg.deps, timeout=1)
        async with polling(p):
            for user_id in range(1, 11):
                for command in ("/start", "/help", "/status"):
                    tg.api.push_update(updates.text_update(user_id, command))
                await asyncio.sleep(0.02)
            await eventually(lambda: all(len(tg.api.texts(u)) >= 3 for u in range(1, 11)))
    finally:
        event.remove(engine, "before_cursor_execute", count_reads)
    assert len(reads) == 1  # the read-back when the lease was taken


async def test_updates_that_failed_are_forgotten_after_thirty_days(
    db: Database, clock: FakeClock
) -> None:
    async with db.session() as session:
        await store_updates(session=session, updates=[(1, "{}"), (2, "{}"), (3, "{}")], now=clock())
    async with db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE inbox_update SET failed_at = :at WHERE update_id = 1"),
            {"at": clock() - timedelta(days=31)},
        )
        await connection.execute(
            text("UPDATE inbox_update SET failed_at = :at WHERE update_id = 2"),
            {"at": clock() - timedelta(days=2)},
        )
    async with db.session() as session:
        dropped = await forget_failed_updates(session=session, before=clock() - timedelta(days=30))
    async with db.session() as session:
        kept = sorted((await session.exec(select(InboxUpdate.update_id))).all())
    assert dropped == 1 and kept == [2, 3]
