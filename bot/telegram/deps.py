"""What handlers need, kept in `bot_data` by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from telegram.ext import ContextTypes

from bot.services.resources import Resources
from bot.store.db import Database

_KEY = "debrief.deps"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class Deps:
    """The database, the loaded prompts, and the clock."""

    db: Database
    res: Resources
    clock: Callable[[], datetime] = utc_now
    # Update id -> what its handler raised; the poller reads and clears it.
    failed_updates: dict[int, BaseException] = field(default_factory=dict)
    # Called after a step committed: messages for other people may be waiting in the outbox.
    wake_sender: Callable[[], None] = lambda: None
    # Called after a step queued a rewrite job: the rewriter may take it now.
    wake_rewriter: Callable[[], None] = lambda: None


def install(bot_data: dict[object, object], deps: Deps) -> None:
    """Make deps reachable from every handler's context."""
    bot_data[_KEY] = deps


def deps_in(bot_data: dict[object, object]) -> Deps:
    """The deps installed in an application's bot_data."""
    deps = bot_data[_KEY]
    assert isinstance(deps, Deps)
    return deps


def deps_of(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    """The deps of the application that runs a handler."""
    return deps_in(context.bot_data)
