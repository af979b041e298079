"""The background sender: delivers the outbox's messages to other people (supervisors told
of submissions, cadres told of decisions), and marks each one sent or given up.

It runs only in the instance that holds the polling lease (one limiter, one sender). Every
call goes through the rate limiter as a background call, so a reply to the person in front
of the bot never waits behind it. To one chat it sends at most one message a second; when
more than `DIGEST_OVER` wait for the same person, they become one digest, with a button to
the board and one per submitted report for its .docx.

A message is marked after Telegram accepted it: a crash in between sends it once more
(at most the messages in flight). Faults: a chat that blocked the bot is marked and its
messages given up (the author of a submission is told it could not be delivered); a 429 is
waited out; a network fault or a 5xx is tried again later with backoff; a timeout (the
message may have gone out) is tried once more, then given up as uncertain.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.services.notify import button_payload, buttons_from
from bot.services.replies import (
    TEXT_BUDGET,
    Act,
    Action,
    Attachment,
    Button,
    Reply,
    fit_lines,
)
from bot.services.resources import as_language
from bot.store import outbox as store
from bot.store.models import Outbox, SubmissionVersion
from bot.store.queries import mark_blocked
from bot.telegram.deps import Deps
from bot.telegram.limiter import Priority, retry_seconds
from bot.telegram.send import send_one

log = logging.getLogger(__name__)

BATCH = 500  # due rows read per pass
DIGEST_OVER = 5  # more waiting for one person than this: one digest
DIGEST_LINES = 30
DIGEST_OPEN_BUTTONS = 10
PER_CHAT_SECONDS = 1.0
PARALLEL = 16  # chats sent to at the same moment (the limiter keeps the overall rate)
# How often to look without a reason to: every row is written by this process's handlers
# (which wake the sender) or postponed by the sender itself (which knows when).
IDLE_SECONDS = 30.0
_MAX_BACKOFF = timedelta(minutes=10)
_TIMED_OUT = "timed out"


class OutboxSender:
    """Sends due outbox rows; `run` loops while this instance holds the lease."""

    def __init__(self, bot: Bot, deps: Deps, *, per_chat_seconds: float = PER_CHAT_SECONDS):
        self.bot = bot
        self.deps = deps
        self.per_chat_seconds = per_chat_seconds
        self._wake = asyncio.Event()
        self._next_at: dict[int, float] = {}  # chat -> loop time it may get its next message
        self._limit = asyncio.Semaphore(PARALLEL)
        self._in_hand: set[int] = set()  # chats with a send under way
        self._postponed_to: datetime | None = None  # the earliest row put off to later
        self._sending: set[asyncio.Task[int]] = set()

    def wake(self) -> None:
        """Something may have been written to the outbox: look now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, owner: asyncio.Event) -> None:
        """Send until `stop`; only while `owner` (the polling lease) is set."""
        backoff = 1.0
        while not stop.is_set():
            if not owner.is_set():
                await first_of(stop.wait(), owner.wait())
                continue
            try:
                # Cleared before the pass: a wake-up during it makes the next pass at once.
                self._wake.clear()
                await self.send_due(wait=False)
                backoff = 1.0
                await self._pause(stop)
            except Exception:
                # The database is away, most likely: wait it out, never spin.
                log.exception("the outbox could not be read; retrying in %.0f s", backoff)
                await first_of(stop.wait(), asyncio.sleep(backoff))
                backoff = min(backoff * 2, 60.0)
        # Let the sends in hand finish: a message cut off now would only be sent again.
        if self._sending:
            await asyncio.wait(set(self._sending))

    async def _pause(self, stop: asyncio.Event) -> None:
        """Until a wake-up, a chat's next turn, a postponed row's time, or the idle
        interval."""
        loop = asyncio.get_running_loop()
        waits = [t - loop.time() for t in self._next_at.values() if t > loop.time()]
        if self._postponed_to is not None:
            waits.append((self._postponed_to - self.deps.clock()).total_seconds())
        delay = min([IDLE_SECONDS, *waits])
        await first_of(stop.wait(), self._wake.wait(), asyncio.sleep(max(delay, 0.01)))

    async def send_due(self, *, wait: bool = True) -> int:
        """One pass: for every chat whose turn it is and that has no send in hand, its next
        message (or a digest of all it has waiting), each chat's send a task of its own, so
        that one chat held back (a 429, the limiter) holds back nobody else. With `wait`,
        the sends started are awaited, and the return says how many rows they settled."""
        now = self.deps.clock()
        if self._postponed_to is not None and self._postponed_to <= now:
            self._postponed_to = None  # this pass reads those rows (put off again: set again)
        async with self.deps.db.session() as session:
            rows = await store.due(session=session, now=now, limit=BATCH)
        by_chat: dict[int, list[tuple[Outbox, str]]] = defaultdict(list)
        blocked: list[Outbox] = []
        for row, chat_id, language, has_blocked in rows:
            if has_blocked:
                blocked.append(row)  # they blocked the bot: no send would get through
            else:
                by_chat[chat_id].append((row, language))
        if blocked:
            await self._give_up(blocked, now)
        loop = asyncio.get_running_loop()
        ready = [
            chat
            for chat in by_chat
            if self._next_at.get(chat, 0.0) <= loop.time() and chat not in self._in_hand
        ]
        for chat in [c for c, t in self._next_at.items() if t <= loop.time()]:
            del self._next_at[chat]  # forget chats whose turn has come (memory stays flat)
        started = [self._start(chat, by_chat[chat]) for chat in ready]
        if not wait:
            return len(blocked)
        return sum(await asyncio.gather(*started)) + len(blocked)

    def _start(self, chat_id: int, waiting: list[tuple[Outbox, str]]) -> asyncio.Task[int]:
        """Send to one chat in a task of its own; its rows are not read again until done."""
        self._in_hand.add(chat_id)
        task = asyncio.create_task(self._send_chat(chat_id, waiting), name=f"outbox {chat_id}")
        self._sending.add(task)

        def done(finished: asyncio.Task[int]) -> None:
            self._sending.discard(finished)
            self._in_hand.discard(chat_id)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("sending to %s failed", chat_id, exc_info=finished.exception())
            self._wake.set()  # the chat's next message may go once its second is up

        task.add_done_callback(done)
        return task

    async def _send_chat(self, chat_id: int, waiting: list[tuple[Outbox, str]]) -> int:
        async with self._limit:
            rows = [row for row, _ in waiting]
            language = waiting[0][1]
            if len(rows) > DIGEST_OVER:
                batch, replies = rows, [self._digest(rows, language)]
            else:
                batch, replies = rows[:1], await self._message(rows[0])
            self._next_at[chat_id] = asyncio.get_running_loop().time() + self.per_chat_seconds
            return await self._deliver(chat_id, batch, replies)

    async def _message(self, row: Outbox) -> list[Reply]:
        """A row as the replies it is sent as: a text, and a document with its buttons."""
        payload = row.payload
        buttons = buttons_from(payload.get("buttons"))
        replies: list[Reply] = []
        if payload.get("document") and row.version_id is not None:
            if payload.get("text"):
                replies.append(Reply(str(payload["text"])))
            async with self.deps.db.session() as session:
                version = await session.get(SubmissionVersion, row.version_id)
            if version is not None:
                attachment = Attachment(
                    version.filename, version.docx, str(payload.get("caption", ""))
                )
                replies.append(Reply(buttons=buttons, document=attachment))
            return replies
        return [Reply(str(payload.get("text", "")), buttons)]

    def _digest(self, rows: list[Outbox], language: str) -> Reply:
        """Several messages for one person as one: a line each, a button to the board and
        one per report (its .docx is sent on request)."""
        res = self.deps.res
        lang = as_language(language, res.default_language)
        lines = [res.t(lang, "digest_header", count=len(rows))]
        listed = [f"• {row.payload.get('summary', '')}" for row in rows]
        more = res.template(lang, "digest_more")
        lines += fit_lines(listed, more, limit=TEXT_BUDGET - 200, max_lines=DIGEST_LINES)
        boards: dict[tuple[int, str], str] = {}
        opens: list[Button] = []
        for row in rows:
            board = row.payload.get("board")
            if isinstance(board, dict):
                boards.setdefault((int(board["team"]), str(board["arg"])), str(board["label"]))
            opened = row.payload.get("open")
            if isinstance(opened, dict) and len(opens) < DIGEST_OPEN_BUTTONS:
                label = res.raw(lang, "btn_open", name=str(opened["label"])[:20])
                opens.append(Button(label, Action(Act.OPEN, int(opened["version"]))))
        keyboard: list[tuple[Button, ...]] = [
            (Button(label, Action(Act.BOARD, team, arg, 0)),)
            for (team, arg), label in list(boards.items())[:3]
        ]
        keyboard += [tuple(opens[i : i + 2]) for i in range(0, len(opens), 2)]
        return Reply("\n".join(lines), tuple(keyboard))

    async def _deliver(self, chat_id: int, rows: list[Outbox], replies: list[Reply]) -> int:
        """Send, then settle the rows by what Telegram said."""
        ids = [row.id for row in rows if row.id is not None]
        now = self.deps.clock()
        sent = 0
        try:
            for reply in replies:
                await send_one(self.bot, chat_id, reply, rate_limit_args=Priority.BACKGROUND)
                sent += 1
        except Forbidden:
            log.info("chat %s blocked the bot: %d messages given up", chat_id, len(ids))
            await self._unreachable(chat_id, rows, now)
            return len(ids)
        except BadRequest as exc:
            # Refused for good (it will be refused again): given up, and whoever expected it
            # to arrive is told.
            log.warning("Telegram refused a message to %s: %s", chat_id, exc)
            await self._give_up(rows, now, error=f"refused: {exc}")
            return len(ids)
        except (RetryAfter, TimedOut, NetworkError) as exc:
            if sent:
                # A text before the document went out: the next try sends the rest only.
                await self._settle(store.strip_text, ids)
            return await self._retry(rows, ids, exc, now)
        await self._settle(store.mark_sent, ids, now=now)
        return len(ids)

    async def _retry(
        self, rows: list[Outbox], ids: list[int], exc: Exception, now: datetime
    ) -> int:
        """Telegram or the network was briefly away: the rows come round again later."""
        if isinstance(exc, RetryAfter):
            until = now + timedelta(seconds=retry_seconds(exc))
            await self._settle(store.postpone, ids, until=until, error="429")
            return 0
        if isinstance(exc, TimedOut):
            # It may have gone out: once more, then no more (a duplicate is worse than a
            # message we are not sure about). Earlier 429s and 5xx do not count.
            if any((row.error or "").startswith(_TIMED_OUT) for row in rows):
                # Perhaps delivered: nobody is told it was not.
                await self._give_up(rows, now, error="uncertain: timed out twice", tell=False)
                return len(ids)
            until = now + timedelta(seconds=5)
            await self._settle(store.postpone, ids, until=until, error=_TIMED_OUT)
            return 0
        attempts = max(row.attempts for row in rows)  # 5xx and connection faults
        delay = retry_delay(attempts)
        await self._settle(store.postpone, ids, until=now + delay, error=f"network: {exc}")
        return 0

    async def _settle(self, write: Any, ids: list[int], **params: Any) -> None:
        """Record an outcome; a failure here is logged, and the rows come round again."""
        until = params.get("until")
        if isinstance(until, datetime) and (
            self._postponed_to is None or until < self._postponed_to
        ):
            self._postponed_to = until
        try:
            async with self.deps.db.session() as session:
                await write(session=session, ids=ids, **params)
        except Exception:
            log.exception("could not record the outcome of outbox rows %s", ids)

    async def _unreachable(self, chat_id: int, rows: list[Outbox], now: datetime) -> None:
        """The recipient blocked the bot: mark them (their other messages are then given up
        without a try), give up these, and tell the authors of the submissions concerned."""
        try:
            async with self.deps.db.session() as session:
                await mark_blocked(session=session, chat_id=chat_id, now=now)
        except Exception:
            log.exception("could not record that chat %s blocked the bot", chat_id)
        await self._give_up(rows, now)

    async def _give_up(
        self, rows: list[Outbox], now: datetime, *, error: str = "blocked", tell: bool = True
    ) -> None:
        try:
            async with self.deps.db.session() as session:
                await _give_up(session, rows, now, error, tell=tell)
        except Exception:
            log.exception("could not record outbox rows given up")


async def _give_up(
    session: AsyncSession, rows: list[Outbox], now: datetime, error: str, *, tell: bool
) -> None:
    """Mark the rows given up, and tell whoever each one's payload names as waiting for it
    (the author of a submission) that it did not arrive."""
    ids = [row.id for row in rows if row.id is not None]
    for row in rows:
        notice = row.payload.get("unreachable")
        if tell and isinstance(notice, dict):
            store.enqueue(
                session,
                recipient_id=int(notice["recipient"]),
                kind="unreachable",
                payload={
                    "text": str(notice["text"]),
                    "summary": str(notice["text"]),
                    "buttons": button_payload(()),
                },
                now=now,
            )
    await session.flush()
    await store.mark_failed(session=session, ids=ids, now=now, error=error)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before trying a send again after `attempts` tries met a network
    fault or a 5xx: doubling from 2 s, at most `_MAX_BACKOFF`."""
    return min(timedelta(seconds=2 ** min(attempts, 10)), _MAX_BACKOFF)


async def first_of(*waits: Any) -> None:
    """Wait for the first of several awaitables; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
