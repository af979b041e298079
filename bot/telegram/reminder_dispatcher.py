"""The reminder dispatcher: claims due reminder rows, sends them, settles them.

One pass: claim up to `concurrency` rows (one short transaction; another dispatcher skips
them), decide each one's message as of now, send them all at once through the rate
limiter as background calls, and record every outcome plus the daily reminders that
follow in one transaction. It runs only in the instance that holds the polling lease
(one limiter, one budget); the claim keeps each row to one dispatcher even if two overlap.
Killed between sending and settling, it leaves its rows claimed until the lease runs out,
and they are sent again then: at most `concurrency` duplicates.

Punctual at scale: a burst of reminders planned for one moment would take minutes at
Telegram's rate, so sending starts early enough for the last to arrive on time, measured
from the queue and the background rate replies leave (`Queue.send_until`); a row never
goes before its `not_before` (never in the person's quiet hours, never more than three
hours early).

Faults: a chat that blocked the bot is marked (the board shows them unreachable) and
never tried again; a 429 is honoured; a network fault or a 5xx is tried again with backoff;
a timeout (the message may have gone out) is tried once more, then marked uncertain and
shown to the supervisors; a refusal (400) is given up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.cycles.calendar import SEND_AHEAD_LIMIT
from bot.services.dispatching import Prepared, prepare
from bot.store import reminders as store
from bot.store.models import ReminderState
from bot.store.queries import mark_blocked
from bot.telegram.deps import Deps
from bot.telegram.limiter import BACKGROUND_RATE, DebriefRateLimiter, Priority, retry_seconds
from bot.telegram.outbox_sender import first_of, retry_delay
from bot.telegram.send import send_one

log = logging.getLogger(__name__)

CONCURRENCY = 50  # rows claimed and sent at once: also the most a crash can send twice
IDLE_SECONDS = 10.0  # the longest pause between looks (rows planned meanwhile are found)
RATE_MARGIN = 0.9  # of the background rate left: sending ahead plans on a little less
MAX_ATTEMPTS = 10  # a row that could not even be prepared this often is given up
_TIMED_OUT = "timed out"


class ReminderDispatcher:
    """Sends due reminders; `run` loops while this instance holds the polling lease."""

    def __init__(
        self,
        bot: Bot,
        deps: Deps,
        *,
        concurrency: int = CONCURRENCY,
        rate: float | None = None,
    ) -> None:
        self.bot = bot
        self.deps = deps
        self.concurrency = concurrency
        self._rate = rate  # a fixed planning rate (tests, benchmarks); else the limiter's
        self._wake = asyncio.Event()
        self._waiting: tuple[datetime, store.Queue] | None = None  # the last queue read

    def wake(self) -> None:
        """Rows may have been planned: look now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, owner: asyncio.Event) -> None:
        """Dispatch until `stop`; only while `owner` (the polling lease) is set."""
        backoff = 1.0
        while not stop.is_set():
            if not owner.is_set():
                await first_of(stop.wait(), owner.wait())
                continue
            try:
                self._wake.clear()
                if await self.dispatch_once():
                    backoff = 1.0
                    continue  # more may be due: no pause while there are
                backoff = 1.0
                await first_of(stop.wait(), self._wake.wait(), asyncio.sleep(await self._pause()))
            except Exception:
                # The database is away, most likely: wait it out, never spin.
                log.exception("reminders could not be dispatched; retrying in %.0f s", backoff)
                await first_of(stop.wait(), asyncio.sleep(backoff))
                backoff = min(backoff * 2, 60.0)

    def planning_rate(self) -> float:
        """Sends a second this dispatcher may count on: what replies leave of the
        background budget, with a margin."""
        if self._rate is not None:
            return self._rate
        limiter = getattr(self.bot, "rate_limiter", None)
        if isinstance(limiter, DebriefRateLimiter):
            return limiter.background_rate_left() * RATE_MARGIN
        return BACKGROUND_RATE * RATE_MARGIN

    async def dispatch_once(self) -> int:
        """One claim, sent and settled. Returns how many rows it claimed."""
        now = self.deps.clock()
        async with self.deps.db.session() as session:
            # Rows due now first; only a short batch looks at the queue to send ahead (a
            # count of every row waiting, which a backlog would pay for on every pass).
            claimed = await store.claim(session, now=now, ahead_until=now, limit=self.concurrency)
            if len(claimed) < self.concurrency:
                waiting = await store.queue(session, until=now + SEND_AHEAD_LIMIT)
                self._waiting = (now, waiting)
                until = waiting.send_until(self.planning_rate(), now)
                if until > now:
                    claimed += await store.claim(
                        session, now=now, ahead_until=until, limit=self.concurrency - len(claimed)
                    )
        if not claimed:
            return 0
        try:
            async with self.deps.db.session() as session:
                prepared = await prepare(session, self.deps.res, claimed, now)
        except Exception:
            # A bug of ours or the database away: the rows come round again with backoff
            # (given up after MAX_ATTEMPTS), not held for the lease, not spinning.
            log.exception("reminders %s could not be prepared", [r.id for r in claimed])
            await self._settle([self._failed_to_prepare(row) for row in claimed], ())
            return len(claimed)
        outcomes = await asyncio.gather(
            *(self._deliver(row, item) for row, item in zip(claimed, prepared, strict=True))
        )
        await self._settle(outcomes, prepared)
        return len(claimed)

    async def _deliver(self, row: store.Claimed, item: Prepared) -> store.Outcome:
        """Send one prepared row; its outcome by what Telegram said."""
        if item.skip is not None:
            return store.Outcome(row.id, ReminderState.SKIPPED, error=item.skip)
        if item.blocked:
            return store.Outcome(row.id, ReminderState.FAILED, error="blocked")
        if item.wait_until is not None:
            return store.Outcome(
                row.id, ReminderState.PENDING, not_before=item.wait_until, error="quiet hours"
            )
        assert item.reply is not None
        try:
            await send_one(self.bot, item.chat_id, item.reply, rate_limit_args=Priority.BACKGROUND)
        except Forbidden:
            await self._blocked(item.chat_id)
            return store.Outcome(row.id, ReminderState.FAILED, error="blocked")
        except BadRequest as exc:
            log.warning("Telegram refused reminder %s: %s", row.id, exc)
            return store.Outcome(row.id, ReminderState.FAILED, error=f"refused: {exc}")
        except TimedOut:
            # It may have gone out: once more, then no more (a duplicate is worse).
            if (row.error or "").startswith(_TIMED_OUT):
                return store.Outcome(row.id, ReminderState.UNCERTAIN, error="timed out twice")
            return self._later(row, timedelta(seconds=5), _TIMED_OUT)
        except RetryAfter as exc:
            return self._later(row, timedelta(seconds=retry_seconds(exc)), "429")
        except NetworkError as exc:  # a 5xx or the connection
            return self._later(row, retry_delay(row.attempts), f"network: {exc}")
        except Exception as exc:  # a bug of ours: logged, tried again later, never lost
            log.exception("reminder %s could not be sent", row.id)
            return self._later(row, retry_delay(row.attempts), f"error: {type(exc).__name__}")
        return store.Outcome(row.id, ReminderState.SENT, sent_at=self.deps.clock())

    def _failed_to_prepare(self, row: store.Claimed) -> store.Outcome:
        if row.attempts >= MAX_ATTEMPTS:
            return store.Outcome(row.id, ReminderState.FAILED, error="could not be prepared")
        return self._later(row, retry_delay(row.attempts), "error: could not be prepared")

    def _later(self, row: store.Claimed, delay: timedelta, error: str) -> store.Outcome:
        return store.Outcome(
            row.id, ReminderState.PENDING, not_before=self.deps.clock() + delay, error=error
        )

    async def _blocked(self, chat_id: int) -> None:
        try:
            async with self.deps.db.session() as session:
                await mark_blocked(session=session, chat_id=chat_id, now=self.deps.clock())
        except Exception:
            log.exception("could not record that chat %s blocked the bot", chat_id)

    async def _settle(
        self, outcomes: Sequence[store.Outcome], prepared: Sequence[Prepared]
    ) -> None:
        """Every outcome and the reminders that follow them, in one transaction."""
        settled = {ReminderState.SENT, ReminderState.SKIPPED, ReminderState.UNCERTAIN}
        follows = [
            item.follow
            for outcome, item in zip(outcomes, prepared, strict=False)
            if item.follow is not None and outcome.state in settled
        ]
        try:
            async with self.deps.db.session() as session:
                await store.settle(session, outcomes)
                await store.add(session, follows)
                await session.commit()
            return
        except Exception:
            if not follows:
                raise
            # A follow-up that cannot be written (its person or team deleted meanwhile)
            # must not undo the outcomes: sent messages would be sent again.
            log.exception("reminders settled without the ones that follow them")
        async with self.deps.db.session() as session:
            await store.settle(session, outcomes)
            await session.commit()
        for follow in follows:
            try:
                async with self.deps.db.session() as session:
                    await store.add(session, [follow])
                    await session.commit()
            except Exception:
                log.warning("the reminder following one to %s was not planned", follow.recipient_id)

    async def _pause(self) -> float:
        """Seconds until a row may become claimable: a held-back row's `not_before`, or
        the moment sending ahead must start; at most `IDLE_SECONDS`."""
        now = self.deps.clock()
        async with self.deps.db.session() as session:
            held = await store.next_moment(session, after=now)
        # The queue as the pass that claimed nothing just read it (one count less per pause).
        read_at, waiting = self._waiting or (now, store.Queue(()))
        ahead = waiting.next_start(self.planning_rate(), max(now, read_at))
        moments = [m for m in (held, ahead) if m is not None]
        if not moments:
            return IDLE_SECONDS
        return max(min(IDLE_SECONDS, (min(moments) - now).total_seconds()), 0.05)
