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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.store.db import is_transient
from bot.store.inbox import (
    count_attempt,
    mark_failed,
    mark_handled,
    pending_updates,
    store_updates,
)
from bot.store.lease import Lease, polling_lease
from bot.store.models import InboxUpdate
from bot.telegram.common import tell_about_failure
from bot.telegram.deps import Deps

log = logging.getLogger(__name__)

# Rows read per look at the inbox; those of cadres already being served are passed over, so
# the batch is large enough that one cadre's backlog cannot hide everyone else's updates.
BATCH = 500
PARALLEL_CHATS = 16
MAX_ATTEMPTS = 5
LEASE_CHECK_SECONDS = 2.0
_MAX_BACKOFF = 30.0
SHUTDOWN_GRACE = 20.0


class InboxPoller:
    """Fetches updates into the inbox and drains the inbox into the Application."""

    def __init__(self, app: Application, deps: Deps, *, timeout: int) -> None:  # type: ignore[type-arg]
        self.app = app
        self.deps = deps
        self.timeout = timeout
        self.offset: int | None = None
        self._stored = asyncio.Event()  # the fetcher stored updates
        self._settled = asyncio.Event()  # a cadre's worker finished
        self._owner = asyncio.Event()  # this instance holds the polling lease
        self._polling = asyncio.Event()  # set once getUpdates answered: we own the inbox
        self._limit = asyncio.Semaphore(PARALLEL_CHATS)
        self._busy: set[object] = set()  # cadres whose worker is running
        self._in_flight: set[int] = set()  # update ids handed to a worker
        self._workers: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and drain until `stop` is set; updates being handled then are finished."""
        self._stop = stop
        lease = polling_lease(self.deps.db, self.app.bot.id)
        loops = {
            asyncio.create_task(self._lease_loop(stop, lease), name="lease"),
            asyncio.create_task(self._fetch_loop(stop), name="fetch"),
            asyncio.create_task(self._drain_loop(stop), name="drain"),
        }
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({stopped, *loops}, return_when=asyncio.FIRST_COMPLETED)
            for task in done & loops:
                # The loops catch what they can recover from; ending means a bug. Stop
                # rather than run on without fetching or draining.
                log.critical("the %s loop ended: %r; stopping", task.get_name(), task.exception())
        finally:
            stop.set()
            # The loops end at their next wait, and workers after the update in hand. They
            # are not cancelled: a task cancelled inside a database call can leave its
            # connection holding SQLite's write lock, and the workers would wait behind it.
            deadline = asyncio.get_running_loop().time() + SHUTDOWN_GRACE
            loops_ended = await _ended(loops, deadline)
            # Only now is the set of workers final: the drain loop starts no more.
            if not (await _ended(set(self._workers), deadline) and loops_ended):
                log.warning("stopped while handling updates; they stay in the inbox")
            await stopped
            await lease.release()

    async def fetch_once(self) -> int:
        """One getUpdates call; the updates are committed to the inbox before the next call
        (which carries the new offset, and so confirms them)."""
        updates = await self._get_updates()
        if updates is None:
            return 0
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

    async def _get_updates(self) -> tuple[Update, ...] | None:
        """getUpdates, or None if the poller stops first. Giving a long poll up is safe: it
        stored nothing and confirmed nothing, so Telegram sends the same updates again."""
        call: asyncio.Task[tuple[Update, ...]] = asyncio.create_task(
            self.app.bot.get_updates(
                offset=self.offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES
            )
        )
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({call, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not call.done():
                call.cancel()
                await asyncio.wait({call})
        if call.cancelled():
            return None
        return call.result()

    async def drain_once(self) -> int:
        """Start a worker for each cadre with stored updates and no worker running; returns
        how many workers were started. A slow cadre holds up only their own updates."""
        async with self.deps.db.session() as session:
            rows = await pending_updates(session=session, limit=BATCH)
        by_cadre: dict[object, list[tuple[InboxUpdate, Update | None]]] = defaultdict(list)
        for row in rows:
            if row.update_id in self._in_flight:
                continue  # its worker has it; no need to read it again
            update = self._read(row)
            key = update.effective_user.id if update and update.effective_user else row.update_id
            if key not in self._busy:
                by_cadre[key].append((row, update))
        for cadre, cadre_rows in by_cadre.items():
            self._busy.add(cadre)
            self._in_flight.update(row.update_id for row, _ in cadre_rows)
            worker = asyncio.create_task(self._work(cadre, cadre_rows), name=f"cadre {cadre}")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        return len(by_cadre)

    async def drain_all(self) -> None:
        """Drain until the inbox is empty and every worker has finished (tests, benchmarks)."""
        while await self.drain_once() or self._workers:
            await asyncio.wait(set(self._workers))

    async def _work(self, key: object, rows: Sequence[tuple[InboxUpdate, Update | None]]) -> None:
        """One cadre's updates, strictly in order; one that will be retried holds back the
        rest, so a later message is never applied before an earlier one."""
        try:
            async with self._limit:
                for row, update in rows:
                    if self._stop.is_set() or not await self._handle(row, update):
                        break
                    # Handling need not wait for anything (SQLite runs inline), so give the
                    # other cadres, and the fetch loop, their turn between updates.
                    await asyncio.sleep(0)
        finally:
            self._in_flight.difference_update(row.update_id for row, _ in rows)
            self._busy.discard(key)
            self._settled.set()

    def _read(self, row: InboxUpdate) -> Update | None:
        """The stored update, or None (kept aside) if this version cannot read it."""
        try:
            return Update.de_json(json.loads(row.payload), self.app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.exception("update %s cannot be read; kept aside", row.update_id)
            return None

    async def _handle(self, row: InboxUpdate, update: Update | None) -> bool:
        """Hand one update to the Application and settle its row. False when it is to be
        tried again later (the database was briefly out of reach)."""
        if update is None:
            await self._settle(mark_failed, update_id=row.update_id)
            return True
        await self.app.process_update(update)
        error = self.deps.failed_updates.pop(row.update_id, None)
        if error is None:
            await self._settle(mark_handled, update_ids=[row.update_id])
            return True
        if is_transient(error) and row.attempts + 1 < MAX_ATTEMPTS:
            log.warning("update %s will be tried again (%s)", row.update_id, error)
            await self._settle(count_attempt, update_id=row.update_id)
            await _sleep(self._stop, min(2.0**row.attempts, _MAX_BACKOFF))
            return False
        if is_transient(error):
            await tell_about_failure(self.app.bot, self.deps, update)
        await self._settle(mark_failed, update_id=row.update_id)
        return True

    async def _settle(self, write: Callable[..., Awaitable[None]], **params: Any) -> None:
        """Record an update's outcome, retrying while the database is out of reach. If it
        never gets through, the row is handled again later: the service applies it once."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                async with self.deps.db.session() as session:
                    await write(session=session, now=self.deps.clock(), **params)
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("recording an update's outcome failed (%s); retrying", exc)
                await _sleep(self._stop, min(2.0**attempt, _MAX_BACKOFF))

    async def _lease_loop(self, stop: asyncio.Event, lease: Lease) -> None:
        """Take the polling lease, or wait as a standby until its holder is gone."""
        waiting_said = False
        while not stop.is_set():
            try:
                if not self._owner.is_set() and await lease.try_acquire():
                    log.info("this instance holds the polling lease")
                    self._owner.set()
                elif not self._owner.is_set() and not waiting_said:
                    log.warning("another instance is polling this bot; this one stands by")
                    waiting_said = True
                elif self._owner.is_set() and not await lease.alive():
                    log.warning("the polling lease was lost; standing by to take it again")
                    self._owner.clear()
                    self._polling.clear()
            except Exception:
                log.exception("checking the polling lease failed; trying again")
            await _sleep(stop, LEASE_CHECK_SECONDS)

    async def _fetch_loop(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            if not self._owner.is_set():
                await _wait_any(self._owner, stop, seconds=60.0)
                continue
            try:
                await self.fetch_once()
                backoff = 1.0
                continue
            except InvalidToken:
                log.critical("Telegram rejected the bot token; stopping")
                stop.set()
                return
            except RetryAfter as exc:
                wait = exc.retry_after
                await _sleep(stop, float(wait if isinstance(wait, int) else wait.total_seconds()))
                continue
            except Conflict:
                log.warning("another instance is polling this bot; waiting %.0f s", backoff)
            except (TimedOut, NetworkError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
            except Exception:
                # Storing failed (the database is out of reach, say): nothing was confirmed,
                # so the same updates come again with the same offset.
                log.exception("fetching updates failed; retrying in %.0f s", backoff)
            await _sleep(stop, backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _drain_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self._polling.is_set():
                # Only the instance that holds the lease and polls drains, so two instances
                # never handle one update.
                await _wait_any(self._polling, stop, seconds=60.0)
                continue
            # Cleared before looking, so a store or a finished worker during the look counts.
            self._stored.clear()
            self._settled.clear()
            try:
                await self.drain_once()
            except Exception:
                log.exception("reading the inbox failed; retrying")
                await _sleep(stop, 1.0)
                continue
            await _wait_any(self._stored, stop, self._settled, seconds=5.0)


async def _ended(tasks: set[asyncio.Task[None]], deadline: float) -> bool:
    """Wait for the tasks to end; any still running at the loop time `deadline` is
    cancelled (the process is stopping: what it had not committed is rolled back)."""
    if not tasks:
        return True
    timeout = max(0.0, deadline - asyncio.get_running_loop().time())
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return not pending


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    await _wait_any(stop, seconds=seconds)


async def _wait_any(*events: asyncio.Event, seconds: float) -> None:
    waiters = {asyncio.ensure_future(event.wait()) for event in events}
    _, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()
