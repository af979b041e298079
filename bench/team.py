"""A team of 1,000 members all submitting within a minute, against the real process.

What is measured, with the bot as shipped (`python -m bot`, its rate limiter on) long-polling
the lean fake Bot API over HTTP on 127.0.0.1 (bench/fake_api_server.py, in this process):

1. setup, not measured: a fresh database (SQLite in a temporary directory, or a PostgreSQL
   database of the run's own with --database), migrated, then filled in bulk: a supervisor,
   a team with a member invite, and --members registered members, each with a completed
   annual (zh) interview of the current period, every question answered (about 3,000
   characters each, varied, with figures: bench/team_reports.py; a third carry something
   the pre-submission review flags);
2. the bot is started; its idle RSS is read a few seconds after it first polls;
3. every member sends /submit, the sends spread evenly over --seconds; a member shown the
   pre-submission review presses 仍然提交 (act subok); a submission counts as confirmed
   when "第 1 版" reaches the member. Cadre-side failures: no confirmation, an error reply;
4. the supervisor's chat is watched meanwhile: a single notification is a document whose
   caption names the member, a digest a message "您有 N 条新通知：" (coverage counted by
   N). Printed: from the first /submit until the supervisor has been told of every
   submission, the messages that took, the smallest and largest gap between two of them
   (the sender keeps one a second per chat), and submissions told twice or never (also
   checked in the stored outbox once the bot has stopped);
5. the board: the supervisor sends /team and presses the board (act board, the current
   period's annual reports) --presses times once the load has settled, --think seconds
   before each step (a person reading; pressed sooner, the board also waits for the
   chat's pace of a message a second); p50/max from pushing the press to the board
   reaching the fake (end to end, the fake's HTTP included). load_board + board_message
   in this process, best of 5, as a diagnostic;
6. the export: the export button pressed on the board; the time until the .xlsx arrives
   (the zip parts come before it), the parts' sizes as uploaded to the fake; the same
   build in this process (exports.build), as a diagnostic;
7. peak RSS: the bot's VmHWM at the end, less its idle RSS.

Targets: board <= 200 ms; export <= 10 s; peak RSS <= idle RSS + 150 MB.

    .venv/bin/python bench/team.py             # SQLite, 1,000 members over 60 s, ~2 min
    .venv/bin/python bench/team.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/team.py --quick     # 100 members over 10 s, under a minute
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import col  # noqa: E402

from bench.databases import fresh_database  # noqa: E402
from bench.e2e import TOKEN, BotProcess, ServerCpu, Updates, cpu_of, name_of  # noqa: E402
from bench.fake_api_server import BotApiServer, Chat, Event, FakeBotApi, Json  # noqa: E402
from bench.team_reports import check_questionnaire, report_for  # noqa: E402
from bot.config import async_database_url  # noqa: E402
from bot.interview.questionnaire import Questionnaire, load_catalogue  # noqa: E402
from bot.services import exports  # noqa: E402
from bot.services.board import board_message, load_board, period_of  # noqa: E402
from bot.services.replies import Act, Action, PendingExport  # noqa: E402
from bot.services.resources import Resources, load_resources  # noqa: E402
from bot.services.submissions import board_arg  # noqa: E402
from bot.services.teams import new_code  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.models import (  # noqa: E402
    Answer,
    Cadre,
    Interview,
    Invite,
    Membership,
    Outbox,
    Role,
    Submission,
    SubmissionVersion,
    Team,
)
from bot.store.schema import upgrade  # noqa: E402
from bot.telegram.callback_data import encode  # noqa: E402

FIRST_MEMBER = 1_000_000  # members' Telegram user ids (and chat ids) from here
SUPERVISOR_USER = 900_000
SUPERVISOR_NAME = "周建国"
TEAM_NAME = "市直机关处级干部述职"
REPORT_TYPE = "annual"
CONFIRMED = "第 1 版"  # in "已把…第 1 版提交给…", the member's confirmation
CADRE_TIMEOUT = 240.0  # a member waits at most this long for its confirmation
SETTLE = 3.0  # seconds of quiet in the supervisor's chat before the board is measured
STARTED = time.perf_counter()
# What the bot loads too (Asia/Shanghai is its default zone): the period, the messages this
# bench recognises, and the in-process diagnostics.
_RES: Resources = load_resources(
    ROOT / "prompts", default_language="zh", zone="Asia/Shanghai", answer_limit=4096
)


def say(line: str) -> None:
    """Progress, on stderr, with the seconds since the start."""
    print(f"[{time.perf_counter() - STARTED:5.0f} s] {line}", file=sys.stderr, flush=True)


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    """A process's VmRSS (or VmHWM, the peak) in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


