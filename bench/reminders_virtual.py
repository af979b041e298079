"""Punctuality of a burst of reminders planned for one moment, in virtual time.

Setup, not measured: a fresh database (SQLite in a temporary directory, or a PostgreSQL
database of the run's own with --database), migrated, then filled in bulk: a team (Asia/
Shanghai, statutory days off) of --members registered members, an open annual cycle due at
--at (local) on Thursday 2026-03-19 with the one offset "1d", and for each member the BEFORE
reminder that offset gives: planned at --at on Wednesday 2026-03-18, with the `not_before`
of `plan_reminders` (the later of three hours before and that morning's 08:00). The default
18:00 is a deadline's default time of day, which a day offset keeps: three hours of sending
ahead, room for 270,000 sends at 25/s. Quiet hours bound it: for 09:00 sending may start
only at 08:00, and one hour holds 90,000 at 25/s, so with 100,000 members the last tenth
is late whatever the dispatcher does (`--at 09:00` shows it; decision 84).

Measured: the real `ReminderDispatcher.run` (planning rate from the limiter, as shipped) on
the real application (`build_application(..., rate_limit=True)`: the real
`DebriefRateLimiter`, 25 background sends a second) and a fake transport that answers at
once and records, for each sendMessage, the loop's time; all of it on an event loop whose
time is virtual (looptime): a wait for the limiter or a pause takes no real time. The
dispatcher's wall clock (`deps.clock`) is derived from the loop's: start + (loop.time() -
t0), so the dispatcher and the limiter read the same time. The simulation starts ten
minutes before the rows' `not_before` and ends once every reminder has been sent.

Printed: reminders sent (by the transport, and rows in state sent), when sending began and
ended against the planned moment, lateness (sent - planned; target: none late) and
earliness (planned - sent: percentiles and max; target: max <= what the queue needs at
the planning rate, --members / rate, plus a minute), the rate achieved, the busiest
second and how many sends had more than 30 (Telegram's limit for a bot) in the second up
to them, sends per ten minutes, the checks that the virtual time is honest (below), and
the wall time (with the real time spent in database sessions).

Virtual time and real I/O. looptime moves the loop's time only in its select: with a
handle ready (select timeout 0) it never moves; with a `run_in_executor` future pending it
moves in steps along real time; with nothing scheduled at all it waits for I/O (idle_step /
idle_timeout); otherwise, after `noop_cycles` (42) polls that found no I/O, it jumps
straight to the next timer. A query in flight is invisible to it: asyncpg's answer is
awaited on a socket, aiosqlite opens a connection in its own thread and wakes the loop with
call_soon_threadsafe. With any timer pending (a limiter's wake-up, the dispatcher's pause,
asyncpg's connect timeout) the loop would jump to it after ~42 polls, about 0.1 ms of real
time, while the query takes longer: the time a row is claimed or settled at, and the
moment the next send may go, would be off. Raising noop_cycles only delays the jump by a
number of polls (no guarantee, and every legitimate jump pays it); the executor branch sees
only run_in_executor and counts the wait in real time rather than none; idle handling
applies only when no timer is pending. So this bench freezes the time instead: every
`deps.db.session()` (and the setup) runs inside `Freeze.held()`, which keeps a callback
re-scheduled with call_soon for as long as a session is open. The loop then always has a
ready handle, selects with timeout 0 (polling the I/O, so the answer is taken as soon as it
comes) and looptime never advances the time; the cost is a core spinning while PostgreSQL
answers. (On SQLite the bot runs statements inline on the loop's thread,
bot.store.db._InlineSqliteConnection, so only the connection's opening needs it.) The run
checks itself: the virtual time that passed inside database sessions must be 0 (printed),
and calls to run_in_executor outside them are counted (must be 0); `idle_timeout` turns a
loop left with nothing scheduled (which would wait on real I/O) into an IdleTimeoutError
within seconds instead of a hang. The consequence: database and CPU work take no virtual
time, so the figures are those of the scheduling (send-ahead and limiter) with instant
processing; whether the real processing keeps up is the wall time per reminder against
the 1/rate a reminder may take (printed).

One more artefact of virtual time is corrected: a timer asked for at the current time goes
one tick (1 µs) later (`nudge_due_timers`), as real time would have moved meanwhile;
without it aiolimiter's float rounding can re-arm the same timer at the same instant for
ever.

    .venv/bin/python -m bench.reminders_virtual             # 100,000 members, SQLite, 3-5 min
    .venv/bin/python -m bench.reminders_virtual --members 10000 --at 10:00
    .venv/bin/python -m bench.reminders_virtual --members 10000 \
        --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import looptime  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from telegram.request import RequestData  # noqa: E402

from bench.databases import fresh_database  # noqa: E402
from bench.transport import BenchRequest  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.cycles.calendar import DaysOff, plan_reminders  # noqa: E402
from bot.cycles.when import Offset  # noqa: E402
from bot.store import reminders as store  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.models import (  # noqa: E402
    Cadre,
    Cycle,
    CycleStatus,
    Membership,
    Reminder,
    ReminderKind,
    Role,
    Team,
)
from bot.store.schema import upgrade  # noqa: E402
from bot.telegram.app import build_application, deps_of_app  # noqa: E402
from bot.telegram.limiter import DebriefRateLimiter  # noqa: E402
from bot.telegram.reminder_dispatcher import RATE_MARGIN, ReminderDispatcher  # noqa: E402

TOKEN = "123456:BENCH-token_abcdefghijklmnopqrstuvwxyz012"
ZONE = ZoneInfo("Asia/Shanghai")
PLANNED_DAY = date(2026, 3, 18)  # a Wednesday, a working day; the deadline is the next day
OFFSET = Offset(days=1)
TEAM_NAME = "提醒准点测试组"
FIRST_CHAT = 3_000_000  # members' Telegram user and chat ids from here
LEAD_IN = timedelta(minutes=10)  # the simulation starts this long before not_before
TELEGRAM_RATE = 30  # messages a second Telegram lets a bot send in all
TICK = 1e-6  # looptime's resolution
IDLE_TIMEOUT = 5.0  # seconds of a loop with nothing scheduled before it gives up
CHUNK = 10_000  # rows per bulk insert


def say(line: str) -> None:
    """Progress, on stderr."""
    print(line, file=sys.stderr, flush=True)


# --- virtual time ----------------------------------------------------------------------


@dataclass
class Freeze:
    """Keeps the loop's virtual time still while database work is in flight, and accounts
    for it: a callback kept ready means looptime is asked to poll, never to sleep."""

    loop: asyncio.AbstractEventLoop
    depth: int = 0
    sessions: int = 0
    virtual: float = 0.0  # loop time that passed inside sessions: must stay 0
    real: float = 0.0  # real time spent inside sessions
    executor_calls: int = 0  # run_in_executor outside sessions (looptime would step)
    _spinning: bool = False

    def _spin(self) -> None:
        if self.depth:
            self.loop.call_soon(self._spin)
        else:
            self._spinning = False

    @contextlib.contextmanager
    def held(self, *, counted: bool = False) -> Iterator[None]:
        """Time stands still inside; a session's time is `counted` in the figures."""
        self.depth += 1
        if not self._spinning:
            self._spinning = True
            self.loop.call_soon(self._spin)
        began, real = self.loop.time(), time.perf_counter()
        try:
            yield
        finally:
            if counted:
                self.sessions += 1
                self.virtual += self.loop.time() - began
                self.real += time.perf_counter() - real
            self.depth -= 1

    def wrap(self, db: Database) -> None:
        """Every session of `db` held."""
        opened = db.session

        @contextlib.asynccontextmanager
        async def session() -> AsyncIterator[Any]:
            with self.held(counted=True):
                async with opened() as inner:
                    yield inner

        db.session = session  # type: ignore[method-assign]

    def count_executors(self) -> None:
        """Count run_in_executor calls made while no session is held."""
        original = self.loop.run_in_executor

        def counted(executor: Any, func: Callable[..., Any], *args: Any) -> Any:
            if not self.depth:
                self.executor_calls += 1
            return original(executor, func, *args)

        self.loop.run_in_executor = counted  # type: ignore[method-assign,assignment]


