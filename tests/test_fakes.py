"""The Telegram fakes answer like Telegram: every other test stands on them.

Most behaviour is checked twice, through a real PTB App: in-process (FakeRequest)
and over HTTP (BotApiServer with PTB's own HTTPXRequest).
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import random
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from operator import attrgetter
from typing import Any
from urllib.parse import urlencode

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.bot_api import FakeBotApi, Json, parse_html
from tests.fakes.http_server import BotApiServer, decode_body, decode_form
from tests.fakes.transport import FakeRequest
from tests.utils.updates import (
    callback_update,
    document_update,
    edited_text_update,
    group_text_update,
    location_update,
    photo_update,
    sticker_update,
    text_update,
    voice_update,
)

App = Application[Any, Any, Any, Any, Any, Any]
TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
USER = 42
OTHER_USER = 43


# --- fixtures -----------------------------------------------------------------------------


def build_app(api: FakeBotApi, server: BotApiServer | None, *, polling: bool = False) -> App:
    """A real PTB Application talking to the fake in-process, or over HTTP if given a server."""
    builder = ApplicationBuilder().token(TOKEN)
    if server is None:
        builder = builder.request(FakeRequest(api)).get_updates_request(FakeRequest(api))
    else:
        builder = builder.base_url(server.base_url)
    if not polling:
        builder = builder.updater(None)
    return builder.build()


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture(params=["in-process", "http"])
def server(request: pytest.FixtureRequest, api: FakeBotApi) -> Iterator[BotApiServer | None]:
    """None for the in-process transport, else a running HTTP server."""
    if request.param == "in-process":
        yield None
        return
    with BotApiServer(api) as running:
        yield running


@pytest.fixture
def http_server(api: FakeBotApi) -> Iterator[BotApiServer]:
    with BotApiServer(api) as running:
        yield running


@pytest.fixture
async def app(api: FakeBotApi, server: BotApiServer | None) -> AsyncIterator[App]:
    application = build_app(api, server)
    async with application:
        yield application


@pytest.fixture
def errors(app: App) -> list[object]:
    """Handler exceptions (process_update would otherwise swallow them)."""
    seen: list[object] = []

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(context.error)

    app.add_error_handler(record)
    return seen


def get_updates(api: FakeBotApi, **params: Any) -> list[int]:
    """Call getUpdates and return the ids it served."""
    status, body = api.handle("getUpdates", params, {})
    assert status == 200, body
    return [update["update_id"] for update in body["result"]]


# --- sending ------------------------------------------------------------------------------


async def test_get_me_tells_the_bot_who_it_is(app: App, api: FakeBotApi) -> None:
    assert app.bot.id == 123456
    assert app.bot.username == "debrief_test_bot"
    assert app.bot.bot.is_bot
    assert api.calls[0].method == "getMe"


async def test_a_sent_message_comes_back_as_a_message_and_is_recorded(
    app: App,
    api: FakeBotApi,
) -> None:
    first = await app.bot.send_message(USER, "你好")
    second = await app.bot.send_message(USER, "第二条")

    assert second.message_id > first.message_id
    assert first.chat.id == USER and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.id == app.bot.id
    assert first.text == "你好" and first.date is not None
    assert api.texts(USER) == ["你好", "第二条"]
    assert api.last_text(USER) == "第二条"
    assert api.texts(OTHER_USER) == []


async def test_html_tags_do_not_count_towards_the_length_limit(
    app: App,
) -> None:
    await app.bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await app.bot.send_message(USER, "&lt;" * 4096, parse_mode=ParseMode.HTML)

    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await app.bot.send_message(USER, "<b>" + "a" * 4097 + "</b>", parse_mode=ParseMode.HTML)


async def test_length_is_counted_in_utf16_units(app: App) -> None:
    await app.bot.send_message(USER, "😀" * 2048)

    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await app.bot.send_message(USER, "😀" * 2048 + "a")


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>未闭合", 'Can\'t find end tag corresponding to start tag "b"'),
        ("换行<br>不支持", 'Unsupported start tag "br" at byte offset 6'),
        ("a</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_malformed_html_is_rejected_like_telegram(
    app: App,
    html: str,
    reason: str,
) -> None:
    with pytest.raises(BadRequest) as raised:
        await app.bot.send_message(USER, html, parse_mode=ParseMode.HTML)

    assert str(raised.value).lower().startswith("can't parse entities")
    assert reason.lower() in str(raised.value).lower()


async def test_html_comes_back_as_plain_text_with_entities(
    app: App,
) -> None:
    html = (
        '  <b>粗</b> &amp; <a href="https://example.org/?a=1&amp;b=2">链接</a> '
        '<pre><code class="language-python">x = 1</code></pre> <tg-spoiler>秘</tg-spoiler>\n'
    )
    message = await app.bot.send_message(USER, html, parse_mode=ParseMode.HTML)

    assert message.text == "粗 & 链接 x = 1 秘"
    entities = [(e.type, e.offset, e.length, e.url, e.language) for e in message.entities]
    assert entities == [
        ("bold", 0, 1, None, None),
        ("text_link", 4, 2, "https://example.org/?a=1&b=2", None),
        ("pre", 7, 5, None, "python"),
        ("spoiler", 13, 1, None, None),
    ]


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("&#20320;&#x597D; &nbsp; a&b", "你好 &nbsp; a&b", []),
        ("😀<b>粗</b>", "😀粗", [{"type": "bold", "offset": 2, "length": 1}]),
        ("<b>a<i>b</></b>", "ab", [{"type": "bold", "offset": 0, "length": 2},
                                   {"type": "italic", "offset": 1, "length": 1}]),
        ("<blockquote expandable>引</blockquote>", "引",
         [{"type": "expandable_blockquote", "offset": 0, "length": 1}]),
        ("<a>https://e.org</a>", "https://e.org",
         [{"type": "text_link", "offset": 0, "length": 13, "url": "https://e.org"}]),
        ("<A HREF=e.org>e</a>", "e",
         [{"type": "text_link", "offset": 0, "length": 1, "url": "e.org"}]),
        ("<code class='language-py'>x</code>", "x", [{"type": "code", "offset": 0, "length": 1}]),
    ],
)  # fmt: skip
def test_html_is_parsed_like_telegram(html: str, text: str, entities: list[Json]) -> None:
    assert parse_html(html) == (text, entities)


@pytest.mark.parametrize("text", ["", "  \n ", "<b></b>"])
async def test_a_blank_text_is_rejected(app: App, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await app.bot.send_message(USER, text, parse_mode=ParseMode.HTML)


async def test_a_document_from_bytesio_arrives_whole(
    app: App,
    api: FakeBotApi,
) -> None:
    content = bytes(random.Random(7).randrange(256) for _ in range(20_000)) + b"\r\n--\r\n"

    message = await app.bot.send_document(
        USER,
        io.BytesIO(content),
        filename='述职报告 "终稿".docx',
        caption="<b>请查收</b>",
        parse_mode=ParseMode.HTML,
    )

    assert api.documents(USER) == [('述职报告 "终稿".docx', content)]
    assert message.document is not None
    assert message.document.file_size == len(content)
    assert message.document.file_name == '述职报告 "终稿".docx'
    assert message.caption == "请查收"
    sent = api.sent_messages(USER)
    assert sent[-1]["document"] == ('述职报告 "终稿".docx', content)


async def test_a_bytesio_written_but_not_rewound_is_rejected(
    app: App,
) -> None:
    buffer = io.BytesIO()
    buffer.write(b"PK\x03\x04 report")

    with pytest.raises(BadRequest, match=r"(?i)file must be non-empty"):
        await app.bot.send_document(USER, buffer, filename="report.docx")


async def test_a_document_can_be_sent_again_by_file_id(
    app: App,
    api: FakeBotApi,
) -> None:
    first = await app.bot.send_document(USER, b"content", filename="a.txt")
    assert first.document is not None

    await app.bot.send_document(OTHER_USER, first.document.file_id)

    assert api.documents(OTHER_USER) == [("a.txt", b"content")]


async def test_commands_are_stored_per_scope_and_language(
    app: App,
) -> None:
    await app.bot.set_my_commands([BotCommand("start", "开始述职"), BotCommand("help", "帮助")])
    await app.bot.set_my_commands([BotCommand("start", "Start")], language_code="en")

    assert [(c.command, c.description) for c in await app.bot.get_my_commands()] == [
        ("start", "开始述职"),
        ("help", "帮助"),
    ]
    assert len(await app.bot.get_my_commands(language_code="en")) == 1

    await app.bot.delete_my_commands()
    assert await app.bot.get_my_commands() == ()


@pytest.mark.parametrize(
    ("command", "reason"),
    [("Start", "BOT_COMMAND_INVALID"), ("开始", "BOT_COMMAND_INVALID"), ("ok", "DESCRIPTION")],
)
async def test_invalid_commands_are_rejected(
    app: App,
    command: str,
    reason: str,
) -> None:
    description = "" if reason == "DESCRIPTION" else "描述"
    with pytest.raises(BadRequest, match=rf"(?i){reason}"):
        await app.bot.set_my_commands([BotCommand(command, description)])


async def test_a_user_who_blocked_the_bot_gives_forbidden(
    app: App,
    api: FakeBotApi,
) -> None:
    api.block(USER)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(USER, "还在吗？")
    with pytest.raises(Forbidden):
        await app.bot.send_document(USER, b"x", filename="x.txt")
    await app.bot.send_message(OTHER_USER, "你好")

    api.unblock(USER)
    await app.bot.send_message(USER, "欢迎回来")
    assert api.texts(USER) == ["欢迎回来"]


async def test_edits_change_what_the_user_sees(
    app: App,
    api: FakeBotApi,
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("跳过", callback_data="iv:skip:1")]])
    sent = await app.bot.send_message(USER, "第一题", reply_markup=keyboard)

    edited = await app.bot.edit_message_text("第一题（已跳过）", USER, sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    assert api.bot_messages(USER)[-1]["text"] == "第一题（已跳过）"
    assert "reply_markup" not in api.bot_messages(USER)[-1]  # an edit without markup drops it

    await app.bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard)
    assert api.bot_messages(USER)[-1]["reply_markup"] == keyboard.to_dict()

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await app.bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await app.bot.edit_message_text("?", USER, sent.message_id + 100)
    assert api.texts(USER) == ["第一题"]  # edits are not new messages


async def test_callback_queries_can_be_answered(app: App) -> None:
    assert await app.bot.answer_callback_query("4382000000000000000", text="已记录")


async def test_an_unknown_method_is_not_found(
    app: App,
    api: FakeBotApi,
) -> None:
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("noSuchMethod")

    assert api.handle("noSuchMethod", {}, {}) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_method_names_are_case_insensitive(api: FakeBotApi) -> None:
    assert api.handle("SENDMESSAGE", {"chat_id": USER, "text": "hi"}, {})[0] == 200
    assert api.texts(USER) == ["hi"]


# --- tokens -------------------------------------------------------------------------------


def test_tokens_are_checked_like_telegram(api: FakeBotApi) -> None:
    assert api.check_token(TOKEN) is None
    assert api.check_token("999:other-bot")[0] == 401  # type: ignore[index]
    assert api.check_token("not-a-token")[0] == 404  # type: ignore[index]


async def test_a_token_of_another_bot_is_refused_over_http(
    api: FakeBotApi, http_server: BotApiServer
) -> None:
    application = ApplicationBuilder().token("999:other").base_url(http_server.base_url).build()

    with pytest.raises(InvalidToken):
        await application.initialize()

    assert http_server.tokens == ["999:other"]


# --- updates ------------------------------------------------------------------------------


def test_update_ids_are_assigned_from_1000_and_must_increase(api: FakeBotApi) -> None:
    assert api.push_update({"message": text_update(USER, "a")["message"]}) == 1000
    assert api.push_update(text_update(USER, "b", update_id=5000)) == 5000
    assert api.push_update({"message": text_update(USER, "c")["message"]}) == 5001

    with pytest.raises(ValueError, match="increase"):
        api.push_update(text_update(USER, "d", update_id=4000))


def test_unconfirmed_updates_are_served_again(api: FakeBotApi) -> None:
    ids = [api.push_update(text_update(USER, f"第{n}条")) for n in range(3)]

    assert get_updates(api) == ids
    assert get_updates(api, offset=ids[0]) == ids  # nothing below the offset yet
    assert api.pending_update_ids() == ids
    assert api.confirmed_up_to == 0


def test_an_offset_confirms_every_earlier_update(api: FakeBotApi) -> None:
    ids = [api.push_update(text_update(USER, f"第{n}条")) for n in range(4)]

    assert get_updates(api, offset=ids[2]) == ids[2:]
    assert api.pending_update_ids() == ids[2:]
    assert api.confirmed_up_to == ids[1]

    later = api.push_update(text_update(USER, "后来的"))
    assert get_updates(api, offset=ids[3] + 1) == [later]
    assert api.confirmed_up_to == ids[3]
    assert get_updates(api, offset=later + 1) == []
    assert api.pending_update_ids() == []


def test_limit_caps_a_batch(api: FakeBotApi) -> None:
    ids = [api.push_update(text_update(USER, str(n))) for n in range(5)]

    assert get_updates(api, limit=2) == ids[:2]
    assert get_updates(api, offset=ids[1] + 1, limit=2) == ids[2:4]


def test_a_negative_offset_keeps_only_the_latest(api: FakeBotApi) -> None:
    ids = [api.push_update(text_update(USER, str(n))) for n in range(5)]

    assert get_updates(api, offset=-2) == ids[3:]
    assert api.pending_update_ids() == ids[3:]


def test_a_long_poll_returns_as_soon_as_an_update_arrives(api: FakeBotApi) -> None:
    answers: list[list[int]] = []
    poller = threading.Thread(target=lambda: answers.append(get_updates(api, timeout=30)))
    poller.start()
    api.wait_for(lambda a: a.get_updates_calls == 1)

    update_id = api.push_update(text_update(USER, "到了"))
    poller.join(timeout=5)

    assert not poller.is_alive()
    assert answers == [[update_id]]


def test_a_long_poll_with_nothing_to_serve_ends_at_its_timeout(api: FakeBotApi) -> None:
    assert get_updates(api, timeout=0.05) == []
    assert api.get_updates_calls == 1


def test_a_newer_get_updates_terminates_a_waiting_one(api: FakeBotApi) -> None:
    answers: list[tuple[int, Json]] = []
    older = threading.Thread(
        target=lambda: answers.append(api.handle("getUpdates", {"timeout": 30}))
    )
    older.start()
    api.wait_for(lambda a: a.get_updates_calls == 1)

    assert get_updates(api) == []
    older.join(timeout=5)

    assert not older.is_alive()
    status, body = answers[0]
    assert status == 409 and body["description"].startswith("Conflict: terminated by other")


def test_interrupt_polls_ends_a_waiting_long_poll(api: FakeBotApi) -> None:
    answers: list[list[int]] = []
    poller = threading.Thread(target=lambda: answers.append(get_updates(api, timeout=30)))
    poller.start()
    api.wait_for(lambda a: a.get_updates_calls == 1)

    api.interrupt_polls()
    poller.join(timeout=5)

    assert answers == [[]]


def test_allowed_updates_filters_later_updates(api: FakeBotApi) -> None:
    get_updates(api, allowed_updates=["callback_query"])
    api.push_update(text_update(USER, "被过滤"))
    wanted = api.push_update(callback_update(USER, "iv:skip:1"))

    assert get_updates(api) == [wanted]


def test_opt_in_update_types_are_not_delivered_by_default(api: FakeBotApi) -> None:
    api.push_update({"message_reaction": {}})

    assert get_updates(api) == []


def test_delete_webhook_can_drop_pending_updates(api: FakeBotApi) -> None:
    ids = [api.push_update(text_update(USER, str(n))) for n in range(2)]

    assert api.handle("deleteWebhook", {"drop_pending_updates": True}, {})[0] == 200

    assert api.pending_update_ids() == []
    assert api.confirmed_up_to == ids[-1]


async def test_ptb_polling_receives_replies_and_confirms(
    api: FakeBotApi, server: BotApiServer | None
) -> None:
    application = build_app(api, server, polling=True)

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text("收到：" + update.message.text)

    application.add_handler(MessageHandler(filters.TEXT, echo))
    first = api.push_update(text_update(USER, "一"))
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(timeout=1, poll_interval=0)
        await application.start()
        await api.wait_for_async(lambda a: a.texts(USER) == ["收到：一"])
        last = api.push_update(text_update(USER, "二"))
        await api.wait_for_async(lambda a: len(a.texts(USER)) == 2)
        await application.updater.stop()
        await application.stop()

    assert api.texts(USER) == ["收到：一", "收到：二"]
    assert api.pending_update_ids() == []
    assert api.confirmed_up_to == last > first


# --- holding sends ------------------------------------------------------------------------


async def test_a_held_send_waits_until_released(
    app: App,
    api: FakeBotApi,
) -> None:
    api.hold_sends()
    sending = asyncio.create_task(app.bot.send_message(USER, "答案已保存"))

    await api.wait_for_async(lambda a: a.blocked_sends == 1)
    assert api.attempted_sends == 1
    assert api.texts(USER) == []
    assert not sending.done()

    api.release_sends()
    message = await sending

    assert message.text == "答案已保存"
    assert api.texts(USER) == ["答案已保存"]
    assert api.blocked_sends == 0


def _raw_post(port: int, method: str, params: Json) -> socket.socket:
    """Send one form-encoded request and leave the socket open, without reading."""
    body = urlencode(params).encode()
    head = (
        f"POST /bot{TOKEN}/{method} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(head.encode() + body)
    return connection


def test_a_held_send_whose_client_vanished_is_not_delivered(
    api: FakeBotApi, http_server: BotApiServer
) -> None:
    api.hold_sends()
    connection = _raw_post(http_server.port, "sendMessage", {"chat_id": USER, "text": "确认"})
    api.wait_for(lambda a: a.blocked_sends == 1)

    connection.close()  # what SIGKILL does to the bot's sockets
    api.wait_for(lambda a: a.abandoned_sends == 1)
    assert api.blocked_sends == 0

    api.release_sends()
    assert api.texts(USER) == []


def test_closing_the_server_frees_held_sends(api: FakeBotApi) -> None:
    server = BotApiServer(api).start()
    api.hold_sends()
    connection = _raw_post(server.port, "sendMessage", {"chat_id": USER, "text": "确认"})
    api.wait_for(lambda a: a.blocked_sends == 1)

    server.close()
    api.wait_for(lambda a: a.blocked_sends == 0)

    assert connection.recv(1024) == b""  # the server cut the connection
    connection.close()
    assert api.texts(USER) == []


def test_wait_for_reports_recent_calls_on_timeout(api: FakeBotApi) -> None:
    api.handle("sendMessage", {"chat_id": USER, "text": "只有这一条"}, {})

    with pytest.raises(AssertionError, match="只有这一条"):
        api.wait_for(lambda a: len(a.texts(USER)) == 2, timeout=0.01)


# --- HTTP decoding ------------------------------------------------------------------------


def test_form_fields_are_decoded_by_kind() -> None:
    params = decode_form(
        [
            ("chat_id", "42"),
            ("text", "123"),
            ("reply_markup", '{"inline_keyboard": []}'),
            ("disable_notification", "true"),
            ("offset", "-1"),
            ("caption", '{"not": "json"}'),
        ]
    )

    assert params == {
        "chat_id": 42,
        "text": "123",
        "reply_markup": {"inline_keyboard": []},
        "disable_notification": True,
        "offset": -1,
        "caption": '{"not": "json"}',
    }


def test_json_bodies_are_accepted(api: FakeBotApi, http_server: BotApiServer) -> None:
    request = urllib.request.Request(
        f"{http_server.base_url}{TOKEN}/sendMessage",
        data=json.dumps({"chat_id": USER, "text": "json"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["result"]["text"] == "json"
    assert decode_body("application/json", b'{"a": 1}') == ({"a": 1}, {})


def test_chunked_bodies_are_read(api: FakeBotApi, http_server: BotApiServer) -> None:
    chunks = [b"chat_id=42&", urlencode({"text": "分块"}).encode()]
    connection = http.client.HTTPConnection("127.0.0.1", http_server.port, timeout=5)
    connection.request(
        "POST",
        f"/bot{TOKEN}/sendMessage",
        body=iter(chunks),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        encode_chunked=True,
    )

    assert json.load(connection.getresponse())["ok"]
    connection.close()
    assert api.texts(USER) == ["分块"]


def test_a_wrong_path_is_not_found(http_server: BotApiServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"http://127.0.0.1:{http_server.port}/nope", timeout=5)
    assert raised.value.code == 404


# --- update factories ---------------------------------------------------------------------

FACTORIES = [
    pytest.param(
        text_update(USER, "你好"),
        {"effective_message.text": "你好", "effective_chat.type": "private"},
        id="text",
    ),
    pytest.param(sticker_update(USER), {"effective_message.sticker.emoji": "👍"}, id="sticker"),
    pytest.param(
        photo_update(USER, caption="合影"), {"effective_message.caption": "合影"}, id="photo"
    ),
    pytest.param(
        voice_update(USER), {"effective_message.voice.mime_type": "audio/ogg"}, id="voice"
    ),
    pytest.param(
        document_update(USER), {"effective_message.document.file_name": "材料.docx"}, id="document"
    ),
    pytest.param(
        location_update(USER), {"effective_message.location.longitude": 116.4074}, id="location"
    ),
    pytest.param(
        edited_text_update(USER, "改过了"),
        {"edited_message.text": "改过了", "message": None},
        id="edited",
    ),
    pytest.param(
        group_text_update(USER, "群里说话"),
        {"effective_chat.type": "supergroup", "effective_message.text": "群里说话"},
        id="group",
    ),
    pytest.param(
        callback_update(USER, "iv:skip:1"),
        {"callback_query.data": "iv:skip:1", "callback_query.message.from_user.is_bot": True},
        id="callback",
    ),
]


@pytest.mark.parametrize(("data", "expected"), FACTORIES)
def test_factories_make_updates_ptb_reads_without_leftovers(
    data: Json, expected: dict[str, object]
) -> None:
    update = Update.de_json(data, Bot(TOKEN))

    for path, value in expected.items():
        assert attrgetter(path)(update) == value, path
    assert update.effective_user is not None and update.effective_user.id == USER
    for obj in (update, update.effective_message, update.effective_user, update.effective_chat):
        assert obj is not None and obj.api_kwargs == {}, f"fields PTB does not know: {obj}"


def test_a_leading_command_gets_a_bot_command_entity() -> None:
    update = Update.de_json(text_update(USER, "/start@debrief_test_bot abc"), Bot(TOKEN))

    assert update.message is not None
    assert update.message.parse_entities(["bot_command"]) == {
        update.message.entities[0]: "/start@debrief_test_bot"
    }
    assert "entities" not in text_update(USER, "/开始")["message"]


def test_factory_ids_increase() -> None:
    first, second = text_update(USER, "a"), text_update(USER, "b")

    assert second["update_id"] > first["update_id"] >= 10_000
    assert second["message"]["message_id"] > first["message"]["message_id"]


async def test_a_command_text_reaches_its_command_handler(
    app: App,
    api: FakeBotApi,
    errors: list[object],
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"开始 {context.args}")

    app.add_handler(CommandHandler("start", start))
    await app.process_update(Update.de_json(text_update(USER, "/start invite_42"), app.bot))

    assert errors == []
    assert api.texts(USER) == ["开始 ['invite_42']"]


async def test_a_button_on_a_real_bot_message_can_be_pressed(
    app: App,
    api: FakeBotApi,
    errors: list[object],
) -> None:
    async def skip(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text("已跳过")

    app.add_handler(CallbackQueryHandler(skip))
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("跳过", callback_data="iv:skip:1")]])
    await app.bot.send_message(USER, "第一题", reply_markup=keyboard)
    shown = api.bot_messages(USER)[-1]

    pressed = callback_update(USER, "iv:skip:1", message=shown)
    await app.process_update(Update.de_json(pressed, app.bot))

    assert errors == []
    assert api.bot_messages(USER)[-1]["text"] == "已跳过"
    assert [c.method for c in api.calls][-2:] == ["answerCallbackQuery", "editMessageText"]
