"""The interview in a terminal, through the same services the Telegram bot uses.

Type answers as plain lines; `/1`, `/2`… press the numbered buttons; `/status`, `/draft`,
`/edit`, `/cancel`, `/help` work as in Telegram; `/quit` (or end of input) leaves.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.interview.questionnaire import Language
from bot.services import conversation
from bot.services.conversation import Command, Out
from bot.services.drafts import lay_out
from bot.services.people import Person
from bot.services.replies import Act, Action, Reply
from bot.services.resources import Resources, load_resources
from bot.store.db import Database
from bot.store.schema import ensure_current

CONSOLE_USER = Person(user_id=0, chat_id=0)
_TAG = re.compile(r"<[^>]+>")


def as_plain(text: str) -> str:
    """Telegram HTML as terminal text."""
    return html.unescape(_TAG.sub("", text))


class ConsoleSession:
    """Shows replies, remembers the buttons last shown, and saves documents."""

    def __init__(self, out: TextIO, out_dir: Path) -> None:
        self.out = out
        self.out_dir = out_dir
        self.buttons: list[Action] = []
        self.documents: list[Path] = []

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.document is not None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                path = self.out_dir / reply.document.filename
                path.write_bytes(reply.document.content)
                self.documents.append(path)
                print(f"\n[document saved: {path}]", file=self.out)
                continue
            print("\n" + as_plain(reply.text), file=self.out)
            if reply.buttons:
                self.buttons = []
                labels = []
                for row in reply.buttons:
                    for button in row:
                        self.buttons.append(button.action)
                        labels.append(f"/{len(self.buttons)} {button.label}")
                print("  " + "   ".join(labels), file=self.out)
        self.out.flush()


async def run_demo(
    settings: Settings,
    *,
    language: Language | None,
    out_dir: Path,
    database_url: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Run the interview on stdin/stdout until /quit or end of input."""
    res = load_resources(
        settings.prompts_dir,
        default_language=settings.default_language,
        zone=settings.default_timezone,
        answer_limit=settings.max_answer_chars,
    )
    # A file of its own: the demo's console user must not mix with real cadres.
    db = Database(database_url or f"sqlite+aiosqlite:///{settings.data_dir / 'demo.db'}")
    console = ConsoleSession(stdout, out_dir)
    person = Person(CONSOLE_USER.user_id, CONSOLE_USER.chat_id, language)
    try:
        await ensure_current(db, auto_migrate=True)
        print(__doc__, file=stdout)
        async with db.session() as session:
            outcome = await conversation.start(
                session, res=res, person=person, update_id=None, now=clock()
            )
        console.show(lay_out(res, outcome))
        chosen = Action(Act.LANGUAGE, arg=language) if language else None
        if chosen in console.buttons:
            # --lang answers the language question a newcomer is asked.
            assert chosen is not None
            async with db.session() as session:
                outcome = await conversation.press(
                    session, res=res, person=person, update_id=None, action=chosen, now=clock()
                )
            console.show(lay_out(res, outcome))
        for line in stdin:
            entry = line.rstrip("\n")
            if not stdin.isatty():
                print(f"> {entry}", file=stdout)
            if entry.strip() in ("/quit", "/exit"):
                break
            async with db.session() as session:
                outcome = await _handle(session, res, person, console, entry, clock())
            console.show(lay_out(res, outcome))
    finally:
        await db.dispose()
    return 0


async def _handle(
    session: AsyncSession,
    res: Resources,
    person: Person,
    console: ConsoleSession,
    entry: str,
    now: datetime,
) -> Sequence[Out]:
    word = entry.strip()
    if re.fullmatch(r"/\d+", word):
        number = int(word[1:])
        if not 1 <= number <= len(console.buttons):
            return [Reply(f"(no button {number})")]
        action = console.buttons[number - 1]
        return await conversation.press(
            session, res=res, person=person, update_id=None, action=action, now=now
        )
    if word.startswith("/") and word[1:] in {c.value for c in Command}:
        return await conversation.command(
            session, res=res, person=person, update_id=None, command=Command(word[1:]), now=now
        )
    return await conversation.text(
        session, res=res, person=person, update_id=None, text=entry, now=now
    )
