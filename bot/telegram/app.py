"""The composition root: one function builds the whole Telegram bot."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import BotCommand, Message
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.interview.questionnaire import LANGUAGES
from bot.services.conversation import Command
from bot.services.resources import load_resources
from bot.store.db import Database
from bot.store.identity import claim_database
from bot.store.schema import ensure_current
from bot.telegram import cadre, common
from bot.telegram.deps import Deps, deps_in, install, utc_now
from bot.telegram.http import AiohttpRequest
from bot.telegram.limiter import DebriefRateLimiter

# Commands in the order the menu shows them.
MENU = (
    Command.START,
    Command.STATUS,
    Command.EDIT,
    Command.DRAFT,
    Command.SUBMIT,
    Command.HISTORY,
    Command.TEAM,
    Command.NEWTEAM,
    Command.NEWCYCLE,
    Command.DEADLINES,
    Command.TIMEZONE,
    Command.AWAY,
    Command.CANCEL,
    Command.RESTART,
    Command.NEW,
    Command.PROFILE,
    Command.HELP,
)

BotApplication = Application[Any, Any, Any, Any, Any, Any]


class DebriefApplication(Application):  # type: ignore[type-arg]
    """PTB's Application, minus bookkeeping for a persistence we do not use.

    PTB 22 adds the chat and user id of every update to two sets that only its persistence
    loop empties; with no persistence they grow with every new user, forever. Our state is in
    the database, so nothing is marked.
    """

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: object | None = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)  # type: ignore[arg-type]


class _HasText(filters.MessageFilter):
    """A text message, even an empty one (filters.TEXT treats "" as no text)."""

    def filter(self, message: Message) -> bool:
        return message.text is not None


HAS_TEXT = _HasText(name="HAS_TEXT")


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Callable[[], datetime] = utc_now,
    rate_limit: bool = True,
) -> BotApplication:
    """Wire settings, database, prompts, handlers and the error handler into an Application.

    Nothing touches the network or the database until the application is initialised.
    """
    token = settings.require_token()
    res = load_resources(
        settings.prompts_dir,
        default_language=settings.default_language,
        zone=settings.default_timezone,
        answer_limit=settings.max_answer_chars,
        rewrite_host=settings.llm_host,
    )
    builder = (
        ApplicationBuilder()
        .application_class(DebriefApplication)
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .updater(None)
        .concurrent_updates(True)
    )
    if rate_limit:
        builder = builder.rate_limiter(DebriefRateLimiter())  # type: ignore[arg-type]
    if request is None:
        # aiohttp rather than PTB's httpx: a third of the CPU per Bot API call.
        request, get_updates_request = AiohttpRequest(), AiohttpRequest(connection_pool_size=1)
    builder = builder.request(request).get_updates_request(get_updates_request or request)
    app = builder.build()
    install(app.bot_data, Deps(db=Database(settings.database), res=res, clock=clock))
    add_handlers(app)
    return app


def add_handlers(app: BotApplication) -> None:
    """Every handler, in the order they are tried."""
    private = filters.ChatType.PRIVATE
    for command in Command:
        app.add_handler(
            CommandHandler(
                command.value,
                cadre.command_handler(command),
                filters=private & filters.UpdateType.MESSAGE,
            )
        )
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, common.on_edited_message))
    app.add_handler(MessageHandler(~private & filters.UpdateType.MESSAGE, common.on_group_message))
    # An unknown /command is answered like /help rather than taken as an answer.
    app.add_handler(MessageHandler(private & filters.COMMAND, cadre.command_handler(Command.HELP)))
    app.add_handler(MessageHandler(private & HAS_TEXT, cadre.on_text))
    app.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE, common.on_other_message))
    app.add_handler(CallbackQueryHandler(cadre.on_button))
    app.add_error_handler(common.on_error)


async def prepare(app: BotApplication, settings: Settings) -> None:
    """Bring the schema up to date (or refuse), check the database is this bot's, then
    publish the command menu. The application must be initialised (getMe answered)."""
    await ensure_current(deps_of_app(app).db, auto_migrate=settings.auto_migrate)
    await claim_database_of(app)
    remember_username(app)
    await publish_commands(app, settings)


def remember_username(app: BotApplication) -> None:
    """Invite links name the bot: take its username from getMe's answer."""
    deps_of_app(app).res.links.username = app.bot.username


async def claim_database_of(app: BotApplication) -> None:
    """Refuse a database made by another bot; record this one on the first start."""
    deps = deps_of_app(app)
    await claim_database(deps.db, bot_id=app.bot.id, username=app.bot.username, now=deps.clock())


async def publish_commands(app: BotApplication, settings: Settings) -> None:
    """The command menu in every language, and in the default one for everybody else."""
    messages = deps_of_app(app).res.messages
    for language in LANGUAGES:
        commands = [BotCommand(c.value, messages.raw(language, f"cmd_{c.value}")) for c in MENU]
        await app.bot.set_my_commands(commands, language_code=language)
        if language == settings.default_language:
            await app.bot.set_my_commands(commands)


def settle_memory() -> None:
    """Hide what start-up loaded (modules, prompts, SQLAlchemy's metadata, PTB's objects)
    from the cycle collector, which otherwise rescans all of it in every full collection:
    measured, such a pause stopped the loop for about 60 ms, and updates queued behind it."""
    gc.collect()
    gc.freeze()


def deps_of_app(app: BotApplication) -> Deps:
    """The deps of an application built by `build_application`."""
    return deps_in(app.bot_data)
