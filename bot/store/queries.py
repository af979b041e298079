"""Data access: plain functions that take the session as a keyword argument."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Table, and_, bindparam, delete, func, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import insert_ignoring_duplicates
from bot.store.models import (
    Answer,
    Cadre,
    Draft,
    InboxUpdate,
    Interview,
    InterviewStatus,
    ProcessedUpdate,
)

# The statements of every update are built once, with bound parameters: building one costs
# more than running it on SQLite (decision 43).

_CADRE = select(Cadre).where(col(Cadre.telegram_user_id) == bindparam("telegram_user_id"))
_CADRE_LOCKED = _CADRE.with_for_update()

_CADRE_WITH_INTERVIEW = (
    select(Cadre, Interview)
    .outerjoin(
        Interview,
        and_(
            col(Interview.cadre_id) == col(Cadre.id),
            col(Interview.status) != InterviewStatus.ABANDONED,
        ),
    )
    .where(col(Cadre.telegram_user_id) == bindparam("telegram_user_id"))
    .order_by(col(Interview.id).desc())
    .limit(1)
    .with_for_update(of=Cadre)
)

_CURRENT_INTERVIEW = (
    select(Interview)
    .where(
        col(Interview.cadre_id) == bindparam("cadre_id"),
        col(Interview.status) != InterviewStatus.ABANDONED,
    )
    .order_by(col(Interview.id).desc())
    .limit(1)
)

_ANSWERS = (
    select(Answer.question_id, Answer.text)
    .where(col(Answer.interview_id) == bindparam("interview_id"))
    .order_by(col(Answer.question_id), col(Answer.seq))
)

# Plain Core DML on the tables: the ORM's own UPDATE and DELETE would look through the
# session's objects to keep them in step, which cost more than the statements themselves.
_ANSWER: Table = Answer.__table__  # type: ignore[attr-defined]
_INTERVIEW: Table = Interview.__table__  # type: ignore[attr-defined]
# Not named after columns: UPDATE reserves those names for its SET clause.
_OF_QUESTION = (
    _ANSWER.c.interview_id == bindparam("of_interview"),
    _ANSWER.c.question_id == bindparam("of_question"),
)
_INSERT_ANSWERS = insert(_ANSWER)
_UPDATE_ANSWER = (
    update(_ANSWER)
    .where(*_OF_QUESTION, _ANSWER.c.seq == bindparam("at"))
    .values(text=bindparam("new_text"))
)
_TRIM_ANSWERS = delete(_ANSWER).where(*_OF_QUESTION, _ANSWER.c.seq >= bindparam("keep"))


_STORE_STATE = (
    update(_INTERVIEW)
    .where(_INTERVIEW.c.id == bindparam("of_interview"))
    .values(
        {
            name: bindparam(name)
            for name in (
                "status",
                "current_question",
                "awaiting_follow_up",
                "editing_question",
                "editing_entry",
                "skipped",
                "revision",
                "updated_at",
            )
        }
    )
)


_INBOX: Table = InboxUpdate.__table__  # type: ignore[attr-defined]
_OUT_OF_INBOX = delete(_INBOX).where(_INBOX.c.update_id == bindparam("claimed"))


async def claim_update(*, session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record an update as processed in the current transaction; False if it already was.

    Its inbox row goes in the same transaction: the update is applied and out of the
    queue at one commit, so a crash cannot leave it to be handed out again.
    """
    result = await session.exec(
        insert_ignoring_duplicates(session, ProcessedUpdate),
        params={"update_id": update_id, "processed_at": now},
    )
    if not result.rowcount:
        return False
    await session.exec(_OUT_OF_INBOX, params={"claimed": update_id})
    return True


async def cadre_by_user(
    *, session: AsyncSession, telegram_user_id: int, lock: bool = True
) -> Cadre | None:
    """The cadre of a Telegram user; `lock` serialises concurrent updates of one user."""
    statement = _CADRE_LOCKED if lock else _CADRE
    result = await session.exec(statement, params={"telegram_user_id": telegram_user_id})
    return result.first()


async def cadre_with_interview(
    *, session: AsyncSession, telegram_user_id: int
) -> tuple[Cadre | None, Interview | None]:
    """The cadre of a Telegram user, locked, with their current interview, in one query."""
    result = await session.exec(
        _CADRE_WITH_INTERVIEW, params={"telegram_user_id": telegram_user_id}
    )
    row = result.first()
    return (row[0], row[1]) if row else (None, None)


async def current_interview(*, session: AsyncSession, cadre_id: int) -> Interview | None:
    """The cadre's newest interview that was not abandoned."""
    return (await session.exec(_CURRENT_INTERVIEW, params={"cadre_id": cadre_id})).first()


