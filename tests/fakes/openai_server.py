"""A fake OpenAI-compatible endpoint over real HTTP: `POST /v1/chat/completions`.

The official client talks to it as to vLLM or Ollama. By default it answers a "faithful"
rewrite: the answer entries of the user message (between `<answer>` markers, see
`prompts/rewrite/`) joined as paragraphs, every figure kept. Tests script other replies:

    async with FakeOpenAI() as server:           # on the test's event loop
        settings = Settings(llm_base_url=server.base_url, llm_model="fake-model", ...)
        server.status(429).delay(5).say("我……")   # one-shot replies, in this order
        server.reply_with(lambda body: Status(500))  # then this for every request
        ...
        assert server.requests[0].user.count("<answer>") == 3

`with FakeOpenAI() as server:` serves from a thread of its own instead, for a bot running in
another process (or a blocking test). aiohttp only; state behind one lock.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

Json = dict[str, Any]
CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class ChatRequest:
    """One request the fake received: its JSON body and headers."""

    body: Json
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[Json]:
        return list(self.body.get("messages", []))

    @property
    def system(self) -> str:
        """The system message's text ("" if none)."""
        return _content(self.messages, "system")

    @property
    def user(self) -> str:
        """The last user message's text."""
        return _content(self.messages, "user")

    @property
    def api_key(self) -> str:
        """The bearer token the client sent."""
        return self.headers.get("Authorization", "").removeprefix("Bearer ")


# --- replies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """A completion with this content."""

    text: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Status:
    """An OpenAI-style error answer: 429, 500, 400…"""

    code: int
    message: str = ""


@dataclass(frozen=True)
class Delay:
    """Wait (to outlast the client's timeout), then answer `then` or the default reply."""

    seconds: float
    then: Reply | None = None


@dataclass(frozen=True)
class Empty:
    """A completion whose content is blank, or null when `content` is None."""

    content: str | None = ""


@dataclass(frozen=True)
class NoChoices:
    """A completion with an empty `choices` list."""


@dataclass(frozen=True)
class Garbage:
    """A 200 whose body is not JSON (a proxy's error page), under this content type."""

    content_type: str = "text/html"


Reply = Say | Status | Delay | Empty | NoChoices | Garbage
Responder = Callable[[Json], "str | Reply"]

_STATUS_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found"}
_ANSWERS = re.compile(r"<answers>(.*)</answers>", re.DOTALL)
_ITEM = re.compile(r"<(question|answer)>(.*?)</\1>", re.DOTALL)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _content(messages: list[Json], role: str) -> str:
    texts = [str(m.get("content") or "") for m in messages if m.get("role") == role]
    return texts[-1] if texts else ""


def answers_in(body: Json) -> list[tuple[str, list[str]]]:
    """(question, entries) from the last user message's `<answers>` block, in order."""
    block = _ANSWERS.search(_content(body.get("messages", []), "user"))
    found: list[tuple[str, list[str]]] = []
    for tag, text in _ITEM.findall(block.group(1) if block else ""):
        if tag == "question":
            found.append((text.strip(), []))
        elif found:
            found[-1][1].append(text.strip())
    return found


def faithful(body: Json) -> str:
    """Every entry kept word for word: one paragraph per question, sentences closed."""
    paragraphs = []
    for _, entries in answers_in(body):
        sentences = [
            s for entry in entries for line in entry.splitlines() if (s := _sentence(line))
        ]
        joiner = "" if any(_CJK.search(s) for s in sentences) else " "
        if sentences:
            paragraphs.append(joiner.join(sentences))
    return "\n\n".join(paragraphs)


def _sentence(line: str) -> str:
    line = line.strip()
    if not line or line[-1] in "。！？；.!?":
        return line
    return line + ("。" if _CJK.search(line) else ".")


# --- the server ---------------------------------------------------------------------------


