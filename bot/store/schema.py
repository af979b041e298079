"""Schema versions: upgrade to the newest migration, or tell whether the schema is current."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.store.db import Database, DatabaseUnavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATE_COMMAND = "python -m bot migrate"


class SchemaOutdated(Exception):
    """The database schema is behind the code's migrations."""


def alembic_config(url: str) -> Config:
    """An Alembic config for our migrations folder, without an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest migration in the code."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(db: Database) -> str | None:
    """The migration the database is at, or None for an empty database."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with _reaching(db), db.engine.connect() as connection:
        return await connection.run_sync(read)


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply every pending migration."""
    config = alembic_config(db.url)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with _reaching(db), db.engine.begin() as connection:
            await connection.run_sync(run)
    except CommandError as exc:  # e.g. a revision only a newer version knows
        raise SchemaOutdated(f"cannot upgrade the database schema: {exc}") from exc


@asynccontextmanager
async def _reaching(db: Database) -> AsyncIterator[None]:
    """The first contact with the database at start-up: its failures become one line."""
    try:
        yield
    except (OSError, SQLAlchemyError) as exc:
        raise DatabaseUnavailable.of(db.url, exc) from exc


def known_revision(revision: str) -> bool:
    """Whether our migrations include this revision."""
    try:
        return ScriptDirectory.from_config(alembic_config("")).get_revision(revision) is not None
    except CommandError:
        return False


async def ensure_current(db: Database, *, auto_migrate: bool) -> None:
    """Upgrade (when allowed) or raise SchemaOutdated naming the command to run."""
    current = await current_revision(db)
    if current == head_revision():
        return
    if current is not None and not known_revision(current):
        raise SchemaOutdated(
            f"the database schema is at revision {current!r}, which this version does not "
            "know (did a newer version upgrade it?); run that version, or restore a backup."
        )
    if auto_migrate:
        await upgrade(db)
        return
    raise SchemaOutdated(
        f"the database schema is not at the newest version ({head_revision()}); "
        f"run `{MIGRATE_COMMAND}` first (or set AUTO_MIGRATE=true)."
    )
