"""The outbox: messages to other people, written in the transaction that caused them and
marked once the background sender has delivered them (or given up)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import Cadre, CommentPrompt, Outbox


def enqueue(
    session: AsyncSession,
    *,
    recipient_id: int,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    version_id: int | None = None,
    about_id: int | None = None,
) -> Outbox:
    """Add a message to the caller's transaction; it goes out only if that commits.
    `about_id`: the person it is about, whose /forget_me removes it once settled."""
    row = Outbox(
        recipient_id=recipient_id,
        about_id=about_id,
        kind=kind,
        payload=payload,
        version_id=version_id,
        created_at=now,
        due_at=now,
    )
    session.add(row)
    return row


async def due(
    *, session: AsyncSession, now: datetime, limit: int
) -> list[tuple[Outbox, int, str, bool]]:
    """Messages due and not yet settled, oldest first, with the recipient's chat, language,
    and whether they have blocked the bot."""
    statement = (
        select(Outbox, Cadre.chat_id, Cadre.language, Cadre.blocked_at)
        .join(Cadre, col(Cadre.id) == col(Outbox.recipient_id))
        .where(
            col(Outbox.sent_at).is_(None),
            col(Outbox.failed_at).is_(None),
            col(Outbox.due_at) <= now,
        )
        .order_by(col(Outbox.due_at), col(Outbox.id))
        .limit(limit)
    )
    return [
        (row, chat, language, blocked_at is not None)
        for row, chat, language, blocked_at in (await session.exec(statement))
    ]


async def mark_sent(*, session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """Delivered: never sent again."""
    await session.exec(update(Outbox).where(col(Outbox.id).in_(list(ids))).values(sent_at=now))
    await session.commit()


async def mark_failed(
    *, session: AsyncSession, ids: Sequence[int], now: datetime, error: str
) -> None:
    """Given up (the recipient blocked the bot, or Telegram refused the message)."""
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id).in_(list(ids)))
        .values(failed_at=now, error=error[:200], attempts=Outbox.attempts + 1)
    )
    await session.commit()


async def postpone(
    *, session: AsyncSession, ids: Sequence[int], until: datetime, error: str
) -> None:
    """Try again later (Telegram or the network was briefly away)."""
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id).in_(list(ids)))
        .values(due_at=until, error=error[:200], attempts=Outbox.attempts + 1)
    )
    await session.commit()


async def undelivered_versions(
    *, session: AsyncSession, version_ids: Sequence[int]
) -> dict[int, list[int]]:
    """For each version, the recipients its notification could not reach."""
    if not version_ids:
        return {}
    statement = select(Outbox.version_id, Outbox.recipient_id).where(
        col(Outbox.version_id).in_(list(version_ids)),
        col(Outbox.failed_at).is_not(None),
        col(Outbox.kind) == "submitted",
    )
    found: dict[int, list[int]] = {}
    for version_id, recipient in (await session.exec(statement)).all():
        if version_id is not None:
            found.setdefault(version_id, []).append(recipient)
    return found


async def forget_delivered(*, session: AsyncSession, before: datetime) -> int:
    """Drop messages delivered before `before`, and comment prompts older than that. Those
    given up stay: a submission's history says whom it did not reach."""
    result = await session.exec(
        delete(Outbox).where(col(Outbox.sent_at).is_not(None), col(Outbox.sent_at) < before)
    )
    await session.exec(delete(CommentPrompt).where(col(CommentPrompt.created_at) < before))
    await session.commit()
    return int(result.rowcount)


async def strip_text(*, session: AsyncSession, ids: Sequence[int]) -> None:
    """The text before a row's document went out: a later try sends only the document."""
    for row in (await session.exec(select(Outbox).where(col(Outbox.id).in_(list(ids))))).all():
        if "text" in row.payload:
            row.payload = {k: v for k, v in row.payload.items() if k != "text"}
            session.add(row)
    await session.commit()
