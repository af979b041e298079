"""A second instance of the bot on the same database stands by; it changes nothing for the
user, and takes over by itself when the first one dies."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlmodel import col, select

from bot.store.db import Database
from bot.store.models import Answer, InboxUpdate
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.http_server import BotApiServer
from tests.test_crash_safety import register_and_start
from tests.utils.journeys import answer_for
from tests.utils.process import BotProcess, RemoteUser, bot_process
from tests.utils.telegram import plain


def wait_for_log(bot: BotProcess, needle: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in bot.log():
        assert time.monotonic() < deadline, f"{needle!r} never logged:\n{bot.log()}"
        time.sleep(0.1)


async def inbox_empty(db: Database) -> None:
    for _ in range(600):  # 30 s
        async with db.session() as session:
            if not (await session.exec(select(InboxUpdate))).all():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the inbox never emptied")


async def test_a_second_instance_stands_by_then_takes_over_after_a_kill_9(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    api = FakeBotApi()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    common = {"token": TOKEN, "database_url": database_url}
    with (
        BotApiServer(api) as server,
        bot_process(base_url=server.base_url, workdir=tmp_path / "a", **common) as first,
        bot_process(base_url=server.base_url, workdir=tmp_path / "b", **common) as second,
    ):
        first.start()
        user = RemoteUser(api, 42)
        register_and_start(user)
        second.start()
        wait_for_log(second, "stands by")

        user.says(answer_for("post"), expect="第 2/12 题")
        user.says(answer_for("tasks"), expect="第 3/12 题")
        # Once confirmed and settled, nothing is redelivered (a redelivery would rightly show
        # the question again, which this test would count as a duplicate).
        api.wait_for(lambda a: a.pending_update_ids() == [])
        await inbox_empty(db)
        first.kill()
        user.says(answer_for("study"), expect="第 4/12 题", timeout=60)
        assert second.stop() == 0, second.log()

    # Each update answered once: no question was asked twice, no getUpdates ever clashed.
    texts = [plain(t) for t in api.texts(42)]
    for progress in ("第 2/12 题", "第 3/12 题", "第 4/12 题"):
        assert sum(progress in t for t in texts) == 1, progress
    assert all(call.status != 409 for call in api.calls)
    async with db.session() as session:
        rows = (await session.exec(select(Answer).order_by(col(Answer.id)))).all()
    assert [(a.question_id, a.text) for a in rows] == [
        (qid, answer_for(qid)) for qid in ("post", "tasks", "study")
    ]
