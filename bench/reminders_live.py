"""Reminders in real time: the real process sending a burst of due reminders while cadres
are mid-interview, and what the burst costs the cadres' reply time.

The issue's requirement: in real time with the real process for 5 minutes (about 7,500
reminders while 5 interview steps a second go on), the p99 reply time of cadres
mid-interview is at most 1 s more than without the burst.

Ours runs as shipped (`python -m bot`, its own rate limiter on: 30 calls/s in all,
background calls such as reminders at most 25/s and only while no reply is queued),
long-polling the lean fake Bot API over HTTP (bench/fake_api_server.py, in this process),
started, calibrated and driven with bench/e2e.py's machinery. Its reminder dispatcher runs
beside the outbox sender once the process holds the polling lease (it does once it polls).

1. setup, not measured: the bot migrates its fresh database on start (AUTO_MIGRATE); once
   it polls, a team of --reminders registered members (Telegram ids from 5,000,000) and an
   open annual cycle due in three days are written into the database in bulk (the team in
   Asia/Shanghai, or, when the run would reach its quiet hours, 22:00-08:00, in which the
   dispatcher holds reminders back until the morning, a zone where it is about noon; or
   --zone); every side is calibrated (one cadre's interview alone: the messages everybody
   else must receive);
2. phase A, for --seconds: the offered interview load, --rate steps/s (e2e's offered-rate
   driver, `play`: rate x --think cadres, a step every ~--think s each; a cadre who has
   finished is followed by a new one, so the load lasts the whole phase), no reminders:
   p50/p95/p99 from pushing an update to its first reply reaching the fake;
3. phase B, the same load while the reminders fall due: one BEFORE reminder per member
   (bot.store.reminders.add), planned for now, inserted in one transaction while the bot
   idles; the load starts when the first of them reaches the fake, so the background
   rate (25/s) is the bottleneck for the whole phase. Then the rest is left to drain;
4. the comparators (a bare PTB echo bot and a ConversationHandler bot, with PTB's
   AIORateLimiter) run phase A too, for --compare-seconds each (ratio context only).

Printed: per phase steps/s, p50/p95/p99/max, CPU per step and in all of the bot process,
chat-bound calls per step in the cadres' chats, duplicate and lost replies against the
calibration; for the reminders, how many reached the fake during phase B and in all
(sendMessage per member chat), the rate, duplicates (must be 0), members never reminded,
the rows by state in the database; phase B in windows (reminders/s beside the replies'
p50/p99), the gaps between reminders, and its slowest steps with the reminders sent in the
second before each and while each waited; and the targets: p99 B - A <= 1 s, no
duplicate reminder, no member left unreminded, no duplicate or lost reply.

    .venv/bin/python -m bench.reminders_live              # 2 x 300 s + comparators' 60 s, ~13 min
    .venv/bin/python -m bench.reminders_live --quick      # 2 x 30 s, 750 reminders, ~3 min
    .venv/bin/python -m bench.reminders_live --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.reminders_live --sides debrief   # without the comparators
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy import func, insert, select  # noqa: E402

from bench.e2e import (  # noqa: E402
    SIDES,
    STEP_TIMEOUT,
    Cadre,
    Figures,
    Side,
    Step,
    calibrated,
    interview_script,
    name_of,
    normalised,
    play,
    say,
    started,
)
from bot.config import async_database_url  # noqa: E402
from bot.cycles.calendar import in_quiet_hours  # noqa: E402
from bot.store import reminders as store  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.models import Cadre as Person  # noqa: E402
from bot.store.models import (  # noqa: E402
    Cycle,
    CycleStatus,
    Membership,
    Reminder,
    ReminderKind,
    Role,
    Team,
)
from bot.telegram.limiter import BACKGROUND_RATE  # noqa: E402

FIRST_MEMBER = 5_000_000  # reminded members' Telegram user and chat ids from here
CALIBRATED_USER = 1_000_000  # e2e's first user of a side: its calibration interview
LATE_QUIET = 3.0  # the calibration's last step: complete after this long without a call
TEAM_NAME = "市直机关述职提醒测试组"
CYCLE_TITLE = "年度述职"
FIRST_REMINDER_WAIT = 30.0  # the dispatcher looks at least every 10 s (IDLE_SECONDS)
DRAIN_QUIET = 30.0  # after phase B: the rest has drained once no reminder came for this long


# --- setup: the team, and the reminder rows ---------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """The seeded team: its cycle and members (cadre id -> chat id)."""

    url: str
    cycle_id: int
    members: dict[int, int]
    seconds: float


def waking_zone(now: datetime, span: timedelta) -> str:
    """The team's time zone: Asia/Shanghai (the bot's default) if the run, from `now` for
    `span`, stays out of its quiet hours (22:00-08:00, when the dispatcher rightly holds
    reminders back until the morning); otherwise a fixed-offset zone where it is about noon
    now (Etc/GMT-N is UTC+N)."""
    shanghai = ZoneInfo("Asia/Shanghai")
    if not any(in_quiet_hours(now + span * k / 4, shanghai) for k in range(5)):
        return "Asia/Shanghai"
    offset = (12 - now.hour + 12) % 24 - 12  # in -12..11: noon, give or take an hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


async def seed_team(url: str, count: int, now: datetime, zone: str) -> Seeded:
    """A team of `count` registered members, in time zone `zone`, and an open annual
    cycle due in three days (offsets 1d, so a reminder now is one the cycle could plan),
    written in bulk into the migrated database the bot is using."""
    began = time.perf_counter()
    then = now - timedelta(days=30)  # when the team and its people were created
    period = str(now.year if now.month > 3 else now.year - 1)  # as board.period_of reckons
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            team_id = (
                await conn.execute(
                    insert(Team).returning(Team.__table__.c.id),  # type: ignore[attr-defined]
                    [
                        Team(
                            name=TEAM_NAME, timezone=zone, created_at=then, updated_at=then
                        ).model_dump(exclude={"id"})
                    ],
                )
            ).scalar_one()
            people = [
                Person(
                    telegram_user_id=FIRST_MEMBER + n,
                    chat_id=FIRST_MEMBER + n,
                    name=name_of(n),
                    position="处长",
                    organisation="市发展和改革委员会",
                    language="zh",
                    registered=True,
                    created_at=then,
                    updated_at=then,
                ).model_dump(exclude={"id"})
                for n in range(count)
            ]
            for start in range(0, len(people), 2000):
                await conn.execute(insert(Person), people[start : start + 2000])
            t = Person.__table__  # type: ignore[attr-defined]
            members = {
                int(cadre_id): int(chat_id)
                for cadre_id, chat_id in (
                    await conn.execute(
                        select(t.c.id, t.c.chat_id).where(t.c.telegram_user_id >= FIRST_MEMBER)
                    )
                ).all()
            }
            assert len(members) == count, (len(members), count)
            rows = [
                Membership(
                    team_id=team_id,
                    cadre_id=cadre_id,
                    role=Role.MEMBER,
                    joined_at=now - timedelta(days=20),
                ).model_dump(exclude={"id"})
                for cadre_id in members
            ]
            for start in range(0, len(rows), 2000):
                await conn.execute(insert(Membership), rows[start : start + 2000])
            cycle_id = (
                await conn.execute(
                    insert(Cycle).returning(Cycle.__table__.c.id),  # type: ignore[attr-defined]
                    [
                        Cycle(
                            team_id=team_id,
                            report_type="annual",
                            period=period,
                            title=f"{period} {CYCLE_TITLE}",
                            deadline_at=now + timedelta(days=3),
                            offsets=["1d"],
                            status=CycleStatus.OPEN,
                            opened_at=now - timedelta(days=1),
                            created_at=then,
                            updated_at=then,
                        ).model_dump(exclude={"id"})
                    ],
                )
            ).scalar_one()
    finally:
        await db.dispose()
    return Seeded(url, int(cycle_id), members, time.perf_counter() - began)


async def plan_due(team: Seeded, planned: datetime) -> float:
    """One BEFORE reminder per member, planned (and sendable) at `planned`, in one
    transaction with bot.store.reminders.add. Returns the seconds it took."""
    began = time.perf_counter()
    db = Database(team.url)
    try:
        async with db.session() as session:
            await store.add(
                session,
                [
                    store.Planned(
                        team.cycle_id, cadre_id, ReminderKind.BEFORE, "1d", planned, planned
                    )
                    for cadre_id in team.members
                ],
            )
            await session.commit()
    finally:
        await db.dispose()
    return time.perf_counter() - began


async def states(url: str) -> dict[str, int]:
    """Reminder rows per state."""
    t = Reminder.__table__  # type: ignore[attr-defined]
    db = Database(url)
    try:
        async with db.session() as session:
            rows = (
                await (await session.connection()).execute(
                    select(t.c.state, func.count()).group_by(t.c.state)
                )
            ).all()
    finally:
        await db.dispose()
    return {str(state): int(count) for state, count in rows}


async def complete_calibration(side: Side) -> int:
    """e2e's calibration takes the last step's reply as complete after 1 s of quiet; with
    the limiter on, ours paces each chat (a burst of 3, then a message a second), and the
    calibration's steps come fast enough to fill that burst, so the .docx that follows the
    draft can come later than that and be left out of what everybody must receive. The
    calibrating cadre's later messages (nothing else goes to its chat) are added to its
    last step. Returns how many."""
    assert side.interview is not None
    calibration = side.interview
    chat = side.api.chats[CALIBRATED_USER]
    loop = asyncio.get_running_loop()
    seen = -1
    while seen != len(chat.events):
        seen = len(chat.events)
        await chat.wait_for(seen + 1, loop.time() + LATE_QUIET)
    name = name_of(CALIBRATED_USER)
    got = normalised(chat.events, name)
    expected = calibration.sequence
    assert got[: len(expected)] == expected, f"{side.name}: not the calibrating cadre's chat"
    calibration.per_step[-1].extend(got[len(expected) :])
    return len(got) - len(expected)


# --- the load: e2e's offered-rate driver, for a set time --------------------------------


class PhaseOver(Exception):
    """The phase's time is up: the cadre sends no further step."""