async def load_answers(*, session: AsyncSession, interview_id: int) -> dict[str, tuple[str, ...]]:
    """Every answer of an interview: question id -> entries in order."""
    grouped: dict[str, list[str]] = defaultdict(list)
    result = await session.exec(_ANSWERS, params={"interview_id": interview_id})
    for question_id, text in result.all():
        grouped[question_id].append(text)
    return {k: tuple(v) for k, v in grouped.items()}


async def save_entries(
    *,
    session: AsyncSession,
    interview_id: int,
    question_id: str,
    before: tuple[str, ...],
    after: tuple[str, ...],
    now: datetime,
) -> None:
    """Store a question's new entries, writing only the rows that differ from `before`."""
    same = 0
    while same < min(len(before), len(after)) and before[same] == after[same]:
        same += 1
    of_question = {"of_interview": interview_id, "of_question": question_id}
    for seq in range(same, min(len(before), len(after))):
        await session.exec(
            _UPDATE_ANSWER, params={**of_question, "at": seq, "new_text": after[seq]}
        )
    if len(after) < len(before):
        await session.exec(_TRIM_ANSWERS, params={**of_question, "keep": len(after)})
    if len(after) > len(before):
        await session.exec(
            _INSERT_ANSWERS,
            params=[
                {
                    "interview_id": interview_id,
                    "question_id": question_id,
                    "seq": seq,
                    "text": after[seq],
                    "created_at": now,
                }
                for seq in range(len(before), len(after))
            ],
        )


async def store_interview_state(
    *,
    session: AsyncSession,
    interview: Interview,
    status: InterviewStatus,
    current_question: str | None,
    awaiting_follow_up: bool,
    editing_question: str | None,
    editing_entry: int | None,
    skipped: list[str],
    now: datetime,
) -> None:
    """Write the interview's position in one prepared UPDATE, and show it on the loaded row
    without marking it changed (the ORM's own change tracking costs more than the write).

    Every write is a new revision of the interview: a confirmation carries the revision it
    was asked at and is refused at any other. (The cadre's row is locked, so the loaded
    revision is the stored one.)"""
    values = {
        "status": status,
        "current_question": current_question,
        "awaiting_follow_up": awaiting_follow_up,
        "editing_question": editing_question,
        "editing_entry": editing_entry,
        "skipped": skipped,
        "revision": interview.revision + 1,
        "updated_at": now,
    }
    await session.exec(_STORE_STATE, params={"of_interview": interview.id, **values})
    for name, value in values.items():
        set_committed_value(interview, name, value)


async def next_draft_version(*, session: AsyncSession, interview_id: int) -> int:
    """The version number the next draft of an interview gets."""
    statement = select(func.max(Draft.version)).where(Draft.interview_id == interview_id)
    latest = (await session.exec(statement)).one()
    return (latest or 0) + 1


_LATEST_DRAFT = (
    select(Draft)
    .where(col(Draft.interview_id) == bindparam("interview_id"))
    .order_by(col(Draft.version).desc())
    .limit(1)
)


async def latest_draft(*, session: AsyncSession, interview_id: int) -> Draft | None:
    """The newest stored draft version of an interview, if any."""
    return (await session.exec(_LATEST_DRAFT, params={"interview_id": interview_id})).first()


async def drafts_of(*, session: AsyncSession, interview_id: int) -> list[Draft]:
    """Every stored draft version of an interview, oldest first."""
    statement = select(Draft).where(Draft.interview_id == interview_id).order_by(col(Draft.version))
    return list((await session.exec(statement)).all())


async def mark_blocked(*, session: AsyncSession, chat_id: int, now: datetime) -> None:
    """Note that a cadre blocked the bot, so nothing is sent to them until they write again."""
    await session.exec(update(Cadre).where(col(Cadre.chat_id) == chat_id).values(blocked_at=now))
    await session.commit()


async def forget_processed_updates(*, session: AsyncSession, before: datetime) -> int:
    """Drop dedup records older than any redelivery (Telegram keeps updates for 24 hours)."""
    # A record whose update is still in the inbox (claimed, but the process died before
    # the row was settled) must stay, or that row would be applied a second time.
    still_in_inbox = select(InboxUpdate.update_id)
    result = await session.exec(
        delete(ProcessedUpdate).where(
            col(ProcessedUpdate.processed_at) < before,
            col(ProcessedUpdate.update_id).not_in(still_in_inbox),
        )
    )
    await session.commit()
    return int(result.rowcount)
