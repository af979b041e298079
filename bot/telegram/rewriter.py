"""The background rewriter: takes polishing jobs off the database and works them section by
section, away from the update handlers, so a slow model never holds up an interview.

It runs only in the instance that holds the polling lease, at most `concurrency` jobs at
once (one model call each: the endpoint is the organisation's, often one GPU). Each
finished section is committed before the next is asked for, so a restart resumes where it
stopped; on becoming the lease holder it takes over its predecessor's jobs at once.
Progress is one message, edited as sections finish; at the end it becomes the summary.

Faults: the model's (timeout, 429, 5xx, garbage) keep the section in the cadre's wording
and say so; Telegram's on the progress message are best effort, except the summary, which
is tried again (the job stays `done` until it is delivered), never in a tight loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import timedelta

from openai import AsyncOpenAI
from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.rewrite.model import RewritePrompts
from bot.services import rewrite_jobs, rewriting
from bot.services.replies import Reply
from bot.store import rewrites as store
from bot.store.models import RewriteJob, RewriteState, SectionWording
from bot.store.queries import mark_blocked
from bot.telegram import botapi
from bot.telegram.deps import Deps
from bot.telegram.limiter import Priority
from bot.telegram.outbox_sender import first_of
from bot.telegram.send import keyboard, send_one

log = logging.getLogger(__name__)

IDLE_SECONDS = 10.0  # the longest pause between looks when not woken
MAX_ATTEMPTS = 5  # a job claimed this often without finishing is reported and dropped
# How long the handler that queued a job may take to note the message it answered with.
HANDLER_GRACE = timedelta(seconds=30)
LEARN_PAUSE = 0.5  # seconds between looks for that message


class Rewriter:
    """Works queued rewrite jobs; `run` loops while this instance holds the polling lease."""

    def __init__(
        self,
        bot: Bot,
        deps: Deps,
        client: AsyncOpenAI,
        *,
        model: str,
        concurrency: int,
        timeout: float,
        prompts: RewritePrompts | None = None,
    ) -> None:
        self.bot = bot
        self.prompts = prompts
        self.deps = deps
        self.client = client
        self.model = model
        self.concurrency = concurrency
        # A section takes at most two calls (the retry); the lease outlives both, renewed
        # after each section.
        self.lease = timedelta(seconds=2 * timeout + 60)
        self._wake = asyncio.Event()
        self._working: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """A job may have been queued: look now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, owner: asyncio.Event) -> None:
        """Work jobs until `stop`; only while `owner` (the polling lease) is set."""
        backoff = 1.0
        owned = False
        try:
            while not stop.is_set():
                if not owner.is_set():
                    owned = False
                    await self._drop_work()
                    await first_of(stop.wait(), owner.wait())
                    continue
                try:
                    if not owned:
                        # Whoever held the lease before is gone: its jobs resume now.
                        async with self.deps.db.session() as session:
                            await store.release_all(session, now=self.deps.clock())
                        owned = True
                    self._wake.clear()
                    await self._claim()
                    backoff = 1.0
                    waits: list[Awaitable[object]] = [
                        stop.wait(),
                        self._wake.wait(),
                        asyncio.sleep(IDLE_SECONDS),
                    ]
                    if self._working:
                        # A job finishing frees a slot for the next.
                        waits.append(
                            asyncio.wait(set(self._working), return_when=asyncio.FIRST_COMPLETED)
                        )
                    await first_of(*waits)
                except Exception:
                    log.exception("rewrite jobs could not be claimed; retrying in %.0f s", backoff)
                    await first_of(stop.wait(), asyncio.sleep(backoff))
                    backoff = min(backoff * 2, 60.0)
        finally:
            await self._drop_work()

    async def _drop_work(self) -> None:
        """Stop the jobs in hand (their leases let the next holder resume them)."""
        for task in self._working:
            task.cancel()
        for task in list(self._working):
            with contextlib.suppress(BaseException):
                await task
        self._working.clear()

    async def _claimed(self, limit: int) -> list[RewriteJob]:
        """Up to `limit` jobs leased to this rewriter."""
        async with self.deps.db.session() as session:
            return await store.claim(session, now=self.deps.clock(), lease=self.lease, limit=limit)

    async def _claim(self) -> None:
        free = self.concurrency - len(self._working)
        if free <= 0:
            return
        for job in await self._claimed(free):
            task = asyncio.create_task(self._guarded(job), name=f"rewrite-{job.id}")
            self._working.add(task)
            task.add_done_callback(self._working.discard)

    async def work_once(self) -> int:
        """Claim what may be worked now and work it to the end (tests, benchmarks).
        Returns how many jobs were claimed."""
        jobs = await self._claimed(self.concurrency)
        await asyncio.gather(*(self._guarded(job) for job in jobs))
        return len(jobs)

    async def _guarded(self, job: RewriteJob) -> None:
        try:
            await self.work(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Its lease runs out and it is claimed again, up to MAX_ATTEMPTS.
            log.exception("rewrite job %s failed", job.id)

    async def work(self, job: RewriteJob) -> None:
        """Rewrite the job's remaining sections, then tell the cadre what came of it."""
        assert job.id is not None
        if job.attempts > MAX_ATTEMPTS:
            log.error("rewrite job %s gave up after %d attempts", job.id, job.attempts)
            await self._give_up(job)
            return
        if job.state == RewriteState.RUNNING:
            await self._rewrite(job)
        await self._tell(job)

    async def _rewrite(self, job: RewriteJob) -> None:
        assert job.id is not None
        res = self.deps.res
        async with self.deps.db.session() as session:
            work = await rewrite_jobs.prepare(session, res, job)
        if work is None:  # the interview or its author is gone (/forget_me)
            async with self.deps.db.session() as session:
                await store.set_state(session, job.id, RewriteState.TOLD, now=self.deps.clock())
            return
        lang = work.questionnaire.language
        done, total = work.done, len(job.sections)
        # The handler that queued the job shows "0 of N" itself; after a restart, or if its
        # message was not remembered, the progress is shown again.
        if done or self.deps.clock() - job.created_at > HANDLER_GRACE:
            await self._progress(job, rewriting.progress_text(res, lang, done=done, total=total))
        failed_why: str | None = None
        for request, source, digest in work.todo:
            if failed_why is not None:
                outcome = rewrite_jobs.Rewritten(None, (failed_why,))
            else:
                outcome = await rewrite_jobs.rewrite_checked(
                    self.client, self.model, request, source, res, prompts=self.prompts
                )
                if outcome.endpoint_failed:
                    failed_why = outcome.problems[0]
            now = self.deps.clock()
            row = SectionWording(
                job_id=job.id,
                interview_id=job.interview_id,
                section_id=source.section.id,
                source_hash=digest,
                text=outcome.text or "",
                polished=outcome.text is not None,
                problems=list(outcome.problems),
                chosen=outcome.text is not None,
                created_at=now,
            )
            async with self.deps.db.session() as session:
                await store.record(session, row, lease_until=now + self.lease)
            done += 1
            if done < total:
                await self._progress(
                    job, rewriting.progress_text(res, lang, done=done, total=total)
                )
        async with self.deps.db.session() as session:
            await store.set_state(session, job.id, RewriteState.DONE, now=self.deps.clock())

    async def _tell(self, job: RewriteJob) -> None:
        """The summary in place of the progress message; the job is settled once sent."""
        assert job.id is not None
        async with self.deps.db.session() as session:
            reply = await rewriting.summary_of(session, self.deps.res, job)
        if reply is not None:
            try:
                await self._show(job, reply)
            except Forbidden:
                await self._blocked(job)
            # Any other failure propagates: the job stays done and is told when its
            # lease runs out.
        async with self.deps.db.session() as session:
            await store.set_state(session, job.id, RewriteState.TOLD, now=self.deps.clock())

    async def _give_up(self, job: RewriteJob) -> None:
        assert job.id is not None
        async with self.deps.db.session() as session:
            reply = await rewriting.gave_up(session, self.deps.res, job)
        with contextlib.suppress(TelegramError):
            await self._show(job, reply)
        async with self.deps.db.session() as session:
            await store.set_state(session, job.id, RewriteState.TOLD, now=self.deps.clock())

    async def _progress(self, job: RewriteJob, text: str) -> None:
        """Best effort: a progress line that does not arrive is superseded by the next."""
        try:
            await self._show(job, Reply(text), final=False)
        except Forbidden:
            # Marked, and the sections go on: were the job to fail here, its lease would
            # bring it back to call the model again for nothing. The summary tries once.
            await self._blocked(job)
        except TelegramError:
            log.warning("progress of rewrite job %s not shown", job.id, exc_info=True)

    async def _blocked(self, job: RewriteJob) -> None:
        """The cadre blocked the bot: mark the chat, as every sender does."""
        async with self.deps.db.session() as session:
            await mark_blocked(session=session, chat_id=job.chat_id, now=self.deps.clock())

    async def _learn_message(self, job: RewriteJob, *, wait: bool) -> None:
        """The message the handler answered with, once it has noted it. Within its grace a
        progress line does without it (the handler's own "0 of N" stands); the summary
        waits for it rather than arrive as a second message."""
        assert job.id is not None
        give_up_at = asyncio.get_running_loop().time() + HANDLER_GRACE.total_seconds()
        while job.message_id is None:
            async with self.deps.db.session() as session:
                stored = await store.job(session, job.id)
            job.message_id = stored.message_id if stored is not None else None
            young = self.deps.clock() - job.created_at < HANDLER_GRACE
            waited_enough = asyncio.get_running_loop().time() > give_up_at
            if job.message_id is not None or not (wait and young) or waited_enough:
                return
            await asyncio.sleep(LEARN_PAUSE)

    async def _show(self, job: RewriteJob, reply: Reply, *, final: bool = True) -> None:
        """Edit the job's message to show the reply; send a new one where there is none or
        it cannot be edited (deleted, too old), and remember it."""
        assert job.id is not None
        await self._learn_message(job, wait=final)
        young = self.deps.clock() - job.created_at < HANDLER_GRACE
        if job.message_id is None and not final and young:
            return
        if job.message_id is not None:
            data = {
                "chat_id": job.chat_id,
                "message_id": job.message_id,
                "text": reply.text,
                "parse_mode": "HTML",
                "reply_markup": keyboard(reply.buttons),
            }
            try:
                await botapi.post(
                    self.bot, "editMessageText", data, rate_limit_args=Priority.BACKGROUND
                )
                return
            except BadRequest as error:
                if "not modified" in str(error).lower():
                    return
                log.info("rewrite job %s: message not edited (%s); sending", job.id, error)
        message_id = await send_one(
            self.bot, job.chat_id, reply, rate_limit_args=Priority.BACKGROUND
        )
        if message_id is not None:
            job.message_id = message_id
            async with self.deps.db.session() as session:
                await store.set_message(session, job.id, message_id)
