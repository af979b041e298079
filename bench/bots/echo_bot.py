"""A bare python-telegram-bot echo bot (`run_polling`): the end-to-end bench's floor.

Replies to every text with the text; answers a button press and replies with its data.

    TELEGRAM_BOT_TOKEN=… TELEGRAM_API_BASE_URL=… python bench/bots/echo_bot.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # run as a script

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bench.bots.launch import builder, poll


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the spinner, then say which button it was."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    await context.bot.send_message(update.effective_chat.id, query.data or "")


def main() -> None:
    app = builder().build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    poll(app)


if __name__ == "__main__":
    main()
