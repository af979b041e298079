"""Run the bot: initialise, prepare the schema, poll durably, stop cleanly on a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from telegram.ext import ContextTypes

from bot.config import Settings
from bot.store.inbox import forget_failed_updates
from bot.store.outbox import forget_delivered
from bot.store.queries import forget_processed_updates
from bot.store.reminders import forget_settled
from bot.store.schema import ensure_current
from bot.telegram.app import (
    BotApplication,
    build_application,
    claim_database_of,
    deps_of_app,
    publish_commands,
    remember_username,
    settle_memory,
)
from bot.telegram.deps import Deps, deps_of
from bot.telegram.outbox_sender import OutboxSender
from bot.telegram.polling import InboxPoller
from bot.telegram.reminder_dispatcher import ReminderDispatcher

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=6)
KEEP_PROCESSED = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)
KEEP_DELIVERED = timedelta(days=30)
KEEP_REMINDERS = timedelta(days=30)
SENDER_GRACE = 10.0


async def prune_processed_updates(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forget dedup records a redelivery can no longer need, failed updates and delivered
    messages past their keeping time."""
    deps = deps_of(context)
    async with deps.db.session() as session:
        dropped = await forget_processed_updates(
            session=session, before=deps.clock() - KEEP_PROCESSED
        )
    log.info("forgot %d processed update ids older than %s", dropped, KEEP_PROCESSED)
    async with deps.db.session() as session:
        failed = await forget_failed_updates(session=session, before=deps.clock() - KEEP_FAILED)
    if failed:
        log.info("forgot %d updates that failed more than %s ago", failed, KEEP_FAILED)
    async with deps.db.session() as session:
        delivered = await forget_delivered(session=session, before=deps.clock() - KEEP_DELIVERED)
    if delivered:
        log.info("forgot %d messages delivered more than %s ago", delivered, KEEP_DELIVERED)
    async with deps.db.session() as session:
        reminders = await forget_settled(session, before=deps.clock() - KEEP_REMINDERS)
        await session.commit()
    if reminders:
        log.info("forgot %d reminders settled more than %s ago", reminders, KEEP_REMINDERS)


async def _finish(task: asyncio.Task[None]) -> None:
    """Let a sender finish what it has in hand (a crash would only send it again)."""
    try:
        await asyncio.wait_for(task, timeout=SENDER_GRACE)
    except TimeoutError:
        log.warning(
            "%s did not stop in %.0f s; what it had in hand is sent again",
            task.get_name(),
            SENDER_GRACE,
        )
    except Exception:
        log.exception("%s failed", task.get_name())


def _rewrites(
    app: BotApplication, deps: Deps, settings: Settings, stop: asyncio.Event, owner: asyncio.Event
) -> asyncio.Task[None]:
    """The background rewriter, started only where polishing is configured: the model's
    client and the fact check are not even imported elsewhere (about 20 MB)."""
    from bot.rewrite.model import load_rewrite_prompts, make_client
    from bot.telegram.rewriter import Rewriter

    rewriter = Rewriter(
        app.bot,
        deps,
        make_client(settings),
        model=settings.llm_model,
        concurrency=settings.llm_concurrency,
        timeout=settings.llm_timeout,
        prompts=load_rewrite_prompts(settings.prompts_dir),
    )
    deps.wake_rewriter = rewriter.wake
    return asyncio.create_task(rewriter.run(stop, owner), name="rewrites")


async def run_polling(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM. Raises InvalidToken if Telegram rejects the token
    while serving, PollingFailed if polling could not go on."""
    app = build_application(settings, rate_limit=settings.rate_limiter)
    deps = deps_of_app(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # The schema first: an outdated database must stop us before we touch Telegram.
        await ensure_current(deps.db, auto_migrate=settings.auto_migrate)
        async with app:
            # getMe has answered: the database must be this bot's, and writable.
            await claim_database_of(app)
            remember_username(app)
            await publish_commands(app, settings)
            await app.start()
            try:
                assert app.job_queue is not None
                app.job_queue.run_repeating(
                    prune_processed_updates,
                    interval=PRUNE_EVERY,
                    first=60.0,
                    job_kwargs={"misfire_grace_time": 3600},
                )
                settle_memory()
                log.info("@%s is polling %s", app.bot.username, settings.telegram_api_base_url)
                poller = InboxPoller(app, deps, timeout=settings.poll_timeout)
                sender = OutboxSender(app.bot, deps)
                deps.wake_sender = sender.wake
                sending = asyncio.create_task(sender.run(stop, poller.owner), name="outbox")
                dispatcher = ReminderDispatcher(app.bot, deps)
                background = [
                    sending,
                    asyncio.create_task(dispatcher.run(stop, poller.owner), name="reminders"),
                ]
                if settings.llm_base_url is not None:
                    background.append(_rewrites(app, deps, settings, stop, poller.owner))
                try:
                    await poller.run(stop)
                finally:
                    stop.set()
                    await asyncio.gather(*map(_finish, background))
            finally:
                await app.stop()
    finally:
        await deps.db.dispose()