@dataclass(eq=False)
class PacedCadre(Cadre):
    """e2e's cadre, who stops before a step due once the phase is over (so no step is left
    half answered: the previous step's reply was complete, or timed out, before)."""

    ends: float = math.inf  # loop time

    def update_for(self, step: Step) -> dict[str, Any]:
        if asyncio.get_running_loop().time() >= self.ends:
            raise PhaseOver
        return super().update_for(step)


@dataclass
class Phase:
    """One phase on one side: e2e's figures, and the cadres behind them."""

    figures: Figures
    cadres: list[PacedCadre]
    began: float  # perf_counter, as the fake's event times
    ended: float

    def p(self, q: int) -> float:
        return self.figures.percentile(q)

    @property
    def max_ms(self) -> float:
        return max(self.figures.latencies, default=float("nan")) * 1000

    @property
    def replies_per_step(self) -> float:
        """Chat-bound calls in the cadres' own chats per step (reminders left out)."""
        events = sum(len(c.chat.events) for c in self.cadres)
        return events / self.figures.all_steps if self.figures.all_steps else float("nan")

    @property
    def bot_cpu_share(self) -> float:
        elapsed = self.ended - self.began
        return self.figures.bot_cpu / elapsed * 100 if elapsed > 0 else float("nan")

    def steps(self) -> list[tuple[float, float, int]]:
        """(pushed, latency, step number) of every step whose reply came; a cadre with an
        unanswered step is left out (its latencies no longer line up with its steps)."""
        return [
            (pushed, latency, number)
            for c in self.cadres
            if len(c.latencies) == len(c.pushed)
            for number, (pushed, latency) in enumerate(zip(c.pushed, c.latencies, strict=True), 1)
        ]


