"""Reminder rows: planned, claimed by one dispatcher at a time, settled.

A dispatcher claims due rows in one short transaction (`state` → sending, with a lease
until `claimed_until`), sends them outside any transaction, and settles them in another.
On PostgreSQL the claim skips rows another dispatcher holds (`FOR UPDATE SKIP LOCKED`), so
two dispatchers never claim one row; SQLite serialises writers, so its claims are disjoint
too. A dispatcher that dies between sending and settling leaves its rows claimed: once the
lease has run out another claims them again, which sends at most what it had in flight a
second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlmodel import col
from sqlmodel import select as select_rows
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import (
    Cycle,
    CycleStatus,
    Reminder,
    ReminderKind,
    ReminderState,
)

LEASE = timedelta(minutes=10)  # how long a claim holds before another may take the row

_T = Reminder.__table__  # type: ignore[attr-defined]
# Rows still to send, written as literals: SQLite uses the partial indexes only when the
# condition matches theirs as written (bound parameters would not).
_ACTIVE = text("reminder.state IN ('pending', 'sending')")


@dataclass(frozen=True)
class Planned:
    """A row to add: whom, what, when."""

    cycle_id: int
    recipient_id: int
    kind: ReminderKind
    label: str
    planned_at: datetime
    not_before: datetime
    silent: bool = False


@dataclass(frozen=True)
class Claimed:
    """A claimed row, as the dispatcher needs it."""

    id: int
    cycle_id: int
    recipient_id: int
    kind: str
    label: str
    planned_at: datetime
    silent: bool
    attempts: int  # including this claim
    error: str | None


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed row: its new state, and for a retry when and why."""

    id: int
    state: ReminderState
    not_before: datetime | None = None
    error: str | None = None
    sent_at: datetime | None = None


async def add(session: AsyncSession, rows: Iterable[Planned]) -> int:
    """Insert rows in the caller's transaction (one statement, however many)."""
    values = [
        {
            "cycle_id": r.cycle_id,
            "recipient_id": r.recipient_id,
            "kind": r.kind.value,
            "label": r.label,
            "planned_at": r.planned_at,
            "not_before": r.not_before,
            "silent": r.silent,
            "state": ReminderState.PENDING.value,
            "attempts": 0,
        }
        for r in rows
    ]
    if values:
        await (await session.connection()).execute(insert(Reminder), values)
    return len(values)