class RecordingApi(FakeBotApi):
    """The fake Bot API, also keeping the size of every uploaded document by message id."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.uploads: dict[int, int] = {}

    async def handle(self, method: str, params: Json, files: dict[str, tuple[str, bytes]]) -> Any:
        result = await super().handle(method, params, files)
        if method == "sendDocument" and "document" in files and isinstance(result, dict):
            self.uploads[int(result["message_id"])] = len(files["document"][1])
        return result


# --- setup ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """What the seeding made."""

    team_id: int
    supervisor_id: int
    members: dict[int, str]  # Telegram user id -> name
    flawed: int  # reports the pre-submission review should flag
    characters: float  # mean characters of answers per member
    seconds: float


async def seed(url: str, count: int, questionnaire: Questionnaire, now: datetime) -> Seeded:
    """A migrated database with a supervisor, a team and `count` members whose annual
    interviews of the period are complete, written with bulk inserts."""
    began = time.perf_counter()
    check_questionnaire(questionnaire)
    db = Database(async_database_url(url))
    try:
        await upgrade(db)
        period = period_of(now, _RES)
        people = [
            _cadre(1, SUPERVISOR_USER, SUPERVISOR_NAME, "组织部副部长", "市委组织部", now),
        ]
        memberships = [_membership(1, 1, Role.SUPERVISOR, now)]
        interviews: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        members: dict[int, str] = {}
        flawed = characters = 0
        for n in range(count):
            cadre_id, user_id, name = n + 2, FIRST_MEMBER + n, name_of(FIRST_MEMBER + n)
            report = report_for(n, questionnaire)
            flawed += report.flawed
            characters += report.characters
            members[user_id] = name
            post = report.post
            people.append(_cadre(cadre_id, user_id, name, post.position, post.organisation, now))
            memberships.append(_membership(n + 2, cadre_id, Role.MEMBER, now))
            started = now - timedelta(days=3, minutes=n)
            interviews.append(
                {
                    "id": n + 1,
                    "cadre_id": cadre_id,
                    "report_type": REPORT_TYPE,
                    "language": "zh",
                    "period": period,
                    "status": "completed",
                    "current_question": None,
                    "awaiting_follow_up": False,
                    "editing_question": None,
                    "editing_entry": None,
                    "return_to": None,
                    "skipped": [],
                    "revision": 40,
                    "started_at": started,
                    "updated_at": now - timedelta(hours=2),
                    "completed_at": now - timedelta(hours=2),
                }
            )
            for question_id, entries in report.answers.items():
                for seq, entry in enumerate(entries):
                    answers.append(
                        {
                            "interview_id": n + 1,
                            "question_id": question_id,
                            "seq": seq,
                            "text": entry,
                            "created_at": started,
                        }
                    )
        async with db.engine.begin() as conn:
            await conn.execute(insert(Cadre), people)
            await conn.execute(
                insert(Team),
                [
                    {
                        "id": 1,
                        "name": TEAM_NAME,
                        "created_by": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            await conn.execute(insert(Membership), memberships)
            await conn.execute(
                insert(Invite),
                [
                    {
                        "id": 1,
                        "team_id": 1,
                        "code": new_code(),
                        "role": Role.MEMBER,
                        "created_by": 1,
                        "created_at": now,
                        "revoked_at": None,
                        "used_by": None,
                        "used_at": None,
                    }
                ],
            )
            await conn.execute(insert(Interview), interviews)
            for start in range(0, len(answers), 5000):
                await conn.execute(insert(Answer), answers[start : start + 5000])
            if not db.is_sqlite:  # ids were given: move the sequences past them
                for table in ("cadre", "team", "membership", "invite", "interview"):
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
    finally:
        await db.dispose()
    return Seeded(
        team_id=1,
        supervisor_id=1,
        members=members,
        flawed=flawed,
        characters=characters / max(count, 1),
        seconds=time.perf_counter() - began,
    )


def _cadre(
    cadre_id: int, user_id: int, name: str, position: str, organisation: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": cadre_id,
        "telegram_user_id": user_id,
        "chat_id": user_id,
        "name": name,
        "position": position,
        "organisation": organisation,
        "language": "zh",
        "awaiting_field": None,
        "registered": True,
        "created_at": now - timedelta(days=30),
        "updated_at": now - timedelta(days=30),
        "blocked_at": None,
        "pending_invite": None,
        "awaiting_input": None,
    }


def _membership(row_id: int, cadre_id: int, role: Role, now: datetime) -> dict[str, Any]:
    return {
        "id": row_id,
        "team_id": 1,
        "cadre_id": cadre_id,
        "role": role,
        "joined_at": now - timedelta(days=20),
        "left_at": None,
        "left_how": None,
    }


# --- submissions ------------------------------------------------------------------------


@dataclass
class Member:
    """A member submitting: when they sent /submit, and what came of it."""

    user_id: int
    name: str
    chat: Chat
    pushed: float = 0.0
    reviewed: float | None = None  # when the pre-submission review arrived
    confirmed: float | None = None
    failure: str = ""


async def submit(api: FakeBotApi, member: Member, due: float, error_text: str) -> None:
    """/submit at loop time `due`; 仍然提交 if the review comes; until confirmed."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, due - loop.time()))
    member.pushed = time.perf_counter()
    api.push(Updates.text(member.user_id, "/submit"))
    deadline = loop.time() + CADRE_TIMEOUT
    seen = 0
    while True:
        if not await member.chat.wait_for(seen + 1, deadline):
            last = member.chat.events[-1].text[:40] if member.chat.events else ""
            member.failure = f"no confirmation (last: {last!r})" if last else "no reply"
            return
        for event in member.chat.events[seen:]:
            if CONFIRMED in event.text:
                member.confirmed = event.time
                return
            if error_text in event.text:
                member.failure = f"error reply: {event.text[:40]!r}"
                return
        seen = len(member.chat.events)
        found = member.chat.button(Act.SUBMIT_ANYWAY.value, None)
        if member.reviewed is None and found is not None:
            member.reviewed = member.chat.events[-1].time
            api.push(Updates.press(member.user_id, *found))


