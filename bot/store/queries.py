"""Data access: plain functions that take the session (or, on the hot path, its connection)
as a keyword argument."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Table, and_, bindparam, delete, func, insert, inspect, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.instrumentation import ClassManager
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

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
# FOR NO KEY UPDATE: it serialises a person's own updates as FOR UPDATE does, but leaves
# alone the key-share locks other transactions take when they insert a row that refers to
# this person (a notification to them): with FOR UPDATE, two people each notifying the
# other deadlocked on PostgreSQL.
_CADRE_LOCKED = _CADRE.with_for_update(key_share=True)

_CURRENT_INTERVIEW = (
    select(Interview)
    .where(
        col(Interview.cadre_id) == bindparam("cadre_id"),
        col(Interview.status) != InterviewStatus.ABANDONED,
    )
    .order_by(col(Interview.id).desc())
    .limit(1)
)


# Plain Core DML on the tables: the ORM's own UPDATE and DELETE would look through the
# session's objects to keep them in step, which cost more than the statements themselves.
_ANSWER: Table = Answer.__table__  # type: ignore[attr-defined]
_INTERVIEW: Table = Interview.__table__  # type: ignore[attr-defined]
_CADRE_TABLE: Table = Cadre.__table__  # type: ignore[attr-defined]

# The cadre and their current interview as plain rows (Core, not ORM entities): loading
# instances through the ORM session cost more than the query (decision 61). The row holds
# the cadre's columns, then the interview's.
_CADRE_WITH_INTERVIEW = (
    core_select(_CADRE_TABLE, _INTERVIEW)
    .select_from(
        _CADRE_TABLE.outerjoin(
            _INTERVIEW,
            and_(
                _INTERVIEW.c.cadre_id == _CADRE_TABLE.c.id,
                _INTERVIEW.c.status != InterviewStatus.ABANDONED,
            ),
        )
    )
    .where(_CADRE_TABLE.c.telegram_user_id == bindparam("telegram_user_id"))
    .order_by(_INTERVIEW.c.id.desc())
    .limit(1)
    .with_for_update(of=_CADRE_TABLE, key_share=True)
)
# The SET clause is made of the parameters given: only the changed columns are written.
_UPDATE_CADRE = update(_CADRE_TABLE).where(_CADRE_TABLE.c.id == bindparam("of_row"))
_UPDATE_INTERVIEW = update(_INTERVIEW).where(_INTERVIEW.c.id == bindparam("of_row"))
_CADRE_KEYS = tuple(column.key for column in _CADRE_TABLE.c)
_INTERVIEW_KEYS = tuple(column.key for column in _INTERVIEW.c)
# Not named after columns: UPDATE reserves those names for its SET clause.
_OF_QUESTION = (
    _ANSWER.c.interview_id == bindparam("of_interview"),
    _ANSWER.c.question_id == bindparam("of_question"),
)
_ANSWERS = (
    core_select(_ANSWER.c.question_id, _ANSWER.c.text)
    .where(_ANSWER.c.interview_id == bindparam("interview_id"))
    .order_by(_ANSWER.c.question_id, _ANSWER.c.seq)
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
                "return_to",
                "skipped",
                "revision",
                "updated_at",
            )
        }
    )
)


_INBOX: Table = InboxUpdate.__table__  # type: ignore[attr-defined]
_PROCESSED: Table = ProcessedUpdate.__table__  # type: ignore[attr-defined]
_CLAIM = sqlite.insert(_PROCESSED).on_conflict_do_nothing()
_CLAIM_POSTGRESQL = postgresql.insert(_PROCESSED).on_conflict_do_nothing()
_OUT_OF_INBOX = delete(_INBOX).where(_INBOX.c.update_id == bindparam("claimed"))


async def claim_update(*, connection: AsyncConnection, update_id: int, now: datetime) -> bool:
    """Record an update as processed in the current transaction; False if it already was.

    Its inbox row goes in the same transaction: the update is applied and out of the
    queue at one commit, so a crash cannot leave it to be handed out again.
    """
    result = await connection.execute(
        _CLAIM if connection.dialect.name == "sqlite" else _CLAIM_POSTGRESQL,
        {"update_id": update_id, "processed_at": now},
    )
    if not result.rowcount:
        return False
    await connection.execute(_OUT_OF_INBOX, {"claimed": update_id})
    return True


async def cadre_by_user(
    *, session: AsyncSession, telegram_user_id: int, lock: bool = True
) -> Cadre | None:
    """The cadre of a Telegram user; `lock` serialises concurrent updates of one user."""
    statement = _CADRE_LOCKED if lock else _CADRE
    result = await session.exec(statement, params={"telegram_user_id": telegram_user_id})
    return result.first()


async def cadre_with_interview(
    *, connection: AsyncConnection, telegram_user_id: int
) -> tuple[Cadre | None, Interview | None]:
    """The cadre of a Telegram user, locked, with their current interview, in one query.

    The two are read as plain rows and held in model instances that no session tracks:
    `write_changes` stores what the caller changes on them."""
    result = await connection.execute(_CADRE_WITH_INTERVIEW, {"telegram_user_id": telegram_user_id})
    row = result.first()
    if row is None:
        return None, None
    cadre = _untracked(Cadre, _CADRE_KEYS, row[: len(_CADRE_KEYS)])
    interview_values = row[len(_CADRE_KEYS) :]
    if interview_values[0] is None:  # no interview: the outer join's columns are NULL
        return cadre, None
    return cadre, _untracked(Interview, _INTERVIEW_KEYS, interview_values)


_Row = TypeVar("_Row", Cadre, Interview)


def _untracked(model: type[_Row], keys: Sequence[str], values: Sequence[Any]) -> _Row:
    """A model instance holding a row read with Core, as the ORM's loader makes one, but
    in no session: no identity map, no flush; its attributes still record their changes."""
    instance: _Row = _class_manager(model).new_instance()
    instance.__dict__.update(zip(keys, values, strict=True))
    return instance


@cache
def _class_manager(model: type[SQLModel]) -> ClassManager[Any]:
    configure_mappers()  # instruments the attributes if nothing has used the ORM yet
    manager: ClassManager[Any] = inspect(model).class_manager
    return manager


async def write_changes(
    *, connection: AsyncConnection, rows: Iterable[Cadre | Interview | None]
) -> None:
    """Store what was changed on rows from `cadre_with_interview`, one UPDATE per changed
    row; rows the session tracks (added in this transaction) are left to its flush."""
    for row in rows:
        if row is None:
            continue
        state = inspect(row)
        if not (state.transient and state.modified):
            continue
        changes = {
            attribute.key: attribute.value
            for attribute in state.attrs
            if attribute.history.has_changes()
        }
        if not changes:
            continue
        statement = _UPDATE_CADRE if isinstance(row, Cadre) else _UPDATE_INTERVIEW
        await connection.execute(statement, {"of_row": row.id, **changes})
        for name, value in changes.items():
            set_committed_value(row, name, value)


async def current_interview(*, session: AsyncSession, cadre_id: int) -> Interview | None:
    """The cadre's newest interview that was not abandoned."""
    return (await session.exec(_CURRENT_INTERVIEW, params={"cadre_id": cadre_id})).first()


