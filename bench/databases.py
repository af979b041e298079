"""A database of a benchmark run's own."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store.db import create_engine


async def fresh_database(
    url: str, *, prefix: str = "debrief_bench"
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """PostgreSQL: a database of the run's own and the function that drops it afterwards.
    SQLite: the URL as given, and nothing to drop."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":

        async def nothing() -> None:
            return None

        return url, nothing
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))

    async def drop() -> None:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return parsed.set(database=name).render_as_string(hide_password=False), drop
