"""Deep links to the bot, which need its username (known once getMe has answered)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.helpers import create_deep_linked_url


@dataclass
class Links:
    """Builds `https://t.me/<bot>?start=<payload>` links; the adapter sets the username at
    start-up."""

    username: str = ""

    def start(self, payload: str) -> str:
        """The link that opens the bot with /start <payload>."""
        if not self.username:
            return f"https://t.me/<bot>?start={payload}"  # the console, which has no bot
        return create_deep_linked_url(self.username, payload)