@dataclass
class Told:
    """What the supervisor's chat received while the members submitted."""

    events: list[Event] = field(default_factory=list)
    singles: list[str] = field(default_factory=list)  # names, one per single notification
    digests: list[int] = field(default_factory=list)  # N of each digest
    listed: list[str] = field(default_factory=list)  # names on digests' lines
    warnings: int = 0  # warning texts sent ahead of a single notification's document
    other: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # per message: "1", "digest N", "⚠", "?"
    all_told_at: float | None = None

    @property
    def covered(self) -> int:
        return len(self.singles) + sum(self.digests)


def classify(told: Told, event: Event, digest: re.Pattern[str]) -> None:
    """Count one message to the supervisor: a single notification, a digest, or else."""
    told.events.append(event)
    if event.method == "sendDocument" and event.text.startswith("📄"):
        # The caption's first line: "📄 <name> · <position> · <organisation>".
        told.singles.append(event.text.removeprefix("📄").split("·")[0].strip())
        told.kinds.append("1")
    elif (match := digest.match(event.text)) is not None:
        told.digests.append(int(match.group(1)))
        told.kinds.append(f"digest {match.group(1)}")
        for line in event.text.splitlines()[1:]:
            if line.startswith("• ") and "提交了" in line:
                told.listed.append(line[2:].split("提交了")[0])
    elif event.text.startswith("⚠"):
        told.warnings += 1
        told.kinds.append("⚠")
    else:
        told.other.append(f"{event.method}: {event.text[:50]!r}")
        told.kinds.append("?")


