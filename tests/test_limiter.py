"""The process-wide rate limiter: each chat paced, replies before background sends, a 429
pausing only its own chat. Checked by the order calls go out in, not by the clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram.error import RetryAfter

from bot.telegram.limiter import DebriefRateLimiter, Priority


class Recorder:
    """The Bot API call at the end of the limiter: records the order calls reach it."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.refuse: dict[str, int] = {}  # label -> how many 429s to give first

    async def call(self, label: str) -> bool:
        if self.refuse.get(label):
            self.refuse[label] -= 1
            raise RetryAfter(timedelta(seconds=1))
        self.order.append(label)
        return True


async def send(
    limiter: DebriefRateLimiter,
    recorder: Recorder,
    label: str,
    chat_id: int | None,
    priority: Priority | None = None,
) -> None:
    data = {} if chat_id is None else {"chat_id": chat_id}
    await limiter.process_request(
        recorder.call, (label,), {}, "sendMessage", data, rate_limit_args=priority
    )


async def test_one_chat_gets_a_short_burst_and_then_waits_its_turn() -> None:
    limiter, recorder = DebriefRateLimiter(chat_burst=3), Recorder()
    backlog = [asyncio.create_task(send(limiter, recorder, f"a{i}", 1)) for i in range(6)]
    await asyncio.sleep(0.05)
    await send(limiter, recorder, "b", 2)  # another cadre, meanwhile
    assert recorder.order == ["a0", "a1", "a2", "b"]
    await asyncio.gather(*backlog)
    assert recorder.order[4:] == ["a3", "a4", "a5"]


async def test_calls_without_a_chat_are_not_limited() -> None:
    limiter, recorder = DebriefRateLimiter(overall_rate=1), Recorder()
    await send(limiter, recorder, "a", 1)  # spends the whole budget of this second
    await asyncio.wait_for(send(limiter, recorder, "getUpdates", None), timeout=0.5)
    assert recorder.order == ["a", "getUpdates"]


async def test_replies_go_before_background_sends() -> None:
    limiter, recorder = DebriefRateLimiter(overall_rate=2, background_rate=2), Recorder()
    background = [
        asyncio.create_task(send(limiter, recorder, f"bg{i}", 100 + i, Priority.BACKGROUND))
        for i in range(6)
    ]
    await asyncio.sleep(0.05)  # the budget of this second is taken
    replies = [asyncio.create_task(send(limiter, recorder, f"r{i}", i)) for i in range(2)]
    await asyncio.gather(*replies)
    sent_before_replies = recorder.order.index("r1")
    await asyncio.gather(*background)
    assert recorder.order[: sent_before_replies + 1][-2:] == ["r0", "r1"]
    assert sent_before_replies <= 3, recorder.order  # only what was already under way


async def test_a_429_holds_back_only_the_chat_it_was_about() -> None:
    limiter, recorder = DebriefRateLimiter(), Recorder()
    recorder.refuse["a"] = 1
    flooded = asyncio.create_task(send(limiter, recorder, "a", 1))
    await asyncio.sleep(0.05)
    await send(limiter, recorder, "b", 2)
    assert recorder.order == ["b"]
    await flooded
    assert recorder.order == ["b", "a"]
