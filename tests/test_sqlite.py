"""How we use SQLite: statements run on the event loop's thread (decision 41)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bot.store.db import Database


async def test_sqlite_statements_run_on_the_event_loop_thread(tmp_path: Path) -> None:
    """No worker-thread round trip per call: the one design choice that halves an update's
    time on SQLite. If aiosqlite changes under us, this says so instead of a slow benchmark."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'threads.db'}")

    @event.listens_for(db.engine.sync_engine, "connect")
    def _add_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("executing_thread", 0, threading.get_ident)

    try:
        async with db.session() as session:
            executed_on = (await session.exec(text("SELECT executing_thread()"))).scalar_one()
            await session.commit()
    finally:
        await db.dispose()
    assert executed_on == threading.get_ident()
