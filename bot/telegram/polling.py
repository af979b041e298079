"""Durable long polling: store each fetched update in the inbox before confirming it.

python-telegram-bot's own poller confirms an update (by asking for the next offset) as soon
as it is queued, so a crash before it is handled loses it. Here the offset moves only after
the updates are committed to the inbox, and a drain loop hands stored updates to the
Application: one cadre's updates strictly in order, different cadres concurrently.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Sequence

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.store.inbox import mark_failed, mark_handled, pending_updates, store_updates
from bot.store.models import InboxUpdate
from bot.telegram.deps import Deps

log = logging.getLogger(__name__)

BATCH = 100
PARALLEL_CHATS = 16
_MAX_BACKOFF = 30.0
SHUTDOWN_GRACE = 20.0


class InboxPoller:
    """Fetches updates into the inbox and drains the inbox into the Application."""

    def __init__(self, app: Application, deps: Deps, *, timeout: int) -> None:  # type: ignore[type-arg]
        self.app = app
        self.deps = deps
        self.timeout = timeout
        self.offset: int | None = None
        self._stored = asyncio.Event()
        self._polling = asyncio.Event()  # set once getUpdates answered: we own the inbox

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and drain until `stop` is set; updates being handled then are finished."""
        fetch = asyncio.create_task(self._fetch_loop(stop), name="fetch")
        drain = asyncio.create_task(self._drain_loop(stop), name="drain")
        try:
            await stop.wait()
        finally:
            # An interrupted fetch stored nothing and confirmed nothing: Telegram resends it.
            fetch.cancel()
            try:
                await asyncio.wait_for(drain, SHUTDOWN_GRACE)
            except TimeoutError:
                log.warning("stopped while handling updates; they stay in the inbox")
            await asyncio.gather(fetch, return_exceptions=True)

    async def fetch_once(self) -> int:
        """One getUpdates call; the updates are committed to the inbox before the next call
        (which carries the new offset, and so confirms them)."""
        updates = await self.app.bot.get_updates(
            offset=self.offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES
        )
        self._polling.set()
        if updates:
            async with self.deps.db.session() as session:
                await store_updates(
                    session=session,
                    updates=[(u.update_id, u.to_json()) for u in updates],
                    now=self.deps.clock(),
                )
            self.offset = updates[-1].update_id + 1
            self._stored.set()
        return len(updates)

    async def drain_once(self) -> int:
        """Handle every update in the inbox; returns how many were taken."""
        async with self.deps.db.session() as session:
            rows = await pending_updates(session=session, limit=BATCH)
        if not rows:
            return 0
        by_chat: dict[object, list[tuple[InboxUpdate, Update | None]]] = defaultdict(list)
        for row in rows:
            update = self._read(row)
            key = update.effective_user.id if update and update.effective_user else row.update_id
            by_chat[key].append((row, update))
        limit = asyncio.Semaphore(PARALLEL_CHATS)

        async def handle_chat(chat_rows: Sequence[tuple[InboxUpdate, Update | None]]) -> None:
            async with limit:
                for row, update in chat_rows:
                    await self._handle(row, update)

        await asyncio.gather(*(handle_chat(chat_rows) for chat_rows in by_chat.values()))
        return len(rows)

    def _read(self, row: InboxUpdate) -> Update | None:
        """The stored update, or None (kept aside) if this version cannot read it."""
        try:
            return Update.de_json(json.loads(row.payload), self.app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.exception("update %s cannot be read; kept aside", row.update_id)
            return None

    async def _handle(self, row: InboxUpdate, update: Update | None) -> None:
        """Hand one update to the Application (one cadre's in order), then settle its row."""
        if update is None:
            self.deps.failed_updates.add(row.update_id)
        else:
            await self.app.process_update(update)
        async with self.deps.db.session() as session:
            if row.update_id in self.deps.failed_updates:
                self.deps.failed_updates.discard(row.update_id)
                await mark_failed(session=session, update_id=row.update_id, now=self.deps.clock())
            else:
                await mark_handled(session=session, update_ids=[row.update_id])

    async def _fetch_loop(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            try:
                await self.fetch_once()
                backoff = 1.0
            except InvalidToken:
                log.critical("Telegram rejected the bot token; stopping")
                stop.set()
            except RetryAfter as exc:
                await _sleep(
                    stop,
                    float(
                        exc.retry_after
                        if isinstance(exc.retry_after, int)
                        else exc.retry_after.total_seconds()
                    ),
                )
            except Conflict:
                log.warning("another instance is polling this bot; waiting %.0f s", backoff)
                await _sleep(stop, backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
            except (TimedOut, NetworkError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await _sleep(stop, backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _drain_loop(self, stop: asyncio.Event) -> None:
        # Only the instance that polls drains, so two instances never handle one update.
        while not self._polling.is_set():
            if stop.is_set():
                return
            await _wait_any(self._polling, stop, seconds=60.0)
        while not stop.is_set():
            self._stored.clear()  # before looking, so a store during the look is not missed
            try:
                if await self.drain_once():
                    continue
            except Exception:
                log.exception("draining the inbox failed; retrying")
                await _sleep(stop, 1.0)
                continue
            await _wait_any(self._stored, stop, seconds=5.0)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    await _wait_any(stop, stop, seconds=seconds)


async def _wait_any(event: asyncio.Event, stop: asyncio.Event, *, seconds: float) -> None:
    waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())}
    _, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()
