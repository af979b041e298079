"""How fast the reminder dispatcher gets through a burst of due reminders, by itself.

Setup, not measured: the bot's clock set to a working morning (START, then running on in
real time), a fresh database (SQLite in a temporary directory, or a PostgreSQL database of
the run's own), migrated, then filled in bulk: a team of --count registered members, an
open annual cycle due in three days, and one BEFORE reminder per member that fell due a
minute ago (one each, so none is stale).

Measured: the real application (build_application, rate limiter off) on the lean fake
transport (bench/transport.py, in this process, no HTTP); ReminderDispatcher.dispatch_once
called until it claims nothing: claim, prepare (the batch's reads, the text of each
message), send, settle. Three scenarios, each in a process of its own so that its peak
RSS is its own: SQLite, PostgreSQL, and two dispatchers on PostgreSQL (each with a
Database of its own, as two instances would have; they share the bot and the database).

Printed for each: reminders a second, wall clock, with the fake transport's own time taken
out ("own": what the bot costs; Telegram's ~25 background sends a second are what limits
a real run, not this); duplicates and misses counted per chat by the fake (both must be
0), rows not ended in state sent; peak RSS (VmHWM) and its growth over the RSS once seeded
and started. Target: >= 1,000 reminders a second.

    .venv/bin/python -m bench.reminders_dispatch                 # 10,000 reminders
    .venv/bin/python -m bench.reminders_dispatch --count 2000 --database URL
    .venv/bin/python -m bench.reminders_dispatch --profile sqlite   # where the time goes
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy import func, insert, select, text  # noqa: E402
from telegram.request import RequestData  # noqa: E402

from bench.databases import fresh_database  # noqa: E402
from bench.transport import BenchRequest  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.store import reminders as store  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.models import (  # noqa: E402
    Cadre,
    Cycle,
    CycleStatus,
    Membership,
    Reminder,
    ReminderKind,
    ReminderState,
    Role,
    Team,
)
from bot.store.schema import upgrade  # noqa: E402
from bot.telegram.app import build_application, deps_of_app, settle_memory  # noqa: E402
from bot.telegram.deps import Deps  # noqa: E402
from bot.telegram.reminder_dispatcher import CONCURRENCY, ReminderDispatcher  # noqa: E402

TOKEN = "123456:BENCH-token_abcdefghijklmnopqrstuvwxyz012"
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
FIRST_CHAT = 2_000_000  # members' Telegram user and chat ids from here
TARGET = 1_000.0  # reminders a second
SCENARIOS = ("sqlite", "postgresql", "postgresql-2")
# The bot's clock starts here, whenever the bench runs: a Wednesday, 10:00 in Asia/Shanghai
# (the team's zone). At the real time the reminders could fall in quiet hours (22:00-08:00),
# and the dispatcher would rightly hold them all back until the morning.
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def running_from(start: datetime) -> Callable[[], datetime]:
    """A clock that reads `start` now and runs on in real time."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def rss_mb(key: str = "VmRSS") -> float:
    """This process's VmRSS (or VmHWM, the peak) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class CountingRequest(BenchRequest):
    """The lean fake, also counting sendMessage per chat and the time spent in itself."""

    def __init__(self) -> None:
        super().__init__(keep_buttons=False)
        self.per_chat: Counter[int] = Counter()
        self.seconds = 0.0

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
        began = time.perf_counter()
        answer = await super().do_request(url, method, request_data)
        if url.endswith("/sendMessage") and request_data is not None:
            self.per_chat[int(str(request_data.parameters["chat_id"]))] += 1
        self.seconds += time.perf_counter() - began
        return answer


async def seed(url: str, count: int, now: datetime, *, analyze: bool = True) -> list[int]:
    """A migrated database: a team of `count` members, an open cycle, one due reminder
    each. Returns the members' chat ids."""
    db = Database(url)
    try:
        await upgrade(db)
        stamp = {"created_at": now, "updated_at": now}
        async with db.engine.begin() as conn:
            await conn.execute(insert(Team), [{"id": 1, "name": "市直机关处级干部述职", **stamp}])
            await conn.execute(
                insert(Cycle),
                [
                    {
                        "id": 1,
                        "team_id": 1,
                        "report_type": "annual",
                        "period": "2026",
                        "title": "2026 年度述职",
                        "deadline_at": now + timedelta(days=3),
                        "offsets": ["1d"],
                        "status": CycleStatus.OPEN.value,
                        "opened_at": now - timedelta(days=1),
                        "revision": 0,
                        **stamp,
                    }
                ],
            )
            for start in range(0, count, 2000):
                ids = range(start + 1, min(start + 2000, count) + 1)
                await conn.execute(
                    insert(Cadre),
                    [
                        {
                            "id": i,
                            "telegram_user_id": FIRST_CHAT + i,
                            "chat_id": FIRST_CHAT + i,
                            "name": f"成员{i}",
                            "language": "zh",
                            "registered": True,
                            **stamp,
                        }
                        for i in ids
                    ],
                )
                await conn.execute(
                    insert(Membership),
                    [
                        {"team_id": 1, "cadre_id": i, "role": Role.MEMBER.value, "joined_at": now}
                        for i in ids
                    ],
                )
        due = now - timedelta(minutes=1)
        async with db.session() as session:
            for start in range(0, count, 2000):
                await store.add(
                    session,
                    [
                        store.Planned(1, i, ReminderKind.BEFORE, "1d", due, due)
                        for i in range(start + 1, min(start + 2000, count) + 1)
                    ],
                )
            await session.commit()
        if analyze and not db.is_sqlite:
            # What autovacuum does within a minute of such a bulk load. Without statistics
            # PostgreSQL's generic plan for the batch's membership lookup filters the whole
            # team instead of using the cadre index (~10 ms a pass for 10,000 members).
            async with db.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("ANALYZE"))
        return [FIRST_CHAT + i for i in range(1, count + 1)]
    finally:
        await db.dispose()