async def sustained(side: Side, rate: float, think: float, seconds: float) -> Phase:
    """`rate` steps/s for `seconds`: rate x think cadres under way at once, each sending a
    step every ~think s (e2e's `play`), a finished one followed by a new one; measured
    with e2e's `Side.measured` (replies compared with the calibration)."""
    assert side.interview is not None
    expected = side.interview
    slots = max(1, round(rate * think))
    think = slots / rate
    chance = random.Random(2026)
    loop = asyncio.get_running_loop()
    cadres: list[PacedCadre] = []

    async def slot(start: float, ends: float) -> None:
        while start < ends:
            user_id = next(side.users)
            name = name_of(user_id)
            cadre = PacedCadre(
                user_id, name, interview_script(name), side.api.chat(user_id), ends=ends
            )
            cadres.append(cadre)
            try:
                await play(
                    side.api, cadre, expected.counts, think=think, start=start, chance=chance
                )
            except PhaseOver:
                return
            # The next cadre takes the finished one's turn, ~think after its last step.
            last = loop.time() - (time.perf_counter() - cadre.pushed[-1])
            start = max(loop.time(), last + think * chance.uniform(0.5, 1.5))

    async def run() -> None:
        now = loop.time()
        ends = now + seconds
        await asyncio.gather(*(slot(now + chance.uniform(0, think), ends) for _ in range(slots)))

    began = time.perf_counter()
    figures = await side.measured(
        cadres,  # type: ignore[arg-type]  # filled while the phase runs
        expected,
        run,
        limit=seconds + STEP_TIMEOUT + 60,
    )
    return Phase(figures, cadres, began, time.perf_counter())