def nudge_due_timers(loop: asyncio.AbstractEventLoop) -> None:
    """A timer asked for at (or before) the loop's current time goes one tick later.

    Real time always moves between two calls; virtual time stands still until the loop has
    nothing ready. aiolimiter computes a waiter's wake-up as `last_check + needed / rate`,
    and its float arithmetic can leave `needed` at ~1e-14 of capacity: below the float's
    resolution at the loop's time, the timer lands exactly on the current time, runs at
    once, finds the same shortfall and sets the same timer, for ever (observed: the run
    stood still at the first moment the background budget was spent)."""
    schedule = loop.call_at

    def call_at(when: float, callback: Any, *args: Any, context: Any = None) -> Any:
        now = loop.time()
        if when < now + TICK / 2:
            when = now + TICK
        return schedule(when, callback, *args, context=context)

    loop.call_at = call_at  # type: ignore[method-assign,assignment]


class Recorder(BenchRequest):
    """The lean fake transport, answering at once; notes the loop time and chat of every
    sendMessage, and says when `expected` have been sent."""

    def __init__(self, expected: int) -> None:
        super().__init__(keep_buttons=False)
        self.expected = expected
        self.sends: list[tuple[float, int]] = []
        self.all_sent = asyncio.Event()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if url.endswith("/sendMessage") and request_data is not None:
            chat = int(str(request_data.parameters["chat_id"]))
            self.sends.append((asyncio.get_running_loop().time(), chat))
            if len(self.sends) >= self.expected:
                self.all_sent.set()
        return await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )


