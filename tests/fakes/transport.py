"""PTB's request layer pointed at a FakeBotApi in the same process, no HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import urlsplit

from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from tests.fakes.bot_api import FakeBotApi, Files, Json, Response, WouldBlock


class FakeRequest(BaseRequest):
    """A `BaseRequest` that hands each call to a FakeBotApi.

    Calls that cannot wait are answered inline (fast); a long poll or a held send runs in
    a daemon thread so the event loop stays free and a forgotten hold cannot hang pytest.
    Like HTTPXRequest, a call that outlasts its read timeout raises TimedOut while the
    server goes on with it (the message may still be sent).
    """

    __slots__ = ("_api", "_closed", "_read_timeout")

    def __init__(self, api: FakeBotApi, *, read_timeout: float | None = 5.0) -> None:
        self._api = api
        self._read_timeout = read_timeout
        self._closed = False

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout; PTB adds the getUpdates timeout to it."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open for use (again)."""
        self._closed = False

    async def shutdown(self) -> None:
        """Refuse further calls, like a closed HTTPXRequest."""
        self._closed = True

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer `<base_url><token>/<method>` from the FakeBotApi."""
        if self._closed:
            raise RuntimeError("This FakeRequest is not initialized!")
        status, body = await self._answer(url, request_data, read_timeout)
        return status, json.dumps(body).encode()

    async def _answer(
        self, url: str, request_data: RequestData | None, read_timeout: ODVInput[float]
    ) -> Response:
        token, api_method = _token_and_method(url)
        if (refusal := self._api.check_token(token)) is not None:
            return refusal
        params, files = _decode(request_data)
        try:
            return self._api.handle(api_method, params, files, block=False)
        except WouldBlock:
            pass
        timeout = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        call = functools.partial(self._api.handle, api_method, params, files)
        try:
            return await asyncio.wait_for(_in_daemon_thread(call), timeout)
        except TimeoutError:
            raise TimedOut from None


def _token_and_method(url: str) -> tuple[str, str]:
    """`…/bot<token>/<method>` → (token, method)."""
    path = urlsplit(url).path
    folder, _, method = path.rpartition("/")
    return folder.rpartition("/")[2].removeprefix("bot"), method


def _decode(request_data: RequestData | None) -> tuple[Json, Files]:
    """Parameters as the JSON the server would read, and uploads as (name, bytes)."""
    if request_data is None:
        return {}, {}
    params = json.loads(json.dumps(request_data.parameters))
    files = {
        part: (filename, _read(content))
        for part, (filename, content, _mimetype) in request_data.multipart_data.items()
    }
    return params, files


def _read(content: bytes | IO[bytes]) -> bytes:
    """Upload bytes; a file handle is read from its start, as httpx does."""
    if isinstance(content, bytes):
        return content
    if content.seekable():
        content.seek(0)
    return content.read()


async def _in_daemon_thread(call: Callable[[], Any]) -> Any:
    """Run a blocking call in its own daemon thread and await its result."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def run() -> None:
        try:
            result, error = call(), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="FakeRequest", daemon=True).start()
    return await future
