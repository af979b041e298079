"""Data access: plain functions that take the session as a keyword argument."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, delete, func, update
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


async def claim_update(*, session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record an update as processed in the current transaction; False if it already was."""
    statement = insert_ignoring_duplicates(session, ProcessedUpdate).values(
        update_id=update_id, processed_at=now
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def cadre_by_user(
    *, session: AsyncSession, telegram_user_id: int, lock: bool = True
) -> Cadre | None:
    """The cadre of a Telegram user; `lock` serialises concurrent updates of one user."""
    statement = select(Cadre).where(Cadre.telegram_user_id == telegram_user_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def cadre_with_interview(
    *, session: AsyncSession, telegram_user_id: int
) -> tuple[Cadre | None, Interview | None]:
    """The cadre of a Telegram user, locked, with their current interview, in one query."""
    statement = (
        select(Cadre, Interview)
        .outerjoin(
            Interview,
            and_(
                col(Interview.cadre_id) == col(Cadre.id),
                col(Interview.status) != InterviewStatus.ABANDONED,
            ),
        )
        .where(Cadre.telegram_user_id == telegram_user_id)
        .order_by(col(Interview.id).desc())
        .limit(1)
        .with_for_update(of=Cadre)
    )
    row = (await session.exec(statement)).first()
    return (row[0], row[1]) if row else (None, None)


async def current_interview(*, session: AsyncSession, cadre_id: int) -> Interview | None:
    """The cadre's newest interview that was not abandoned."""
    statement = (
        select(Interview)
        .where(Interview.cadre_id == cadre_id, Interview.status != InterviewStatus.ABANDONED)
        .order_by(col(Interview.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def load_answers(*, session: AsyncSession, interview_id: int) -> dict[str, tuple[str, ...]]:
    """Every answer of an interview: question id -> entries in order."""
    statement = (
        select(Answer.question_id, Answer.text)
        .where(Answer.interview_id == interview_id)
        .order_by(col(Answer.question_id), col(Answer.seq))
    )
    grouped: dict[str, list[str]] = defaultdict(list)
    for question_id, text in (await session.exec(statement)).all():
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
    of_question = (col(Answer.interview_id) == interview_id, col(Answer.question_id) == question_id)
    for seq in range(same, min(len(before), len(after))):
        await session.exec(
            update(Answer).where(*of_question, col(Answer.seq) == seq).values(text=after[seq])
        )
    if len(after) < len(before):
        await session.exec(delete(Answer).where(*of_question, col(Answer.seq) >= len(after)))
    session.add_all(
        Answer(
            interview_id=interview_id,
            question_id=question_id,
            seq=seq,
            text=after[seq],
            created_at=now,
        )
        for seq in range(len(before), len(after))
    )


async def next_draft_version(*, session: AsyncSession, interview_id: int) -> int:
    """The version number the next draft of an interview gets."""
    statement = select(func.max(Draft.version)).where(Draft.interview_id == interview_id)
    latest = (await session.exec(statement)).one()
    return (latest or 0) + 1


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
