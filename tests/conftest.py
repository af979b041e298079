"""Fixtures: a real database (SQLite file per test, or one PostgreSQL database per run when
TEST_DATABASE_URL is set), a fake Telegram at the request layer, and a settable clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.store.db import Database, create_engine
from bot.store.schema import head_revision, upgrade
from tests.fakes.bot_api import FakeBotApi
from tests.utils.clock import FakeClock
from tests.utils.telegram import FakeTelegram

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz0123"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _create_pg_database(base_url: str) -> str:
    """A fresh database on the server of base_url, migrated to the newest schema."""
    name = f"debrief_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        admin = create_engine(base_url)
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        db = Database(make_url(base_url).set(database=name).render_as_string(False))
        await upgrade(db)
        await db.dispose()

    asyncio.run(create())
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(base_url: str, url: str) -> None:
    async def drop() -> None:
        admin = create_engine(base_url)
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(
                text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
            )
        await admin.dispose()

    asyncio.run(drop())


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """One migrated PostgreSQL database for the run, or None when testing on SQLite."""
    if not PG_URL:
        yield None
        return
    url = _create_pg_database(PG_URL)
    yield url
    _drop_pg_database(PG_URL, url)


_TABLES = (
    "reminder",
    "cycle_exemption",
    "cycle",
    "outbox",
    "comment_prompt",
    "review_decision",
    "submission_version",
    "submission",
    "invite",
    "membership",
    "team",
    "answer",
    "draft",
    "interview",
    "cadre",
    "processed_update",
    "inbox_update",
    "bot_identity",
)


@pytest.fixture
async def database_url(pg_database: str | None, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database for one test."""
    if pg_database is None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'debrief.db'}"
        db = Database(url)
        await upgrade(db)
        await db.dispose()
        yield url
        return
    db = Database(pg_database)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE"))
        # A test may have moved the schema's recorded version; every test starts at head.
        await conn.execute(text("DELETE FROM alembic_version"))
        await conn.execute(
            text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
            {"head": head_revision()},
        )
    await db.dispose()
    yield pg_database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A Database on the test's database, for looking at what the bot stored."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test: no .env, our token, the test database."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        database_url=database_url,
        data_dir=tmp_path,
        default_language="zh",
        auto_migrate=False,
    )


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand."""
    return FakeClock()


@pytest.fixture
def api() -> FakeBotApi:
    """The fake Bot API that records what the bot sends."""
    return FakeBotApi()


@pytest.fixture
async def tg(settings: Settings, api: FakeBotApi, clock: FakeClock) -> AsyncIterator[FakeTelegram]:
    """A real Application wired by build_application, talking to the fake Bot API."""
    async with FakeTelegram.running(settings, api, clock) as telegram:
        yield telegram
