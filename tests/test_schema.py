"""Migrations are the schema: they match the models, and an old schema is refused."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401  (registers the tables)
from bot.store.db import Database
from bot.store.schema import SchemaOutdated, current_revision, ensure_current, head_revision
from tests.conftest import TOKEN


async def test_the_migrations_create_exactly_the_models(db: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with db.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    assert await current_revision(db) == head_revision()


async def test_an_empty_database_is_refused_without_auto_migrate(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        try:
            await ensure_current(db, auto_migrate=False)
        except SchemaOutdated as exc:
            assert "python -m bot migrate" in str(exc)
        else:
            raise AssertionError("an empty database was accepted")
        await ensure_current(db, auto_migrate=True)
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()


async def test_the_bot_refuses_to_start_on_an_outdated_schema(
    tmp_path: Path, database_url: str, db: Database
) -> None:
    async with db.engine.begin() as connection:  # as if made before migrations were recorded
        await connection.execute(text("DELETE FROM alembic_version"))
    result = await bot_command("run", tmp_path, database_url, auto_migrate="false")
    assert result.returncode == 3, result.stderr
    assert "run `python -m bot migrate`" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("auto_migrate", ["true", "false"])
async def test_a_schema_only_a_newer_version_knows_is_refused_in_one_line(
    tmp_path: Path, database_url: str, db: Database, auto_migrate: str
) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'from_2030'"))
    for command in ("run", "migrate"):
        result = await bot_command(command, tmp_path, database_url, auto_migrate=auto_migrate)
        assert result.returncode == 3, result.stderr
        assert "from_2030" in result.stderr and "Traceback" not in result.stderr


async def bot_command(
    command: str, workdir: Path, database_url: str, *, auto_migrate: str
) -> subprocess.CompletedProcess[str]:
    """`python -m bot <command>` on the test database; Telegram is never reached."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DATABASE_URL": database_url,
        "AUTO_MIGRATE": auto_migrate,
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", command],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