async def watch(
    chat: Chat, told: Told, expected: int, digest: re.Pattern[str], until: float
) -> None:
    """Classify the supervisor's messages until every submission is covered (or `until`)."""
    loop = asyncio.get_running_loop()
    while told.covered < expected and loop.time() < until:
        await chat.wait_for(len(told.events) + 1, until)
        for event in chat.events[len(told.events) :]:
            classify(told, event, digest)
            if told.all_told_at is None and told.covered >= expected:
                told.all_told_at = event.time


async def quiet(chat: Chat, seconds: float, limit: float) -> None:
    """Until the chat has had no message for `seconds` (at most `limit` seconds)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        count = len(chat.events)
        if not await chat.wait_for(count + 1, min(end, loop.time() + seconds)):
            return


# --- the supervisor's presses -----------------------------------------------------------


async def next_event(chat: Chat, after: int, seconds: float) -> Event | None:
    """The chat's event number `after` (counting from 0), waiting at most `seconds`."""
    loop = asyncio.get_running_loop()
    if await chat.wait_for(after + 1, loop.time() + seconds):
        return chat.events[after]
    return None


async def board_presses(
    api: FakeBotApi, chat: Chat, team_id: int, arg: str, presses: int, think: float
) -> tuple[list[float], str]:
    """/team, then the board pressed on the team's page, `presses` times, `think` seconds
    before each step (as a person reads; quicker, and the press waits for the chat's pace
    of a message a second): seconds from pushing each press to the board reaching the
    fake; and the board's counts line."""
    data = encode(Action(Act.BOARD, team_id, arg, 0))
    times: list[float] = []
    counts = ""
    for _ in range(presses):
        await asyncio.sleep(think)
        before = len(chat.events)
        api.push(Updates.text(SUPERVISOR_USER, "/team"))
        if await next_event(chat, before, 30) is None:
            raise SystemExit("the supervisor's /team got no answer")
        found = chat.button(Act.BOARD.value, None)  # the board button of the team's page
        if found is None:
            raise SystemExit("the team's page has no board button")
        await asyncio.sleep(think)
        before = len(chat.events)
        pushed = time.perf_counter()
        api.push(Updates.press(SUPERVISOR_USER, found[0], data))
        event = await next_event(chat, before, 30)
        if event is None or "共 " not in event.text:
            raise SystemExit(f"the board did not come: {event}")
        times.append(event.time - pushed)
        counts = next((line for line in event.text.splitlines() if line.startswith("共 ")), "")
    return times, counts


@dataclass(frozen=True)
class Exported:
    """The export as the supervisor received it."""

    started: float  # seconds from the press to "正在导出…"
    seconds: float  # from the press to the .xlsx
    parts: list[tuple[str, int]]  # zip parts: name, bytes uploaded
    summary_bytes: int
    caption: str


async def export_press(api: RecordingApi, chat: Chat, arg: str) -> Exported:
    """The export button pressed on the board just shown; until the .xlsx arrives."""
    found = chat.button(Act.EXPORT.value, arg)
    if found is None:
        raise SystemExit("the board has no export button")
    before = len(chat.events)
    pushed = time.perf_counter()
    api.push(Updates.press(SUPERVISOR_USER, *found))
    started = float("nan")
    parts: list[tuple[str, int]] = []
    seen = before
    while True:
        event = await next_event(chat, seen, 120)
        if event is None:
            raise SystemExit(f"the export's .xlsx did not come within 120 s; parts: {parts}")
        seen += 1
        name = event.text.rsplit("|", 1)[-1] if event.method == "sendDocument" else ""
        size = api.uploads.get(event.message_id, 0)
        if name.endswith(".xlsx"):
            caption = event.text.rsplit("|", 1)[0]
            return Exported(started, event.time - pushed, parts, size, caption)
        if name.endswith(".zip"):
            parts.append((name, size))
        elif started != started:  # NaN: the first message is "正在导出…"
            started = event.time - pushed


# --- in this process, after the bot has stopped -----------------------------------------


@dataclass(frozen=True)
class Stored:
    """What the database holds at the end."""

    submissions: int
    versions: int
    outbox_submitted: int
    outbox_sent: int
    outbox_failed: int
    outbox_pending: int