# --- the burst ----------------------------------------------------------------------------


@dataclass
class Burst:
    """What became of the reminders."""

    planned: int
    insert_seconds: float
    first_after: float  # seconds from the insert to the first reminder at the fake
    times: list[float]  # perf_counter of every sendMessage to a member's chat
    per_chat: Counter[int]
    other_calls: int  # anything but sendMessage in the members' chats
    drained: float  # perf_counter when the drain stopped
    rows: dict[str, int]

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.per_chat.values() if n > 1)

    @property
    def never(self) -> int:
        return self.planned - len(self.per_chat)

    def within(self, start: float, end: float) -> int:
        return sum(start <= t < end for t in self.times)


def reminders_at_fake(side: Side, team: Seeded) -> tuple[list[float], Counter[int], int]:
    """Times of the sendMessage calls to members' chats, their number per chat, and how
    many other calls those chats got."""
    times: list[float] = []
    per_chat: Counter[int] = Counter()
    other = 0
    for chat_id in team.members.values():
        chat = side.api.chats.get(chat_id)
        for event in chat.events if chat is not None else ():
            if event.method == "sendMessage":
                times.append(event.time)
                per_chat[chat_id] += 1
            else:
                other += 1
    times.sort()
    return times, per_chat, other


async def burst_phase(side: Side, args: argparse.Namespace, team: Seeded) -> tuple[Phase, Burst]:
    """Phase B: the reminders planned for now, inserted while the bot idles; the load from
    the moment the first reaches the fake, for the phase's time; then the rest drains."""
    loop = asyncio.get_running_loop()
    sent_before = side.api.methods["sendMessage"]
    inserted = time.perf_counter()
    took = await plan_due(team, datetime.now(UTC))
    say(f"  debrief: {len(team.members)} reminders planned for now ({took:.2f} s to insert)")
    deadline = loop.time() + FIRST_REMINDER_WAIT
    # The fake's count of sendMessage calls, read every 10 ms (the bot is idle meanwhile).
    while side.api.methods["sendMessage"] == sent_before and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    first_after = time.perf_counter() - inserted
    if side.api.methods["sendMessage"] == sent_before:
        say(f"  WARNING: no reminder within {FIRST_REMINDER_WAIT:g} s; the load starts anyway")
    else:
        say(f"  debrief: the first reminder came {first_after:.1f} s after the insert")
    phase = await sustained(side, args.rate, args.think, args.seconds)
    say(f"  debrief: B {phase.figures.rate:.1f}/s; letting the rest of the reminders drain")
    seen, quiet_since = -1, loop.time()
    while True:
        times, per_chat, _ = reminders_at_fake(side, team)
        if len(per_chat) >= len(team.members) or not side.bot.alive():
            break
        if len(times) != seen:
            seen, quiet_since = len(times), loop.time()
        elif loop.time() - quiet_since > DRAIN_QUIET:
            break
        await asyncio.sleep(1.0)
    drained = time.perf_counter()
    await asyncio.sleep(1.0)  # a late duplicate counts too
    times, per_chat, other = reminders_at_fake(side, team)
    rows = await states(team.url)
    burst = Burst(len(team.members), took, first_after, times, per_chat, other, drained, rows)
    return phase, burst


