"""Bot API calls whose answers we use as JSON, not as python-telegram-bot objects.

PTB's methods turn every answer into objects: the echo of each sent message becomes a
`Message` (with its chat, sender, entities and keyboard), and each fetched update is read
into an `Update` that we then had to write back to JSON for the inbox. The bot never reads a
sent message's echo, and stores updates as they came: building those objects cost about a
third of a millisecond per call. These go through the same `Bot._post` that PTB's own
methods use (the rate limiter, the request layer and PTB's error mapping included), and
only skip the objects.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, Update
from telegram._utils.types import JSONDict
from telegram.ext import ExtBot

_ALL_UPDATE_TYPES = list(Update.ALL_TYPES)  # chat_member and reactions must be asked for


async def post(bot: Bot, method: str, data: JSONDict, *, rate_limit_args: object = None) -> Any:
    """Call a Bot API method; its result as Telegram sent it (True, or a JSON object).
    `rate_limit_args` reaches the rate limiter, if the bot has one."""
    limited = rate_limit_args_for(bot, rate_limit_args)
    if limited is None:
        return await bot._post(method, data)
    assert isinstance(bot, ExtBot)
    return await bot._post(method, data, api_kwargs=bot._merge_api_rl_kwargs(None, limited))


def rate_limit_args_for(bot: Bot, rate_limit_args: object) -> Any:
    """The arguments for the bot's rate limiter, or None when it has none (PTB refuses
    them then)."""
    if rate_limit_args is None or not isinstance(bot, ExtBot) or bot.rate_limiter is None:
        return None
    return rate_limit_args


async def get_updates(bot: Bot, *, offset: int | None, long_poll: int) -> list[JSONDict]:
    """getUpdates as JSON; the read timeout allows for the long poll."""
    read_timeout = (bot.request.read_timeout or 0) + long_poll
    data: JSONDict = {
        "offset": offset,
        "timeout": long_poll,
        "allowed_updates": _ALL_UPDATE_TYPES,
    }
    result = await bot._post("getUpdates", data, read_timeout=read_timeout)
    return list(result)
