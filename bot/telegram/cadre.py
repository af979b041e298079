"""Handlers for a cadre in a private chat. Each one reads the update, calls one service,
and sends what the service returns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.services import conversation, exports, reviews
from bot.services.conversation import Command, Out
from bot.services.drafts import lay_out
from bot.services.people import Person
from bot.services.replies import PendingExport, Reply
from bot.store import rewrites
from bot.telegram.callback_data import BadCallbackData, decode
from bot.telegram.deps import Deps, deps_of
from bot.telegram.send import send_replies

log = logging.getLogger(__name__)
Call = Callable[[AsyncSession, Deps, Person], Awaitable[Sequence[Out]]]


def person_of(update: Update) -> Person:
    """The sender of an update in a private chat."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    return Person(user_id=user.id, chat_id=chat.id, language_code=user.language_code)


async def _run(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    call: Call,
    *,
    in_place_of: int | None = None,
) -> None:
    deps = deps_of(context)
    person = person_of(update)
    async with deps.db.session() as session:
        outcome = await call(session, deps, person)
    # Whatever the step wrote for other people is committed: the sender may go.
    deps.wake_sender()
    exports = [o for o in outcome if isinstance(o, PendingExport)]
    replies = lay_out(deps.res, [o for o in outcome if not isinstance(o, PendingExport)])
    if any(reply.rewrite_job is not None for reply in replies):
        deps.wake_rewriter()
    try:
        sent = await send_replies(
            context.bot, deps, person.chat_id, replies, in_place_of=in_place_of
        )
        await _remember_prompts(deps, person.chat_id, replies, sent)
        for pending in exports:
            await _export(context.bot, deps, person.chat_id, pending)
    except TelegramError:
        # The update is applied and committed; failing it now would tell the cadre to try
        # again, and a resent answer would land on the next question. The next message
        # shows where they are (and a resent answer is recognised).
        log.exception("update %s is applied but its reply could not be sent", update.update_id)


async def _remember_prompts(
    deps: Deps, chat_id: int, replies: list[Reply], sent: list[int | None]
) -> None:
    """Note the comment prompts just sent, so that a reply to one is taken as the comment
    (the stored mark covers the next text even if this fails)."""
    for reply, message_id in zip(replies, sent, strict=False):
        if reply.rewrite_job is not None and message_id is not None:
            await _remember_progress(deps, reply.rewrite_job, message_id)
        if reply.comment_on is None or message_id is None:
            continue
        try:
            async with deps.db.session() as session:
                await reviews.remember_prompt(
                    session,
                    chat_id=chat_id,
                    message_id=message_id,
                    version_id=reply.comment_on,
                    now=deps.clock(),
                )
        except Exception:
            log.warning("could not note comment prompt %s", message_id, exc_info=True)


async def _remember_progress(deps: Deps, job_id: int, message_id: int) -> None:
    """Note the message that shows a rewrite job's progress, so the rewriter edits it (if
    this fails, the rewriter sends one of its own)."""
    try:
        async with deps.db.session() as session:
            await rewrites.set_message(session, job_id, message_id)
    except Exception:
        log.warning("could not note the progress message of rewrite job %s", job_id, exc_info=True)


async def _export(bot: Bot, deps: Deps, chat_id: int, pending: PendingExport) -> None:
    """Build an export in a folder of its own and send its files, one at a time."""
    with tempfile.TemporaryDirectory(prefix="debrief-export-") as folder:
        try:
            files = await exports.build(deps.db, deps.res, pending, Path(folder), now=deps.clock())
        except Exception:
            log.exception("export of team %s failed", pending.team_id)
            await send_replies(
                bot, deps, chat_id, [Reply(deps.res.t(pending.language, "export_failed"))]
            )
            return
        try:
            await send_replies(
                bot, deps, chat_id, exports.file_replies(files, deps.res, pending.language)
            )
        except TelegramError:
            log.exception("the export of team %s could not be sent", pending.team_id)
            failed = [Reply(deps.res.t(pending.language, "export_failed"))]
            with contextlib.suppress(TelegramError):
                await send_replies(bot, deps, chat_id, failed)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A cadre typed a message."""
    message = update.effective_message
    assert message is not None
    text = message.text or ""
    replied = message.reply_to_message
    # Only a reply to one of the bot's own messages can answer a prompt of ours.
    reply_to = (
        replied.message_id
        if replied is not None
        and replied.from_user is not None
        and replied.from_user.id == context.bot.id
        else None
    )
    await _run(
        update,
        context,
        lambda s, d, p: conversation.text(
            s,
            res=d.res,
            person=p,
            update_id=update.update_id,
            text=text,
            now=d.clock(),
            reply_to=reply_to,
        ),
    )


def command_handler(
    command: Command,
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """A handler for one of the cadre's commands."""

    async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        # What follows the command, as typed (a team's name may have spaces; a deep link's
        # payload is one word).
        args = (message.text or "").partition(" ")[2].strip() if message else ""
        await _run(
            update,
            context,
            lambda s, d, p: conversation.command(
                s,
                res=d.res,
                person=p,
                update_id=update.update_id,
                command=command,
                now=d.clock(),
                args=args,
            ),
        )

    on_command.__doc__ = f"The cadre sent /{command.value}."
    return on_command


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A cadre pressed an inline button."""
    query = update.callback_query
    assert query is not None
    # Stop the button's spinner, while the press is applied. Telegram refuses an answer
    # after about 15 seconds (a press replayed from the inbox after a restart); that must
    # not fail the press.
    answering = asyncio.ensure_future(query.answer())
    try:
        await _press(update, context, query)
    finally:
        with contextlib.suppress(TelegramError):
            await answering


async def _press(update: Update, context: ContextTypes.DEFAULT_TYPE, query: CallbackQuery) -> None:
    """Apply a press, checked against who pressed."""
    # The sender is who pressed; the message is only where. Our buttons live in the sender's
    # own private chat (whose id is the user's id): a press on a message anywhere else is
    # forged or foreign and must neither be answered there nor move the cadre's chat.
    message = query.message
    if (
        message is None
        or message.chat.type != ChatType.PRIVATE
        or message.chat.id != query.from_user.id
    ):
        return
    try:
        action = decode(query.data)
    except BadCallbackData:
        await _run(
            update,
            context,
            lambda s, d, p: conversation.where(s, res=d.res, person=p),
            in_place_of=message.message_id,
        )
        return
    # The reply replaces the pressed message: its keyboard goes with it, and a second tap
    # on an older keyboard is re-checked like any press.
    await _run(
        update,
        context,
        lambda s, d, p: conversation.press(
            s, res=d.res, person=p, update_id=update.update_id, action=action, now=d.clock()
        ),
        in_place_of=message.message_id,
    )
