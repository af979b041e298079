"""What a whole interview costs in Telegram's budget: chat-bound Bot API calls per step.

Telegram allows a bot about 30 chat-bound calls a second in all; the rate limiter spends
them, so calls per step decide how many steps a second the bot can serve.
"""

from __future__ import annotations

import pytest

from tests.fakes.bot_api import HELD_METHODS
from tests.test_cadre_interview import play
from tests.utils.journeys import questionnaire, script
from tests.utils.telegram import FakeTelegram

REGISTRATION = {
    "zh": [
        ("say", "/start"),
        ("press", "中文"),
        ("say", "张伟"),
        ("say", "副局长"),
        ("say", "市教育局"),
        ("press", "年度述职报告"),
    ],
    "en": [
        ("say", "/start"),
        ("press", "English"),
        ("say", "Jane Smith"),
        ("say", "Head teacher"),
        ("say", "No. 3 Middle School"),
        ("press", "Annual debriefing report"),
    ],
}


def chat_bound_calls(tg: FakeTelegram) -> list[str]:
    """Calls that carry a chat id and draw on Telegram's ~30/s (answerCallbackQuery does
    not, and neither do getUpdates or setMyCommands)."""
    return [c.method for c in tg.api.calls if c.method in HELD_METHODS]


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_whole_interview_costs_at_most_1_1_chat_bound_calls_per_step(
    tg: FakeTelegram, language: str
) -> None:
    """Registration to the .docx: a press edits its message into the next step, a step's
    texts are one message, the draft's header opens the draft (it was 1.48 calls a step)."""
    user = tg.user(42, language_code="zh-hans" if language == "zh" else "en")
    steps = [*REGISTRATION[language], *script(questionnaire("annual", language))]
    tg.api.clear()
    await play(user, steps)
    assert len(user.documents) == 1
    calls = chat_bound_calls(tg)
    assert len(calls) / len(steps) <= 1.1, calls
