"""The inbox: fetched updates are stored here before Telegram is told they were received.

It is a durable log, not a work queue that is scanned: the process that stores an update
hands it to its worker at once, and reads the table back only when it takes the polling
lease (to pick up what a previous holder stored but did not handle). A handled update's row
is deleted in the transaction that applied it (see `queries.claim_update`) or, for updates
no service claims, in batches.
"""

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
_PENDING = (
    select(InboxUpdate)
    .where(
        col(InboxUpdate.failed_at).is_(None),
        col(InboxUpdate.update_id) > bindparam("after"),
    )
    .order_by(col(InboxUpdate.update_id))
    .limit(bindparam("limit"))
)


async def store_updates(
    *,
    session: AsyncSession,
    updates: Sequence[tuple[int, str]],
    now: datetime,
    handled: Sequence[int] = (),
) -> None:
    """Store (update_id, JSON) pairs, remove the `handled` ones, and commit; an update
    stored before is left as it is (a redelivery, or a webhook's retry)."""
    if updates:
        statement = insert_ignoring_duplicates(session, InboxUpdate)
        await session.exec(
            statement,
            params=[
                {"update_id": uid, "payload": payload, "received_at": now, "attempts": 0}
                for uid, payload in updates
            ],
        )
    if handled:
        await session.exec(_DELETE, params={"update_ids": list(handled)})
    await session.commit()


async def pending_updates(
    *, session: AsyncSession, limit: int, after: int = -1
) -> list[InboxUpdate]:
    """The oldest updates not handled yet with an id above `after` (failed ones are kept
    aside for the operator)."""
    result = await session.exec(_PENDING, params={"after": after, "limit": limit})
    return list(result.all())


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


async def forget_failed_updates(*, session: AsyncSession, before: datetime) -> int:
    """Drop updates set aside as failed before `before`; they were logged when they failed."""
    result = await session.exec(
        delete(InboxUpdate).where(
            col(InboxUpdate.failed_at).is_not(None), col(InboxUpdate.failed_at) < before
        )
    )
    await session.commit()
    return int(result.rowcount)