# --- the run ------------------------------------------------------------------------------


@dataclass
class Result:
    phases: dict[str, dict[str, Phase]]  # side -> "A"/"B" -> phase
    burst: Burst
    team_seconds: float
    interview_steps: int
    interview_calls: dict[str, int]
    peak_rss_mb: dict[str, float]


async def run_all(args: argparse.Namespace) -> Result:
    """Every side started together (idle while another is measured), calibrated; the
    comparators' phase A, then ours: A, and B right after it."""
    async with contextlib.AsyncExitStack() as stack:
        sides = {n: await stack.enter_async_context(started(n, args)) for n in args.sides}
        ours = sides["debrief"]
        url = async_database_url(ours.bot.env["DATABASE_URL"])
        now = datetime.now(UTC)
        span = timedelta(seconds=2 * args.seconds + 2 * args.compare_seconds + 600)
        args.zone = args.zone or waking_zone(now, span)
        team = await seed_team(url, args.reminders, now, args.zone)
        say(
            f"  debrief: a team of {len(team.members)} members in {args.zone} (local time "
            f"{now.astimezone(ZoneInfo(args.zone)):%H:%M}) seeded in {team.seconds:.1f} s"
        )
        await asyncio.gather(*(calibrated(side, args.verbose) for side in sides.values()))
        for name, side in sides.items():
            if late := await complete_calibration(side):
                say(f"  {name}: {late} late message(s) added to the calibration's last step")
        phases: dict[str, dict[str, Phase]] = {name: {} for name in sides}
        for name, side in sides.items():
            if name == "debrief":
                continue
            phase = phases[name]["A"] = await sustained(
                side, args.rate, args.think, args.compare_seconds
            )
            say(f"  {name}: A {phase.figures.rate:.1f}/s, p99 {phase.p(99):.0f} ms")
            alive(sides)
        phase = phases["debrief"]["A"] = await sustained(ours, args.rate, args.think, args.seconds)
        say(f"  debrief: A {phase.figures.rate:.1f}/s, p99 {phase.p(99):.0f} ms")
        alive(sides)
        phases["debrief"]["B"], burst = await burst_phase(ours, args, team)
        alive(sides)
        interview = {n: len(s.interview.sequence) for n, s in sides.items() if s.interview}
        assert ours.interview is not None
        return Result(
            phases=phases,
            burst=burst,
            team_seconds=team.seconds,
            interview_steps=len(ours.interview.per_step),
            interview_calls=interview,
            peak_rss_mb={n: s.bot.peak_rss_mb() for n, s in sides.items()},
        )


