"""Who sent an update, as the services need to know it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    """A Telegram user in a private chat, identified by Telegram, never by message content."""

    user_id: int
    chat_id: int
    language_code: str | None = None
