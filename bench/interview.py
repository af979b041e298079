"""Throughput and latency of complete interviews, beside a bare python-telegram-bot echo bot.

Simulated cadres register, pick the annual report and answer every question through
`Application.process_update` (concurrent_updates on, as in production); the last answer of
each interview assembles the draft (chat text + .docx). Two figures, each measured on our bot
and on a bare echo handler over the same fake transport:

- capacity: --cadres interleaved cadres (each takes one step per round), --concurrency
  updates in flight, as fast as they are handled: steps per second, and peak RSS;
- latency at a load: --latency-cadres interviews, --population people at a time, who read
  each reply, think a random while and send the next step, together --rate updates a
  second whether or not the bot keeps up; the server time of each update from its sending
  to the end of its handling, as p50/p95/p99 (asyncio's timers add up to a millisecond to
  each: see the bare echo).

    python bench/interview.py [--cadres 1000] [--rate 300] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bench.databases import fresh_database  # noqa: E402
from bench.transport import BenchRequest  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.interview.questionnaire import load_catalogue  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.schema import upgrade  # noqa: E402
from bot.telegram.app import build_application, deps_of_app, settle_memory  # noqa: E402

QUESTIONNAIRE = load_catalogue(ROOT / "prompts").get("annual", "zh")
TOKEN = "123456:BENCH-token_abcdefghijklmnopqrstuvwxyz012"
Step = Callable[[], dict[str, Any]]


class Updates:
    """Bot API update dicts for one simulated user."""

    counter = 0

    def __init__(self, user_id: int) -> None:
        self.user = {"id": user_id, "is_bot": False, "first_name": "张", "language_code": "zh"}

    def _next_id(self) -> int:
        Updates.counter += 1
        return Updates.counter

    def text(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._next_id(),
            "date": int(time.time()),
            "from": self.user,
            "chat": {"id": self.user["id"], "type": "private", "first_name": "张"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return {"update_id": self._next_id(), "message": message}

    def press(self, data: str) -> dict[str, Any]:
        return {
            "update_id": self._next_id(),
            "callback_query": {
                "id": str(self._next_id()),
                "from": self.user,
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "text": "…",
                    "chat": {"id": self.user["id"], "type": "private"},
                    "from": {"id": 123456, "is_bot": True, "first_name": "Debrief"},
                },
            },
        }


def interview_steps(user_id: int, transport: BenchRequest) -> list[Step]:
    """Every update one cadre sends, from /start to the last answer (lazily built, since
    some buttons carry ids the bot has only just chosen)."""
    q = QUESTIONNAIRE
    u = Updates(user_id)
    answer = "本年度完成重点项目12个，较上年增长15%，覆盖全市38所学校，惠及师生2.3万人。"
    steps: list[Step] = [
        lambda: u.text("/start"),
        lambda: u.press("v1:lang:0:zh:-1"),
        lambda: u.text("张伟"),
        lambda: u.text("副局长"),
        lambda: u.text("市教育局"),
        lambda: u.press("v1:type:0:annual:-1"),
    ]
    for question in q.questions:
        for i in range(2 if question.multiple else 1):
            # Each answer distinct: an exact repeat of the previous one is taken for a resend.
            steps.append(lambda i=i, qid=question.id: u.text(f"{answer}（{qid} {i}）"))
        if question.multiple:
            steps.append(lambda: u.press(transport.button(user_id, "v1:next:")))
    return steps


Turn = tuple[Step, bool]  # a step, and whether it completes the interview


def rounds(cadres: list[list[Step]]) -> list[list[Turn]]:
    """Every cadre takes one step per round, and cadre i starts i rounds late (modulo the
    interview's length), so each round mixes every stage of the interview, drafts included,
    instead of all cadres finishing in the same round."""
    length = max(len(steps) for steps in cadres)
    offsets = [i % length for i in range(len(cadres))]
    return [
        [
            (steps[r - offset], r - offset == len(steps) - 1)
            for steps, offset in zip(cadres, offsets, strict=True)
            if 0 <= r - offset < len(steps)
        ]
        for r in range(length + max(offsets))
    ]


async def drive(
    process: Callable[[dict[str, Any]], Awaitable[None]], cadres: list[list[Step]], concurrency: int
) -> tuple[list[float], list[float], float]:
    """Closed loop: the rounds' steps as fast as they are handled, at most `concurrency` in
    flight. Returns the times of all updates, of the interview-completing ones, and the
    elapsed time."""
    times: list[float] = []
    last: list[float] = []
    limit = asyncio.Semaphore(concurrency)

    async def one(step: Step, is_last: bool) -> None:
        async with limit:
            update = step()
            started = time.perf_counter()
            await process(update)
            elapsed = time.perf_counter() - started
            times.append(elapsed)
            if is_last:
                last.append(elapsed)

    began = time.perf_counter()
    for turns in rounds(cadres):
        # One step per cadre per round; a cadre's own steps never overlap.
        await asyncio.gather(*(one(step, is_last) for step, is_last in turns))
    return times, last, time.perf_counter() - began


async def drive_at_rate(
    process: Callable[[dict[str, Any]], Awaitable[None]],
    cadres: list[list[Step]],
    rate: float,
    population: int,
) -> tuple[list[float], list[float], float]:
    """Open loop, as people use the bot. `population` people at a time each read the reply,
    think a random while (mean chosen so that together they send `rate` updates a second)
    and send the next step, whether or not the bot keeps up with the others; whoever
    finishes an interview is followed by the next cadre, so drafts come all along. Times
    run from sending to the end of handling, so waiting counts; only the steady part (every
    seat busy) is kept, and its real rate is returned as updates over elapsed time."""
    loop = asyncio.get_running_loop()
    think = population / rate
    chance = random.Random(2026)  # the same load on every run
    records: list[tuple[float, float, bool]] = []  # sent at, server time, completes
    started: list[float] = []
    finished: list[float] = []

    async def seat(interviews: list[list[Step]]) -> None:
        sent = loop.time() + chance.uniform(0, think)
        started.append(sent)
        for steps in interviews:
            for i, step in enumerate(steps):
                if sent > loop.time():
                    await asyncio.sleep(sent - loop.time())
                await process(step())
                answered = loop.time()
                records.append((sent, answered - sent, i == len(steps) - 1))
                sent = answered + chance.uniform(0.5, 1.5) * think
        finished.append(loop.time())

    await asyncio.gather(*(seat(cadres[k::population]) for k in range(population)))
    begin, end = max(started), min(finished)
    steady = [(time_, completes) for sent, time_, completes in records if begin <= sent <= end]
    return [t for t, _ in steady], [t for t, c in steady if c], end - begin


Driver = Callable[
    [Callable[[dict[str, Any]], Awaitable[None]], list[list[Step]]],
    Awaitable[tuple[list[float], list[float], float]],
]


def driver(args: argparse.Namespace) -> Driver:
    """Closed loop (capacity) or open loop at a rate (latency), from the command line."""
    if args.phase == "capacity":
        return lambda process, plans: drive(process, plans, args.concurrency)
    return lambda process, plans: drive_at_rate(process, plans, args.rate, args.population)


def summary(times: list[float], last: list[float], elapsed: float) -> dict[str, Any]:
    """The figures of one run; `last` are the interview-completing updates (draft built)."""
    cuts = statistics.quantiles(times, n=100)
    figures = {
        "updates": len(times),
        "per_second": len(times) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p95_ms": cuts[94] * 1000,
        "p99_ms": cuts[98] * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if last:
        figures["completion_p50_ms"] = statistics.median(last) * 1000
    return figures


async def run_ours(cadres: int, database: str | None, drive_with: Driver) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite+aiosqlite:///{tmp}/bench.db"
        url, drop = await fresh_database(url, prefix="debrief_bench")
        try:
            db = Database(url)
            await upgrade(db)
            await db.dispose()
            settings = Settings(
                _env_file=None,
                telegram_bot_token=TOKEN,  # type: ignore[call-arg]
                database_url=url,
                data_dir=Path(tmp),
            )
            transport = BenchRequest()
            app = build_application(settings, request=transport, rate_limit=False)
            async with app:

                async def process(update: dict[str, Any]) -> None:
                    await app.process_update(Update.de_json(update, app.bot))

                plans = [interview_steps(10_000 + i, transport) for i in range(cadres)]
                settle_memory()  # as the bot does once it has started
                times, last, elapsed = await drive_with(process, plans)
            await deps_of_app(app).db.dispose()
            # Every interview must really have ended in a draft, or the figures mean nothing.
            if transport.documents != cadres:
                raise SystemExit(f"{transport.documents} drafts for {cadres} cadres")
            return summary(times, last, elapsed)
        finally:
            await drop()


async def run_bare(updates: int, drive_with: Driver) -> dict[str, Any]:
    transport = BenchRequest()
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(transport)
        .updater(None)
        .concurrent_updates(True)
        .build()
    )

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:

        async def process(update: dict[str, Any]) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        per_user = 23  # as many steps as one of our interviews
        plans: list[list[Step]] = []
        for i in range(max(1, updates // per_user)):
            u = Updates(10_000 + i)
            plans.append([lambda u=u: u.text("本年度完成重点项目12个") for _ in range(per_user)])
        times, _, elapsed = await drive_with(process, plans)
    return summary(times, [], elapsed)


def measure(args: argparse.Namespace, side: str, phase: str, **extra: int) -> dict[str, Any]:
    """One side and phase in a process of its own, so its peak RSS is its own."""
    command = [
        sys.executable,
        __file__,
        "--side",
        side,
        "--phase",
        phase,
        "--cadres",
        str(args.latency_cadres if phase == "latency" else args.cadres),
        "--concurrency",
        str(args.concurrency),
        "--rate",
        str(args.rate),
        "--population",
        str(args.population),
        *(["--database", args.database] if args.database else []),
        *(arg for name, value in extra.items() for arg in (f"--{name}", str(value))),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cadres", type=int, default=1000, help="capacity run (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="capacity run (default 8)")
    parser.add_argument("--rate", type=float, default=300.0, help="latency run (default 300/s)")
    parser.add_argument("--latency-cadres", type=int, default=300, help="latency run (default 300)")
    parser.add_argument(
        "--population", type=int, default=100, help="latency run: people at a time (default 100)"
    )
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--side", choices=["ours", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=["capacity", "latency"], help=argparse.SUPPRESS)
    parser.add_argument("--updates", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "ours":
        print(json.dumps(asyncio.run(run_ours(args.cadres, args.database, driver(args)))))
        return
    if args.side == "bare":
        print(json.dumps(asyncio.run(run_bare(args.updates, driver(args)))))
        return

    ours = {phase: measure(args, "ours", phase) for phase in ("capacity", "latency")}
    bare = {
        phase: measure(args, "bare", phase, updates=ours[phase]["updates"])
        for phase in ("capacity", "latency")
    }
    print(
        f"database: {args.database or 'SQLite (temporary file, WAL)'}\n"
        f"capacity: {args.cadres} cadres, {args.concurrency} updates in flight, as fast as "
        f"they are handled\nlatency: {args.latency_cadres} interviews, {args.population} "
        f"people at a time, sending {args.rate:.0f} updates/s between them"
    )
    print(
        f"{'':12}{'capacity':>10}{'peak RSS':>10}  |{'load':>9}{'p50':>8}{'p95':>8}{'p99':>8}\n"
        f"{'':12}{'steps/s':>10}{'MB':>10}  |{'steps/s':>9}{'ms':>8}{'ms':>8}{'ms':>8}"
    )
    for name, row in (("debrief", ours), ("bare echo", bare)):
        capacity, latency = row["capacity"], row["latency"]
        print(
            f"{name:12}{capacity['per_second']:>10.0f}{capacity['peak_rss_mb']:>10.0f}  |"
            f"{latency['per_second']:>9.0f}{latency['p50_ms']:>8.2f}{latency['p95_ms']:>8.2f}"
            f"{latency['p99_ms']:>8.2f}"
        )
    print(
        "interview-completing update (draft assembled, chat + .docx sent) under that load: "
        f"p50 {ours['latency']['completion_p50_ms']:.1f} ms"
    )
    print(
        f"ratio ours/bare: capacity "
        f"{bare['capacity']['per_second'] / ours['capacity']['per_second']:.1f}x lower; "
        f"server time under load (p50) "
        f"{ours['latency']['p50_ms'] / bare['latency']['p50_ms']:.1f}x"
    )


if __name__ == "__main__":
    main()
