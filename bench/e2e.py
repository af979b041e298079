"""End to end: the real bot process, long-polling a fake Bot API over HTTP, beside two
conventional python-telegram-bot bots run the same way, in the same invocation.

Each side runs as its own process against its own fake server (bench/fake_api_server.py,
asyncio, on 127.0.0.1, in this process): ours as the README runs it (`python -m bot` with
TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL, DATABASE_URL, POLL_TIMEOUT, LOG_LEVEL=WARNING), a
bare echo bot (bench/bots/echo_bot.py) and a ConversationHandler + PicklePersistence bot
with a questionnaire of the same length and shape (bench/bots/conversation_bot.py), both
with `run_polling`. Simulated cadres push updates into the fake; the bot fetches them with
getUpdates. For every side, in order:

1. calibration: one cadre's complete interview alone, step by step, waiting for quiet after
   each step: what a cadre receives (method and text, its own name normalised), which is
   the expected sequence for everybody else, whatever the bot's UX is today;
2. capacity: --cadres complete interviews, each cadre sending its next step as soon as the
   reply to the previous one (as many chat-bound calls as in calibration) has arrived;
3. offered rates: for each of --rates R, R x --think cadres who each send a step every
   --think seconds on average (from sending, so the load stays R as long as replies
   come in time; a late reply makes its cadre late);
4. backlog: --backlog updates (/start, /status, /help from fresh cadres, which need no
   buttons) pushed while getUpdates delivers nothing, then released at once: updates
   handled per second until every reply is out.

Printed per phase and side: steps/s, p50/p95/p99 from pushing an update to its first reply
arriving at the fake, CPU per step of the bot process alone (/proc/<pid>/stat), chat-bound
Bot API calls per step (calls carrying a chat_id, without answerCallbackQuery and
getUpdates), duplicates and lost messages against the calibration (both must be 0), the
CPU this process (fake + driver) used, and at the end each bot's peak RSS (VmHWM); then
the ratios ours/echo and ours/conversation.

    python bench/e2e.py                     # SQLite in a temporary directory, about 4 min
    python bench/e2e.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/e2e.py --quick             # a smoke run, under a minute
    python bench/e2e.py --limiter on --rates 20,25,50   # as shipped: rate limiters on

--limiter applies to all three bots (default off, for capacity): on, ours runs as shipped
(with its own rate limiter), the comparators with PTB's AIORateLimiter (30/s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import itertools
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy.engine import make_url  # noqa: E402

from bench.databases import fresh_database  # noqa: E402
from bench.fake_api_server import BotApiServer, Chat, Event, FakeBotApi  # noqa: E402
from bot.interview.questionnaire import load_catalogue  # noqa: E402

TOKEN = "123456789:BENCH-token_abcdefghijklmnopqrstuvwxyz012"
SIDES = ("debrief", "echo", "conversation")
QUESTIONNAIRE = load_catalogue(ROOT / "prompts").get("annual", "zh")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
QUIET = 0.15  # calibration: a step's reply is complete after this long without a call
FINAL_QUIET = 2.5  # … and after the last step (the .docx may wait out a chat's one a second)
STEP_TIMEOUT = 20.0  # a cadre waits at most this long for one step's reply
TICK = os.sysconf("SC_CLK_TCK")
Seq = list[tuple[str, str]]


@dataclass(frozen=True)
class Step:
    """Type a text, or press the newest button whose callback data is v1:<act>:…:<arg>."""

    kind: Literal["say", "press"]
    value: str
    arg: str | None = None


def name_of(n: int) -> str:
    """A distinct three-character name for cadre n."""
    return SURNAMES[n % 20] + GIVEN[n // 20 % 20] + GIVEN[n // 400 % 20]


def interview_script(name: str) -> list[Step]:
    """A complete interview: registration, the annual report, every question (two entries
    and Next for lists), substantial answers with figures (no follow-ups); the last step
    yields the draft."""
    steps = [
        Step("say", "/start"),
        Step("press", "lang", "zh"),
        Step("say", name),
        Step("say", "教育局副局长，分管基础教育和教师队伍建设"),
        Step("say", "市教育局"),
        Step("press", "type", "annual"),
    ]
    for question in QUESTIONNAIRE.questions:
        for entry in range(2 if question.multiple else 1):
            steps.append(
                Step(
                    "say",
                    f"（{question.id}-{entry}）本年度完成重点项目12个，较上年增长15%，"
                    "覆盖全市38所学校，惠及师生2.3万人，经费使用合规率100%。",
                )
            )
        if question.multiple:
            steps.append(Step("press", "next"))
    return steps


BACKLOG_SCRIPT = [Step("say", "/start"), Step("say", "/status"), Step("say", "/help")]


# --- the bot processes ------------------------------------------------------------------


class BotProcess:
    """One side's bot as a process of its own; CPU and peak RSS read from /proc."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.command, self.env, self.workdir = command, env, workdir
        self.log = workdir / "bot.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu(self) -> float:
        """utime + stime of the process (all its threads), in seconds."""
        return cpu_of(self.pid)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s (waiting off the loop: the fake serves on it,
        and a stopping bot still calls it)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, 10)

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def cpu_of(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class ServerCpu:
    """CPU of the local PostgreSQL backends serving one database (found in /proc by their
    process titles, `postgres: <user> <database> <host> …`)."""

    def __init__(self, database: str) -> None:
        self.marker = f" {database} ".encode()

    def snapshot(self) -> dict[int, float]:
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                title = (entry / "cmdline").read_bytes()
                if title.startswith(b"postgres: ") and self.marker in title:
                    found[int(entry.name)] = cpu_of(int(entry.name))
            except OSError:
                continue
        return found

    def since(self, before: dict[int, float]) -> float | None:
        """Seconds used since `before` by the backends alive now (None: none found)."""
        now = self.snapshot()
        if not now:
            return None
        return sum(used - before.get(pid, 0.0) for pid, used in now.items())


def command_for(side: str) -> list[str]:
    """Ours as the README runs it (RATE_LIMITER in its environment); the others' scripts."""
    if side == "debrief":
        return [sys.executable, "-m", "bot"]
    return [sys.executable, str(ROOT / f"bench/bots/{side}_bot.py")]


# --- cadres -----------------------------------------------------------------------------


class Updates:
    """Bot API update dicts as Telegram sends them (update_id is set by the fake)."""

    ids = itertools.count(1)

    @staticmethod
    def user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "张", "language_code": "zh-hans"}

    @classmethod
    def text(cls, user_id: int, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(cls.ids),
            "from": cls.user(user_id),
            "chat": {"id": user_id, "type": "private", "first_name": "张"},
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"message": message}

    @classmethod
    def press(cls, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        query = {
            "id": str(next(cls.ids)),
            "from": cls.user(user_id),
            "chat_instance": str(user_id * 7919),
            "message": dict(message),
            "data": data,
        }
        return {"callback_query": query}


@dataclass
class Cadre:
    """A simulated cadre: a script, and what happened to each of its steps."""

    user_id: int
    name: str
    script: list[Step]
    chat: Chat
    latencies: list[float] = field(default_factory=list)
    pushed: list[float] = field(default_factory=list)
    unanswered: int = 0
    forged: int = 0

    def update_for(self, step: Step) -> dict[str, Any]:
        if step.kind == "say":
            return Updates.text(self.user_id, step.value)
        found = self.chat.button(step.value, step.arg)
        if found is None:  # a bot without such a button (the echo bot): press one anyway
            self.forged += 1
            newest = self.chat.messages.get(self.chat.touched[-1]) if self.chat.touched else None
            message = newest or {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": self.user_id, "type": "private"},
                "text": "…",
            }
            return Updates.press(self.user_id, message, f"v1:{step.value}:0:{step.arg or ''}:-1")
        return Updates.press(self.user_id, *found)

    def received(self) -> Seq:
        """What the cadre received, as (method, text), its own name normalised."""
        return normalised(self.chat.events, self.name)


def normalised(events: Sequence[Event], name: str) -> Seq:
    return [(e.method, e.text.replace(name, "{name}")) for e in events]


def compare(expected: Seq, got: Seq) -> tuple[int, int, int, str]:
    """(duplicates, lost, differing, first difference): extra messages, missing ones, ones
    in place whose text differs, and the first of these in words."""
    duplicates = lost = differing = 0
    first = ""
    matcher = difflib.SequenceMatcher(None, expected, got, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        extra, missing = max(0, (j2 - j1) - (i2 - i1)), max(0, (i2 - i1) - (j2 - j1))
        if tag == "insert":
            extra = j2 - j1
        elif tag == "delete":
            missing = i2 - i1
        else:
            differing += min(i2 - i1, j2 - j1)
        duplicates, lost = duplicates + extra, lost + missing
        if not first:
            shown = got[j1] if j2 > j1 else expected[i1]
            first = f"{tag} at message {i1 + 1}: {shown[0]} {shown[1][:50]!r}"
    return duplicates, lost, differing, first


@dataclass
class Calibration:
    """What one cadre alone receives at each step of a script."""

    per_step: list[Seq]
    forged: int
    waited: list[float]  # seconds from each step to its first reply (STEP_TIMEOUT: none)

    @property
    def counts(self) -> list[int]:
        return [len(s) for s in self.per_step]

    @property
    def sequence(self) -> Seq:
        return [e for s in self.per_step for e in s]


async def calibrate(api: FakeBotApi, cadre: Cadre) -> Calibration:
    """Play the script serially, each step's reply taken as complete after a quiet spell."""
    loop = asyncio.get_running_loop()
    per_step: list[Seq] = []
    waited: list[float] = []
    for i, step in enumerate(cadre.script):
        before = len(cadre.chat.events)
        sent = time.perf_counter()
        api.push(cadre.update_for(step))
        await cadre.chat.wait_for(before + 1, loop.time() + STEP_TIMEOUT)
        answered = len(cadre.chat.events) > before
        waited.append(cadre.chat.events[before].time - sent if answered else STEP_TIMEOUT)
        quiet = FINAL_QUIET if i == len(cadre.script) - 1 else QUIET
        seen = -1
        while seen != len(cadre.chat.events):
            seen = len(cadre.chat.events)
            await cadre.chat.wait_for(seen + 1, loop.time() + quiet)
        per_step.append(normalised(cadre.chat.events[before:], cadre.name))
    return Calibration(per_step, cadre.forged, waited)


async def play(
    api: FakeBotApi,
    cadre: Cadre,
    counts: list[int],
    *,
    think: float,
    start: float,
    chance: random.Random,
) -> None:
    """Every step of the script; the next one once the reply is complete and, with
    `think`, not before a random interval (mean `think`) from sending the previous one."""
    loop = asyncio.get_running_loop()
    due = start
    for step, count in zip(cadre.script, counts, strict=True):
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        before = len(cadre.chat.events)
        sent = time.perf_counter()
        api.push(cadre.update_for(step))
        cadre.pushed.append(sent)
        due = loop.time() + think * chance.uniform(0.5, 1.5) if think else 0.0
        complete = await cadre.chat.wait_for(before + count, loop.time() + STEP_TIMEOUT)
        if len(cadre.chat.events) > before:
            cadre.latencies.append(cadre.chat.events[before].time - sent)
        if not complete:
            cadre.unanswered += 1


# --- phases -----------------------------------------------------------------------------


@dataclass
class Figures:
    """One phase on one side."""

    steps: int  # counted for the rate (in the steady part, when offered at a rate)
    elapsed: float
    all_steps: int  # every step of the phase, for the figures per step
    latencies: list[float]
    bot_cpu: float
    own_cpu: float
    server_cpu: float | None
    chat_calls: int
    duplicates: int
    lost: int
    differing: int
    unanswered: int
    problems: list[str]
    incomplete: bool = False

    @property
    def rate(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000

    @property
    def cpu_ms_per_step(self) -> float:
        return self.bot_cpu / self.all_steps * 1000 if self.all_steps else float("nan")

    @property
    def server_ms_per_step(self) -> float:
        if self.server_cpu is None or not self.all_steps:
            return float("nan")
        return self.server_cpu / self.all_steps * 1000

    @property
    def calls_per_step(self) -> float:
        return self.chat_calls / self.all_steps if self.all_steps else float("nan")

    @property
    def own_cpu_share(self) -> float:
        return self.own_cpu / self.elapsed * 100 if self.elapsed > 0 else float("nan")


@dataclass
class SideResult:
    """What one side measured."""

    phases: dict[str, Figures]
    peak_rss_mb: float
    interview_steps: int
    interview_calls: int
    forged: int


class Side:
    """One bot process, its fake server, its cadres."""

    def __init__(
        self,
        name: str,
        api: FakeBotApi,
        bot: BotProcess,
        *,
        first_user: int,
        server: ServerCpu | None = None,
    ) -> None:
        self.name, self.api, self.bot, self.server = name, api, bot, server
        self.users = itertools.count(first_user)
        self.interview: Calibration | None = None
        self.backlog: Calibration | None = None
        self.phases: dict[str, Figures] = {}

    def result(self) -> SideResult:
        """The figures, with the bot's peak RSS (read while it still runs)."""
        assert self.interview is not None
        return SideResult(
            phases=self.phases,
            peak_rss_mb=self.bot.peak_rss_mb(),
            interview_steps=len(self.interview.per_step),
            interview_calls=len(self.interview.sequence),
            forged=self.interview.forged,
        )

    def cadres(self, count: int, script: Callable[[str], list[Step]]) -> list[Cadre]:
        made = []
        for _ in range(count):
            user_id = next(self.users)
            name = name_of(user_id)
            made.append(Cadre(user_id, name, script(name), self.api.chat(user_id)))
        return made

    async def measured(
        self,
        cadres: list[Cadre],
        expected: Calibration,
        run: Callable[[], Awaitable[None]],
        *,
        limit: float,
        steady: bool = False,
    ) -> Figures:
        """Run the phase (at most `limit` seconds) and take its figures."""
        calls, bot_cpu, own_cpu = self.api.chat_bound, self.bot.cpu(), time.process_time()
        server_before = self.server.snapshot() if self.server else {}
        began = time.perf_counter()
        incomplete = False
        try:
            await asyncio.wait_for(run(), limit)
        except TimeoutError:
            incomplete = True
        await asyncio.sleep(0.3)  # late duplicates count too
        last = max((c.chat.events[-1].time for c in cadres if c.chat.events), default=began)
        bot_cpu, own_cpu = self.bot.cpu() - bot_cpu, time.process_time() - own_cpu
        server_cpu = self.server.since(server_before) if self.server else None
        elapsed = last - began
        steps = all_steps = sum(len(c.pushed) for c in cadres)
        latencies = [t for c in cadres for t in c.latencies]
        if steady:  # only while every cadre was under way
            start = max(c.pushed[0] for c in cadres if c.pushed)
            end = min(c.pushed[-1] for c in cadres if c.pushed)
            if end - start > 1.0:
                steps = sum(start <= t <= end for c in cadres for t in c.pushed)
                elapsed = end - start
        dup = lost = diff = 0
        problems: list[str] = []
        for cadre in cadres:
            # A cadre cut short by the phase's time limit is compared with what it sent.
            sent = sum(expected.counts[: len(cadre.pushed)])
            d, lo, df, first = compare(expected.sequence[:sent], cadre.received())
            dup, lost, diff = dup + d, lost + lo, diff + df
            if first and len(problems) < 5:
                problems.append(f"cadre {cadre.user_id}: {first}")
        return Figures(
            steps=steps,
            elapsed=elapsed,
            all_steps=all_steps,
            latencies=latencies,
            bot_cpu=bot_cpu,
            own_cpu=own_cpu,
            server_cpu=server_cpu,
            chat_calls=self.api.chat_bound - calls,
            duplicates=dup,
            lost=lost,
            differing=diff,
            problems=problems,
            unanswered=sum(c.unanswered for c in cadres),
            incomplete=incomplete,
        )

    async def calibrate(self) -> None:
        interview = self.cadres(1, interview_script)[0]
        backlog = self.cadres(1, lambda _name: list(BACKLOG_SCRIPT))[0]
        self.interview, self.backlog = await asyncio.gather(
            calibrate(self.api, interview), calibrate(self.api, backlog)
        )

    async def closed_loop(self, count: int, *, think: float = 0.0) -> Figures:
        """`count` complete interviews at once; with `think`, paced (see `play`)."""
        assert self.interview is not None
        expected = self.interview
        cadres = self.cadres(count, interview_script)
        chance = random.Random(2026)
        loop = asyncio.get_running_loop()
        now = loop.time()

        async def run() -> None:
            await asyncio.gather(
                *(
                    play(
                        self.api,
                        c,
                        expected.counts,
                        think=think,
                        start=now + (chance.uniform(0, think) if think else 0.0),
                        chance=chance,
                    )
                    for c in cadres
                )
            )

        length = len(expected.counts)
        limit = 240.0 if not think else length * think * 1.5 + 60
        return await self.measured(cadres, expected, run, limit=limit, steady=bool(think))

    async def drain(self, updates: int) -> Figures:
        """A backlog pushed while getUpdates delivers nothing, then released."""
        assert self.backlog is not None
        expected = self.backlog
        cadres = self.cadres(-(-updates // len(BACKLOG_SCRIPT)), lambda _n: list(BACKLOG_SCRIPT))
        self.api.close_gate()
        await asyncio.sleep(0.2)
        pushed = 0
        for step_index in range(len(BACKLOG_SCRIPT)):
            for cadre in cadres:
                if pushed < updates:
                    self.api.push(cadre.update_for(cadre.script[step_index]))
                    cadre.pushed.append(0.0)
                    pushed += 1
        targets = [sum(expected.counts[: len(c.pushed)]) for c in cadres]  # all replies
        loop = asyncio.get_running_loop()

        async def run() -> None:
            opened = time.perf_counter()
            for cadre in cadres:
                cadre.pushed = [opened] * len(cadre.pushed)
            self.api.open_gate()
            deadline = loop.time() + 600
            await asyncio.gather(
                *(c.chat.wait_for(t, deadline) for c, t in zip(cadres, targets, strict=True))
            )
            for cadre in cadres:
                if cadre.chat.events:
                    cadre.latencies.append(cadre.chat.events[-1].time - opened)

        return await self.measured(cadres, expected, run, limit=max(60.0, updates / 10))


# --- one side, start to end -------------------------------------------------------------


@contextlib.asynccontextmanager
async def started(name: str, args: argparse.Namespace) -> AsyncIterator[Side]:
    """One side's fake server, database and bot process, polling; all removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"e2e-{name}-") as tmp:
        workdir = Path(tmp)
        api = FakeBotApi(TOKEN)
        server = await BotApiServer(api).start()
        database, drop = await fresh_database(
            args.database or f"sqlite:///{workdir}/debrief.db", prefix="debrief_e2e"
        )
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "DATABASE_URL": database,
            "POLL_TIMEOUT": str(args.poll_timeout),
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITER": args.limiter,
            "PICKLE_FILE": str(workdir / "conversation.pickle"),
        }
        bot = BotProcess(command_for(name), env, workdir)
        server_cpu = None
        if name == "debrief" and database.startswith("postgresql"):
            server_cpu = ServerCpu(str(make_url(database).database))
        try:
            bot.start()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while not api.polled.is_set() and bot.alive() and loop.time() < deadline:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(api.polled.wait(), 0.1)
            if not bot.alive() or not api.polled.is_set():
                raise SystemExit(f"{name}: the bot did not start polling:\n{bot.tail()}")
            say(f"  {name}: polling")
            yield Side(name, api, bot, first_user=1_000_000, server=server_cpu)
        finally:
            await bot.stop()
            await server.close()
            await drop()
            if args.verbose:
                print(f"--- {name} log ---\n{bot.tail(40)}")


async def calibrated(side: Side, verbose: bool) -> None:
    """Calibrate one side and check that its interview ended in a draft."""
    await side.calibrate()
    assert side.interview is not None
    say(f"  {side.name}: calibrated, {len(side.interview.sequence)} messages per interview")
    if verbose:
        script = interview_script("{name}")
        for i, (step, got) in enumerate(zip(script, side.interview.per_step, strict=True)):
            waited = side.interview.waited[i] * 1000
            print(f"  {side.name} step {i + 1} {step.kind} {step.value[:20]!r} ({waited:.0f} ms):")
            for method, text in got:
                print(f"      {method}: {text[:70]!r}")
    slow = [f"{i + 1} ({w:.1f} s)" for i, w in enumerate(side.interview.waited) if w > 1.0]
    if slow:
        say(f"  WARNING: {side.name}'s calibration: steps answered after > 1 s: {slow}")
    if side.name != "echo" and not any(m == "sendDocument" for m, _ in side.interview.sequence):
        say(f"  WARNING: {side.name}'s calibration interview did not end in a .docx")


def targets(args: argparse.Namespace, results: dict[str, SideResult]) -> None:
    """Issue 6's targets that this run can check, met or missed."""
    ours = results["debrief"].phases
    checks: list[tuple[str, float, str, bool]] = []
    if args.limiter == "off":
        if "conversation" in results and "capacity" in ours:
            ratio = ours["capacity"].rate / results["conversation"].phases["capacity"].rate
            checks.append(("capacity ours/conversation", ratio, ">= 0.8", ratio >= 0.8))
        if "echo" in results and "capacity" in ours:
            echo = results["echo"].phases["capacity"]
            ratio = ours["capacity"].cpu_ms_per_step / echo.cpu_ms_per_step
            checks.append(("CPU per step ours/echo (capacity)", ratio, "<= 1.6", ratio <= 1.6))
        if "backlog" in ours:
            rate = ours["backlog"].rate
            checks.append(("backlog drain, updates/s", rate, ">= 100", rate >= 100))
    else:
        if "20/s" in ours:
            p99 = ours["20/s"].percentile(99)
            checks.append(("p99 ms at 20/s offered", p99, "<= 100", p99 <= 100))
        sustained = [f.rate for f in ours.values() if f.percentile(99) <= 1000]
        best = max(sustained, default=0.0)
        checks.append(("steps/s sustained with p99 <= 1 s", best, ">= 24", best >= 24))
    if ours:
        calls = next(iter(ours.values())).calls_per_step
        checks.append(("chat-bound calls per step", calls, "<= 1.1", calls <= 1.1))
    note = " (a --quick run: judge them on a default run)" if args.quick else ""
    print(f"\nissue 6 targets (ours){note}:")
    for label, value, target, met in checks:
        print(f"  {label:36}{value:>9.2f}  {target:8}{'met' if met else 'MISSED'}")


def offered(rate: float, think: float) -> Callable[[Side], Awaitable[Figures]]:
    """The phase at an offered rate: rate x think cadres, a step every ~think s each."""
    cadres = max(1, round(rate * think))
    return lambda side: side.closed_loop(cadres, think=cadres / rate)


async def run_all(args: argparse.Namespace) -> dict[str, SideResult]:
    """All sides start together and idle while another is measured; each phase is run on
    every side in turn, so the figures compared were taken minutes apart at most."""
    async with contextlib.AsyncExitStack() as stack:
        sides = [await stack.enter_async_context(started(n, args)) for n in args.sides]
        await asyncio.gather(*(calibrated(side, args.verbose) for side in sides))
        phases: list[tuple[str, Callable[[Side], Awaitable[Figures]]]] = []
        if args.cadres:
            phases.append(("capacity", lambda side: side.closed_loop(args.cadres)))
        for rate in args.rates:
            phases.append((f"{rate:g}/s", offered(rate, args.think)))
        if args.backlog:
            phases.append(("backlog", lambda side: side.drain(args.backlog)))
        for phase, run in phases:
            for side in sides:
                figures = side.phases[phase] = await run(side)
                say(f"  {side.name}: {phase} {figures.rate:.1f}/s")
                if not side.bot.alive():
                    raise SystemExit(f"{side.name}: the bot died:\n{side.bot.tail()}")
        return {side.name: side.result() for side in sides}


STARTED = time.perf_counter()


def say(text: str) -> None:
    """Progress, on stderr, with the seconds since the start."""
    print(f"[{time.perf_counter() - STARTED:5.0f} s] {text}", file=sys.stderr, flush=True)


# --- report -----------------------------------------------------------------------------


def report(args: argparse.Namespace, results: dict[str, SideResult]) -> None:
    """The figures side by side, with the ratios ours/echo and ours/conversation."""
    sides = [s for s in SIDES if s in results]
    first = results[sides[0]]
    limiter_note = "off"
    if args.limiter == "on":
        limiter_note = "on (ours as shipped; the comparators with PTB's AIORateLimiter)"
    messages = ", ".join(f"{s} {results[s].interview_calls}" for s in sides)
    print(
        f"database: {args.database or 'SQLite (temporary file)'}; rate limiter: {limiter_note}"
        f"\ninterview: {first.interview_steps} steps; messages a cadre alone receives: "
        f"{messages}\nload average before/after: {args.load_before} / "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores shared)"
    )
    for side in sides:
        if side != "echo" and results[side].forged:
            print(f"WARNING: {results[side].forged} buttons not found on {side} (script outdated)")
    ratios = [o for o in ("echo", "conversation") if o in results and "debrief" in results]
    head = (
        f"{'':20}"
        + "".join(f"{s:>13}" for s in sides)
        + "".join(f"{'ours/' + o[:4]:>11}" for o in ratios)
    )
    for phase in first.phases:
        figures = {s: results[s].phases[phase] for s in sides if phase in results[s].phases}
        if phase == "capacity":
            title = f"capacity: {args.cadres} cadres' complete interviews, no think time"
        elif phase == "backlog":
            title = f"backlog: {args.backlog} updates (/start, /status, /help) released at once"
        else:
            title = f"offered {phase}: complete interviews, a step every ~{args.think:g} s a cadre"
        print(f"\n{title}\n{head}")
        rows: list[tuple[str, Callable[[Figures], float], str]] = [
            ("steps/s", lambda f: f.rate, ".1f"),
            ("p50 ms", lambda f: f.percentile(50), ".0f"),
            ("p95 ms", lambda f: f.percentile(95), ".0f"),
            ("p99 ms", lambda f: f.percentile(99), ".0f"),
            ("CPU ms/step", lambda f: f.cpu_ms_per_step, ".2f"),
            ("chat calls/step", lambda f: f.calls_per_step, ".2f"),
            ("fake+driver CPU %", lambda f: f.own_cpu_share, ".0f"),
        ]
        if any(f.server_cpu is not None for f in figures.values()):
            rows.insert(5, ("PG server ms/step", lambda f: f.server_ms_per_step, ".2f"))
        if phase == "backlog":
            rows = [
                ("updates/s", lambda f: f.rate, ".1f"),
                ("all replied after s", lambda f: f.elapsed, ".1f"),
                *rows[4:],
            ]
        for label, get, fmt in rows:
            values = {s: v for s, f in figures.items() if (v := get(f)) == v}  # no NaN
            line = f"{label:20}" + "".join(
                f"{format(values[s], fmt) if s in values else '-':>13}" for s in sides
            )
            for other in ratios:
                ok = values.get(other) and "debrief" in values
                line += f"{values['debrief'] / values[other]:>11.2f}" if ok else f"{'-':>11}"
            print(line)
        checks = "".join(
            f"{f'{f.duplicates}/{f.lost}' + (f' ~{f.differing}' if f.differing else ''):>13}"
            for f in figures.values()
        )
        print(f"{'duplicates/lost':20}{checks}")
        for side, f in figures.items():
            for problem in f.problems:
                print(f"  {side}: {problem}")
            if f.incomplete or f.unanswered:
                print(
                    f"  {side}: {f.unanswered} steps without their whole reply within "
                    f"{STEP_TIMEOUT:g} s"
                    + ("; phase cut at its time limit" if f.incomplete else "")
                )
    line = f"\n{'peak RSS MB':20}" + "".join(f"{results[s].peak_rss_mb:>13.0f}" for s in sides)
    for other in ratios:
        line += f"{results['debrief'].peak_rss_mb / results[other].peak_rss_mb:>11.2f}"
    print(line)
    print(
        "latency: from pushing an update to its first reply reaching the fake; CPU: the bot "
        "process alone; chat calls: Bot API calls with a chat_id, without "
        "answerCallbackQuery; duplicates/lost against one cadre's calibration run "
        "(~N: messages in place whose text differs)."
    )
    if "debrief" in results:
        targets(args, results)
    bad = sum(f.duplicates + f.lost for r in results.values() for f in r.phases.values())
    if bad:
        print(f"FAILED: {bad} duplicate or lost messages")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=None, help="default: SQLite in a temporary dir")
    parser.add_argument(
        "--cadres", type=int, help="capacity run (default 64, quick 8; 0: no capacity run)"
    )
    parser.add_argument(
        "--rates", help="offered steps/s, comma-separated (default 20,50; quick 20)"
    )
    parser.add_argument(
        "--think",
        type=float,
        help="mean seconds between a cadre's steps (0.8, quick 0.25; with --limiter on 2)",
    )
    parser.add_argument("--backlog", type=int, help="updates (default 1650, quick 150; 0: none)")
    parser.add_argument("--limiter", choices=["on", "off"], default="off")
    parser.add_argument("--poll-timeout", type=int, default=2, help="POLL_TIMEOUT (seconds)")
    parser.add_argument("--quick", action="store_true", help="a smoke run, under 90 s")
    parser.add_argument(
        "--sides", default=",".join(SIDES), help="comma-separated subset of " + ",".join(SIDES)
    )
    parser.add_argument("--verbose", action="store_true", help="print the end of each log")
    args = parser.parse_args()
    # With the limiters on, a cadre's steps come at least 1 s apart: Telegram paces each
    # chat at about a message a second, and so does our limiter.
    think = 2.0 if args.limiter == "on" else 0.25 if args.quick else 0.8
    defaults = (8, "20", think, 150) if args.quick else (64, "20,50", think, 1650)
    for name, default in zip(("cadres", "rates", "think", "backlog"), defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    args.sides = [s for s in SIDES if s in args.sides.split(",")]
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.perf_counter()
    results = asyncio.run(run_all(args))
    report(args, results)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
