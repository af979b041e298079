"""The polling lease: of several instances on one database, only the holder polls and drains.

Telegram allows one `getUpdates` consumer per bot, and two instances draining one inbox would
each answer the same update. The lease is held by a live process and released by the kernel
or the server when it dies (kill -9 included), so a standby instance takes over by itself.
PostgreSQL: a session advisory lock on a connection kept open. SQLite (one machine by
nature): an exclusive `flock` on a file beside the database.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database

log = logging.getLogger(__name__)

# pg_try_advisory_lock(int, int): our namespace ("debr" as an int4) and the bot's id.
NAMESPACE = 0x64656272


class Lease(Protocol):
    """Held by at most one process at a time."""

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True if this process holds it now."""

    async def alive(self) -> bool:
        """Whether the lease this process took is still held."""

    async def release(self) -> None:
        """Give the lease up (stopping)."""


def polling_lease(db: Database, bot_id: int) -> Lease:
    """The lease for polling this bot on this database."""
    if db.is_sqlite:
        database = make_url(db.url).database
        if not database or database == ":memory:":
            return _NoLease()  # an in-memory database has one process by nature
        return _FileLease(Path(f"{database}.poller.lock"))
    return _AdvisoryLease(db, bot_id)


class _NoLease:
    async def try_acquire(self) -> bool:
        return True

    async def alive(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class _FileLease:
    """An exclusive flock; the kernel drops it when the process ends, however it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def alive(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None


class _AdvisoryLease:
    """A session advisory lock; PostgreSQL drops it when the holding connection closes."""

    def __init__(self, db: Database, bot_id: int) -> None:
        self.db = db
        self.key = bot_id % 2**31
        self._connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = await self.db.engine.connect()
        try:
            # Autocommit: the lock belongs to the session, and no transaction stays open.
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            result = await connection.execute(
                text("SELECT pg_try_advisory_lock(:namespace, :key)"),
                {"namespace": NAMESPACE, "key": self.key},
            )
            if result.scalar_one():
                self._connection = connection
                return True
        except Exception:
            await connection.close()
            raise
        await connection.close()
        return False

    async def alive(self) -> bool:
        if self._connection is None:
            return False
        try:
            await self._connection.execute(text("SELECT 1"))
        except Exception as exc:
            # Whatever the failure, this connection no longer vouches for the lock: the
            # server may have ended its session, and the lock with it.
            log.warning("the connection holding the polling lease failed (%s)", exc)
            await self._forget()
            return False
        return True

    async def release(self) -> None:
        await self._forget()

    async def _forget(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()  # the server unlocks when the session ends
            except Exception:  # already broken: nothing left to unlock
                log.debug("closing the lease connection failed", exc_info=True)