async def claim(
    session: AsyncSession, *, now: datetime, ahead_until: datetime, limit: int
) -> list[Claimed]:
    """Claim up to `limit` rows and commit: pending ones whose `not_before` has come and
    whose planned time is no later than `ahead_until` (a dispatcher sending ahead passes a
    later moment than `now`), and claimed ones whose lease ran out. Earliest planned first."""
    due = (
        select(col(Reminder.id))
        .where(
            or_(
                and_(
                    col(Reminder.state) == ReminderState.PENDING,
                    col(Reminder.not_before) <= now,
                    col(Reminder.planned_at) <= ahead_until,
                ),
                and_(
                    col(Reminder.state) == ReminderState.SENDING,
                    col(Reminder.claimed_until) < now,
                ),
            ),
            # Lets the planner use the partial index of rows still to send.
            _ACTIVE,
        )
        .order_by(col(Reminder.planned_at), col(Reminder.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Reminder)
        .where(col(Reminder.id).in_(due.scalar_subquery()))
        .values(
            state=ReminderState.SENDING,
            claimed_until=now + LEASE,
            attempts=col(Reminder.attempts) + 1,
        )
        .returning(
            _T.c.id,
            _T.c.cycle_id,
            _T.c.recipient_id,
            _T.c.kind,
            _T.c.label,
            _T.c.planned_at,
            _T.c.silent,
            _T.c.attempts,
            _T.c.error,
        )
    )
    rows = (await (await session.connection()).execute(statement)).all()
    await session.commit()
    claimed = [Claimed(*row) for row in rows]
    claimed.sort(key=lambda c: (c.planned_at, c.id))
    return claimed


async def settle(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Write the outcomes of claimed rows (one statement per kind of outcome); the caller
    commits. A row goes back to pending with its new `not_before` when it is to be tried
    again."""
    retry = [o for o in outcomes if o.state is ReminderState.PENDING]
    final = [o for o in outcomes if o.state is not ReminderState.PENDING]
    if final:
        await (await session.connection()).execute(
            update(_T)
            .where(_T.c.id == bindparam("rid"))
            .values(
                state=bindparam("new_state"),
                sent_at=bindparam("new_sent_at"),
                error=bindparam("new_error"),
                claimed_until=None,
            ),
            [
                {
                    "rid": o.id,
                    "new_state": o.state.value,
                    "new_sent_at": o.sent_at,
                    "new_error": (o.error or None) and o.error[:200],
                }
                for o in final
            ],
        )
    if retry:
        await (await session.connection()).execute(
            update(_T)
            .where(_T.c.id == bindparam("rid"))
            .values(
                state=ReminderState.PENDING.value,
                not_before=bindparam("new_not_before"),
                error=bindparam("new_error"),
                claimed_until=None,
            ),
            [
                {
                    "rid": o.id,
                    "new_not_before": o.not_before,
                    "new_error": (o.error or "")[:200],
                }
                for o in retry
            ],
        )


@dataclass(frozen=True)
class Queue:
    """What waits to be sent ahead: (planned time, rows planned then), earliest first."""

    slots: tuple[tuple[datetime, int], ...]

    def next_start(self, rate: float, now: datetime) -> datetime | None:
        """The next moment after `now` at which a slot must start being sent."""
        total = 0
        found: datetime | None = None
        for planned_at, count in self.slots:
            total += count
            must = planned_at - timedelta(seconds=total / rate)
            if must > now and (found is None or must < found):
                found = must
        return found

    def send_until(self, rate: float, now: datetime) -> datetime:
        """Rows planned up to the moment returned are to be sent now: those already due,
        and those that sending in planned order at `rate` a second would otherwise deliver
        after their planned time (a slot is due to start once any slot at or after it is)."""
        until = now
        total = 0
        for planned_at, count in self.slots:
            total += count
            if planned_at - timedelta(seconds=total / rate) <= now:
                until = max(until, planned_at)
        return until


async def queue(session: AsyncSession, *, until: datetime) -> Queue:
    """Rows still to send planned no later than `until`, counted per planned moment."""
    statement = (
        select(_T.c.planned_at, func.count())
        .where(
            _ACTIVE,
            _T.c.planned_at <= until,
        )
        .group_by(_T.c.planned_at)
        .order_by(_T.c.planned_at)
    )
    rows = (await (await session.connection()).execute(statement)).all()
    return Queue(tuple((planned_at, int(count)) for planned_at, count in rows))


async def next_moment(session: AsyncSession, *, after: datetime) -> datetime | None:
    """The earliest `not_before` after `after` of a row still to send (one put off to the
    morning, or to be tried again): when a row held back may next be claimed."""
    statement = select(func.min(_T.c.not_before)).where(
        text("reminder.state = 'pending'"), _T.c.not_before > after
    )
    return (await (await session.connection()).execute(statement)).scalar_one_or_none()


async def later_due(
    session: AsyncSession, *, pairs: Iterable[tuple[int, int]], now: datetime
) -> dict[tuple[int, int], datetime]:
    """For (cycle, person) pairs: the latest planned time of their reminders before the
    deadline that are still to send and have fallen due. A claimed reminder planned
    earlier than that is stale: the newer one says what it would have said."""
    wanted = set(pairs)
    if not wanted:
        return {}
    cycles = {cycle for cycle, _ in wanted}
    people = {person for _, person in wanted}
    statement = (
        select(_T.c.cycle_id, _T.c.recipient_id, func.max(_T.c.planned_at))
        .where(
            _ACTIVE,
            _T.c.kind == ReminderKind.BEFORE.value,
            _T.c.planned_at <= now,
            _T.c.cycle_id.in_(cycles),
            _T.c.recipient_id.in_(people),
        )
        .group_by(_T.c.cycle_id, _T.c.recipient_id)
    )
    found: dict[tuple[int, int], datetime] = {}
    for cycle_id, recipient_id, latest in (
        await (await session.connection()).execute(statement)
    ).all():
        if (cycle_id, recipient_id) in wanted:
            found[(cycle_id, recipient_id)] = latest
    return found


async def skip_pending(
    session: AsyncSession,
    *,
    cycle_id: int,
    recipient_id: int | None = None,
    kinds: Sequence[ReminderKind] | None = None,
    label: str | None = None,
    reason: str,
) -> int:
    """Rows of a cycle (of one person, of some kinds) not to be sent after all; the caller
    commits. Claimed ones are left to their dispatcher, which checks again before sending."""
    conditions: list[Any] = [
        _T.c.cycle_id == cycle_id,
        _T.c.state == ReminderState.PENDING.value,
    ]
    if recipient_id is not None:
        conditions.append(_T.c.recipient_id == recipient_id)
    if kinds is not None:
        conditions.append(_T.c.kind.in_([k.value for k in kinds]))
    if label is not None:
        conditions.append(_T.c.label == label)
    result = await (await session.connection()).execute(
        update(_T).where(*conditions).values(state=ReminderState.SKIPPED.value, error=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def forget_settled(session: AsyncSession, *, before: datetime) -> int:
    """Drop rows sent or skipped before `before`; failed and uncertain ones stay for the
    supervisors' view. The caller commits."""
    result = await (await session.connection()).execute(
        delete(_T).where(
            _T.c.state.in_([ReminderState.SENT.value, ReminderState.SKIPPED.value]),
            _T.c.planned_at < before,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def cycle_for(
    session: AsyncSession, *, team_id: int, report_type: str, period: str
) -> Cycle | None:
    """The team's cycle (open or closed) for a report type and period, if there is one."""
    statement = select_rows(Cycle).where(
        col(Cycle.team_id) == team_id,
        col(Cycle.report_type) == report_type,
        col(Cycle.period) == period,
        col(Cycle.status) != CycleStatus.DRAFT,
    )
    return (await session.exec(statement)).first()