def alive(sides: dict[str, Side]) -> None:
    """Stop the run if a bot process has died (a phase after it would measure nothing)."""
    for name, side in sides.items():
        if not side.bot.alive():
            assert side.bot.proc is not None
            code = side.bot.proc.returncode  # negative: killed by that signal
            raise SystemExit(f"{name}: the bot died (exit code {code}):\n{side.bot.tail()}")


# --- the report ---------------------------------------------------------------------------


def report(args: argparse.Namespace, r: Result) -> None:
    ours_a, ours_b = r.phases["debrief"]["A"], r.phases["debrief"]["B"]
    burst = r.burst
    slots = max(1, round(args.rate * args.think))
    print(
        f"database: {args.database or 'SQLite (temporary file)'}; rate limiter: on (ours as "
        "shipped; the comparators with PTB's AIORateLimiter)\n"
        f"interview: {r.interview_steps} steps; messages a cadre alone receives: "
        + ", ".join(f"{n} {c}" for n, c in r.interview_calls.items())
        + f"\noffered {args.rate:g} steps/s: {slots} cadres under way, a step every "
        f"~{slots / args.rate:g} s each, a finished cadre followed by a new one\n"
        f"phases: ours A {args.seconds:g} s, then B {args.seconds:g} s with "
        f"{burst.planned} reminders due at its start; comparators A {args.compare_seconds:g} s;"
        f" the team's time zone {args.zone}"
        f"\nload average before/after: {args.load_before} / "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores shared)"
    )
    columns: list[tuple[str, Phase]] = [
        (f"{name[:4]} A", r.phases[name]["A"]) for name in SIDES if name in r.phases
    ]
    columns = [c for c in columns if not c[0].startswith("debr")]
    columns += [("ours A", ours_a), ("ours B", ours_b)]
    others = [(label, phase) for label, phase in columns if not label.startswith("ours")]
    head = (
        f"{'':20}"
        + "".join(f"{label:>11}" for label, _ in columns)
        + f"{'B - A':>11}"
        + "".join(f"{'A/' + label[:4]:>11}" for label, _ in others)
    )
    print(f"\n{head}")
    rows: list[tuple[str, Any, str]] = [
        ("steps/s", lambda p: p.figures.rate, ".1f"),
        ("steps", lambda p: float(p.figures.all_steps), ".0f"),
        ("p50 ms", lambda p: p.p(50), ".0f"),
        ("p95 ms", lambda p: p.p(95), ".0f"),
        ("p99 ms", lambda p: p.p(99), ".0f"),
        ("max ms", lambda p: p.max_ms, ".0f"),
        ("bot CPU ms/step", lambda p: p.figures.cpu_ms_per_step, ".2f"),
        ("bot CPU %", lambda p: p.bot_cpu_share, ".1f"),
        ("replies/step", lambda p: p.replies_per_step, ".2f"),
        ("fake+driver CPU %", lambda p: p.figures.own_cpu_share, ".0f"),
    ]
    for label, get, fmt in rows:
        values = [get(phase) for _, phase in columns]
        line = f"{label:20}" + "".join(f"{format(v, fmt):>11}" for v in values)
        line += f"{format(get(ours_b) - get(ours_a), '+' + fmt):>11}"
        for _, other in others:
            theirs = get(other)
            line += f"{get(ours_a) / theirs:>11.2f}" if theirs else f"{'-':>11}"
        print(line)
    print(
        f"{'duplicates/lost':20}"
        + "".join(f"{f'{p.figures.duplicates}/{p.figures.lost}':>11}" for _, p in columns)
    )
    for label, phase in columns:
        f = phase.figures
        for problem in f.problems:
            print(f"  {label}: {problem}")
        if f.unanswered or f.incomplete:
            print(
                f"  {label}: {f.unanswered} steps without their whole reply within "
                f"{STEP_TIMEOUT:g} s" + ("; phase cut at its time limit" if f.incomplete else "")
            )
    print(
        f"{'peak RSS MB':20}"
        + "".join(f"{r.peak_rss_mb[n]:>11.0f}" for n in SIDES if n in r.peak_rss_mb)
        + "  ("
        + ", ".join(n for n in SIDES if n in r.peak_rss_mb)
        + ")"
    )
    print(
        "latency: from pushing an update to its first reply reaching the fake; replies/step: "
        "calls in the cadres' own chats; CPU: the bot process alone (B's includes the "
        "reminders); duplicates/lost: replies against one cadre's calibration run."
    )

    # The reminders.
    in_b = burst.within(ours_b.began, ours_b.ended)
    b_seconds = ours_b.ended - ours_b.began
    spread = burst.times[-1] - burst.times[0] if len(burst.times) > 1 else float("nan")
    print(
        f"\nreminders: {burst.planned} BEFORE rows planned for now, inserted in "
        f"{burst.insert_seconds:.2f} s; the first reached the fake {burst.first_after:.1f} s "
        f"later (team seeded in {r.team_seconds:.1f} s)\n"
        f"  during phase B ({b_seconds:.0f} s): {in_b} delivered, {in_b / b_seconds:.1f}/s "
        f"(background limit {BACKGROUND_RATE:g}/s)\n"
        f"  in all: {len(burst.times)} sendMessage to {len(burst.per_chat)} members, "
        f"first to last {spread:.0f} s, {len(burst.times) / spread:.1f}/s; "
        f"duplicates {burst.duplicates}, never reminded {burst.never}, other calls "
        f"{burst.other_calls}\n"
        f"  rows by state: " + ", ".join(f"{s} {n}" for s, n in sorted(burst.rows.items()))
    )
    during = [t for t in burst.times if ours_b.began <= t < ours_b.ended]
    gaps = [b - a for a, b in itertools.pairwise(during)]
    if len(gaps) > 1:
        print(
            f"  gaps between reminders during B: median {quantile(gaps, 50):.0f} ms, p99 "
            f"{quantile(gaps, 99):.0f} ms, longest {max(gaps) * 1000:.0f} ms, "
            f"{sum(g > 0.1 for g in gaps)} over 100 ms ({len(during) / 50:.0f} batches of 50)"
        )

    # Phase B in windows, and its slowest steps.
    window = max(5.0, args.seconds / 10)
    steps_b = ours_b.steps()
    print(f"\nphase B in windows of {window:g} s (from its start):")
    print(f"  {'from s':>7}{'reminders/s':>13}{'steps':>7}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}")
    start = ours_b.began
    while start < ours_b.ended - 1:
        end = min(start + window, ours_b.ended)
        sent = burst.within(start, end) / (end - start)
        lat = [latency for pushed, latency, _ in steps_b if start <= pushed < end]
        if not lat:
            break  # the phase's end: waiting for the last replies
        p50, p99 = quantile(lat, 50), quantile(lat, 99)
        top = max(lat, default=float("nan")) * 1000
        print(
            f"  {start - ours_b.began:>7.0f}{sent:>13.1f}{len(lat):>7}{p50:>8.0f}{p99:>8.0f}"
            f"{top:>8.0f}"
        )
        start = end
    for label, phase in (("A", ours_a), ("B", ours_b)):
        slowest = sorted(phase.steps(), key=lambda s: -s[1])[:5]
        shown = ", ".join(
            f"{latency * 1000:.0f} ms (step {number}, {burst.within(pushed - 1, pushed)} "
            f"reminders in the second before, {burst.within(pushed, pushed + latency)} while "
            "it waited)"
            for pushed, latency, number in slowest
        )
        print(f"slowest steps, ours {label}: {shown}")
    by_step_a = per_step(ours_a)
    by_step_b = per_step(ours_b)
    worst = sorted(by_step_b, key=lambda n: -by_step_b[n])[:3]
    print(
        "mean ms by step number, the 3 slowest in B (A beside): "
        + ", ".join(
            f"step {n} {by_step_b[n]:.0f} ({by_step_a.get(n, float('nan')):.0f})" for n in worst
        )
    )
    targets(args, r)


