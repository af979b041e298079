"""The real bot process (the README's run command), and a user talking to it over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fakes.bot_api import FakeBotApi
from tests.utils import updates
from tests.utils.telegram import buttons_of, messages_by_touch, plain, shown_texts


class BotProcess:
    """`python -m bot` (the README's run command) against the fake Bot API server."""

    def __init__(self, *, base_url: str, token: str, database_url: str, workdir: Path) -> None:
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": base_url,
            "DATABASE_URL": database_url,
            "POLL_TIMEOUT": "1",
            "LOG_LEVEL": "INFO",
        }
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = (self.workdir / f"bot-{self.runs}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],  # the README's run command
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait for a clean exit."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        return self.proc.returncode

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("bot-*.log"))
        )


@contextmanager
def bot_process(**kwargs: Any) -> Iterator[BotProcess]:
    """A bot process that is stopped (or killed) when the block ends."""
    bot = BotProcess(**kwargs)
    try:
        yield bot
    finally:
        if bot.proc is not None and bot.proc.poll() is None:
            bot.proc.kill()
            bot.proc.wait(timeout=10)


class RemoteUser:
    """A user whose updates go through getUpdates, as on real Telegram."""

    def __init__(self, api: FakeBotApi, user_id: int) -> None:
        self.api = api
        self.id = user_id

    def texts(self) -> list[str]:
        return [plain(t) for t in shown_texts(self.api, self.id)]

    def push(self, text: str) -> int:
        """Send a message without waiting for the answer; returns its update_id."""
        return self.api.push_update(updates.text_update(self.id, text))

    def says(self, text: str, *, expect: str, timeout: float = 30.0) -> None:
        """Send a message and wait for a reply that contains `expect`."""
        before = len(shown_texts(self.api, self.id))
        self.push(text)
        self.wait_for_text(expect, after=before, timeout=timeout)

    def presses(self, label: str, *, expect: str, timeout: float = 30.0) -> None:
        """Press the newest button with this label and wait for a reply with `expect`."""
        message_id, data = self._button(label)
        before = len(shown_texts(self.api, self.id))
        self.api.push_update(updates.callback_update(self.id, data, message_id=message_id))
        self.wait_for_text(expect, after=before, timeout=timeout)

    def push_press(self, label: str) -> int:
        """Press the newest button with this label without waiting; returns the update_id."""
        message_id, data = self._button(label)
        return self.api.push_update(updates.callback_update(self.id, data, message_id=message_id))

    def wait_for_text(self, expect: str, *, after: int = 0, timeout: float = 30.0) -> None:
        self.api.wait_for(
            lambda api: any(expect in plain(t) for t in shown_texts(api, self.id)[after:]),
            timeout=timeout,
        )

    def _button(self, label: str) -> tuple[int, str]:
        for message in reversed(messages_by_touch(self.api, self.id)):
            for text, data in buttons_of(message):
                if label in text:
                    return message["message_id"], data
        raise AssertionError(f"no button {label!r}")
