"""FakeTelegram: drive the real Application like Telegram would, and read what it sent.

await tg.user(42).says("hello")
tg.user(42).last_text

What the user reads is every text the bot sent or edited into a message, in order: after a
button press the bot shows its reply in place of the pressed message.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.rewrite.model import make_client
from bot.telegram.app import build_application, deps_of_app, prepare
from bot.telegram.deps import Deps
from bot.telegram.outbox_sender import OutboxSender
from bot.telegram.reminder_dispatcher import ReminderDispatcher
from bot.telegram.rewriter import Rewriter
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.transport import FakeRequest
from tests.utils import updates
from tests.utils.clock import FakeClock

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Telegram HTML as the user reads it."""
    return html.unescape(_TAG.sub("", text))


SHOWN_METHODS = frozenset({"sendMessage", "editMessageText"})
TOUCHING_METHODS = SHOWN_METHODS | {"sendDocument", "editMessageReplyMarkup"}


def shown_texts(api: FakeBotApi, chat_id: int) -> list[str]:
    """Texts the bot put before the user in a chat, new messages and edits alike, in order,
    as the bot wrote them (markup included)."""
    return [
        str(call.params["text"])
        for call in api.calls
        if call.method in SHOWN_METHODS
        and call.status == 200
        and str(call.params.get("chat_id")) == str(chat_id)
    ]


def messages_by_touch(api: FakeBotApi, chat_id: int) -> list[dict[str, Any]]:
    """The bot's messages in a chat as they look now, the one sent or edited last, last."""
    order: dict[int, int] = {}
    for number, call in enumerate(api.calls):
        if (
            call.method in TOUCHING_METHODS
            and call.status == 200
            and str(call.params.get("chat_id")) == str(chat_id)
            and isinstance(call.result, dict)
        ):
            order[call.result["message_id"]] = number
    messages = api.bot_messages(chat_id)
    return sorted(messages, key=lambda m: order.get(m["message_id"], -1))


def buttons_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data) of a message's inline keyboard."""
    markup = message.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [
        (b["text"], b["callback_data"])
        for row in (markup or {}).get("inline_keyboard", [])
        for b in row
    ]


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
        cls,
        settings: Settings,
        api: FakeBotApi,
        clock: FakeClock,
        *,
        allow_errors: bool = False,
        read_timeout: float = 5.0,
        rate_limit: bool = False,
    ) -> AsyncIterator[FakeTelegram]:
        """Build, initialise and prepare the application; fail the test if a handler raised."""
        app = build_application(
            settings,
            request=FakeRequest(api, read_timeout=read_timeout),
            get_updates_request=FakeRequest(api),
            clock=clock,
            rate_limit=rate_limit,
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

    async def deliver(self, *, passes: int = 50) -> int:
        """Run the outbox sender until nothing is due (no pacing between passes: the test
        is the clock). Returns how many outbox rows were settled."""
        sender = OutboxSender(self.app.bot, self.deps, per_chat_seconds=0.0)
        return await _until_idle(sender.send_due, passes, "the outbox was still sending")

    async def remind(self, *, passes: int = 200) -> int:
        """Run the reminder dispatcher at the fake clock's now until it claims nothing.
        Returns how many reminder rows it claimed."""
        dispatcher = ReminderDispatcher(self.app.bot, self.deps, rate=1000.0)
        return await _until_idle(
            dispatcher.dispatch_once, passes, "the dispatcher was still claiming"
        )

    async def rewrite(self, settings: Settings, *, passes: int = 20) -> int:
        """Run the rewriter against `settings`' endpoint until it claims nothing.
        Returns how many jobs it worked."""
        rewriter = Rewriter(
            self.app.bot,
            self.deps,
            make_client(settings),
            model=settings.llm_model,
            concurrency=settings.llm_concurrency,
            timeout=settings.llm_timeout,
        )
        return await _until_idle(rewriter.work_once, passes, "the rewriter was still claiming")


async def _until_idle(step: Callable[[], Awaitable[int]], passes: int, busy: str) -> int:
    """Run a background worker's pass until one finds nothing; how much was done in all."""
    total = 0
    for _ in range(passes):
        done = await step()
        if not done:
            return total
        total += done
    raise AssertionError(f"{busy} after {passes} passes")


class FakeUser:
    """One user's side of a private chat."""

    def __init__(self, tg: FakeTelegram, user_id: int, language_code: str) -> None:
        self.tg = tg
        self.id = user_id
        self.language_code = language_code

    # Acting ---------------------------------------------------------------------------

    async def says(
        self, text: str, *, update_id: int | None = None, reply_to: int | None = None
    ) -> list[str]:
        """Send a text message (as a reply to the bot's message `reply_to`); returns the
        plain texts the bot sent in reply."""
        replied = None
        if reply_to is not None:
            replied = next(
                m for m in self.tg.api.bot_messages(self.id) if m["message_id"] == reply_to
            )
        return await self.sends(
            updates.text_update(
                self.id,
                text,
                update_id=update_id,
                language_code=self.language_code,
                reply_to=replied,
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
        """Deliver any update; returns the plain texts shown in this chat meanwhile (sent,
        or edited into the pressed message)."""
        before = len(shown_texts(self.tg.api, self.id))
        await self.tg.process(update)
        return [plain(t) for t in shown_texts(self.tg.api, self.id)[before:]]

    # Reading --------------------------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        """Every text the bot showed in this chat (sent or edited in), as plain text."""
        return [plain(t) for t in shown_texts(self.tg.api, self.id)]

    @property
    def last_text(self) -> str:
        texts = self.texts
        assert texts, "the bot sent nothing to this chat"
        return texts[-1]

    @property
    def documents(self) -> list[tuple[str, bytes]]:
        return self.tg.api.documents(self.id)

    @property
    def captions(self) -> list[str]:
        """Captions of the documents the bot sent to this chat, as plain text."""
        return [
            plain(str(call.params.get("caption") or ""))
            for call in self.tg.api.calls
            if call.method == "sendDocument"
            and call.status == 200
            and str(call.params.get("chat_id")) == str(self.id)
        ]

    def last_message_id(self) -> int:
        """The id of the bot's message sent or edited last in this chat."""
        return int(messages_by_touch(self.tg.api, self.id)[-1]["message_id"])

    def keyboards(self) -> list[tuple[int, list[tuple[str, str]]]]:
        """(message id, [(label, callback data)]) of messages that still show buttons, the
        one the bot sent or edited last, last (older ones keep their stale keyboards)."""
        return [
            (message["message_id"], buttons)
            for message in messages_by_touch(self.tg.api, self.id)
            if (buttons := buttons_of(message))
        ]

    def labels(self) -> list[str]:
        """Labels of the keyboard under the message the bot sent or edited last."""
        messages = messages_by_touch(self.tg.api, self.id)
        return [label for label, _ in buttons_of(messages[-1])] if messages else []

    def button(self, label: str) -> tuple[int, str]:
        """(message id, callback data) of the button whose label contains `label`, on the
        message the bot sent or edited most recently that shows one."""
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
