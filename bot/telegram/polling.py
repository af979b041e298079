"""Durable long polling: store each fetched update in the inbox before confirming it.

python-telegram-bot's own poller confirms an update (by asking for the next offset) as soon
as it is queued, so a crash before it is handled loses it. Here the offset moves only after
the updates are committed to the inbox. The same process then hands each stored update to
a worker of its cadre at once, from memory: one cadre's updates strictly in order,
different cadres concurrently. The inbox is read back only when this process takes the
polling lease, for what a previous holder stored but did not handle.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any

from telegram import Update
from telegram._utils.types import JSONDict
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.store.db import is_transient
from bot.store.inbox import count_attempt, mark_failed, pending_updates, store_updates
from bot.store.lease import Lease, polling_lease
from bot.store.models import InboxUpdate
from bot.telegram import botapi
from bot.telegram.common import tell_about_failure
from bot.telegram.deps import Deps
from bot.telegram.limiter import retry_seconds

log = logging.getLogger(__name__)

BATCH = 500  # rows read per page when the inbox is read back
PARALLEL_CHATS = 16  # cadres whose updates are handled at the same moment
MAX_ATTEMPTS = 5
LEASE_CHECK_SECONDS = 2.0
FLUSH_SECONDS = 0.5  # how soon handled updates nobody claimed leave the inbox
_MAX_BACKOFF = 30.0
SHUTDOWN_GRACE = 20.0


class PollingFailed(Exception):
    """The poller cannot go on; the process should stop with a failure."""


@dataclass
class _Item:
    """A stored update waiting for its cadre's worker."""

    update_id: int
    update: Update | None  # None: this version cannot read it
    attempts: int


class _Outcome(Enum):
    HANDLED = auto()
    RETRY = auto()  # the database was briefly out of reach: try again after a pause
    FAILED = auto()  # set it aside for the operator


