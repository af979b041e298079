"""An in-memory Bot API server: answers like Telegram and records what the bot asked.

Transport-independent: `tests.fakes.transport.FakeRequest` calls it in-process,
`tests.fakes.http_server.BotApiServer` serves it over real HTTP. Thread-safe: one
re-entrant lock guards all state, and a Condition on it wakes long polls, held sends
and `wait_for` whenever something changes.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

Json = dict[str, Any]
Files = dict[str, tuple[str, bytes]]
Response = tuple[int, Json]
_T = TypeVar("_T")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
DOCUMENT_LIMIT = 50 * 1024 * 1024
FIRST_UPDATE_ID = 1000
CLIENT_CHECK_SECONDS = 0.05  # how often a held send looks whether its client is still there

# Methods that change what the user sees: held by `hold_sends`.
HELD_METHODS = frozenset(
    {"sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)
# Methods refused with 403 when the user blocked the bot.
SEND_METHODS = frozenset({"sendMessage", "sendDocument"})
# Update types getUpdates delivers only when allowed_updates names them.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# What an edit can change; an edit that changes none of it is refused.
CONTENT_FIELDS = ("text", "entities", "caption", "caption_entities", "document", "reply_markup")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status and description."""

    def __init__(self, status: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def response(self) -> Response:
        """The (status, body) pair Telegram would send."""
        body: Json = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return self.status, body


class WouldBlock(Exception):
    """Raised by `handle(block=False)` before any side effect when the call would wait."""


def bad_request(detail: str) -> ApiError:
    """A 400 answer with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class Call:
    """One request the bot made, as the server saw it, with the answer it got."""

    method: str
    params: Json
    files: Files
    time: float
    status: int = 200
    result: Any = None


# --- Telegram's HTML parse mode (after tdlib's parse_html) -------------------------------

_SPACE = frozenset(" \t\r\n\f\v")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 units into the output
    start: int  # index into the output pieces


@dataclass
class _HtmlParser:
    """Strict enough to reject what Telegram rejects, with Telegram's messages."""

    src: str
    pos: int = 0
    units: int = 0
    out: list[str] = field(default_factory=list)
    open: list[_OpenTag] = field(default_factory=list)
    entities: list[Json] = field(default_factory=list)

    def parse(self) -> tuple[str, list[Json]]:
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if ch == "&" and (decoded := self._char_ref()) is not None:
                self._emit(decoded)
            elif ch == "<":
                self._end_tag() if self._at(self.pos + 1) == "/" else self._start_tag()
            else:
                self._emit(ch)
                self.pos += 1
        if self.open:
            name = self.open[-1].name
            raise _parse_error(f'Can\'t find end tag corresponding to start tag "{name}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        return "".join(self.out), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    def _at(self, index: int) -> str:
        return self.src[index] if index < len(self.src) else ""

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.units += utf16_len(text)

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode())

    def _error(self, message: str, index: int) -> ApiError:
        return _parse_error(f"{message} at byte offset {self._byte_offset(index)}")

    def _char_ref(self) -> str | None:
        """Decode &lt; &gt; &amp; &quot; &#N; &#xH; at pos; None leaves '&' literal."""
        start = end = self.pos
        end += 1
        if self._at(end) == "#":
            end += 1
            is_hex = self._at(end) == "x"
            end += is_hex
            digits = "0123456789abcdefABCDEF" if is_hex else "0123456789"
            first = end
            while self._at(end) and self._at(end) in digits:
                end += 1
            value = int(self.src[first:end], 16 if is_hex else 10) if end > first else 0
            if not 0 < value < 0x10FFFF or 0xD800 <= value <= 0xDFFF or end - start >= 10:
                return None
            char = chr(value)
        else:
            while self._at(end).isascii() and self._at(end).isalpha():
                end += 1
            named = _NAMED_REFS.get(self.src[start + 1 : end])
            if named is None:
                return None
            char = named
        self.pos = end + (self._at(end) == ";")
        return char

    def _start_tag(self) -> None:
        begin = end = self.pos
        end += 1
        while self._at(end) and self._at(end) not in _SPACE and self._at(end) != ">":
            end += 1
        if not self._at(end):
            raise self._error("Unclosed start tag", begin)
        name = self.src[begin + 1 : end].lower()
        if name not in _TAG_ENTITY:
            raise self._error(f'Unsupported start tag "{name}"', begin)
        self.pos = end
        argument = _tag_argument(name, self._attributes(name, begin))
        if name == "span" and argument != "spoiler":
            raise self._error('Tag "span" must have class "tg-spoiler"', begin)
        self.open.append(_OpenTag(name, argument, self.units, len(self.out)))

    def _attributes(self, tag: str, begin: int) -> dict[str, str]:
        attributes: dict[str, str] = {}
        while True:
            self._skip_spaces()
            ch = self._at(self.pos)
            if ch == ">":
                self.pos += 1
                return attributes
            if not ch:
                raise self._error("Unclosed start tag", begin)
            start = self.pos
            while self._at(self.pos) and self._at(self.pos) not in _SPACE | {"=", ">"}:
                self.pos += 1
            name = self.src[start : self.pos].lower()
            if not name:
                raise self._error(f'Empty attribute name in the tag "{tag}"', begin)
            self._skip_spaces()
            if self._at(self.pos) != "=":
                attributes[name] = ""
                continue
            self.pos += 1
            self._skip_spaces()
            if not self._at(self.pos):
                raise self._error("Unclosed start tag", begin)
            attributes[name] = self._attribute_value(begin)

    def _attribute_value(self, begin: int) -> str:
        quote = self._at(self.pos)
        if quote in ("'", '"'):
            self.pos += 1
            chars: list[str] = []
            while self._at(self.pos) and self._at(self.pos) != quote:
                if self._at(self.pos) == "&" and (decoded := self._char_ref()) is not None:
                    chars.append(decoded)
                    continue
                chars.append(self.src[self.pos])
                self.pos += 1
            if not self._at(self.pos):
                raise self._error("Unclosed start tag", begin)
            self.pos += 1
            return "".join(chars)
        start = self.pos
        while self._at(self.pos) and (
            (self._at(self.pos).isascii() and self._at(self.pos).isalnum())
            or self._at(self.pos) in ".-"
        ):
            self.pos += 1
        if self._at(self.pos) not in _SPACE | {">"}:  # "" (end of text) is not in it either
            raise self._error("Unexpected end of name token", start)
        return self.src[start : self.pos].lower()

    def _skip_spaces(self) -> None:
        while self._at(self.pos) and self._at(self.pos) in _SPACE:
            self.pos += 1

    def _end_tag(self) -> None:
        begin = end = self.pos
        if not self.open:
            raise self._error("Unexpected end tag", begin)
        end += 2
        while self._at(end) and self._at(end) not in _SPACE and self._at(end) != ">":
            end += 1
        name = self.src[begin + 2 : end].lower()
        while self._at(end) and self._at(end) in _SPACE:
            end += 1
        if self._at(end) != ">":
            raise self._error("Unclosed end tag", begin)
        tag = self.open[-1]
        if name and name != tag.name:
            expected = f'expected "</{tag.name}>", found "</{name}>"'
            raise _parse_error(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, {expected}"
            )
        self.pos = end + 1
        self.open.pop()
        self._close(tag)

    def _close(self, tag: _OpenTag) -> None:
        length = self.units - tag.offset
        if length <= 0:
            return
        entity: Json = {"type": _TAG_ENTITY[tag.name], "offset": tag.offset, "length": length}
        if tag.name == "a":
            entity["url"] = tag.argument or "".join(self.out[tag.start :])
        elif tag.name == "blockquote" and tag.argument:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "code" and tag.argument:
            entity["language"] = tag.argument
        elif tag.name == "pre" and self._inner_code_language(tag.offset, length):
            entity["language"] = self.entities.pop()["language"]
        self.entities.append(entity)

    def _inner_code_language(self, offset: int, length: int) -> bool:
        """<pre><code class="language-x">…</code></pre> becomes one pre entity with language."""
        last = self.entities[-1] if self.entities else None
        return bool(
            last
            and last["type"] == "code"
            and "language" in last
            and (last["offset"], last["length"]) == (offset, length)
        )


def _tag_argument(tag: str, attributes: dict[str, str]) -> str:
    css_class = attributes.get("class", "")
    if tag == "a":
        return attributes.get("href", "")
    if tag == "code" and css_class.startswith("language-"):
        return css_class.removeprefix("language-")
    if tag == "span" and css_class.startswith("tg-"):
        return css_class.removeprefix("tg-")
    if tag == "blockquote" and "expandable" in attributes:
        return "1"
    return ""


def _parse_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def parse_html(html: str) -> tuple[str, list[Json]]:
    """Plain text and entities of a parse_mode=HTML text; ApiError(400) like Telegram's."""
    return _HtmlParser(html).parse()


def _trim(text: str, entities: list[Json]) -> tuple[str, list[Json]]:
    """Telegram strips surrounding whitespace and shifts entities with it."""
    body = text.strip()
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(body)
    trimmed = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    return body, trimmed


def format_text(text: Any, parse_mode: Any, entities: Any) -> tuple[str, list[Json]]:
    """What the user would see: the text after parse_mode, trimmed, with its entities."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    mode = str(parse_mode or "").lower()
    if mode == "html":
        plain, parsed = parse_html(text)
    elif mode in ("markdown", "markdownv2"):
        raise bad_request(f"unsupported parse_mode {parse_mode} (the fake simulates HTML only)")
    elif mode:
        raise bad_request("unsupported parse_mode")
    else:
        plain, parsed = text, [dict(e) for e in entities or []]
    return _trim(plain, parsed)


# --- parameters ---------------------------------------------------------------------------


def _int_param(params: Json, name: str, default: int | None = None) -> int | None:
    value = params.get(name, default)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def _chat_key(value: Any) -> int | str:
    """Chat ids arrive as int (in-process) or str; compare them as int when they are."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value  # type: ignore[no-any-return]


def _same_chat(a: Any, b: Any) -> bool:
    return _chat_key(a) == _chat_key(b)


def _inline_markup(params: Json) -> Json | None:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def _update_type(update: Json) -> str:
    return next((key for key in update if key != "update_id"), "")


# --- the server ---------------------------------------------------------------------------


class FakeBotApi:
    """The Bot API as one bot sees it: its messages, its updates queue, its commands."""

    def __init__(
        self,
        *,
        bot_id: int = 123456,
        username: str = "debrief_test_bot",
        first_name: str = "Debrief",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_id = bot_id
        self.username = username
        self.token_revoked = False
        self.first_name = first_name
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._messages: dict[tuple[int | str, int], Json] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._chats: dict[int | str, Json] = {}
        self._commands: dict[str, list[Json]] = {}
        self._blocked: set[int | str] = set()
        self._next_message_id = 1
        self._next_file = 1
        # updates
        self._pending: list[Json] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._highest_pushed = 0
        self._confirmed_up_to = 0
        self._allowed_updates: frozenset[str] | None = None
        self._get_updates_calls = 0
        self._poll_generation = 0
        self._wake_epoch = 0
        # fault injection
        self._sends_held = False
        self._queries_expired = False
        self._failing_sends = 0
        self._failing_method: str | None = None
        self._failing_status = 502
        self._flooded_sends = 0
        self._flood_seconds = 0
        self._flooded_chat: int | str | None = None
        self._attempted_sends = 0
        self._blocked_sends = 0
        self._abandoned_sends = 0
        self._methods: dict[str, Callable[[Json, Files], Any]] = {
            "getMe": lambda p, f: self.bot_user,
            "getUpdates": lambda p, f: self._get_updates(p),
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda p, f: _clone(self._commands.get(_scope_key(p), [])),
            "deleteMyCommands": self._delete_my_commands,
            "deleteWebhook": self._delete_webhook,
            "close": lambda p, f: True,
            "logOut": lambda p, f: True,
        }
        # Bot API method names are case-insensitive.
        self._by_lower = {name.lower(): name for name in self._methods}

    # --- identity ---

    @property
    def bot_user(self) -> Json:
        """The bot as getMe returns it."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def check_token(self, token: str) -> Response | None:
        """Telegram's answer to a bad token (404 malformed, 401 other bot or revoked)."""
        match = re.fullmatch(r"(\d+):[A-Za-z0-9_-]+", token)
        if match is None:
            return ApiError(404, "Not Found").response()
        if int(match.group(1)) != self.bot_id or self.token_revoked:
            return ApiError(401, "Unauthorized").response()
        return None

    def revoke_token(self) -> None:
        """The owner revoked the token in @BotFather: every call is refused from now on."""
        with self._cond:
            self.token_revoked = True
            self._cond.notify_all()

    # --- the entry point ---

    def handle(
        self,
        method: str,
        params: Json,
        files: Files | None = None,
        *,
        block: bool = True,
        client_alive: Callable[[], bool] | None = None,
    ) -> Response:
        """Answer one Bot API call: (HTTP status, JSON body).

        With block=False, raises WouldBlock (before any side effect) instead of waiting.
        client_alive lets a transport report a caller that went away while its send was held.
        """
        files = files or {}
        name = self._by_lower.get(method.lower())
        with self._cond:
            if name is None:
                return self._record(method, params, files, ApiError(404, "Not Found"))
            if name == "getUpdates" and not block and self._would_wait(params):
                raise WouldBlock(name)
            if (
                name in HELD_METHODS
                and self._failing_sends
                and self._failing_method in (None, name)
            ):
                self._failing_sends -= 1
                failure = (
                    ApiError(502, "Bad Gateway")
                    if self._failing_status == 502
                    else bad_request("wrong parameters of the message")
                )
                return self._record(name, params, files, failure)
            if (
                name in HELD_METHODS
                and self._flooded_sends
                and self._flooded_chat in (None, _chat_key(params.get("chat_id")))
            ):
                self._flooded_sends -= 1
                seconds = self._flood_seconds
                flood = ApiError(
                    429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
                )
                return self._record(name, params, files, flood)
            if name in HELD_METHODS and self._sends_held:
                if not block:
                    raise WouldBlock(name)
                if not self._wait_while_held(client_alive):
                    return ApiError(502, "Bad Gateway: the client went away").response()
            try:
                outcome: Any = self._methods[name](params, files)
            except ApiError as error:
                outcome = error
            return self._record(name, params, files, outcome)

    def _record(self, method: str, params: Json, files: Files, outcome: Any) -> Response:
        if isinstance(outcome, ApiError):
            status, body = outcome.response()
            result = None
        else:
            status, body, result = 200, {"ok": True, "result": outcome}, outcome
        self._calls.append(
            Call(method, dict(params), dict(files), time.monotonic(), status, result)
        )
        self._cond.notify_all()
        return status, body

    # --- observation ---

    @property
    def calls(self) -> list[Call]:
        """Every call so far, oldest first (a snapshot)."""
        with self._cond:
            return list(self._calls)

    def sent_messages(self, chat_id: int | str | None = None) -> list[Json]:
        """Params of successful sendMessage/sendDocument calls; documents as (name, bytes)."""
        with self._cond:
            sent = []
            for call in self._calls:
                if call.method not in SEND_METHODS or call.status != 200:
                    continue
                if chat_id is not None and not _same_chat(call.params.get("chat_id"), chat_id):
                    continue
                params = dict(call.params)
                if call.method == "sendDocument":
                    params["document"] = self._files[call.result["document"]["file_id"]]
                sent.append(params)
            return sent

    def texts(self, chat_id: int | str) -> list[str]:
        """Texts of the messages sent to a chat, as the bot wrote them (markup included)."""
        return [m["text"] for m in self.sent_messages(chat_id) if "text" in m]

    def documents(self, chat_id: int | str) -> list[tuple[str, bytes]]:
        """(file name, content) of the documents sent to a chat."""
        return [m["document"] for m in self.sent_messages(chat_id) if "document" in m]

    def last_text(self, chat_id: int | str) -> str | None:
        """The last text sent to a chat, if any."""
        texts = self.texts(chat_id)
        return texts[-1] if texts else None

    def bot_messages(self, chat_id: int | str) -> list[Json]:
        """The bot's messages in a chat as the user sees them now (after edits)."""
        with self._cond:
            found = [m for (chat, _), m in self._messages.items() if _same_chat(chat, chat_id)]
            return _clone(sorted(found, key=lambda m: m["message_id"]))

    def wait_for(self, predicate: Callable[[FakeBotApi], bool], timeout: float = 10.0) -> None:
        """Block until predicate(self) holds; AssertionError with recent calls on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"not true within {timeout}s; {self.summary()}")
                self._cond.wait(remaining)

    async def wait_for_async(
        self,
        predicate: Callable[[FakeBotApi], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - the wait runs in a thread, not in the loop
    ) -> None:
        """`wait_for` without blocking the event loop (for a bot running in-process)."""
        await asyncio.to_thread(self.wait_for, predicate, timeout)

    def summary(self, last: int = 10) -> str:
        """A short account of the recent calls and the queue, for failure messages."""
        with self._cond:
            lines = [f"{c.method} -> {c.status} {_short(c.params)}" for c in self._calls[-last:]]
            return (
                f"pending updates {self.pending_update_ids()}, "
                f"{len(self._calls)} calls, last {len(lines)}:\n  " + "\n  ".join(lines)
            )

    def clear(self) -> None:
        """Forget the recorded calls; messages, updates, commands and blocks stay."""
        with self._cond:
            self._calls.clear()
            self._cond.notify_all()

    # --- users ---

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to them fail with 403."""
        with self._cond:
            self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """The user unblocked the bot."""
        with self._cond:
            self._blocked.discard(user_id)

    # --- updates ---

    def push_update(self, update: Json) -> int:
        """Queue an update for getUpdates; assigns update_id if absent and returns it."""
        update = _clone(update)
        with self._cond:
            update_id = update.setdefault(
                "update_id", max(self._next_update_id, self._highest_pushed + 1)
            )
            if update_id <= self._highest_pushed:
                raise ValueError(
                    f"update_id {update_id} after {self._highest_pushed}: "
                    "Telegram's update ids increase"
                )
            self._highest_pushed = update_id
            self._next_update_id = update_id + 1
            self._learn(update)
            if self._is_allowed(_update_type(update)):
                self._pending.append(update)
            self._cond.notify_all()
            return int(update_id)

    def pending_update_ids(self) -> list[int]:
        """Ids of the updates not yet confirmed, in order."""
        with self._cond:
            return [u["update_id"] for u in self._pending]

    @property
    def confirmed_up_to(self) -> int:
        """Highest update_id confirmed by a getUpdates offset (0 if none)."""
        with self._cond:
            return self._confirmed_up_to

    @property
    def get_updates_calls(self) -> int:
        """How many getUpdates calls have arrived (each one confirms what its offset says)."""
        with self._cond:
            return self._get_updates_calls

    def interrupt_polls(self) -> None:
        """End waiting long polls now (they return what is pending, usually nothing)."""
        with self._cond:
            self._wake_epoch += 1
            self._cond.notify_all()

    def _learn(self, update: Json) -> None:
        """Remember chats and messages the user side produced."""
        for value in update.values():
            if not isinstance(value, dict):
                continue
            message = value.get("message", value)
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict) and "id" in chat:
                self._chats[chat["id"]] = chat

    def _is_allowed(self, update_type: str) -> bool:
        if self._allowed_updates:
            return update_type in self._allowed_updates
        return update_type not in OPT_IN_UPDATE_TYPES

    def _would_wait(self, params: Json) -> bool:
        """Whether getUpdates with these params would long-poll right now."""
        try:
            offset = _int_param(params, "offset", 0) or 0
            timeout = float(params.get("timeout") or 0)
        except (ApiError, ValueError):
            return False
        if offset > 0:
            servable = any(u["update_id"] >= offset for u in self._pending)
        else:
            servable = bool(self._pending)
        return timeout > 0 and not servable

    def _get_updates(self, params: Json) -> list[Json]:
        offset = _int_param(params, "offset", 0) or 0
        limit = min(max(_int_param(params, "limit", 100) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        self._get_updates_calls += 1
        self._poll_generation += 1
        generation, epoch = self._poll_generation, self._wake_epoch
        self._confirm(offset)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed)
        self._cond.notify_all()
        deadline = time.monotonic() + timeout
        while True:
            if self._poll_generation != generation:
                raise ApiError(409, CONFLICT)
            remaining = deadline - time.monotonic()
            if self._pending or self._wake_epoch != epoch or remaining <= 0:
                return _clone(self._pending[:limit])
            self._cond.wait(remaining)

    def _confirm(self, offset: int) -> None:
        """offset > 0 confirms ids below it; offset < 0 keeps only the last -offset updates."""
        if offset > 0:
            dropped = [u for u in self._pending if u["update_id"] < offset]
        elif offset < 0:
            dropped = self._pending[:offset]
        else:
            return
        self._drop(dropped)

    def _drop(self, updates: list[Json]) -> None:
        ids = {u["update_id"] for u in updates}
        self._pending = [u for u in self._pending if u["update_id"] not in ids]
        self._confirmed_up_to = max([self._confirmed_up_to, *ids])

    def _delete_webhook(self, params: Json, files: Files) -> bool:
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._drop(list(self._pending))
        return True

    # --- fault injection ---

    def hold_sends(self) -> None:
        """From now on, sends and edits wait (counted in attempted_sends) until released."""
        with self._cond:
            self._sends_held = True

    def flood_sends(self, count: int, *, retry_after: int, chat_id: int | None = None) -> None:
        """The next `count` sends and edits (to `chat_id`, or any chat) get 429 Too Many
        Requests, asking the bot to wait `retry_after` seconds."""
        with self._cond:
            self._flooded_sends = count
            self._flood_seconds = retry_after
            self._flooded_chat = chat_id

    def fail_sends(self, count: int, *, method: str | None = None, status: int = 502) -> None:
        """The next `count` sends and edits (of `method`, or any) fail: 502 Bad Gateway, as
        when Telegram is down, or (status 400) refused as a bad request."""
        with self._cond:
            self._failing_sends = count
            self._failing_method = method
            self._failing_status = status

    def expire_callback_queries(self) -> None:
        """From now on answerCallbackQuery is refused, as Telegram refuses one answered
        after about 15 seconds (a press handled late, e.g. replayed after a restart)."""
        with self._cond:
            self._queries_expired = True

    def release_sends(self) -> None:
        """Let held sends through."""
        with self._cond:
            self._sends_held = False
            self._cond.notify_all()

    def close(self) -> None:
        """Wake every blocked call: release held sends and end long polls."""
        self.release_sends()
        self.interrupt_polls()

    @property
    def attempted_sends(self) -> int:
        """Sends and edits that arrived while sends were held."""
        with self._cond:
            return self._attempted_sends

    @property
    def blocked_sends(self) -> int:
        """Sends waiting right now for release_sends."""
        with self._cond:
            return self._blocked_sends

    @property
    def abandoned_sends(self) -> int:
        """Held sends dropped because their client went away (e.g. SIGKILLed), never sent."""
        with self._cond:
            return self._abandoned_sends

    def _wait_while_held(self, client_alive: Callable[[], bool] | None) -> bool:
        """Wait for release; False (abandoned) as soon as the client is seen to be gone."""
        self._attempted_sends += 1
        self._blocked_sends += 1
        self._cond.notify_all()
        alive = True
        try:
            while self._sends_held and alive:
                self._cond.wait(None if client_alive is None else CLIENT_CHECK_SECONDS)
                alive = client_alive is None or client_alive()
        finally:
            self._blocked_sends -= 1
        if alive and (client_alive is None or client_alive()):
            return True
        self._abandoned_sends += 1
        self._cond.notify_all()
        return False

    # --- messages ---

    def _chat(self, chat_id: Any) -> Json:
        key = _chat_key(chat_id)
        if key in (None, ""):
            raise bad_request("chat_id is empty")
        if not isinstance(key, int):
            raise bad_request("chat not found")
        if key in self._chats:
            return dict(self._chats[key])
        if key > 0:
            return {"id": key, "type": "private", "first_name": "User"}
        kind = "supergroup" if str(key).startswith("-100") else "group"
        return {"id": key, "type": kind, "title": "Group"}

    def _new_message(self, chat: Json, content: Json) -> Json:
        message = {
            "message_id": self._next_message_id,
            "from": self.bot_user,
            "chat": chat,
            "date": int(self._clock()),
            **content,
        }
        self._next_message_id += 1
        self._messages[(chat["id"], message["message_id"])] = message
        return _clone(message)

    def _outgoing_chat(self, params: Json) -> Json:
        chat = self._chat(params.get("chat_id"))
        if chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _send_message(self, params: Json, files: Files) -> Json:
        chat = self._outgoing_chat(params)
        text, entities = _checked_text(params)
        return self._new_message(chat, _content(text, entities, params))

    def _send_document(self, params: Json, files: Files) -> Json:
        chat = self._outgoing_chat(params)
        name, data = self._document_input(params, files)
        caption, entities = format_text(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        if utf16_len(caption) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        content: Json = {"document": self._store_file(name, data)}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        if (markup := _inline_markup(params)) is not None:
            content["reply_markup"] = markup
        return self._new_message(chat, content)

    def _document_input(self, params: Json, files: Files) -> tuple[str, bytes]:
        reference = params.get("document")
        if isinstance(reference, str) and reference.startswith("attach://"):
            upload = files.get(reference.removeprefix("attach://"))
        else:
            upload = files.get("document")
        if upload is None:
            if isinstance(reference, str) and reference in self._files:
                return self._files[reference]
            raise bad_request("wrong file identifier/HTTP URL specified")
        name, data = upload
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > DOCUMENT_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        return name, data

    def _store_file(self, name: str, data: bytes) -> Json:
        number = self._next_file
        self._next_file += 1
        file_id = f"BQACAgIAAxkDAAI{number:06d}fake"
        self._files[file_id] = (name, data)
        return {
            "file_name": name,
            "mime_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "file_id": file_id,
            "file_unique_id": f"AgAD{number:06d}",
            "file_size": len(data),
        }

    def _stored(self, params: Json) -> Json:
        chat = self._chat(params.get("chat_id"))
        message = self._messages.get((chat["id"], _int_param(params, "message_id", 0) or 0))
        if message is None:
            raise bad_request("message to edit not found")
        return message

    def _edit_message_text(self, params: Json, files: Files) -> Json | bool:
        text, entities = _checked_text(params)
        if params.get("inline_message_id"):
            return True  # inline messages are not tracked; Telegram answers True
        message = self._stored(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(message, _content(text, entities, params))

    def _edit_message_reply_markup(self, params: Json, files: Files) -> Json | bool:
        if params.get("inline_message_id"):
            return True
        message = self._stored(params)
        content = {k: v for k, v in message.items() if k in CONTENT_FIELDS}
        content.pop("reply_markup", None)
        if (markup := _inline_markup(params)) is not None:
            content["reply_markup"] = markup
        return self._apply_edit(message, content)

    def _apply_edit(self, message: Json, content: Json) -> Json:
        if {k: message.get(k) for k in CONTENT_FIELDS} == {
            k: content.get(k) for k in CONTENT_FIELDS
        }:
            raise bad_request(NOT_MODIFIED)
        for key in CONTENT_FIELDS:
            message.pop(key, None)
        message.update(content)
        message["edit_date"] = int(self._clock())
        return _clone(message)

    def _answer_callback_query(self, params: Json, files: Files) -> bool:
        if not params.get("callback_query_id"):
            raise bad_request("QUERY_ID_INVALID")
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        if self._queries_expired:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    def _delete_my_commands(self, params: Json, files: Files) -> bool:
        self._commands.pop(_scope_key(params), None)
        return True

    def _set_my_commands(self, params: Json, files: Files) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not isinstance(commands, list):
            raise bad_request("commands must be an array")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[_scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True


def _checked_text(params: Json) -> tuple[str, list[Json]]:
    text, entities = format_text(
        params.get("text"), params.get("parse_mode"), params.get("entities")
    )
    if not text:
        raise bad_request("message text is empty")
    if utf16_len(text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    return text, entities


def _content(text: str, entities: list[Json], params: Json) -> Json:
    content: Json = {"text": text}
    if entities:
        content["entities"] = entities
    if (markup := _inline_markup(params)) is not None:
        content["reply_markup"] = markup
    return content


def _scope_key(params: Json) -> str:
    scope = params.get("scope") or {"type": "default"}
    if isinstance(scope, str):
        scope = json.loads(scope)
    return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)


def _clone(value: _T) -> _T:
    """A deep copy of JSON data (faster than copy.deepcopy)."""
    return cast(_T, json.loads(json.dumps(value)))


def _short(params: Json, width: int = 120) -> str:
    text = json.dumps(params, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"
