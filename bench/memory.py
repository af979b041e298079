"""Memory with many cadres mid-interview: resident set size as the number of cadres grows.

Seeds N registered cadres, each halfway through the annual interview (rows written in bulk),
then every one of them sends an answer through `Application.process_update`. Nothing about a
cadre should stay in process memory, so RSS should stay flat as N grows.

    python bench/memory.py --cadres 10000 [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy import insert  # noqa: E402
from telegram import Update  # noqa: E402

from bench.databases import fresh_database  # noqa: E402
from bench.interview import TOKEN, Updates  # noqa: E402
from bench.transport import BenchRequest  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.models import Answer, Cadre, Interview  # noqa: E402
from bot.store.schema import upgrade  # noqa: E402
from bot.telegram.app import build_application, deps_of_app  # noqa: E402

ANSWER = "本年度完成重点项目12个，较上年增长15%，覆盖全市38所学校，惠及师生2.3万人。"
FIRST_USER = 100_000


def rss_mb() -> float:
    """Current resident set size (not the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def seed(db: Database, cadres: int) -> None:
    """N cadres at the fourth question of the annual interview, three answers each."""
    now = datetime.now(UTC)
    async with db.engine.begin() as conn:
        for start in range(0, cadres, 1000):
            ids = range(start, min(start + 1000, cadres))
            await conn.execute(
                insert(Cadre),
                [
                    {
                        "id": i + 1,
                        "telegram_user_id": FIRST_USER + i,
                        "chat_id": FIRST_USER + i,
                        "name": "张伟",
                        "position": "副局长",
                        "organisation": "市教育局",
                        "language": "zh",
                        "registered": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Interview),
                [
                    {
                        "id": i + 1,
                        "cadre_id": i + 1,
                        "report_type": "annual",
                        "language": "zh",
                        "period": "2026",
                        "status": "active",
                        "current_question": "key_results",
                        "awaiting_follow_up": False,
                        "skipped": [],
                        "started_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Answer),
                [
                    {
                        "interview_id": i + 1,
                        "question_id": q,
                        "seq": 0,
                        "text": ANSWER,
                        "created_at": now,
                    }
                    for i in ids
                    for q in ("post", "tasks", "study")
                ],
            )


async def run(cadres: int, database: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = await fresh_database(database or f"sqlite+aiosqlite:///{tmp}/bench.db")
        try:
            db = Database(url)
            await upgrade(db)
            await seed(db, cadres)
            await db.dispose()
            settings = Settings(
                _env_file=None,
                telegram_bot_token=TOKEN,  # type: ignore[call-arg]
                database_url=url,
                data_dir=Path(tmp),
            )
            app = build_application(
                settings, request=BenchRequest(keep_buttons=False), rate_limit=False
            )
            async with app:
                print(f"cadres mid-interview: {cadres}; RSS after start-up: {rss_mb():.0f} MB")
                checkpoints = {max(1, cadres * k // 10) for k in (1, 2, 5, 10)}
                began = time.perf_counter()
                for n in range(1, cadres + 1):
                    update = Updates(FIRST_USER + n - 1).text(ANSWER)
                    await app.process_update(Update.de_json(update, app.bot))
                    if n in checkpoints:
                        print(
                            f"  after {n:>6} cadres answered: RSS {rss_mb():6.1f} MB "
                            f"({n / (time.perf_counter() - began):.0f} updates/s)"
                        )
            await deps_of_app(app).db.dispose()
        finally:
            await drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cadres", type=int, default=10_000)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    asyncio.run(run(args.cadres, args.database))


if __name__ == "__main__":
    main()
