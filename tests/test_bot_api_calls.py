"""What a whole interview costs in Telegram's budget: chat-bound Bot API calls per step."""

from __future__ import annotations

from tests.fakes.bot_api import HELD_METHODS
from tests.test_cadre_interview import play
from tests.utils.journeys import questionnaire, script
from tests.utils.telegram import FakeTelegram

ANNUAL = questionnaire("annual", "zh")


def chat_bound_calls(tg: FakeTelegram) -> list[str]:
    """Calls that carry a chat id and draw on Telegram's ~30/s (answerCallbackQuery does
    not, and neither do getUpdates or setMyCommands)."""
    return [c.method for c in tg.api.calls if c.method in HELD_METHODS]


async def test_a_whole_interview_costs_at_most_1_1_chat_bound_calls_per_step(
    tg: FakeTelegram,
) -> None:
    user = tg.user(42)
    steps = [("say", "/start"), ("press", "中文"), ("say", "张伟"), ("say", "副局长")]
    steps += [("say", "市教育局"), ("press", "年度述职报告"), *script(ANNUAL)]
    tg.api.clear()
    await play(user, steps)
    assert len(user.documents) == 1
    calls = chat_bound_calls(tg)
    print(f"{len(calls)} chat-bound calls for {len(steps)} steps: {len(calls) / len(steps):.2f}")
    assert len(calls) / len(steps) <= 1.1, calls
