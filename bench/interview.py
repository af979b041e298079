"""Throughput and latency of complete interviews, beside a bare python-telegram-bot echo bot.

N simulated cadres (interleaved: every cadre takes one step per round) register, pick the
annual report and answer every question through `Application.process_update`, with up to
--concurrency updates in flight (concurrent_updates on, as in production). The final answer
of each interview assembles the draft (chat text + .docx). The same number of text updates
then goes through a bare echo handler on the same transport.

    python bench/interview.py --cadres 1000 [--database URL] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bench.transport import BenchRequest  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.interview.questionnaire import load_catalogue  # noqa: E402
from bot.store.db import Database, create_engine  # noqa: E402
from bot.store.schema import upgrade  # noqa: E402
from bot.telegram.app import build_application, deps_of_app  # noqa: E402

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


async def drive(
    process: Callable[[dict[str, Any]], Awaitable[None]], cadres: list[list[Step]], concurrency: int
) -> tuple[list[float], list[float], float]:
    """Interleave the cadres' steps, at most `concurrency` in flight. Returns the times of
    all updates, of each cadre's last update (the one that completes an interview), and the
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
    for round_ in range(max(len(steps) for steps in cadres)):
        # One step per cadre per round; a cadre's own steps never overlap.
        await asyncio.gather(
            *(
                one(steps[round_], round_ == len(steps) - 1)
                for steps in cadres
                if round_ < len(steps)
            )
        )
    return times, last, time.perf_counter() - began


def summary(name: str, times: list[float], elapsed: float) -> dict[str, Any]:
    cuts = statistics.quantiles(times, n=100)
    return {
        "name": name,
        "updates": len(times),
        "per_second": len(times) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p95_ms": cuts[94] * 1000,
        "p99_ms": cuts[98] * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


async def run_ours(cadres: int, database: str | None, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite+aiosqlite:///{tmp}/bench.db"
        url, drop = await fresh_database(url)
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
                times, last, elapsed = await drive(process, plans, concurrency)
            await deps_of_app(app).db.dispose()
            # Every interview must really have ended in a draft, or the figures mean nothing.
            if transport.documents != cadres:
                raise SystemExit(f"{transport.documents} drafts for {cadres} cadres")
            completing = set(last)
            return summary("debrief", times, elapsed) | {
                "completion_p50_ms": statistics.median(last) * 1000,
                "steps_p99_ms": statistics.quantiles(
                    [t for t in times if t not in completing], n=100
                )[98]
                * 1000,
            }
        finally:
            await drop()


async def run_bare(updates: int, concurrency: int) -> dict[str, Any]:
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

        per_user = 25
        plans: list[list[Step]] = []
        for i in range(max(1, updates // per_user)):
            u = Updates(10_000 + i)
            plans.append([lambda u=u: u.text("本年度完成重点项目12个") for _ in range(per_user)])
        times, _, elapsed = await drive(process, plans, concurrency)
    return summary("bare echo", times, elapsed)


async def fresh_database(url: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    """PostgreSQL: a database of the run's own, dropped afterwards. SQLite: as given."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":

        async def nothing() -> None:
            return None

        return url, nothing
    name = f"debrief_bench_{uuid.uuid4().hex[:8]}"
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cadres", type=int, default=1000)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--mode", choices=["both", "ours", "bare"], default="both", help=argparse.SUPPRESS
    )
    parser.add_argument("--updates", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "ours":
        print(json.dumps(asyncio.run(run_ours(args.cadres, args.database, args.concurrency))))
        return
    if args.mode == "bare":
        print(json.dumps(asyncio.run(run_bare(args.updates, args.concurrency))))
        return
    # Each side in a process of its own, so peak RSS is its own.
    common = [
        sys.executable,
        __file__,
        "--cadres",
        str(args.cadres),
        "--concurrency",
        str(args.concurrency),
    ] + (["--database", args.database] if args.database else [])
    ours = json.loads(
        subprocess.run(
            [*common, "--mode", "ours"], check=True, capture_output=True, text=True
        ).stdout
    )
    bare = json.loads(
        subprocess.run(
            [*common, "--mode", "bare", "--updates", str(ours["updates"])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    print(
        f"database: {args.database or 'SQLite (temporary file, WAL)'}; cadres: {args.cadres}; "
        f"in flight: {args.concurrency}"
    )
    print(
        f"{'':12}{'updates':>9}{'steps/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'peak RSS MB':>13}"
    )
    for row in (ours, bare):
        print(
            f"{row['name']:12}{row['updates']:>9}{row['per_second']:>10.0f}"
            f"{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['peak_rss_mb']:>13.0f}"
        )
    print(
        f"interview-completing update (draft assembled, chat + .docx sent): p50 "
        f"{ours['completion_p50_ms']:.1f} ms; p99 of all other updates "
        f"{ours['steps_p99_ms']:.2f} ms"
    )
    print(
        f"ratio ours/bare: time per update (p50) {ours['p50_ms'] / bare['p50_ms']:.1f}x, "
        f"throughput {bare['per_second'] / ours['per_second']:.1f}x lower"
    )


if __name__ == "__main__":
    main()