class Problems(logging.Handler):
    """Counts warnings and errors the bot logs (they are printed too)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


# --- setup -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The one moment every reminder is planned for, as the calendar plans it."""

    deadline: datetime
    planned_at: datetime
    not_before: datetime


def plan(at: wall_time) -> Plan:
    """The reminder of the offset "1d" before a deadline at `at` on the day after
    PLANNED_DAY, as plan_reminders gives it."""
    deadline = datetime.combine(PLANNED_DAY + timedelta(days=1), at, tzinfo=ZONE).astimezone(UTC)
    planned = plan_reminders(
        deadline=deadline,
        offsets=[OFFSET],
        zone=ZONE,
        days_off=DaysOff.STATUTORY,
        now=deadline - timedelta(days=2),
    )
    if len(planned) != 1:
        raise SystemExit(f"the calendar planned {len(planned)} reminders for {at}")
    (only,) = planned
    return Plan(deadline, only.planned_at, only.not_before)


async def seed(db: Database, members: int, when: Plan) -> dict[int, int]:
    """A team of `members` members, an open cycle, one BEFORE reminder each. Returns
    chat id -> cadre id."""
    now = when.deadline - timedelta(days=7)
    async with db.engine.begin() as conn:
        team_id = (
            await conn.execute(
                insert(Team).returning(Team.__table__.c.id),  # type: ignore[attr-defined]
                [
                    Team(
                        name=TEAM_NAME, timezone=ZONE.key, created_at=now, updated_at=now
                    ).model_dump(exclude={"id"})
                ],
            )
        ).scalar_one()
        template = Cadre(
            telegram_user_id=0,
            chat_id=0,
            name="",
            registered=True,
            language="zh",
            created_at=now,
            updated_at=now,
        ).model_dump(exclude={"id"})
        for start in range(0, members, CHUNK):
            await conn.execute(
                insert(Cadre),
                [
                    {
                        **template,
                        "telegram_user_id": FIRST_CHAT + n,
                        "chat_id": FIRST_CHAT + n,
                        "name": f"成员{n}",
                    }
                    for n in range(start, min(members, start + CHUNK))
                ],
            )
        t = Cadre.__table__  # type: ignore[attr-defined]
        chats = {
            int(chat_id): int(cadre_id)
            for cadre_id, chat_id in (await conn.execute(select(t.c.id, t.c.chat_id))).all()
        }
        membership = Membership(
            team_id=team_id, cadre_id=0, role=Role.MEMBER, joined_at=now
        ).model_dump(exclude={"id"})
        ids = list(chats.values())
        for start in range(0, len(ids), CHUNK):
            await conn.execute(
                insert(Membership),
                [{**membership, "cadre_id": cadre_id} for cadre_id in ids[start : start + CHUNK]],
            )
        cycle_id = (
            await conn.execute(
                insert(Cycle).returning(Cycle.__table__.c.id),  # type: ignore[attr-defined]
                [
                    Cycle(
                        team_id=team_id,
                        report_type="annual",
                        period="2026",
                        title="2026 年度述职",
                        deadline_at=when.deadline,
                        offsets=[OFFSET.label],
                        status=CycleStatus.OPEN,
                        opened_at=now,
                        created_at=now,
                        updated_at=now,
                    ).model_dump(exclude={"id"})
                ],
            )
        ).scalar_one()
    for start in range(0, len(ids), CHUNK):
        async with db.session() as session:
            await store.add(
                session,
                [
                    store.Planned(
                        cycle_id,
                        cadre_id,
                        ReminderKind.BEFORE,
                        OFFSET.label,
                        when.planned_at,
                        when.not_before,
                    )
                    for cadre_id in ids[start : start + CHUNK]
                ],
            )
            await session.commit()
    return chats