async def diagnostics(
    url: str, seeded: Seeded, period: str, workdir: Path
) -> tuple[float, float, Stored]:
    """The board built in this process (best of 5), the export built in this process, and
    the stored submissions and outbox rows."""
    db = Database(async_database_url(url))
    try:
        questionnaire = _RES.catalogue.get(REPORT_TYPE, "zh")
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            async with db.session() as session:
                team = await session.get(Team, seeded.team_id)
                supervisor = await session.get(Cadre, seeded.supervisor_id)
                assert team is not None and supervisor is not None
                loaded = await load_board(session, _RES, team, REPORT_TYPE, period)
                board_message(_RES, supervisor, loaded, questionnaire, 0)
            best = min(best, time.perf_counter() - began)
        folder = workdir / "export"
        folder.mkdir()
        pending = PendingExport(seeded.team_id, TEAM_NAME, REPORT_TYPE, period, "zh")
        began = time.perf_counter()
        await exports.build(db, _RES, pending, folder, now=datetime.now(UTC))
        built = time.perf_counter() - began
        kind = col(Outbox.kind) == "submitted"
        sent, failed = col(Outbox.sent_at), col(Outbox.failed_at)
        async with db.engine.connect() as conn:

            async def count(*where: Any, table: Any = Outbox) -> int:
                found = await conn.scalar(select(func.count()).select_from(table).where(*where))
                return int(found or 0)

            stored = Stored(
                submissions=await count(table=Submission),
                versions=await count(table=SubmissionVersion),
                outbox_submitted=await count(kind),
                outbox_sent=await count(kind, sent.is_not(None)),
                outbox_failed=await count(kind, failed.is_not(None)),
                outbox_pending=await count(kind, sent.is_(None), failed.is_(None)),
            )
        return best, built, stored
    finally:
        await db.dispose()


# --- the run ----------------------------------------------------------------------------


@dataclass
class Result:
    """Everything the report prints."""

    seeded: Seeded
    members: list[Member]
    told: Told
    first_push: float
    idle_rss: float
    peak_rss: float
    peaks: dict[str, float]  # VmHWM after each phase
    bot_cpu: float  # seconds, over the submissions
    pg_cpu: float | None
    driver_cpu: float
    board: list[float]
    board_counts: str
    exported: Exported
    # Filled in once the bot has stopped:
    board_in_process: float = float("nan")
    export_in_process: float = float("nan")
    stored: Stored = field(default_factory=lambda: Stored(0, 0, 0, 0, 0, 0))
    stopped: str = ""
    log: str = ""


async def run(args: argparse.Namespace) -> Result:
    questionnaire = load_catalogue(ROOT / "prompts").get(REPORT_TYPE, "zh")
    now = datetime.now(UTC)
    period = period_of(now, _RES)
    arg = board_arg(REPORT_TYPE, period)
    digest = re.compile(
        re.escape(_RES.messages.template("zh", "digest_header")).replace(
            re.escape("{count}"), r"(\d+)"
        )
    )
    error_text = _RES.t("zh", "error")[:10]
    with tempfile.TemporaryDirectory(prefix="team-") as tmp:
        workdir = Path(tmp)
        url, drop = await fresh_database(
            args.database or f"sqlite:///{workdir}/debrief.db", prefix="debrief_team"
        )
        try:
            seeded = await seed(url, args.members, questionnaire, now)
            say(
                f"seeded {args.members} members in {seeded.seconds:.1f} s "
                f"({seeded.characters:.0f} characters of answers each on average)"
            )
            api = RecordingApi(TOKEN)
            server = await BotApiServer(api).start()
            env = {
                **os.environ,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE_URL": server.base_url,
                "DATABASE_URL": url,
                "POLL_TIMEOUT": "2",
                "LOG_LEVEL": "WARNING",
                "RATE_LIMITER": "true",
            }
            bot = BotProcess([sys.executable, "-m", "bot"], env, workdir)
            stopped = ""
            try:
                result = await _drive(args, api, bot, seeded, url, arg, digest, error_text)
            except BaseException:
                say(f"the run failed; the end of the bot's log:\n{bot.tail(30)}")
                raise
            finally:
                began = time.perf_counter()
                await bot.stop()
                if bot.proc is not None:
                    took = time.perf_counter() - began
                    stopped = f"exit code {bot.proc.returncode} {took:.1f} s after SIGTERM"
                await server.close()
            say("bot stopped; building the board and the export in this process")
            result.stopped = stopped
            result.log = bot.log.read_text(errors="replace")
            (
                result.board_in_process,
                result.export_in_process,
                result.stored,
            ) = await diagnostics(url, seeded, period, workdir)
            return result
        finally:
            await drop()


