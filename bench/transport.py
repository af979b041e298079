"""A lean fake Bot API at PTB's request layer, shared by our bot and the bare echo bot.

It answers with canned objects and keeps only counters and each chat's latest buttons, so
the benchmark measures the bot, not the fake.
"""

from __future__ import annotations

import json
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Debrief",
    "username": "debrief_bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class BenchRequest(BaseRequest):
    """Counts calls, remembers the last inline keyboard sent to each chat."""

    def __init__(self, *, keep_buttons: bool = True) -> None:
        self.keep_buttons = keep_buttons  # off when measuring memory: it grows per chat
        self.calls = 0
        self.documents = 0
        self.message_id = 0
        self.buttons: dict[int, list[tuple[str, str]]] = {}

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        self.calls += 1
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        if api_method == "getMe":
            result: Any = BOT
        elif api_method in ("sendMessage", "sendDocument"):
            self.documents += api_method == "sendDocument"
            result = self._message(params)
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        self.message_id += 1
        chat_id = int(params["chat_id"])
        markup = params.get("reply_markup")
        if markup and self.keep_buttons:
            self.buttons[chat_id] = [
                (b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row
            ]
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT,
        }
        if "text" in params:
            message["text"] = params["text"]
        else:
            message["document"] = {
                "file_id": f"f{self.message_id}",
                "file_unique_id": f"u{self.message_id}",
            }
        return message

    def button(self, chat_id: int, prefix: str) -> str:
        """Callback data of the newest button in a chat whose data starts with prefix."""
        for _, data in self.buttons.get(chat_id, []):
            if data.startswith(prefix):
                return data
        raise LookupError(f"chat {chat_id} has no button {prefix!r}: {self.buttons.get(chat_id)}")