def quantile(values: list[float], q: int) -> float:
    """The q-th percentile in ms, as e2e's Figures computes it."""
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def per_step(phase: Phase) -> dict[int, float]:
    """Mean latency (ms) by step number of the interview."""
    found: dict[int, list[float]] = {}
    for _, latency, number in phase.steps():
        found.setdefault(number, []).append(latency)
    return {n: statistics.fmean(v) * 1000 for n, v in found.items()}


def targets(args: argparse.Namespace, r: Result) -> None:
    ours_a, ours_b = r.phases["debrief"]["A"], r.phases["debrief"]["B"]
    burst = r.burst
    in_b = burst.within(ours_b.began, ours_b.ended)
    diff = ours_b.p(99) - ours_a.p(99)
    bad_replies = sum(
        p.figures.duplicates + p.figures.lost for side in r.phases.values() for p in side.values()
    )
    checks: list[tuple[str, float, str, bool]] = [
        ("p99 ms, B - A", diff, "<= 1000", diff <= 1000),
        ("reminders sent twice", burst.duplicates, "0", burst.duplicates == 0),
        ("reminders never sent", burst.never, "0", burst.never == 0),
        ("duplicate or lost replies", bad_replies, "0", bad_replies == 0),
    ]
    note = " (a --quick run: judge them on a default run)" if args.quick else ""
    print(f"\ntargets{note}:")
    for label, value, target, met in checks:
        print(f"  {label:32}{value:>9.0f}  {target:8}{'met' if met else 'MISSED'}")
    share = in_b / burst.planned if burst.planned else float("nan")
    print(
        f"  (for information: {in_b} of {burst.planned} reminders, {share:.0%}, went out "
        f"during phase B's {ours_b.ended - ours_b.began:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=None, help="default: SQLite in a temporary dir")
    parser.add_argument("--seconds", type=float, help="each of ours' phases (300; quick 30)")
    parser.add_argument(
        "--compare-seconds", type=float, help="the comparators' phase A (default min(60, seconds))"
    )
    parser.add_argument(
        "--reminders", type=int, help=f"rows due in phase B (default {BACKGROUND_RATE:g} x seconds)"
    )
    parser.add_argument("--rate", type=float, default=5.0, help="offered steps/s (5)")
    parser.add_argument(
        "--think", type=float, default=2.0, help="mean seconds between a cadre's steps (2)"
    )
    parser.add_argument(
        "--zone",
        help="the team's time zone (default Asia/Shanghai, or one where it is about noon "
        "if the run would reach Shanghai's quiet hours, 22:00-08:00)",
    )
    parser.add_argument("--poll-timeout", type=int, default=2, help="POLL_TIMEOUT (seconds)")
    parser.add_argument("--quick", action="store_true", help="30 s phases, about 3 minutes")
    parser.add_argument(
        "--sides", default=",".join(SIDES), help="comma-separated subset of " + ",".join(SIDES)
    )
    parser.add_argument("--verbose", action="store_true", help="print the end of each log")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 30.0 if args.quick else 300.0
    if args.compare_seconds is None:
        args.compare_seconds = min(60.0, args.seconds)
    if args.reminders is None:
        args.reminders = round(BACKGROUND_RATE * args.seconds)
    args.limiter = "on"  # as shipped; e2e's `started` reads it
    args.sides = [s for s in SIDES if s in {*args.sides.split(","), "debrief"}]
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    began = time.perf_counter()
    result = asyncio.run(run_all(args))
    report(args, result)
    print(f"({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
