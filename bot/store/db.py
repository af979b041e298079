"""Engine and sessions: SQLite (WAL, one writer at a time) or PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache, partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message is one line for the operator."""

    @classmethod
    def of(cls, url: str, exc: BaseException) -> DatabaseUnavailable:
        """The failure to use `url`, with the driver's own reason, password hidden."""
        reason = getattr(exc, "orig", None) or exc
        first_line = (str(reason).strip().splitlines() or [type(reason).__name__])[0]
        shown = make_url(url).render_as_string(hide_password=True)
        return cls(f"cannot use the database {shown}: {first_line}")


BUSY_TIMEOUT_MS = 5000


def is_transient(error: BaseException) -> bool:
    """Whether a failure is the database being briefly out of reach (restarting, locked,
    connection dropped), so that the same work can simply be tried again."""
    if isinstance(error, OSError | TimeoutError | InterfaceError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.Error):
        # SQLite reports mistakes ("no such table") as OperationalError too; only a lock, a
        # full disk, a file made read-only or an I/O failure is worth waiting out.
        return _sqlite_environmental(error.orig)
    return isinstance(error, OperationalError)


# What SQLite says when the machine, not the statement, is at fault (lowercased).
_SQLITE_ENVIRONMENT = (
    "locked",
    "busy",
    "disk is full",
    "readonly",
    "read-only",
    "disk i/o error",
    "unable to open",
)


def _sqlite_environmental(error: BaseException) -> bool:
    message = str(error).lower()
    return any(words in message for words in _SQLITE_ENVIRONMENT)


def is_sqlite(url: str) -> bool:
    """Whether the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction.

    A deferred SQLite transaction that reads and then writes fails with SQLITE_BUSY when
    another writer committed in between; taking the write lock at BEGIN serialises writers
    instead, which is what concurrent updates need.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        # Statements run on the event loop's thread, so a wait for another process's write
        # lock stops the loop: keep it short. A statement that times out fails as a lock,
        # which the inbox tries again later (decision 36).
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        # A connection opened while the file was read-only stays read-only for good, and
        # one that met a full disk or an I/O error may be in a bad state: count such a
        # failure as a lost connection, so that the pool opens a new one for the retry
        # and the bot recovers by itself once the operator has fixed the file.
        original = context.original_exception
        if isinstance(original, sqlite3.Error) and any(
            words in str(original).lower() for words in ("readonly", "read-only", "disk i/o")
        ):
            context.is_disconnect = True


class _InlineSqliteConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the calling (event loop) thread.

    aiosqlite hands every call (cursor, execute, fetch, close: four per statement) to a
    worker thread and waits to be woken. That round trip costs about 70 µs on our 2-core
    machine, against a few µs of SQLite work, and it was more than half of an update's
    time (docs/decisions.md, 41). Run inline, a statement blocks the loop only for SQLite's
    own work, the commit's fsync, or a wait for another process's write lock, which the
    polling lease makes rare and `busy_timeout` bounds. Opening and closing still use the
    worker thread, as SQLAlchemy's adapter expects.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")  # what aiosqlite raises, which SQLAlchemy maps
        return fn(*args, **kwargs)


def _inline_sqlite(path: str) -> Callable[[], _InlineSqliteConnection]:
    # Opened on the worker thread, used on the loop's: hence check_same_thread=False. The
    # two never use it at the same time (aiosqlite's queue holds only open and close).
    # isolation_level=None: sqlite3 begins no transaction by itself; we issue BEGIN.
    return lambda: _InlineSqliteConnection(
        partial(sqlite3.connect, path, check_same_thread=False, isolation_level=None)
    )


def create_engine(
    url: str, *, echo: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> AsyncEngine:
    """An async engine for the URL; creates the SQLite file's folder if needed."""
    parsed = make_url(url)
    if is_sqlite(url):
        path = parsed.database or ":memory:"
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable.of(url, exc) from exc
        engine = create_async_engine(url, echo=echo, async_creator=_inline_sqlite(path))
        _prepare_sqlite(engine, busy_timeout_ms)
        return engine
    # Connections are kept, not made on demand: one made in a burst (a server process and
    # asyncpg's set-up queries) slowed the burst further, and was closed again after it. No
    # ping before each use either: a connection the server dropped fails its first
    # statement as a connection failure, which the inbox tries again (decision 44).
    return create_async_engine(url, echo=echo, pool_size=20, max_overflow=0)


class Database:
    """An engine and the sessions made from it."""

    def __init__(
        self, url: str, *, echo: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, busy_timeout_ms=busy_timeout_ms)
        self.is_sqlite = is_sqlite(url)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        # SQLite has one writer at a time. Queueing writers here is fair and immediate;
        # leaving it to SQLite's busy handler makes them sleep and retry, and, since our
        # statements run on the loop's thread, would stop the loop while they do.
        self._one_at_a_time: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; the service that uses it commits, anything uncommitted rolls back.

        Do not open a second session while holding one: on SQLite that would wait forever.
        """
        if self._one_at_a_time is None:
            async with self._sessions() as session:
                yield session
            return
        async with self._one_at_a_time:
            session = self._sessions()
            try:
                yield session
            finally:
                # Not the session's own context manager: it closes in a task of its own,
                # and waiting for that hands the loop to every other ready task while we
                # hold SQLite's turn. Under load the turn then passed more slowly than
                # updates came, and the queue grew (decision 46). On SQLite, with our
                # inline connection, closing never waits, so nothing can interrupt it.
                await session.close()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def insert_ignoring_duplicates(session: AsyncSession, model: type[SQLModel]) -> Any:
    """An INSERT … ON CONFLICT DO NOTHING into the model's table, for the session's dialect;
    execute it with the row(s) as parameters."""
    return _insert_ignoring(session.get_bind().dialect.name, model)


@cache
def _insert_ignoring(dialect: str, model: type[SQLModel]) -> Any:
    # Built once: constructing a statement costs more than executing it on SQLite.
    table = model.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