async def _drive(
    args: argparse.Namespace,
    api: RecordingApi,
    bot: BotProcess,
    seeded: Seeded,
    url: str,
    arg: str,
    digest: re.Pattern[str],
    error_text: str,
) -> Result:
    loop = asyncio.get_running_loop()
    bot.start()
    deadline = loop.time() + 60
    while not api.polled.is_set() and bot.alive() and loop.time() < deadline:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(api.polled.wait(), 0.1)
    if not bot.alive() or not api.polled.is_set():
        raise SystemExit(f"the bot did not start polling:\n{bot.tail()}")
    await asyncio.sleep(args.idle_wait)
    idle = rss_mb(bot.pid)
    say(f"bot polling; idle RSS {idle:.0f} MB")

    supervisor = api.chat(SUPERVISOR_USER)
    members = [Member(uid, name, api.chat(uid)) for uid, name in seeded.members.items()]
    database = make_url(url)
    server_cpu = (
        ServerCpu(str(database.database)) if database.drivername.startswith("postgres") else None
    )
    pg_before = server_cpu.snapshot() if server_cpu else {}
    cpu_before, driver_before = cpu_of(bot.pid), time.process_time()
    start = loop.time() + 0.5
    spacing = args.seconds / max(len(members), 1)
    told = Told()
    say(f"{len(members)} members send /submit over {args.seconds:g} s")
    watcher = asyncio.ensure_future(
        watch(supervisor, told, len(members), digest, start + args.seconds + CADRE_TIMEOUT + 60)
    )
    await asyncio.gather(
        *(submit(api, m, start + i * spacing, error_text) for i, m in enumerate(members))
    )
    confirmed = sum(m.confirmed is not None for m in members)
    say(f"members: {confirmed}/{len(members)} confirmed; waiting for the supervisor's messages")
    await watcher
    bot_cpu, driver_cpu = cpu_of(bot.pid) - cpu_before, time.process_time() - driver_before
    pg_cpu = server_cpu.since(pg_before) if server_cpu else None
    # Late duplicates count too; then the chat must be quiet before the board is timed.
    await quiet(supervisor, SETTLE, 60)
    for event in supervisor.events[len(told.events) :]:
        classify(told, event, digest)
    say(f"supervisor told of {told.covered} in {len(told.events)} messages; the board")
    peaks = {"submissions": rss_mb(bot.pid, "VmHWM")}
    board, counts = await board_presses(
        api, supervisor, seeded.team_id, arg, args.presses, args.think
    )
    peaks["board"] = rss_mb(bot.pid, "VmHWM")
    say("the export")
    await asyncio.sleep(args.think)
    exported = await export_press(api, supervisor, arg)
    await asyncio.sleep(0.5)
    return Result(
        seeded=seeded,
        members=members,
        told=told,
        first_push=min(m.pushed for m in members),
        idle_rss=idle,
        peak_rss=rss_mb(bot.pid, "VmHWM"),
        peaks=peaks,
        bot_cpu=bot_cpu,
        pg_cpu=pg_cpu,
        driver_cpu=driver_cpu,
        board=board,
        board_counts=counts,
        exported=exported,
    )


# --- the report -------------------------------------------------------------------------


