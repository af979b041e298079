"""A FakeBotApi served over real HTTP, for a bot in another process or PTB's own HTTPXRequest.

URL layout as Telegram's: `/bot<token>/<method>`, GET or POST, with form, multipart or JSON
bodies. Stdlib only: ThreadingHTTPServer in a daemon thread, one daemon thread per connection.
"""

from __future__ import annotations

import contextlib
import email.policy
import json
import re
import select
import socket
import threading
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.bot_api import ApiError, FakeBotApi, Files, Json, Response

# Form fields PTB json.dumps (objects, arrays, booleans); everything else it sends as text.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "commands",
        "allowed_updates",
        "entities",
        "caption_entities",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "message_ids",
        "user_ids",
        "media",
        "results",
        "permissions",
        "menu_button",
        "rights",
        "options",
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "show_alert",
        "drop_pending_updates",
        "is_personal",
        "allow_paid_broadcast",
        "has_spoiler",
        "show_caption_above_media",
        "for_channels",
    }
)
INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "until_date",
        "max_connections",
    }
)
_PATH = re.compile(r"/bot([^/]*)/([A-Za-z0-9_]+)")
_FORM_ESCAPE = re.compile(r"%(22|0[0-9A-F]|1[0-9A-F])")


def decode_field(name: str, value: str) -> Any:
    """One text field as the server reads it: JSON fields parsed, integer fields as int."""
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def decode_form(pairs: list[tuple[str, str]]) -> Json:
    """application/x-www-form-urlencoded (or query string) pairs → params."""
    return {name: decode_field(name, value) for name, value in pairs}


def decode_multipart(content_type: str, body: bytes) -> tuple[Json, Files]:
    """multipart/form-data → (params, files); parts with a filename are files."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    params: Json = {}
    files: Files = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            params[name] = decode_field(name, data.decode())
        else:
            files[name] = (_unescape_form_value(filename), data)
    return params, files


def _unescape_form_value(value: str) -> str:
    """Undo the HTML5 escaping httpx applies to quotes and control characters."""
    return _FORM_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def decode_body(content_type: str, body: bytes) -> tuple[Json, Files]:
    """Request body → (params, files), whichever encoding the client chose."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return decode_multipart(content_type, body)
    if kind == "application/json":
        params = json.loads(body or b"{}")
        if not isinstance(params, dict):
            raise ValueError("a JSON body must be an object")
        return params, {}
    if kind == "application/x-www-form-urlencoded":
        return decode_form(parse_qsl(body.decode(), keep_blank_values=True)), {}
    return {}, {}


class _Handler(BaseHTTPRequestHandler):
    """Routes `/bot<token>/<method>` to the FakeBotApi."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the FakeBotApi records every call."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        match = _PATH.fullmatch(url.path)
        if match is None:
            self._reply(ApiError(404, "Not Found").response())
            return
        token, method = match.groups()
        self.server.owner.record_token(token)
        if (refusal := self.server.api.check_token(token)) is not None:
            self._reply(refusal)
            return
        try:
            params, files = decode_body(self.headers.get("Content-Type", ""), body)
        except ValueError as error:
            self._reply(ApiError(400, f"Bad Request: {error}").response())
            return
        params = {**decode_form(parse_qsl(url.query)), **params}
        self._reply(self.server.api.handle(method, params, files, client_alive=self._client_alive))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return b"".join(chunks)

    def _reply(self, response: Response) -> None:
        status, body = response
        payload = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client is gone (killed, or the server closed its socket)
            self.close_connection = True

    def _client_alive(self) -> bool:
        """False once the client closed its end (e.g. the bot process was SIGKILLed)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return not readable or self.connection.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False


class _Server(ThreadingHTTPServer):
    """Keeps its open connections so closing the server really cuts them."""

    daemon_threads = True

    def __init__(self, owner: BotApiServer, address: tuple[str, int]) -> None:
        self.owner = owner
        self.api = owner.api
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class BotApiServer:
    """Serves a FakeBotApi on 127.0.0.1 (ephemeral port) until closed.

    `with BotApiServer(api) as server:` then give `server.base_url` to PTB's `base_url`
    or to our TELEGRAM_API_BASE_URL setting.
    """

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self._tokens: list[str] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("BotApiServer is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/bot`: PTB appends the token, then `/<method>`."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def tokens(self) -> list[str]:
        """Tokens seen in request paths, first-seen order."""
        with self._lock:
            return list(self._tokens)

    def record_token(self, token: str) -> None:
        """Remember a token a client used."""
        with self._lock:
            if token not in self._tokens:
                self._tokens.append(token)

    def start(self) -> Self:
        """Bind and serve in a daemon thread."""
        self._server = _Server(self, ("127.0.0.1", 0))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"BotApiServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and cut open connections, then wake held sends and long polls.

        Connections go first, so a send still held is dropped rather than delivered:
        the server went away before it sent anything.
        """
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.cut_connections()
        self.api.close()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