async def states(db: Database) -> dict[str, int]:
    """Reminder rows per state."""
    t = Reminder.__table__  # type: ignore[attr-defined]
    async with db.session() as session:
        rows = (
            await (await session.connection()).execute(
                select(t.c.state, func.count()).group_by(t.c.state)
            )
        ).all()
    return {str(state): int(count) for state, count in rows}


# --- the run ---------------------------------------------------------------------------


@dataclass
class Outcome:
    members: int
    database: str
    when: Plan
    start: datetime
    t0: float
    rate: float  # the dispatcher's planning rate at the start
    background: float  # the limiter's background rate left at the start
    sends: list[tuple[float, int]]
    states: dict[str, int]
    freeze: Freeze
    problems: int
    seed_seconds: float
    run_seconds: float


async def run(members: int, database: str | None, at: wall_time) -> Outcome:
    loop = asyncio.get_running_loop()
    freeze = Freeze(loop)
    freeze.count_executors()
    nudge_due_timers(loop)
    problems = Problems()
    logging.getLogger("bot").addHandler(problems)
    when = plan(at)
    with tempfile.TemporaryDirectory(prefix="reminders-virtual-") as tmp:
        began = time.perf_counter()
        with freeze.held():
            url, drop = await fresh_database(
                database or f"sqlite+aiosqlite:///{tmp}/bench.db", prefix="debrief_bench"
            )
        try:
            with freeze.held():
                db = Database(url)
                await upgrade(db)
                chats = await seed(db, members, when)
                await db.dispose()
            if len(chats) != members:
                raise SystemExit(f"seeded {len(chats)} members, not {members}")
            seed_seconds = time.perf_counter() - began
            say(f"seeded {members:,} members and reminders in {seed_seconds:.1f} s")
            start = when.not_before - LEAD_IN
            t0 = loop.time()

            def clock() -> datetime:
                return start + timedelta(seconds=loop.time() - t0)

            settings = Settings(
                _env_file=None,
                telegram_bot_token=TOKEN,
                database_url=url,
                data_dir=Path(tmp),
            )
            transport = Recorder(members)
            app = build_application(settings, request=transport, clock=clock, rate_limit=True)
            deps = deps_of_app(app)
            freeze.wrap(deps.db)
            began = time.perf_counter()
            try:
                async with app:
                    dispatcher = ReminderDispatcher(app.bot, deps)
                    limiter = app.bot.rate_limiter
                    assert isinstance(limiter, DebriefRateLimiter)
                    background = limiter.background_rate_left()
                    rate = dispatcher.planning_rate()
                    stop, owner = asyncio.Event(), asyncio.Event()
                    owner.set()
                    task = asyncio.create_task(dispatcher.run(stop, owner))
                    # Long enough for anything but a stuck dispatcher: the planned moment,
                    # then as long again as the queue needs at one send a second.
                    limit = when.planned_at - start + timedelta(seconds=members)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(transport.all_sent.wait(), limit.total_seconds())
                    stop.set()
                    await task  # it settles the batch in hand, then stops
                    counted = await states(deps.db)
            finally:
                with freeze.held():
                    await deps.db.dispose()
            run_seconds = time.perf_counter() - began
        finally:
            with freeze.held():
                await drop()
    logging.getLogger("bot").removeHandler(problems)
    return Outcome(
        members=members,
        database="SQLite (a temporary file)" if database is None else "PostgreSQL",
        when=when,
        start=start,
        t0=t0,
        rate=rate,
        background=background,
        sends=transport.sends,
        states=counted,
        freeze=freeze,
        problems=problems.count,
        seed_seconds=seed_seconds,
        run_seconds=run_seconds,
    )