class InboxPoller:
    """Fetches updates into the inbox and hands them to per-cadre workers."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        deps: Deps,
        *,
        timeout: int,
        retry_delay: float = 1.0,
    ) -> None:
        self.app = app
        self.deps = deps
        self.timeout = timeout
        self.retry_delay = retry_delay  # the first pause before an update is tried again
        self.offset: int | None = None
        self.fatal: BaseException | None = None  # why the poller stopped by itself
        self._stop = asyncio.Event()
        # Whether this process owns the inbox. A poller used on its own (tests, benchmarks)
        # does; `run` leaves it to the polling lease.
        self._owner = asyncio.Event()
        self._owner.set()
        self._epoch = 0  # bumped whenever the lease is lost
        self._recovered = False  # the inbox was read back since the lease was taken
        self._limit = asyncio.Semaphore(PARALLEL_CHATS)
        self._queues: dict[object, deque[_Item]] = {}
        self._workers: dict[object, asyncio.Task[None]] = {}
        # Update ids queued, in hand, or handled and not yet removed from the inbox: none of
        # them is handed out again when the inbox is read back.
        self._known: set[int] = set()
        self._handled: list[int] = []  # to remove from the inbox in the next batch
        # Reading the inbox back and removing handled rows never overlap, so a row removed
        # during the read cannot come back as pending.
        self._inbox_turn = asyncio.Lock()

    # Running ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and hand out until `stop` is set; updates being handled then are finished.

        Raises PollingFailed (or InvalidToken) if the poller had to stop by itself.
        """
        self._stop = stop
        self._owner.clear()
        self._recovered = False
        lease = polling_lease(self.deps.db, self.app.bot.id)
        loops = {
            asyncio.create_task(self._lease_loop(stop, lease), name="lease"),
            asyncio.create_task(self._fetch_loop(stop), name="fetch"),
            asyncio.create_task(self._flush_loop(stop), name="flush"),
        }
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({stopped, *loops}, return_when=asyncio.FIRST_COMPLETED)
            for task in done & loops:
                if stop.is_set() and task.exception() is None:
                    continue  # it saw the stop signal first
                # The loops catch what they can recover from; ending means a bug. Stop
                # rather than run on without fetching.
                log.critical("the %s loop ended: %r; stopping", task.get_name(), task.exception())
                self.fatal = self.fatal or PollingFailed(f"the {task.get_name()} loop ended")
        finally:
            stop.set()
            # The loops end at their next wait, and workers after the update in hand. They
            # are not cancelled: a task cancelled inside a database call can leave its
            # connection holding SQLite's write lock, and the workers would wait behind it.
            deadline = asyncio.get_running_loop().time() + SHUTDOWN_GRACE
            loops_ended = await _ended(loops, deadline)
            if not (await _ended(set(self._workers.values()), deadline) and loops_ended):
                log.warning("stopped while handling updates; they stay in the inbox")
            try:
                await self.flush()
            except Exception as exc:  # they are handled again after a restart, once each
                log.warning("could not remove handled updates from the inbox (%s)", exc)
            await stopped
            await lease.release()
        if self.fatal is not None:
            raise self.fatal

    async def fetch_once(self) -> int:
        """One getUpdates call; its updates are committed to the inbox before the next call
        (which carries the new offset, and so confirms them), then handed out."""
        epoch = self._epoch
        updates = await self._get_updates()
        if updates is None:
            return 0
        if epoch != self._epoch or not self._owner.is_set():
            # The lease was lost while the call was out: the new holder fetches these
            # updates again (nothing confirmed them), so this process must not touch them.
            log.info("dropped %d fetched updates: the polling lease was lost", len(updates))
            return 0
        await self.accept(updates)
        return len(updates)

    async def accept(self, updates: Sequence[JSONDict]) -> None:
        """Store updates (Bot API JSON) durably, then hand them to their cadres' workers.

        The one way in for an update: a webhook endpoint would call this and answer
        Telegram's request only after it returned (docs/decisions.md).
        """
        stored = [(int(u["update_id"]), json.dumps(u, ensure_ascii=False)) for u in updates]
        async with self._inbox_turn:
            handled, self._handled = self._handled, []
            try:
                async with self.deps.db.session() as session:
                    await store_updates(
                        session=session, updates=stored, now=self.deps.clock(), handled=handled
                    )
            except BaseException:
                self._handled[:0] = handled
                raise
            self._known.difference_update(handled)
        if stored:
            self.offset = stored[-1][0] + 1
        for (update_id, _), raw in zip(stored, updates, strict=True):
            self._enqueue(update_id, self._parse(update_id, raw), attempts=0)

    async def recover(self) -> int:
        """Hand out what the inbox holds and this process does not: updates a previous
        holder of the lease (or this process before a restart) stored but did not handle.
        Returns how many were handed out."""
        handed = 0
        after = -1
        async with self._inbox_turn:
            while True:
                async with self.deps.db.session() as session:
                    rows = await pending_updates(session=session, limit=BATCH, after=after)
                for row in rows:
                    after = row.update_id
                    if row.update_id not in self._known:
                        self._enqueue(row.update_id, self._read(row), attempts=row.attempts)
                        handed += 1
                if len(rows) < BATCH:
                    return handed

    async def flush(self) -> None:
        """Remove updates handled since the last batch (those no service claimed) from the
        inbox. Until then a crash hands them out again: a sticker's reply may repeat."""
        if self._handled:
            await self.accept(())  # the removal a stored batch makes, with nothing to store

    async def drain_all(self) -> None:
        """Wait until every update handed out is handled, and flush (tests, benchmarks)."""
        while self._workers:
            await asyncio.wait(set(self._workers.values()))
        await self.flush()

    @property
    def owner(self) -> asyncio.Event:
        """Set while this process holds the polling lease (and so may send in the
        background)."""
        return self._owner

    @property
    def queued(self) -> int:
        """Updates handed out and not finished yet."""
        return sum(len(queue) for queue in self._queues.values())

    # Workers ------------------------------------------------------------------------------

    def _serving(self) -> bool:
        return self._owner.is_set() and not self._stop.is_set()

    def _enqueue(self, update_id: int, update: Update | None, *, attempts: int) -> None:
        if update_id in self._known:
            return  # a redelivery of an update this process has in hand
        self._known.add(update_id)
        key = _cadre_key(update_id, update)
        self._queues.setdefault(key, deque()).append(_Item(update_id, update, attempts))
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"cadre {key}")

    async def _work(self, key: object) -> None:
        """One cadre's updates, strictly in order; one that will be tried again holds back
        the rest, so a later message is never applied before an earlier one."""
        queue = self._queues[key]
        try:
            while queue and self._serving():
                item = queue[0]
                async with self._limit:
                    outcome = await self._handle(item) if self._serving() else None
                if outcome is _Outcome.RETRY:
                    pause = self.retry_delay * 2.0 ** (item.attempts - 1)
                    await _sleep(self._stop, min(pause, _MAX_BACKOFF))
                    continue
                if outcome is _Outcome.FAILED and not await self._set_aside(item):
                    break  # stopping before it could be recorded: it stays in the inbox
                if outcome is None:
                    break
                queue.popleft()
                # Handling need not wait for anything (SQLite runs inline), so give the
                # other cadres, and the fetch loop, their turn between updates.
                await asyncio.sleep(0)
        except Exception:
            log.exception("the worker of %s failed; its updates stay in the inbox", key)
        finally:
            del self._workers[key]
            # What is left stays in the inbox, to be read back by whoever holds the lease.
            self._known.difference_update(item.update_id for item in queue)
            del self._queues[key]

    def _read(self, row: InboxUpdate) -> Update | None:
        """The stored update, or None (kept aside) if this version cannot read it."""
        try:
            raw = json.loads(row.payload)
        except ValueError:
            log.exception("update %s cannot be read; kept aside", row.update_id)
            return None
        return self._parse(row.update_id, raw)

    def _parse(self, update_id: int, raw: object) -> Update | None:
        try:
            return Update.de_json(raw, self.app.bot)  # type: ignore[arg-type]
        except (ValueError, TypeError, KeyError, AttributeError):
            log.exception("update %s cannot be read; kept aside", update_id)
            return None

    async def _handle(self, item: _Item) -> _Outcome:
        """Hand one update to the Application and say what became of it."""
        if item.update is None:
            return _Outcome.FAILED
        await self.app.process_update(item.update)
        error = self.deps.failed_updates.pop(item.update_id, None)
        if error is None:
            self._handled.append(item.update_id)
            return _Outcome.HANDLED
        item.attempts += 1
        if is_transient(error) and item.attempts < MAX_ATTEMPTS:
            log.warning("update %s will be tried again (%s)", item.update_id, error)
            await self._record(count_attempt, update_id=item.update_id)
            return _Outcome.RETRY
        if is_transient(error):
            await tell_about_failure(self.app.bot, self.deps, item.update)
        return _Outcome.FAILED

    async def _set_aside(self, item: _Item) -> bool:
        """Mark an update failed, waiting out a database that is away (with backoff, never
        in a tight loop). False if the poller stopped first: it stays in the inbox."""
        delay = self.retry_delay
        while True:
            async with self._inbox_turn:
                if await self._record(mark_failed, update_id=item.update_id):
                    self._known.discard(item.update_id)
                    return True
            if self._stop.is_set():
                return False
            await _sleep(self._stop, delay)
            delay = min(delay * 2, _MAX_BACKOFF)

    async def _record(self, write: Callable[..., Awaitable[None]], **params: Any) -> bool:
        """Write an update's bookkeeping; False (logged) if the database refused."""
        try:
            async with self.deps.db.session() as session:
                await write(session=session, now=self.deps.clock(), **params)
        except Exception as exc:
            log.warning("recording the outcome of update %s failed (%s)", params, exc)
            return False
        return True

    # Loops --------------------------------------------------------------------------------

    async def _lease_loop(self, stop: asyncio.Event, lease: Lease) -> None:
        """Take the polling lease, or wait as a standby until its holder is gone."""
        waiting_said = False
        while not stop.is_set():
            try:
                if not self._owner.is_set() and await lease.try_acquire():
                    log.info("this instance holds the polling lease")
                    self._recovered = False
                    self._owner.set()
                    waiting_said = False
                elif not self._owner.is_set() and not waiting_said:
                    log.warning("another instance is polling this bot; this one stands by")
                    waiting_said = True
                elif self._owner.is_set() and not await lease.alive():
                    log.warning("the polling lease was lost; standing by to take it again")
                    self._lose_lease()
            except Exception:
                log.exception("checking the polling lease failed; trying again")
                if self._owner.is_set():
                    self._lose_lease()  # unchecked is not held
            await _sleep(stop, LEASE_CHECK_SECONDS)

    def _lose_lease(self) -> None:
        self._epoch += 1
        self._owner.clear()

    async def _fetch_loop(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            if not self._owner.is_set():
                await _wait_any(self._owner, stop, seconds=60.0)
                continue
            try:
                if not self._recovered:
                    recovered = await self.recover()
                    self._recovered = True
                    if recovered:
                        log.info("handing out %d updates stored before", recovered)
                await self.fetch_once()
                backoff = 1.0
                continue
            except InvalidToken as exc:
                log.critical("Telegram rejected the bot token; stopping")
                self.fatal = exc
                stop.set()
                return
            except RetryAfter as exc:
                await _sleep(stop, retry_seconds(exc))
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

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        backoff = FLUSH_SECONDS
        while not stop.is_set():
            await _sleep(stop, backoff)
            try:
                await self.flush()
                backoff = FLUSH_SECONDS
            except Exception as exc:
                backoff = min(backoff * 2, _MAX_BACKOFF)
                log.warning(
                    "removing handled updates failed (%s); retrying in %.0f s", exc, backoff
                )

    async def _get_updates(self) -> list[JSONDict] | None:
        """getUpdates, or None if the poller stops first. Giving a long poll up is safe: it
        stored nothing and confirmed nothing, so Telegram sends the same updates again."""
        call: asyncio.Task[list[JSONDict]] = asyncio.create_task(
            botapi.get_updates(self.app.bot, offset=self.offset, long_poll=self.timeout)
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


def _cadre_key(update_id: int, update: Update | None) -> object:
    """Whose worker takes an update: its sender's (their updates go in order)."""
    if update is not None:
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return update_id


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
