"""One rate limiter for every Bot API call the process makes: Telegram's limits, kept by us
so that Telegram never has to refuse.

Telegram lets a bot send about 30 messages a second in all and about one a second to one
chat (short bursts pass); a group takes 20 a minute. python-telegram-bot's AIORateLimiter
keeps only the first and the group limit, has one queue for everything, and pauses every
request when any one of them meets a 429. Here:

- each chat is paced (a burst of `chat_burst`, then one a second), so one cadre whose
  client sent hundreds of messages drains at Telegram's pace and cannot take the whole
  budget from everybody else;
- calls are interactive (a reply to the person in front of the bot: the default) or
  background (`rate_limit_args=Priority.BACKGROUND`: notifications, reminders, digests);
  background calls wait while any interactive one is queued, and together stay under
  `background_rate`;
- a 429 pauses only the chat it was about, for as long as Telegram asks.

Calls without a chat (getUpdates, answerCallbackQuery, getMe…) are not limited: Telegram
does not count them against the message limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from enum import IntEnum
from typing import Any

from aiolimiter import AsyncLimiter
from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

OVERALL_RATE = 30.0  # calls a second, every chat together
BACKGROUND_RATE = 25.0  # of which background calls may take at most this many
CHAT_BURST = 3  # calls one chat may get at once, then one a second
# The bot's budget refills continuously with small bursts: a full one-second bucket would
# let a sender that paused a moment (sending ahead) fire 25 and 25 more within a second.
OVERALL_BURST = 5
BACKGROUND_BURST = 1
GROUP_PER_MINUTE = 20
RECENT_SECONDS = 10.0  # the window over which replies' share of the budget is measured
_KEEP_CHATS = 1024  # idle chat pacers kept before the full ones are dropped

Result = bool | JSONDict | list[JSONDict]


class Priority(IntEnum):
    """Who is waiting for a call: `rate_limit_args` of a Bot API call."""

    INTERACTIVE = 0
    BACKGROUND = 1


class DebriefRateLimiter(BaseRateLimiter[Priority]):
    """Paces each chat and the whole bot; replies go before background sends."""

    def __init__(
        self,
        *,
        overall_rate: float = OVERALL_RATE,
        background_rate: float = BACKGROUND_RATE,
        chat_burst: int = CHAT_BURST,
        max_retries: int = 2,
    ) -> None:
        self._overall = AsyncLimiter(OVERALL_BURST, OVERALL_BURST / overall_rate)
        self._background = AsyncLimiter(BACKGROUND_BURST, BACKGROUND_BURST / background_rate)
        self._chat_burst = chat_burst
        self._chats: dict[int | str, AsyncLimiter] = {}
        self._paused_until: dict[int | str, float] = {}  # loop time, after a 429
        self._max_retries = max_retries
        self._interactive_waiting = 0
        self._no_interactive_waiting = asyncio.Event()
        self._no_interactive_waiting.set()
        self._overall_rate = overall_rate
        self._background_rate = background_rate
        self._recent_interactive: deque[float] = deque()  # loop times of recent replies

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> Result:
        """Run the call when the chat, its class and the bot all have room for it; after a
        429, wait as long as Telegram asks (for that chat only) and try again."""
        chat_id = data.get("chat_id")
        if chat_id is None:
            return await callback(*args, **kwargs)
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        priority = Priority.BACKGROUND if rate_limit_args else Priority.INTERACTIVE
        for attempt in range(self._max_retries + 1):
            try:
                await self._wait_if_paused(chat_id)
                async with self._chat(chat_id):
                    await self._turn(priority)
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self._max_retries:
                    raise
                seconds = retry_seconds(exc)
                log.warning(
                    "Telegram asked to wait %.0f s before %s to %s", seconds, endpoint, chat_id
                )
                # This chat's calls wait; everybody else's go on.
                loop = asyncio.get_running_loop()
                self._paused_until[chat_id] = loop.time() + seconds + 0.1
        raise AssertionError("unreachable")  # pragma: no cover

    async def _turn(self, priority: Priority) -> None:
        """Take a place in the bot's budget: interactive calls first."""
        if priority is Priority.INTERACTIVE:
            self._note_interactive()
            self._interactive_waiting += 1
            self._no_interactive_waiting.clear()
            try:
                await self._overall.acquire()
            finally:
                self._interactive_waiting -= 1
                if not self._interactive_waiting:
                    self._no_interactive_waiting.set()
            return
        await self._background.acquire()
        while True:
            await self._no_interactive_waiting.wait()
            if self._overall.has_capacity():
                await self._overall.acquire()  # free now: no await that could let one in
                return
            # The budget is spent: wait for the next place, but let replies that came
            # meanwhile go first.
            await asyncio.sleep(1 / self._overall_rate)

    def background_rate_left(self) -> float:
        """Calls a second background senders may count on now: the background budget, less
        what replies took of the bot's budget over the last `RECENT_SECONDS`."""
        self._forget_old(asyncio.get_running_loop().time())
        interactive = len(self._recent_interactive) / RECENT_SECONDS
        return max(1.0, min(self._background_rate, self._overall_rate - interactive))

    def _note_interactive(self) -> None:
        now = asyncio.get_running_loop().time()
        self._recent_interactive.append(now)
        self._forget_old(now)

    def _forget_old(self, now: float) -> None:
        while self._recent_interactive and self._recent_interactive[0] < now - RECENT_SECONDS:
            self._recent_interactive.popleft()

    def _chat(self, chat_id: int | str) -> AsyncLimiter:
        pacer = self._chats.get(chat_id)
        if pacer is None:
            if len(self._chats) >= _KEEP_CHATS:
                self._forget_idle_chats()
            if isinstance(chat_id, str) or chat_id < 0:  # a group or a channel
                pacer = AsyncLimiter(GROUP_PER_MINUTE, 60)
            else:
                pacer = AsyncLimiter(self._chat_burst, self._chat_burst)
            self._chats[chat_id] = pacer
        return pacer

    def _forget_idle_chats(self) -> None:
        for key, pacer in list(self._chats.items()):
            if pacer.has_capacity(pacer.max_rate):
                del self._chats[key]

    async def _wait_if_paused(self, chat_id: int | str) -> None:
        until = self._paused_until.get(chat_id)
        if until is None:
            return
        delay = until - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)  # a later 429 is met by the retry, and waits again
        else:
            del self._paused_until[chat_id]


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds."""
    with warnings.catch_warnings():
        # PTB 22 warns that the attribute becomes a timedelta; both are handled.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        pause = exc.retry_after
    return float(pause if isinstance(pause, int | float) else pause.total_seconds())