class FakeOpenAI:
    """Serves chat completions on 127.0.0.1 (ephemeral port) and records every request."""

    def __init__(self, responder: Responder = faithful, *, api_key: str | None = None) -> None:
        """`responder` decides each reply not scripted with say/status/…; given `api_key`,
        requests without `Authorization: Bearer <api_key>` get a 401."""
        self._responder = responder
        self._api_key = api_key
        self._script: deque[str | Reply] = deque()
        self._requests: list[ChatRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- scripting ------------------------------------------------------------------------

    def reply_with(self, responder: Responder) -> Self:
        """Answer every request not scripted otherwise with responder(request body)."""
        with self._lock:
            self._responder = responder
        return self

    def then(self, *replies: str | Reply) -> Self:
        """Answer the next requests with these, one each, before the responder again."""
        with self._lock:
            self._script.extend(replies)
        return self

    def say(self, text: str) -> Self:
        """The next reply's content."""
        return self.then(Say(text))

    def status(self, code: int, message: str = "") -> Self:
        """The next reply is an HTTP error with OpenAI's error body."""
        return self.then(Status(code, message))

    def delay(self, seconds: float, then: Reply | None = None) -> Self:
        """The next reply waits `seconds` (ended early when the server closes)."""
        return self.then(Delay(seconds, then))

    def empty(self, content: str | None = "") -> Self:
        """The next reply has blank (or, with None, null) content."""
        return self.then(Empty(content))

    def no_choices(self) -> Self:
        """The next reply has no choices."""
        return self.then(NoChoices())

    def garbage(self, content_type: str = "text/html") -> Self:
        """The next reply is a 200 with a body that is not JSON."""
        return self.then(Garbage(content_type))

    # --- what was received ----------------------------------------------------------------

    @property
    def requests(self) -> list[ChatRequest]:
        """Every chat request received, in order (scripted or not, answered or not)."""
        with self._lock:
            return list(self._requests)

    async def wait_for_requests(self, count: int, *, within: float = 5.0) -> list[ChatRequest]:
        """The requests, once at least `count` arrived; AssertionError after `within` s."""
        deadline = time.monotonic() + within
        while len(received := self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(received)} chat requests, expected {count}")
            await asyncio.sleep(0.01)
        return received

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("FakeOpenAI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/v1`: the value for LLM_BASE_URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    # --- serving --------------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind and serve on the running event loop."""
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_post(CHAT_PATH, self._chat)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        """Wake delayed replies, then stop serving."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._closing is not None:
            self._closing.set()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __enter__(self) -> Self:
        """Serve from a daemon thread with its own event loop."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="FakeOpenAI", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()

    # --- handling -------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object")
        with self._lock:
            self._requests.append(ChatRequest(body, dict(request.headers)))
            reply = self._script.popleft() if self._script else None
            responder = self._responder
        if self._api_key is not None and request.headers.get("Authorization") != (
            f"Bearer {self._api_key}"
        ):
            return _error(401, "Incorrect API key provided")
        if problem := _invalid(body):
            return _error(400, problem)
        while True:
            if reply is None:
                reply = responder(body)
            if not isinstance(reply, Delay):
                return self._answer(body, reply)
            assert self._closing is not None
            try:
                await asyncio.wait_for(self._closing.wait(), reply.seconds)
            except TimeoutError:
                reply = reply.then
            else:
                return _error(503, "the server is shutting down")

    def _answer(self, body: Json, reply: str | Reply) -> web.Response:
        match reply:
            case Status(code, message):
                return _error(code, message)
            case Garbage(content_type):
                page = b"<html><body>502 Bad Gateway</body></html>"
                return web.Response(body=page, headers={"Content-Type": content_type})
            case NoChoices():
                return self._completion(body, None, finish_reason=None)
            case Say(text, finish_reason):
                return self._completion(body, text, finish_reason)
            case Empty(content):
                return self._completion(body, content)
            case str():
                return self._completion(body, reply)
        raise AssertionError(f"cannot answer with {reply!r}")

    def _completion(
        self, body: Json, content: str | None, finish_reason: str | None = "stop"
    ) -> web.Response:
        """A chat.completion object; no choices at all when finish_reason is None."""
        message = {"role": "assistant", "content": content}
        choice = {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        prompt = sum(len(str(m.get("content") or "")) for m in body["messages"])
        completion = len(content or "")
        return web.json_response(
            {
                "id": f"chatcmpl-fake-{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [choice] if finish_reason is not None else [],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )


def _invalid(body: Json) -> str:
    """What a real server would refuse in this body ("" if nothing)."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    if not all(isinstance(m, dict) and "role" in m for m in messages):
        return "each message needs a role"
    if body.get("stream"):
        return "the fake does not stream"
    return ""


def _error(code: int, message: str) -> web.Response:
    """OpenAI's error body."""
    kind = _STATUS_TYPES.get(code, "rate_limit_error" if code == 429 else "server_error")
    text = message or f"fake error {code}"
    return web.json_response(
        {"error": {"message": text, "type": kind, "param": None, "code": str(code)}},
        status=code,
    )
