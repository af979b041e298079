"""What a service asks an adapter to show: replies with buttons, and the actions behind them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.render.chat import TELEGRAM_LIMIT, utf16_len


class Act(StrEnum):
    """What a button does. The adapter encodes these; services re-check every one."""

    LANGUAGE = "lang"  # arg: zh | en
    REPORT_TYPE = "type"  # arg: report type id
    NEXT = "next"  # interview, question
    SKIP = "skip"  # interview, question
    BACK = "back"  # interview, question
    KEEP = "keep"  # interview, question
    JUMP = "jump"  # interview, question
    EDIT_QUESTION = "editq"  # interview, question
    EDIT_ENTRY = "edite"  # interview, question, entry index
    EDIT_CANCEL = "editx"  # interview
    RESTART = "restart"  # interview, revision
    RESTART_NO = "restartno"  # interview
    DRAFT = "draft"  # interview
    DRAFT_FILE = "draftfile"  # interview: the unchanged draft's .docx again
    NEW = "new"
    PROFILE = "profile"  # arg: name | position | organisation | language


@dataclass(frozen=True)
class Action:
    """A button's meaning: a kind, the interview it was made for, and an argument.

    `revision` binds a confirmation to the interview's state when it was asked (None: the
    button acts on whatever state it finds, as navigation does after its own checks)."""

    act: Act
    interview_id: int = 0
    arg: str = ""
    index: int = -1
    revision: int | None = None


@dataclass(frozen=True)
class Button:
    """An inline button: its label and its action."""

    label: str
    action: Action


@dataclass(frozen=True)
class Attachment:
    """A file to send with a reply."""

    filename: str
    content: bytes
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    """One message to the user: HTML text, button rows, or a document."""

    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Attachment | None = None


MESSAGE_SEPARATOR = "\n\n"


def merged(replies: Iterable[Reply], *, limit: int = TELEGRAM_LIMIT) -> list[Reply]:
    """Consecutive texts as one message (a blank line between, the buttons of the last), as
    far as they fit in `limit` UTF-16 units: a notice and the question it leads to are read
    together, and each message is a share of Telegram's ~30 sends a second."""
    out: list[Reply] = []
    for reply in replies:
        last = out[-1] if out else None
        if (
            last is not None
            and reply.document is None
            and last.document is None
            and reply.text
            and last.text
            and not last.buttons
            and utf16_len(last.text) + len(MESSAGE_SEPARATOR) + utf16_len(reply.text) <= limit
        ):
            out[-1] = replace(reply, text=last.text + MESSAGE_SEPARATOR + reply.text)
        else:
            out.append(reply)
    return out