def report(args: argparse.Namespace, r: Result) -> None:
    n = len(r.members)
    confirmed = [m for m in r.members if m.confirmed is not None]
    reviewed = sum(m.reviewed is not None for m in r.members)
    latencies = [m.confirmed - m.pushed for m in confirmed if m.confirmed is not None]
    failures = Counter(m.failure.split(" (")[0] for m in r.members if m.failure)
    last_confirmed = max((m.confirmed for m in confirmed if m.confirmed), default=r.first_push)
    told = r.told
    times = [e.time for e in told.events]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # A notification with warnings is two messages (the warnings, then the document): the
    # gaps between notifications leave the second of such a pair out.
    starts = [e.time for i, e in enumerate(told.events) if not _second_of_pair(told.events, i)]
    notification_gaps = [b - a for a, b in itertools.pairwise(starts)]
    names = Counter([*told.singles, *told.listed])
    twice_by_name = sum(c - 1 for c in names.values() if c > 1)
    twice = max(0, told.covered - n) + twice_by_name
    never = max(0, n - told.covered)
    all_told = (told.all_told_at - r.first_push) if told.all_told_at else float("nan")
    stored = r.stored
    board_p50, board_max = percentile(r.board, 50) * 1000, max(r.board) * 1000
    growth = r.peak_rss - r.idle_rss
    database = args.database or "SQLite (temporary file)"
    print(
        f"\nteam bench: {n} members, /submit spread over {args.seconds:g} s; database: "
        f"{database}; rate limiter on (as shipped)\n"
        f"seeding (not measured): {r.seeded.seconds:.1f} s, "
        f"{r.seeded.characters:.0f} characters of answers a member, "
        f"{r.seeded.flawed} reports written with something the review flags\n"
        f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} cores)"
    )
    print(
        f"\nmembers: {len(confirmed)}/{n} confirmed ({reviewed} shown the review, pressed "
        f"仍然提交); failures: {dict(failures) or 0}\n"
        f'  /submit -> "第 1 版": p50 {percentile(latencies, 50) * 1000:.0f} ms, '
        f"p95 {percentile(latencies, 95) * 1000:.0f} ms, "
        f"max {max(latencies, default=0) * 1000:.0f} ms"
        f"; last confirmed {last_confirmed - r.first_push:.1f} s after the first /submit"
    )
    singles_sizes = f"{len(told.singles)} single notifications"
    digest_sizes = (
        f"{len(told.digests)} digests (N {min(told.digests)}–{max(told.digests)})"
        if told.digests
        else "no digest"
    )
    print(
        f"supervisor: told of {told.covered}/{n} submissions {all_told:.1f} s after the first "
        f"/submit, in {len(told.events)} messages: {singles_sizes}, {digest_sizes}, "
        f"{told.warnings} warning texts ahead of a document"
        + (f", {len(told.other)} other: {told.other[:3]}" if told.other else "")
        + "\n  timeline (s after the first /submit: 1 = single, ⚠ = its warnings): "
        + _timeline(told, r.first_push)
        + f"\n  gap between two messages: min {min(gaps, default=float('nan')):.2f} s, "
        f"max {max(gaps, default=float('nan')):.2f} s; between notifications: min "
        f"{min(notification_gaps, default=float('nan')):.2f} s"
        f"\n  told twice: {twice}, never: {never}; stored: {stored.submissions} submissions, "
        f"{stored.versions} versions, outbox 'submitted' {stored.outbox_submitted} rows "
        f"({stored.outbox_sent} sent, {stored.outbox_failed} failed, "
        f"{stored.outbox_pending} pending)"
    )
    pg = f", PostgreSQL backends {r.pg_cpu:.1f} s" if r.pg_cpu is not None else ""
    span = max(told.all_told_at or last_confirmed, last_confirmed) - r.first_push
    print(
        f"  CPU over the submissions ({span:.0f} s): bot {r.bot_cpu:.1f} s "
        f"({r.bot_cpu / span * 100:.0f} % of a core){pg}; fake + driver {r.driver_cpu:.1f} s"
    )
    print(
        f"\nboard ({args.presses} presses, {args.think:g} s after /team's answer; end to end: "
        f"pushing the press to the board reaching the fake over HTTP): "
        f"p50 {board_p50:.0f} ms, max {board_max:.0f} ms; "
        f"{r.board_counts}\n"
        f"  diagnostic, in this process: load_board + board_message "
        f"{r.board_in_process * 1000:.0f} ms (best of 5)"
    )
    e = r.exported
    parts = ", ".join(f"{size / 1e6:.1f} MB" for _, size in e.parts)
    print(
        f'export: .xlsx {e.seconds:.2f} s after the press ("正在导出" after '
        f"{e.started * 1000:.0f} ms); {len(e.parts)} zip part(s): {parts}; .xlsx "
        f"{e.summary_bytes / 1e3:.0f} kB; caption {e.caption!r}\n"
        f"  diagnostic, in this process: exports.build {r.export_in_process:.2f} s"
    )
    print(
        f"RSS: idle {r.idle_rss:.0f} MB, peak (VmHWM) {r.peak_rss:.0f} MB, "
        f"growth {growth:.0f} MB (peak after "
        + ", ".join(f"the {phase} {mb:.0f} MB" for phase, mb in r.peaks.items())
        + f", the export {r.peak_rss:.0f} MB)\nbot: {r.stopped}"
    )
    checks: list[tuple[str, str, str, bool]] = [
        ("board, process, p50", f"{board_p50:.0f} ms", "<= 200 ms", board_p50 <= 200),
        ("board, process, max", f"{board_max:.0f} ms", "<= 200 ms", board_max <= 200),
        ("export, press -> .xlsx", f"{e.seconds:.2f} s", "<= 10 s", e.seconds <= 10),
        ("peak RSS - idle RSS", f"{growth:.0f} MB", "<= 150 MB", growth <= 150),
        ("members not confirmed", f"{n - len(confirmed)}", "0", len(confirmed) == n),
        ("submissions told twice/never", f"{twice}/{never}", "0/0", twice + never == 0),
        (
            "min gap between notifications",
            f"{min(notification_gaps, default=float('inf')):.2f} s",
            ">= ~1 s",
            min(notification_gaps, default=1.0) >= 0.95,
        ),
    ]
    print("\nfigures:")
    for label, value, target, met in checks:
        print(f"  {label:32}{value:>12}  {target:10}{'met' if met else 'MISSED'}")
    if args.quick:
        print("  (a --quick run: judge the targets on a default run)")
    lines = r.log.splitlines()
    problems = [line for line in lines if any(w in line for w in ("WARNING", "ERROR", "Traceback"))]
    print(f"\nbot log: {len(lines)} lines, {len(problems)} warnings/errors")
    for line in (problems if not args.verbose else lines)[:12]:
        print(f"  {line[:160]}")
    print(f"\ncommand: {shlex.join([sys.executable, *sys.argv])}")


