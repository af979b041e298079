"""Bot API update dicts as Telegram sends them, for FakeBotApi.push_update or Update.de_json.

Pure data, no PTB objects. Ids not given come from module-wide counters that start high
(10_000), so they increase across a test run the way Telegram's do.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

Json = dict[str, Any]

BOT_ID = 123456
BOT_USERNAME = "debrief_test_bot"
GROUP_CHAT_ID = -1001234567890

_update_ids = itertools.count(10_000)
_message_ids = itertools.count(10_000)
_file_numbers = itertools.count(1)
_query_ids = itertools.count(4_382_000_000_000_000_000)
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def private_user(user_id: int, first_name: str = "张", language_code: str = "zh-hans") -> Json:
    """A human Telegram user."""
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }


def bot_user(bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> Json:
    """The bot as it appears in `from` of its own messages."""
    return {"id": bot_id, "is_bot": True, "first_name": "Debrief", "username": username}


def private_chat(user: Json) -> Json:
    """The private chat between the bot and this user."""
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


def group_chat(chat_id: int = GROUP_CHAT_ID, chat_type: str = "supergroup") -> Json:
    """A group the bot is a member of."""
    return {"id": chat_id, "type": chat_type, "title": "述职工作群"}


def command_entities(text: str) -> list[Json]:
    """The bot_command entity Telegram adds when a text starts with a command."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": match.end()}]


def message(
    user_id: int,
    content: Json,
    *,
    chat_type: str = "private",
    chat_id: int | None = None,
    message_id: int | None = None,
    date: int | None = None,
    language_code: str = "zh-hans",
) -> Json:
    """A message from the user with the given content fields (text, photo, …)."""
    user = private_user(user_id, language_code=language_code)
    if chat_type == "private":
        chat = {**private_chat(user), "id": user_id if chat_id is None else chat_id}
    else:
        chat = group_chat(GROUP_CHAT_ID if chat_id is None else chat_id, chat_type)
    return {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "from": user,
        "chat": chat,
        "date": int(time.time()) if date is None else date,
        **content,
    }


def update(key: str, payload: Json, *, update_id: int | None = None) -> Json:
    """Wrap a payload (message, callback_query, …) as an update."""
    return {"update_id": next(_update_ids) if update_id is None else update_id, key: payload}


def text_update(
    user_id: int,
    text: str,
    *,
    update_id: int | None = None,
    chat_type: str = "private",
    chat_id: int | None = None,
    message_id: int | None = None,
    date: int | None = None,
    language_code: str = "zh-hans",
    reply_to: Json | None = None,
) -> Json:
    """The user sent a text; a leading /command gets its bot_command entity. `reply_to`:
    the message (as FakeBotApi.bot_messages gives it) the text replies to."""
    content: Json = {"text": text}
    if entities := command_entities(text):
        content["entities"] = entities
    if reply_to is not None:
        content["reply_to_message"] = reply_to
    return update(
        "message",
        message(
            user_id,
            content,
            chat_type=chat_type,
            chat_id=chat_id,
            message_id=message_id,
            date=date,
            language_code=language_code,
        ),
        update_id=update_id,
    )


def group_text_update(
    user_id: int,
    text: str,
    *,
    chat_id: int = GROUP_CHAT_ID,
    chat_type: str = "supergroup",
    update_id: int | None = None,
    language_code: str = "zh-hans",
) -> Json:
    """The user wrote in a group the bot is in."""
    return text_update(
        user_id,
        text,
        chat_type=chat_type,
        chat_id=chat_id,
        update_id=update_id,
        language_code=language_code,
    )


def edited_text_update(
    user_id: int,
    text: str,
    *,
    message_id: int | None = None,
    edit_date: int | None = None,
    update_id: int | None = None,
    language_code: str = "zh-hans",
) -> Json:
    """The user edited one of their earlier texts."""
    edited = message(user_id, {"text": text}, message_id=message_id, language_code=language_code)
    edited["edit_date"] = edited["date"] if edit_date is None else edit_date
    return update("edited_message", edited, update_id=update_id)


def callback_update(
    user_id: int,
    data: str,
    *,
    message: Json | None = None,
    message_id: int | None = None,
    text: str = "请选择：",
    update_id: int | None = None,
    query_id: str | None = None,
    language_code: str = "zh-hans",
) -> Json:
    """The user pressed an inline button with this callback data.

    Pass `message`, the bot's message as FakeBotApi.bot_messages returns it, to press a
    button the bot really sent; otherwise a bot message with `message_id` and `text` is made.
    """
    user = private_user(user_id, language_code=language_code)
    if message is None:
        message = {
            "message_id": next(_message_ids) if message_id is None else message_id,
            "from": bot_user(),
            "chat": private_chat(user),
            "date": int(time.time()),
            "text": text,
        }
    query = {
        "id": query_id or str(next(_query_ids)),
        "from": user,
        "chat_instance": str(-(user_id * 7919)),
        "message": message,
        "data": data,
    }
    return update("callback_query", query, update_id=update_id)


def _sent(user_id: int, content: Json, *, update_id: int | None, language_code: str) -> Json:
    """An update carrying a private message from the user."""
    return update(
        "message", message(user_id, content, language_code=language_code), update_id=update_id
    )


def _file(kind: str) -> Json:
    number = next(_file_numbers)
    return {"file_id": f"fake-{kind}-{number}", "file_unique_id": f"u-{kind}-{number}"}


def sticker_update(
    user_id: int, *, emoji: str = "👍", update_id: int | None = None, language_code: str = "zh-hans"
) -> Json:
    """The user sent a sticker."""
    sticker = {
        **_file("sticker"),
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
    }
    return _sent(user_id, {"sticker": sticker}, update_id=update_id, language_code=language_code)


def photo_update(
    user_id: int,
    *,
    caption: str | None = None,
    update_id: int | None = None,
    language_code: str = "zh-hans",
) -> Json:
    """The user sent a photo (Telegram sends several sizes)."""
    sizes = [
        {**_file("photo"), "width": 90, "height": 60, "file_size": 1_200},
        {**_file("photo"), "width": 1280, "height": 853, "file_size": 98_000},
    ]
    content: Json = {"photo": sizes}
    if caption is not None:
        content["caption"] = caption
    return _sent(user_id, content, update_id=update_id, language_code=language_code)


def voice_update(
    user_id: int, *, duration: int = 3, update_id: int | None = None, language_code: str = "zh-hans"
) -> Json:
    """The user sent a voice note."""
    voice = {**_file("voice"), "duration": duration, "mime_type": "audio/ogg", "file_size": 9_000}
    return _sent(user_id, {"voice": voice}, update_id=update_id, language_code=language_code)


def document_update(
    user_id: int,
    *,
    file_name: str = "材料.docx",
    mime_type: str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    file_size: int = 12_345,
    caption: str | None = None,
    update_id: int | None = None,
    language_code: str = "zh-hans",
) -> Json:
    """The user sent a file."""
    document = {**_file("document"), "file_name": file_name, "mime_type": mime_type}
    document["file_size"] = file_size
    content: Json = {"document": document}
    if caption is not None:
        content["caption"] = caption
    return _sent(user_id, content, update_id=update_id, language_code=language_code)


def location_update(
    user_id: int,
    *,
    latitude: float = 39.9042,
    longitude: float = 116.4074,
    update_id: int | None = None,
    language_code: str = "zh-hans",
) -> Json:
    """The user shared a location."""
    location = {"latitude": latitude, "longitude": longitude}
    return _sent(user_id, {"location": location}, update_id=update_id, language_code=language_code)
