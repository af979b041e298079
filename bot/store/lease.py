"""The polling lease: of several instances on one database, only the holder polls and drains.

Telegram allows one `getUpdates` consumer per bot, and two instances draining one inbox would
each answer the same update. The lease is held by a live process and released by the kernel
or the server when it dies (kill -9 included), so a standby instance takes over by itself.
PostgreSQL: a session advisory lock on a connection kept open. SQLite (one machine by
nature): an exclusive `flock` on a file beside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.store.db import Database

log = logging.getLogger(__name__)

# pg_try_advisory_lock(int, int): our namespace ("debr" as an int4) and the bot's id.
NAMESPACE = 0x64656272
# A lease check that takes longer than this counts as failed: a server that does not answer
# cannot vouch for the lock.
CHECK_TIMEOUT = 5.0


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
        """Held, and still on the file of that name: a lock on a file someone deleted (or
        replaced) guards nothing, since the next instance locks a new file by that name."""
        if self._fd is None:
            return False
        try:
            held, named = os.fstat(self._fd), os.stat(self.path)
            same = (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)
        except OSError:
            same = False
        if not same:
            log.warning("the polling lock file %s was removed or replaced", self.path)
            await self.release()
        return same

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None


class _AdvisoryLease:
    """A session advisory lock; PostgreSQL drops it when the holding connection closes.

    The lock lives on a connection of its own, outside the pool: a pooled connection goes
    back to the pool on close, and its session, and the lock with it, would outlive the
    release.
    """

    def __init__(self, db: Database, bot_id: int) -> None:
        self.db = db
        self.key = bot_id % 2**31
        self._engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None

    def _own_engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(self.db.url, poolclass=NullPool)
        return self._engine

    async def try_acquire(self) -> bool:
        if self._connection is not None:
            return True
        async with asyncio.timeout(CHECK_TIMEOUT):
            connection = await self._own_engine().connect()
        try:
            # Autocommit: the lock belongs to the session, and no transaction stays open.
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            async with asyncio.timeout(CHECK_TIMEOUT):
                result = await connection.execute(
                    text("SELECT pg_try_advisory_lock(:namespace, :key)"),
                    {"namespace": NAMESPACE, "key": self.key},
                )
            if result.scalar_one():
                self._connection = connection
                return True
        except BaseException:
            await _close(connection)
            raise
        await _close(connection)
        return False

    async def alive(self) -> bool:
        if self._connection is None:
            return False
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self._connection.execute(text("SELECT 1"))
        except Exception as exc:
            # Whatever the failure, a timeout included, this connection no longer vouches
            # for the lock: the server may have ended its session, and the lock with it.
            log.warning("the connection holding the polling lease failed (%r)", exc)
            await self._forget()
            return False
        return True

    async def release(self) -> None:
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CHECK_TIMEOUT):
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:namespace, :key)"),
                        {"namespace": NAMESPACE, "key": self.key},
                    )
        await self._forget()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _forget(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await _close(connection)


async def _close(connection: AsyncConnection) -> None:
    """Close the lease's own connection (not pooled: the session ends, and its locks)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await connection.close()
    except Exception:  # already broken, or the server is away: nothing left to unlock
        log.debug("closing the lease connection failed", exc_info=True)
        with contextlib.suppress(Exception):
            await connection.invalidate()