def _timeline(told: Told, origin: float) -> str:
    marks = [
        f"{e.time - origin:.1f} {kind}" for e, kind in zip(told.events, told.kinds, strict=True)
    ]
    if len(marks) > 8:
        marks = [*marks[:4], f"… {len(marks) - 7} more …", *marks[-3:]]
    return ", ".join(marks)


def _second_of_pair(events: list[Event], i: int) -> bool:
    """A single notification's document right after its warning text."""
    return (
        i > 0
        and events[i].method == "sendDocument"
        and events[i - 1].text.startswith("⚠")
        and events[i].time - events[i - 1].time < 0.5
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=None, help="default: SQLite in a temporary dir")
    parser.add_argument("--members", type=int, help="members who submit (default 1000)")
    parser.add_argument("--seconds", type=float, help="over how long (default 60)")
    parser.add_argument("--presses", type=int, default=5, help="board presses timed")
    parser.add_argument(
        "--think", type=float, default=3.0, help="the supervisor's seconds before each step"
    )
    parser.add_argument("--idle-wait", type=float, default=4.0, help="seconds before idle RSS")
    parser.add_argument("--quick", action="store_true", help="100 members over 10 s")
    parser.add_argument("--verbose", action="store_true", help="print the bot's log")
    args = parser.parse_args()
    if args.members is None:
        args.members = 100 if args.quick else 1000
    if args.seconds is None:
        args.seconds = 10.0 if args.quick else 60.0
    result = asyncio.run(run(args))
    report(args, result)


if __name__ == "__main__":
    main()