async def load_answers(
    *, connection: AsyncConnection, interview_id: int
) -> dict[str, tuple[str, ...]]:
    """Every answer of an interview: question id -> entries in order."""
    grouped: dict[str, list[str]] = defaultdict(list)
    result = await connection.execute(_ANSWERS, {"interview_id": interview_id})
    for question_id, text in result.all():
        grouped[question_id].append(text)
    return {k: tuple(v) for k, v in grouped.items()}


async def save_entries(
    *,
    connection: AsyncConnection,
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
        await connection.execute(_UPDATE_ANSWER, {**of_question, "at": seq, "new_text": after[seq]})
    if len(after) < len(before):
        await connection.execute(_TRIM_ANSWERS, {**of_question, "keep": len(after)})
    if len(after) > len(before):
        await connection.execute(
            _INSERT_ANSWERS,
            [
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
    connection: AsyncConnection,
    interview: Interview,
    status: InterviewStatus,
    current_question: str | None,
    awaiting_follow_up: bool,
    editing_question: str | None,
    editing_entry: int | None,
    return_to: str | None,
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
        "return_to": return_to,
        "skipped": skipped,
        "revision": interview.revision + 1,
        "updated_at": now,
    }
    await connection.execute(_STORE_STATE, {"of_interview": interview.id, **values})
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