# --- the report ------------------------------------------------------------------------


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def span(seconds: float) -> str:
    """Seconds as "123.4 s (2.1 min)" when over a minute."""
    if abs(seconds) < 60:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def local(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%H:%M:%S")


def busiest_second(times: list[float]) -> tuple[int, int]:
    """The most sends in any one-second window, and how many sends found more than
    TELEGRAM_RATE in the second up to and including them."""
    most = over = first = 0
    for last, at in enumerate(times):
        while times[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
        over += last - first + 1 > TELEGRAM_RATE
    return most, over


def report(o: Outcome) -> None:
    when = o.when
    planned = when.planned_at
    window = (planned - when.not_before).total_seconds()
    need = o.members / o.rate
    times = sorted(at for at, _ in o.sends)
    sent = [o.start + timedelta(seconds=at - o.t0) for at in times]
    late = sorted((s - planned).total_seconds() for s in sent if s > planned)
    early = sorted((planned - s).total_seconds() for s in sent)
    twice = sum(n - 1 for n in Counter(chat for _, chat in o.sends).values() if n > 1)
    print(
        f"members: {o.members:,}, one BEFORE reminder each (offset {OFFSET.label}), planned "
        f"{PLANNED_DAY} {local(planned)} {ZONE.key}; not_before {local(when.not_before)} "
        f"(sending ahead allowed for {span(window)}); database: {o.database}"
    )
    print(
        f"planning rate: {o.rate:.1f}/s (the limiter's background rate left, "
        f"{o.background:.1f}/s, x {RATE_MARGIN}): the queue needs {span(need)} at it, "
        f"{span(o.members / o.background)} at {o.background:.0f}/s"
    )
    rows = ", ".join(f"{state} {n:,}" for state, n in sorted(o.states.items()))
    print(f"sent: {len(sent):,} of {o.members:,} (twice: {twice}); rows: {rows}")
    if not sent:
        return
    first, last = sent[0], sent[-1]
    print(
        f"sending began {local(first)} ({span((planned - first).total_seconds())} before the "
        f"planned time), ended {local(last)} "
        f"({span(abs((last - planned).total_seconds()))} "
        f"{'after' if last > planned else 'before'} it)"
    )
    elapsed = times[-1] - times[0]
    achieved = (len(times) - 1) / elapsed if elapsed > 0 else float("nan")
    most, over = busiest_second(times)
    print(
        f"rate achieved: {achieved:.2f}/s over {span(elapsed)}; busiest second: {most} "
        f"sends; sends with more than {TELEGRAM_RATE} in the second before them: {over:,}"
    )
    verdict = "ok" if not late else "MISSED"
    print(f"late: {len(late):,} ({100 * len(late) / len(sent):.1f}%)  [target: none; {verdict}]")
    if late:
        print(
            f"  lateness of the late: p50 {span(percentile(late, 50))}, p90 "
            f"{span(percentile(late, 90))}, p99 {span(percentile(late, 99))}, max "
            f"{span(late[-1])}"
        )
        bands = [(1, "<= 1 s"), (10, "1-10 s"), (60, "10-60 s"), (300, "1-5 min")]
        counts, lower = [], 0.0
        for upper, name in bands:
            counts.append(f"{name}: {sum(lower < x <= upper for x in late):,}")
            lower = upper
        counts.append(f"> 5 min: {sum(x > 300 for x in late):,}")
        print("  " + "; ".join(counts))
    bound = need + 60
    verdict = "ok" if early[-1] <= bound else "MISSED"
    print(
        f"earliness: p50 {span(percentile(early, 50))}, p90 {span(percentile(early, 90))}, "
        f"p99 {span(percentile(early, 99))}, max {span(early[-1])}  "
        f"[target: max <= {span(bound)}; {verdict}]"
    )
    per_ten: Counter[int] = Counter(int((at - times[0]) // 600) for at in times)
    print(
        f"sends per 10 min from {local(first)}: "
        + ", ".join(f"{per_ten[k]:,}" for k in range(max(per_ten) + 1))
    )
    f = o.freeze
    honest = f.virtual == 0 and f.executor_calls == 0
    print(
        f"virtual time: {f.sessions:,} database sessions, {f.virtual:.6f} s of virtual time "
        f"inside them; run_in_executor outside them: {f.executor_calls}; bot warnings and "
        f"errors logged: {o.problems}  [{'honest' if honest else 'NOT HONEST'}]"
    )
    print(
        f"wall: seeding {o.seed_seconds:.1f} s; the run {o.run_seconds:.1f} s for "
        f"{span(times[-1] - o.t0)} of virtual time, {1000 * o.run_seconds / len(sent):.2f} ms "
        f"a reminder (the rate allows {1000 / o.rate:.0f} ms), of which database sessions "
        f"{f.real:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--at", default="18:00", help="local time (HH:MM) the reminders are planned for"
    )
    args = parser.parse_args()
    at = wall_time.fromisoformat(args.at)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    def virtual_loop() -> asyncio.AbstractEventLoop:
        return looptime.new_event_loop(start=0.0, idle_timeout=IDLE_TIMEOUT)

    with asyncio.Runner(loop_factory=virtual_loop) as runner:
        outcome = runner.run(run(args.members, args.database, at))
    report(outcome)


if __name__ == "__main__":
    main()
