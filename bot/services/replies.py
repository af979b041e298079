"""What a service asks an adapter to show: replies with buttons, and the actions behind them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

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
    EDIT_LIST = "editl"  # interview: the answers to pick one to edit (/edit)
    RESTART = "restart"  # interview, revision
    RESTART_NO = "restartno"  # interview
    DRAFT = "draft"  # interview
    DRAFT_FILE = "draftfile"  # interview: the unchanged draft's .docx again
    NEW = "new"
    PROFILE = "profile"  # arg: name | position | organisation | language
    # Teams; the target is the team unless said otherwise.
    TEAM_NEW = "tnew"  # ask for a new team's name
    TEAMS = "teams"  # the person's teams
    TEAM = "team"  # a team's home
    INVITE = "tinv"  # show the member invite link
    INVITE_ROTATE = "trot"  # a new link; the old one stops working
    INVITE_DELETE = "tdinv"
    MEMBERS = "tmem"  # index: page
    REMOVE = "trm"  # index: the member's person id; asks to confirm
    REMOVE_YES = "trmy"  # index: the member's person id
    COSUPERVISOR = "tcos"  # a one-use invite for a co-supervisor
    RENAME = "tren"
    DELETE = "tdel"  # asks to confirm
    DELETE_YES = "tdely"
    LEAVE = "tleave"  # asks to confirm
    LEAVE_YES = "tleavey"
    SUCCESSOR = "tsucc"  # index: the member made supervisor
    JOIN = "join"  # target: the invite the person opened (checked against the stored one)
    JOIN_NO = "joinno"
    BOARD = "board"  # arg: <report type>_<period> (none: pick one), index: page
    MEMBER = "mbr"  # arg: <report type>_<period>, index: the member's person id
    EXPORT = "exp"  # arg: <report type>_<period>
    # Submitting; the target is the interview.
    SUBMIT = "sub"
    SUBMIT_TO = "subto"  # index: team; revision
    SUBMIT_ANYWAY = "subok"  # index: team; revision
    SUBMIT_CANCEL = "subno"
    # Reviewing; the target is a submitted version.
    OPEN = "open"
    APPROVE = "appr"
    RETURN = "ret"
    HISTORY = "hist"  # target: the submission
    # Reporting cycles; the target is the cycle unless said otherwise.
    CYCLES = "cycs"  # target: team: its cycles and reminder settings
    CYCLE_NEW = "cnew"  # target: team
    CYCLE_TYPE = "ctype"  # arg: report type
    CYCLE = "cyc"  # the cycle's page
    CYCLE_OPEN = "copen"  # revision
    CYCLE_DEADLINE = "cdl"  # ask for a (new) deadline
    CYCLE_MOVE = "cmove"  # arg: the new deadline, minutes since the epoch; revision
    CYCLE_OFFSETS = "coff"  # ask for reminder offsets
    CYCLE_CLOSE = "cclose"  # asks to confirm
    CYCLE_CLOSE_YES = "cclosey"  # revision
    CYCLE_DISCARD = "cdisc"  # a cycle being set up, dropped
    EXEMPT = "cex"  # index: the member's membership id
    UNEXEMPT = "cunex"  # index: the member's membership id
    TEAM_ZONE = "tzone"  # target: team: ask for its time zone
    TEAM_DAYS_OFF = "tdoff"  # target: team; arg: the days off to use
    TEAM_OVERDUE = "tover"  # target: team: daily overdue reminders on or off
    CYCLE_GO = "cgo"  # a member starts or continues the cycle's interview
    SNOOZE = "snz"  # target: the reminder: bring it back later
    # Polishing the wording; the target is the interview.
    POLISH = "pol"
    WORDING = "wrd"  # arg: section; index: 1 polished, 0 the cadre's own
    # Forgetting the person.
    FORGET = "forget"
    FORGET_NO = "forgetno"


@dataclass(frozen=True)
class Action:
    """A button's meaning: a kind, the interview it was made for, and an argument.

    `revision` binds a confirmation to the interview's state when it was asked (None: the
    button acts on whatever state it finds, as navigation does after its own checks)."""

    act: Act
    target: int = 0  # the interview, team, submission… it acts on
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
    """A file to send with a reply: its bytes, or a file read only when it is sent (a
    large export part)."""

    filename: str
    content: bytes
    caption: str = ""
    path: Path | None = None


@dataclass(frozen=True)
class Reply:
    """One message to the user: HTML text, button rows, or a document.

    `force_reply` asks the user's app to open a reply to this message (with the given
    placeholder); `comment_on` remembers the message as the prompt for a comment on that
    submitted version, so that a reply to it is the comment; `standalone` keeps a pressed
    message in place and sends this one below it."""

    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Attachment | None = None
    force_reply: str | None = None
    comment_on: int | None = None
    # Sent as a new message even in answer to a press: the pressed message (a board, a
    # list) stays for the next press.
    standalone: bool = False
    # Delivered without a sound (a reminder that could not wait for the morning).
    silent: bool = False
    # The rewrite job whose progress this message shows (it is edited as sections finish).
    rewrite_job: int | None = None


@dataclass(frozen=True)
class PendingExport:
    """An export a supervisor asked for, built once the transaction that allowed it has
    committed (see `bot.services.exports`)."""

    team_id: int
    team_name: str
    report_type: str
    period: str
    language: str


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
            and last.force_reply is None
            and utf16_len(last.text) + len(MESSAGE_SEPARATOR) + utf16_len(reply.text) <= limit
        ):
            out[-1] = replace(
                reply,
                text=last.text + MESSAGE_SEPARATOR + reply.text,
                standalone=last.standalone or reply.standalone,
            )
        else:
            out.append(reply)
    return out


# What a message built from lines may take: Telegram's limit, less room for its buttons'
# neighbours (a header or a closing line added after the fit).
TEXT_BUDGET = TELEGRAM_LIMIT - 300


def fit_lines(
    lines: Iterable[str], more: str, *, limit: int = TEXT_BUDGET, max_lines: int | None = None
) -> list[str]:
    """As many lines as fit in `limit` UTF-16 units (newlines counted) and `max_lines`; if
    some are left out, `more` (with `{count}` for how many) closes the list instead."""
    kept: list[str] = []
    used = 0
    pending = list(lines)
    for number, line in enumerate(pending):
        cost = utf16_len(line) + 1
        if used + cost > limit or (max_lines is not None and number >= max_lines):
            kept.append(more.format(count=len(pending) - number))
            return kept
        kept.append(line)
        used += cost
    return kept


def shortened(text: str, width: int) -> str:
    """The text on one line, cut to `width` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def series(
    language: str, items: Iterable[str], *, width: int | None = None, total: int | None = None
) -> str:
    """Items in running text: 、 between them in Chinese, a comma in English; each cut to
    `width` characters and the whole to `total`, where given."""
    separator = "、" if language == "zh" else ", "
    joined = separator.join(shortened(item, width) if width else item for item in items)
    return shortened(joined, total) if total else joined
