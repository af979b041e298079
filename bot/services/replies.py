"""What a service asks an adapter to show: replies with buttons, and the actions behind them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    RESTART = "restart"  # interview
    RESTART_NO = "restartno"  # interview
    DRAFT = "draft"  # interview
    NEW = "new"
    PROFILE = "profile"  # arg: name | position | organisation | language


@dataclass(frozen=True)
class Action:
    """A button's meaning: a kind, the interview it was made for, and an argument."""

    act: Act
    interview_id: int = 0
    arg: str = ""
    index: int = -1


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
