"""Handlers for everything that is not a cadre's text or command: other kinds of message,
group chats, edited messages, and errors."""

from __future__ import annotations

import html
import logging

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.services import conversation
from bot.services.drafts import lay_out
from bot.services.replies import Reply
from bot.services.resources import as_language
from bot.store.db import is_transient
from bot.telegram.cadre import person_of
from bot.telegram.deps import Deps, deps_of
from bot.telegram.send import send_replies

log = logging.getLogger(__name__)


def _language(update: Update, default: str) -> str:
    user = update.effective_user
    return as_language(user.language_code if user else None, as_language(default, "zh"))


async def on_other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker, voice, file, location… in private: say what we take, change nothing."""
    deps = deps_of(context)
    person = person_of(update)
    async with deps.db.session() as session:
        where = await conversation.where(session, res=deps.res, person=person)
    notice = Reply(deps.res.t(_language(update, deps.res.default_language), "not_text"))
    await send_replies(context.bot, deps, person.chat_id, lay_out(deps.res, [notice, *where]))


async def on_group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything addressed to the bot in a group: drafts are private, so we talk in private."""
    deps = deps_of(context)
    message = update.effective_message
    if message is not None:
        text = deps.res.t(_language(update, deps.res.default_language), "group_chat")
        await message.reply_text(text, parse_mode=ParseMode.HTML)


async def on_edited_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message: answers are changed with /edit, not by editing the chat."""
    deps = deps_of(context)
    message = update.effective_message
    if message is not None and message.chat.type == "private":
        text = deps.res.t(_language(update, deps.res.default_language), "edited_message")
        await message.reply_text(text, parse_mode=ParseMode.HTML)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with its update, and tell the user their saved work is safe."""
    log.error(
        "handling update %s failed", getattr(update, "update_id", "?"), exc_info=context.error
    )
    if not isinstance(update, Update):
        return
    deps = deps_of(context)
    error = context.error or RuntimeError("unknown failure")
    deps.failed_updates[update.update_id] = error
    if is_transient(error) or isinstance(error, Forbidden):
        return  # the poller tries a transient failure again; a blocked chat cannot be told
    await tell_about_failure(context.bot, deps, update)


async def tell_about_failure(bot: Bot, deps: Deps, update: Update) -> None:
    """Tell the sender their update failed and their saved answers are safe (best effort)."""
    chat = update.effective_chat
    if chat is None:
        return
    text = deps.res.t(_language(update, deps.res.default_language), "error")
    try:
        await bot.send_message(chat.id, html.unescape(text))
    except Exception:  # the error reply is best effort; the failure is already logged
        log.warning("could not tell chat %s about the failure", chat.id, exc_info=True)
