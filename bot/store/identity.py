"""Which Telegram bot a database belongs to: one bot per database, checked at every start."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from bot.store.db import Database, DatabaseUnavailable
from bot.store.models import BotIdentity


class DatabaseOfAnotherBot(DatabaseUnavailable):
    """The database was made by a different bot (another token's bot id)."""


async def claim_database(db: Database, *, bot_id: int, username: str, now: datetime) -> None:
    """Record this bot as the database's owner on first start; refuse another bot's.

    The bot id (from getMe) identifies the bot, not the token: a token reissued by
    @BotFather keeps the id. Update ids, chats and the polling lease are per bot, so two
    bots on one database would answer each other's users. The write doubles as the check
    that the database can be written at all.
    """
    try:
        async with db.session() as session:
            row = await session.get(BotIdentity, 1)
            if row is None:
                session.add(
                    BotIdentity(
                        id=1, bot_id=bot_id, username=username, claimed_at=now, last_started_at=now
                    )
                )
            elif row.bot_id != bot_id:
                raise DatabaseOfAnotherBot(
                    f"the database belongs to the bot @{row.username} (id {row.bot_id}), not "
                    f"to @{username} (id {bot_id}) whose token is configured; give each bot "
                    "its own DATABASE_URL."
                )
            else:
                row.username = username
                row.last_started_at = now
            await session.commit()
    except (OSError, SQLAlchemyError) as exc:
        raise DatabaseUnavailable.of(db.url, exc) from exc
