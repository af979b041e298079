"""A lean fake Bot API over HTTP for the end-to-end bench (asyncio streams, stdlib only).

It answers what a polling bot calls (getMe, getUpdates with Telegram's offset confirmation,
sendMessage, sendDocument, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
setMyCommands, deleteWebhook, …) with proper Message objects, and records, per chat, every
chat-bound call as an `Event` the driver can wait for. It strips HTML tags instead of
parsing them as Telegram does (tests/fakes/bot_api.py does that, at a cost that would
show in the figures), and keeps nothing but each chat's messages and counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

Json = dict[str, Any]

BOT_USERNAME = "debrief_bench_bot"
# Methods that are not chat-bound even when they carry a chat id (PTB's AIORateLimiter
# does not count them either).
NOT_CHAT_BOUND = frozenset({"answerCallbackQuery", "getUpdates", "answerInlineQuery"})
_PATH = re.compile(rb"^/bot([^/]*)/([A-Za-z0-9_]+)")
_TAG = re.compile(r"<[^>]*>")
_INT_FIELDS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout"})


@dataclass(frozen=True)
class Event:
    """One chat-bound call the bot made, as the cadre sees it."""

    time: float
    method: str
    text: str
    message_id: int


@dataclass
class Chat:
    """What the bot sent to one chat: its messages and the events, in order."""

    chat_id: int
    messages: dict[int, Json] = field(default_factory=dict)
    touched: list[int] = field(default_factory=list)  # message ids, as sent or edited
    events: list[Event] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event: Event) -> None:
        self.events.append(event)
        self.touched.append(event.message_id)
        self.changed.set()

    async def wait_for(self, count: int, deadline: float) -> bool:
        """Until the chat has `count` events (True) or the loop time passes `deadline`."""
        loop = asyncio.get_running_loop()
        while len(self.events) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                return len(self.events) >= count
        return True

    def button(self, act: str, arg: str | None) -> tuple[Json, str] | None:
        """(message, callback data) of the newest message, sent or edited, with a button
        `v1:<act>:…:<arg>:…` (any arg when None)."""
        seen: set[int] = set()
        for message_id in reversed(self.touched):
            if message_id in seen:
                continue
            seen.add(message_id)
            message = self.messages.get(message_id)
            markup = (message or {}).get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for key in row:
                    parts = str(key.get("callback_data", "")).split(":")
                    if len(parts) >= 4 and parts[1] == act and arg in (None, parts[3]):
                        assert message is not None
                        return message, key["callback_data"]
        return None


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status


class FakeBotApi:
    """The Bot API's state: pending updates, chats, counters."""

    def __init__(self, token: str) -> None:
        self.token = token
        bot_id = int(token.split(":")[0])
        self.me: Json = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Debrief",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.pending: deque[Json] = deque()
        self.next_update_id = 1
        self.arrived = asyncio.Event()
        self.gate_open = True
        self.get_updates_calls = 0
        self.polled = asyncio.Event()  # set by the first getUpdates
        self.delivered = 0
        self.confirmed = 0  # updates confirmed by an offset past them
        self.chats: dict[int, Chat] = {}
        self.methods: Counter[str] = Counter()
        self.chat_bound = 0
        self.requests = 0
        self._message_ids = itertools.count(1)

    # --- the driver's side -----------------------------------------------------------

    def chat(self, chat_id: int) -> Chat:
        """The chat's record (created empty)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(chat_id)
        return chat

    def push(self, update: Json) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update["update_id"] = self.next_update_id
        self.next_update_id += 1
        self.pending.append(update)
        if self.gate_open:
            self.arrived.set()
        return int(update["update_id"])

    def close_gate(self) -> None:
        """getUpdates delivers nothing until `open_gate` (a backlog builds up)."""
        self.gate_open = False

    def open_gate(self) -> None:
        """Deliver the backlog, waking a long poll that is waiting."""
        self.gate_open = True
        self.arrived.set()

    # --- the bot's side --------------------------------------------------------------

    async def handle(self, method: str, params: Json, files: dict[str, tuple[str, bytes]]) -> Any:
        """The result of one call, or ApiError."""
        self.requests += 1
        self.methods[method] += 1
        if method == "getUpdates":
            return await self._get_updates(params)
        if "chat_id" in params and method not in NOT_CHAT_BOUND:
            self.chat_bound += 1
        if method == "sendMessage":
            return self._send(params, {"text": _plain(params)})
        if method == "sendDocument":
            name = files["document"][0] if "document" in files else str(params.get("document"))
            document = {"file_id": f"doc-{name}", "file_unique_id": name, "file_name": name}
            content: Json = {"document": document}
            if params.get("caption"):
                content["caption"] = _plain(params, "caption")
            return self._send(params, content)
        if method == "editMessageText":
            return self._edit(params, {"text": _plain(params)}, method)
        if method == "editMessageReplyMarkup":
            return self._edit(params, {}, method)
        if method == "getMe":
            return self.me
        if method in ("getMyCommands",):
            return []
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return True  # answerCallbackQuery, setMyCommands, deleteWebhook, deleteMyCommands, …

    async def _get_updates(self, params: Json) -> list[Json]:
        self.get_updates_calls += 1
        self.polled.set()
        offset = int(params.get("offset") or 0)
        while self.pending and self.pending[0]["update_id"] < offset:
            self.pending.popleft()
            self.confirmed += 1
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if not (self.gate_open and self.pending) and timeout > 0:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout)
        if not self.gate_open:
            return []
        batch = list(itertools.islice(self.pending, 0, limit))
        self.delivered += len(batch)
        return batch

    def _send(self, params: Json, content: Json) -> Json:
        chat_id = int(params["chat_id"])
        message: Json = {
            "message_id": next(self._message_ids),
            "from": {k: self.me[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(time.time()),
            **content,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        chat = self.chat(chat_id)
        chat.messages[message["message_id"]] = message
        text = message.get("text") or f"{content.get('caption', '')}|{document_name(message)}"
        chat.record(
            Event(time.perf_counter(), _method(params, content), text, message["message_id"])
        )
        return message

    def _edit(self, params: Json, content: Json, method: str) -> Json | bool:
        if "inline_message_id" in params:
            return True
        chat = self.chat(int(params["chat_id"]))
        message = chat.messages.get(int(params.get("message_id") or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup") or None
        if content.get("text", message.get("text")) == message.get("text") and markup == (
            message.get("reply_markup") or None
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content "
                "and reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message.update(content, date=message["date"], edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        text = content.get("text", "") if method == "editMessageText" else ""
        chat.record(Event(time.perf_counter(), method, text, message["message_id"]))
        return message


def document_name(message: Json) -> str:
    return str((message.get("document") or {}).get("file_name", ""))


def _method(params: Json, content: Json) -> str:
    return "sendDocument" if "document" in content else "sendMessage"


def _plain(params: Json, key: str = "text") -> str:
    """The text as the cadre reads it: HTML tags dropped, entities decoded."""
    value = str(params.get(key, ""))
    if str(params.get("parse_mode", "")).upper() == "HTML":
        value = html.unescape(_TAG.sub("", value))
    return value


# --- HTTP -------------------------------------------------------------------------------


def _field(name: str, value: str) -> Any:
    if name == "reply_markup":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _multipart(content_type: str, body: bytes) -> tuple[Json, dict[str, tuple[str, bytes]]]:
    boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
    params: Json = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        disposition = head.decode("utf-8", "replace")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name is None:
            continue
        if filename is not None:
            files[name.group(1)] = (unquote(filename.group(1)), data)
        else:
            params[name.group(1)] = _field(name.group(1), data.decode())
    return params, files


def decode_body(
    content_type: str, body: bytes, query: bytes
) -> tuple[Json, dict[str, tuple[str, bytes]]]:
    """Request body (form, multipart or JSON) and query string → (params, files)."""
    params: Json = {k: _field(k, v) for k, v in parse_qsl(query.decode())}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        more, files = _multipart(content_type, body)
        return {**params, **more}, files
    if kind == "application/json" and body:
        return {**params, **json.loads(body)}, {}
    if body:
        params.update({k: _field(k, v) for k, v in parse_qsl(body.decode())})
    return params, {}


class BotApiServer:
    """Serves a FakeBotApi on 127.0.0.1 (an ephemeral port) with HTTP/1.1 keep-alive."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/bot"

    async def start(self) -> BotApiServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            self.api.open_gate()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in header_lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await self._body(reader, headers)
                target = request_line.split(" ")[1].encode()
                status, payload = await self._respond(target, headers, body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n"
                    % (status, b"OK" if status == 200 else b"ERR", len(data))
                    + data
                )
                await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return  # the client went away, or the server is closing
        finally:
            self._connections.discard(writer)
            writer.close()

    @staticmethod
    async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readline()).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readline()
            await reader.readline()
            return b"".join(chunks)
        return await reader.readexactly(int(headers.get("content-length") or 0))

    async def _respond(
        self, target: bytes, headers: dict[str, str], body: bytes
    ) -> tuple[int, Json]:
        path, _, query = target.partition(b"?")
        match = _PATH.match(path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if match.group(1).decode() != self.api.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        try:
            params, files = decode_body(headers.get("content-type", ""), body, query)
            result = await self.api.handle(match.group(2).decode(), params, files)
        except ApiError as error:
            return error.status, {
                "ok": False,
                "error_code": error.status,
                "description": str(error),
            }
        except (KeyError, ValueError) as error:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {error}"}
        return 200, {"ok": True, "result": result}
