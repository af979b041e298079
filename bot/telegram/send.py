"""Send replies to a chat: HTML text with inline keyboards, or a document.

After a button press the first reply replaces the pressed message (one editMessageText
instead of a new message and an edit to strip the old keyboard): each chat-bound call is a
share of the ~30 a second Telegram allows the bot.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.services.replies import Button, Reply
from bot.store.queries import mark_blocked
from bot.telegram import botapi
from bot.telegram.callback_data import encode
from bot.telegram.deps import Deps

log = logging.getLogger(__name__)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
UPLOAD_WRITE_TIMEOUT = 300.0  # seconds: 45 MB at about 1.2 Mbit/s
UPLOAD_READ_TIMEOUT = 60.0


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for button rows (None when there are none)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=encode(b.action)) for b in row]
            for row in rows
            if row
        ]
    )


async def send_replies(
    bot: Bot, deps: Deps, chat_id: int, replies: list[Reply], *, in_place_of: int | None = None
) -> list[int | None]:
    """Send each reply in order; a chat that blocked the bot is marked and left alone.
    Returns the id of the message each reply became (None where unknown or not sent).

    With `in_place_of` (the message whose button was pressed) a first reply that is text
    becomes that message's new content; if it cannot be edited, it is sent.
    """
    sent: list[int | None] = []
    try:
        for number, reply in enumerate(replies):
            if (
                number == 0
                and in_place_of is not None
                and await _edit(bot, chat_id, in_place_of, reply)
            ):
                sent.append(in_place_of)
                continue
            sent.append(await _send(bot, chat_id, reply))
    except Forbidden:
        log.info("chat %s blocked the bot; marking it", chat_id)
        async with deps.db.session() as session:
            await mark_blocked(session=session, chat_id=chat_id, now=deps.clock())
    return sent


async def _edit(bot: Bot, chat_id: int, message_id: int, reply: Reply) -> bool:
    """Show a text reply in place of a message; False if that message cannot take it."""
    if (
        reply.document is not None
        or not reply.text
        or reply.force_reply is not None
        or reply.standalone
    ):
        return False  # an edit cannot attach a file, nor ask for a reply
    try:
        await botapi.post(
            bot, "editMessageText", {**_text(reply), "chat_id": chat_id, "message_id": message_id}
        )
    except BadRequest as error:
        # Deleted, too old, not a text, or already showing exactly this: send it instead,
        # so the press is always answered where the cadre will see it.
        log.debug("message %s in chat %s not edited (%s); sending", message_id, chat_id, error)
        return False
    return True


async def _send(
    bot: Bot, chat_id: int, reply: Reply, *, rate_limit_args: object = None
) -> int | None:
    """Send one reply; the id of the message it became."""
    if reply.document is not None:
        attachment = reply.document
        # A large file (an export part) is read only now, one at a time.
        content = attachment.path.read_bytes() if attachment.path else attachment.content
        limited = botapi.rate_limit_args_for(bot, rate_limit_args)
        extra: dict[str, Any] = {} if limited is None else {"rate_limit_args": limited}
        if attachment.path is not None:
            # A large file (an export part, up to 45 MB) needs longer than a message to go
            # up, and Telegram longer to answer.
            extra |= {"write_timeout": UPLOAD_WRITE_TIMEOUT, "read_timeout": UPLOAD_READ_TIMEOUT}
        message = await bot.send_document(
            chat_id,
            document=content,
            filename=attachment.filename,
            caption=attachment.caption or None,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(reply.buttons),
            **extra,
        )
        return message.message_id
    if reply.text:
        data = {**_text(reply), "chat_id": chat_id}
        result = await botapi.post(bot, "sendMessage", data, rate_limit_args=rate_limit_args)
        return int(result["message_id"]) if isinstance(result, dict) else None
    return None


async def send_one(bot: Bot, chat_id: int, reply: Reply, *, rate_limit_args: object) -> int | None:
    """Send one reply with the given rate-limit class (the background sender's way)."""
    return await _send(bot, chat_id, reply, rate_limit_args=rate_limit_args)


def _text(reply: Reply) -> dict[str, object]:
    """A text reply's parameters, as PTB's send_message would send them."""
    markup: InlineKeyboardMarkup | ForceReply | None = keyboard(reply.buttons)
    if reply.force_reply is not None:
        markup = ForceReply(input_field_placeholder=reply.force_reply[:64])
    data: dict[str, object] = {
        "text": reply.text,
        "parse_mode": ParseMode.HTML,
        "reply_markup": markup,
        "link_preview_options": _NO_PREVIEW,
    }
    if reply.silent:
        data["disable_notification"] = True
    return data
