"""Send replies to a chat: HTML text with inline keyboards, or a document."""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import Forbidden

from bot.services.replies import Button, Reply
from bot.store.queries import mark_blocked
from bot.telegram.callback_data import encode
from bot.telegram.deps import Deps

log = logging.getLogger(__name__)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


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


async def send_replies(bot: Bot, deps: Deps, chat_id: int, replies: list[Reply]) -> None:
    """Send each reply in order; a chat that blocked the bot is marked and left alone."""
    try:
        for reply in replies:
            await _send(bot, chat_id, reply)
    except Forbidden:
        log.info("chat %s blocked the bot; marking it", chat_id)
        async with deps.db.session() as session:
            await mark_blocked(session=session, chat_id=chat_id, now=deps.clock())


async def _send(bot: Bot, chat_id: int, reply: Reply) -> None:
    if reply.document is not None:
        await bot.send_document(
            chat_id,
            document=reply.document.content,
            filename=reply.document.filename,
            caption=reply.document.caption or None,
        )
    elif reply.text:
        await bot.send_message(
            chat_id,
            reply.text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(reply.buttons),
            link_preview_options=_NO_PREVIEW,
        )