async def drain(dispatcher: ReminderDispatcher) -> int:
    """dispatch_once until a pass claims nothing; how many rows it claimed."""
    claimed = 0
    while done := await dispatcher.dispatch_once():
        claimed += done
    return claimed


async def states(db: Database) -> dict[str, int]:
    t = Reminder.__table__  # type: ignore[attr-defined]
    async with db.session() as session:
        rows = (
            await (await session.connection()).execute(
                select(t.c.state, func.count()).group_by(t.c.state)
            )
        ).all()
    return {str(state): int(n) for state, n in rows}


async def scenario(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One scenario, start to end; its figures."""
    dispatchers = 2 if name.endswith("-2") else 1
    now = START
    with tempfile.TemporaryDirectory(prefix="reminders-") as tmp:
        base = args.database if name.startswith("postgresql") else f"sqlite:///{tmp}/bench.db"
        base = base.replace("sqlite:///", "sqlite+aiosqlite:///", 1)
        url, drop = await fresh_database(base, prefix="debrief_reminders")
        try:
            began = time.perf_counter()
            chats = await seed(url, args.count, now, analyze=not args.no_analyze)
            seeded = time.perf_counter() - began
            settings = Settings(
                _env_file=None,
                telegram_bot_token=TOKEN,
                database_url=url,
                data_dir=Path(tmp),
                default_language="zh",
            )
            transport = CountingRequest()
            app = build_application(
                settings, request=transport, rate_limit=False, clock=running_from(START)
            )
            deps = deps_of_app(app)
            others = [Database(url) for _ in range(dispatchers - 1)]
            async with app:
                team = [
                    ReminderDispatcher(app.bot, d, concurrency=args.concurrency)
                    for d in [deps, *(Deps(db=db, res=deps.res, clock=deps.clock) for db in others)]
                ]
                settle_memory()  # as the bot does once started
                idle = rss_mb()
                profile = cProfile.Profile() if args.profile == name else None
                cpu = time.process_time()
                start = time.perf_counter()
                if profile is not None:
                    profile.enable()
                claimed = await asyncio.gather(*(drain(d) for d in team))
                if profile is not None:
                    profile.disable()
                elapsed = time.perf_counter() - start
                cpu = time.process_time() - cpu
                ended = await states(deps.db)
            for db in others:
                await db.dispose()
            await deps.db.dispose()
        finally:
            await drop()
    sent = transport.per_chat
    figures: dict[str, Any] = {
        "scenario": name,
        "count": args.count,
        "dispatchers": dispatchers,
        "claimed": claimed,
        "seconds": elapsed,
        "cpu": cpu,
        "fake": transport.seconds,
        "per_second": args.count / elapsed,
        "own_per_second": args.count / max(elapsed - transport.seconds, 1e-9),
        "duplicates": sum(n - 1 for n in sent.values() if n > 1),
        "misses": sum(1 for chat in chats if sent[chat] == 0),
        "strays": sum(n for chat, n in sent.items() if chat not in set(chats)),
        "not_sent": args.count - ended.get(ReminderState.SENT.value, 0),
        "states": ended,
        "idle_rss": idle,
        "peak_rss": rss_mb("VmHWM"),
        "seed_seconds": seeded,
    }
    if profile is not None:
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(args.profile_lines)
        stats.sort_stats("cumulative").print_stats(args.profile_lines)
        figures["profile"] = out.getvalue()
    return figures


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """A scenario in a process of its own (its peak RSS is its own)."""
    command = [
        sys.executable,
        "-m",
        "bench.reminders_dispatch",
        "--scenario",
        name,
        "--count",
        str(args.count),
        "--concurrency",
        str(args.concurrency),
        "--database",
        args.database,
        *(["--profile", args.profile] if args.profile else []),
        *(["--no-analyze"] if args.no_analyze else []),
        "--profile-lines",
        str(args.profile_lines),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    print(
        f"reminder dispatch: {args.count:,} due reminders (one BEFORE reminder per member, "
        f"one open cycle), concurrency {args.concurrency}, rate limiter off, lean fake "
        f"transport in process\nPostgreSQL: {args.database} "
        f"({'not analysed after seeding' if args.no_analyze else 'ANALYZE after seeding'}); "
        f"load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)\n"
    )
    print(
        f"{'scenario':16}{'rem/s':>8}{'own/s':>8}{'wall s':>8}{'CPU s':>7}{'fake s':>8}"
        f"{'dup':>5}{'miss':>6}{'!sent':>6}{'idle MB':>9}{'peak MB':>9}  claimed per dispatcher"
    )
    for r in results:
        print(
            f"{r['scenario']:16}{r['per_second']:>8.0f}{r['own_per_second']:>8.0f}"
            f"{r['seconds']:>8.2f}{r['cpu']:>7.2f}{r['fake']:>8.2f}{r['duplicates']:>5}"
            f"{r['misses']:>6}{r['not_sent']:>6}{r['idle_rss']:>9.0f}{r['peak_rss']:>9.0f}  "
            f"{r['claimed']}"
        )
    print(
        "\nrem/s: reminders / wall clock; own/s: with the fake transport's time taken out; "
        "CPU s: this process (PostgreSQL's backends not included); idle MB: RSS once seeded "
        "and started; peak MB: VmHWM"
    )
    print("\nfigures:")
    for r in results:
        checks = [
            ("own reminders/s", f"{r['own_per_second']:.0f}", f">= {TARGET:,.0f}",
             r["own_per_second"] >= TARGET),
            ("duplicates", str(r["duplicates"]), "0", r["duplicates"] == 0),
            ("misses", str(r["misses"]), "0", r["misses"] == 0),
            ("rows not sent", str(r["not_sent"]), "0", r["not_sent"] == 0),
        ]  # fmt: skip
        for label, value, target, met in checks:
            print(
                f"  {r['scenario']:14}{label:18}{value:>8}  {target:10}{'met' if met else 'MISSED'}"
            )
    for r in results:
        if "profile" in r:
            print(f"\nprofile of {r['scenario']} (cProfile; its overhead slows the run):")
            print(r["profile"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000, help="due reminders (10,000)")
    parser.add_argument("--database", default=POSTGRES, help=f"PostgreSQL server ({POSTGRES})")
    parser.add_argument(
        "--only", choices=SCENARIOS, action="append", help="run only these scenarios"
    )
    parser.add_argument(
        "--concurrency", type=int, default=CONCURRENCY, help=f"rows a pass ({CONCURRENCY})"
    )
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="PostgreSQL: leave the freshly loaded tables without statistics",
    )
    parser.add_argument("--profile", choices=SCENARIOS, help="cProfile this scenario")
    parser.add_argument("--profile-lines", type=int, default=30, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(asyncio.run(scenario(args.scenario, args))))
        return
    names = args.only or list(SCENARIOS)
    results = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.append(measure(name, args))
    report(args, results)


if __name__ == "__main__":
    main()
