"""The inbox: fetched updates are stored here before Telegram is told they were received."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import insert_ignoring_duplicates
from bot.store.models import InboxUpdate

_INBOX: Table = InboxUpdate.__table__  # type: ignore[attr-defined]
# Core, built once: the ORM's DELETE would also look through the session's objects.
_DELETE = delete(_INBOX).where(_INBOX.c.update_id.in_(bindparam("update_ids", expanding=True)))


async def store_updates(
    *, session: AsyncSession, updates: Sequence[tuple[int, str]], now: datetime
) -> None:
    """Store (update_id, JSON) pairs and commit; an update stored before is left as it is."""
    if updates:
        statement = insert_ignoring_duplicates(session, InboxUpdate)
        await session.exec(
            statement,
            params=[
                {"update_id": uid, "payload": payload, "received_at": now, "attempts": 0}
                for uid, payload in updates
            ],
        )
    await session.commit()


async def pending_updates(*, session: AsyncSession, limit: int) -> list[InboxUpdate]:
    """The oldest updates not handled yet (failed ones are kept aside for the operator)."""
    statement = (
        select(InboxUpdate)
        .where(col(InboxUpdate.failed_at).is_(None))
        .order_by(col(InboxUpdate.update_id))
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def mark_handled(
    *, session: AsyncSession, update_ids: Sequence[int], now: datetime | None = None
) -> None:
    """Remove handled updates from the inbox."""
    if update_ids:
        await session.exec(_DELETE, params={"update_ids": list(update_ids)})
    await session.commit()


async def mark_failed(*, session: AsyncSession, update_id: int, now: datetime) -> None:
    """Keep an update whose handler failed, out of the queue, for inspection and replay."""
    await session.exec(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id) == update_id)
        .values(failed_at=now, attempts=InboxUpdate.attempts + 1)
    )
    await session.commit()


async def count_attempt(*, session: AsyncSession, update_id: int, now: datetime) -> None:
    """Note one more try of an update that stays in the queue, to be tried again."""
    await session.exec(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id) == update_id)
        .values(attempts=InboxUpdate.attempts + 1)
    )
    await session.commit()
