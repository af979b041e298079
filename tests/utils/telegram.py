"""FakeTelegram: drive the real Application like Telegram would, and read what it sent.

await tg.user(42).says("hello")
tg.user(42).last_text
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.telegram.app import build_application, deps_of_app, prepare
from bot.telegram.deps import Deps
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.transport import FakeRequest
from tests.utils import updates
from tests.utils.clock import FakeClock

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Telegram HTML as the user reads it."""
    return html.unescape(_TAG.sub("", text))


class FakeTelegram:
    """A running Application wired by build_application, and the fake Bot API it talks to."""

    def __init__(self, app: Application, api: FakeBotApi, clock: FakeClock) -> None:  # type: ignore[type-arg]
        self.app = app
        self.api = api
        self.clock = clock
        self.errors: list[BaseException] = []

    @classmethod
    @asynccontextmanager
    async def running(
        cls, settings: Settings, api: FakeBotApi, clock: FakeClock, *, allow_errors: bool = False
    ) -> AsyncIterator[FakeTelegram]:
        """Build, initialise and prepare the application; fail the test if a handler raised."""
        app = build_application(
            settings,
            request=FakeRequest(api),
            get_updates_request=FakeRequest(api),
            clock=clock,
            rate_limit=False,
        )
        telegram = cls(app, api, clock)

        async def record(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
            if context.error is not None:
                telegram.errors.append(context.error)

        app.add_error_handler(record)
        try:
            async with app:
                await prepare(app, settings)
                yield telegram
        finally:
            await telegram.deps.db.dispose()
        if not allow_errors and telegram.errors:
            raise AssertionError(f"handlers raised: {telegram.errors!r}") from telegram.errors[0]

    @property
    def deps(self) -> Deps:
        return deps_of_app(self.app)

    def user(self, user_id: int, *, language_code: str = "zh-hans") -> FakeUser:
        """A person chatting privately with the bot."""
        return FakeUser(self, user_id, language_code)

    async def process(self, update: dict[str, Any]) -> None:
        """Hand one update to the Application, as the poller does."""
        await self.app.process_update(Update.de_json(update, self.app.bot))


class FakeUser:
    """One user's side of a private chat."""

    def __init__(self, tg: FakeTelegram, user_id: int, language_code: str) -> None:
        self.tg = tg
        self.id = user_id
        self.language_code = language_code

    # Acting ---------------------------------------------------------------------------

    async def says(self, text: str, *, update_id: int | None = None) -> list[str]:
        """Send a text message; returns the plain texts the bot sent in reply."""
        return await self.sends(
            updates.text_update(
                self.id, text, update_id=update_id, language_code=self.language_code
            )
        )

    async def presses(self, label: str) -> list[str]:
        """Press the button with this label on the newest message that shows it."""
        message_id, data = self.button(label)
        return await self.sends(
            updates.callback_update(
                self.id, data, message_id=message_id, language_code=self.language_code
            )
        )

    async def presses_data(self, data: str, *, message_id: int = 1) -> list[str]:
        """Press a button with arbitrary callback data (forged or outdated)."""
        return await self.sends(
            updates.callback_update(
                self.id, data, message_id=message_id, language_code=self.language_code
            )
        )

    async def sends(self, update: dict[str, Any]) -> list[str]:
        """Deliver any update; returns the plain texts sent to this chat meanwhile."""
        before = len(self.tg.api.texts(self.id))
        await self.tg.process(update)
        return [plain(t) for t in self.tg.api.texts(self.id)[before:]]

    # Reading --------------------------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        """Every text the bot sent to this chat, as plain text."""
        return [plain(t) for t in self.tg.api.texts(self.id)]

    @property
    def last_text(self) -> str:
        texts = self.texts
        assert texts, "the bot sent nothing to this chat"
        return texts[-1]

    @property
    def documents(self) -> list[tuple[str, bytes]]:
        return self.tg.api.documents(self.id)

    def keyboards(self) -> list[tuple[int, list[tuple[str, str]]]]:
        """(message id, [(label, callback data)]) of messages that still show buttons."""
        found = []
        for message in self.tg.api.bot_messages(self.id):
            markup = message.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if not markup:
                continue
            buttons = [
                (b["text"], b["callback_data"])
                for row in markup.get("inline_keyboard", [])
                for b in row
            ]
            found.append((message["message_id"], buttons))
        return found

    def labels(self) -> list[str]:
        """Labels of the newest keyboard."""
        keyboards = self.keyboards()
        return [label for label, _ in keyboards[-1][1]] if keyboards else []

    def button(self, label: str) -> tuple[int, str]:
        """(message id, callback data) of the newest button whose label contains `label`."""
        for message_id, buttons in reversed(self.keyboards()):
            for text, data in buttons:
                if label in text:
                    return message_id, data
        raise AssertionError(f"no button {label!r}; keyboards: {self.keyboards()}")

    # Common journeys ------------------------------------------------------------------

    async def registers(
        self,
        *,
        name: str = "张伟",
        position: str = "副局长",
        organisation: str = "市教育局",
        language: str = "中文",
    ) -> None:
        """Go through registration."""
        await self.says("/start")
        await self.presses(language)
        await self.says(name)
        await self.says(position)
        await self.says(organisation)

    async def starts_report(self, name: str) -> list[str]:
        """Pick a report type by (part of) its name."""
        return await self.presses(name)
