"""The real bot process, killed with SIGKILL at the worst moments, loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import col, select

from bot.store.db import Database
from bot.store.models import Answer, InboxUpdate
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.http_server import BotApiServer
from tests.test_cadre_interview import current_question
from tests.utils.journeys import answer_for
from tests.utils.process import BotProcess, RemoteUser, bot_process


@contextmanager
def bot_against(api: FakeBotApi, database_url: str, workdir: Path) -> Iterator[BotProcess]:
    """The real bot process (not yet started), pointed at a local HTTP server serving `api`."""
    with (
        BotApiServer(api) as server,
        bot_process(
            base_url=server.base_url, token=TOKEN, database_url=database_url, workdir=workdir
        ) as bot,
    ):
        yield bot


def register_and_start(user: RemoteUser) -> None:
    user.says("/start", expect="首先")
    user.presses("中文", expect="姓名")
    user.says("张伟", expect="职务")
    user.says("副局长", expect="单位")
    user.says("市教育局", expect="报告类型")
    user.presses("年度述职报告", expect="第 1/12 题")
    # The press is done once the picker has become the first question (its only call).
    user.api.wait_for(lambda api: api.calls[-1].method == "editMessageText")


async def stored_answers(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = (await session.exec(select(Answer).order_by(col(Answer.id)))).all()
    return [(a.question_id, a.text) for a in rows]


async def test_a_cadre_continues_at_the_same_question_after_a_kill_9(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    api = FakeBotApi()
    with bot_against(api, database_url, tmp_path) as bot:
        bot.start()
        user = RemoteUser(api, 42)
        register_and_start(user)
        user.says(answer_for("post"), expect="第 2/12 题")
        user.says(answer_for("tasks"), expect="第 3/12 题")
        user.says(answer_for("study"), expect="第 4/12 题")
        bot.kill()

        bot.start()
        user.says("/start", expect="第 4/12 题")
        user.says(answer_for("political_conduct"), expect="第 5/12 题")
        user.says(answer_for("key_results"), expect="第 1 项")
        assert bot.stop() == 0, bot.log()
    assert await stored_answers(db) == [
        ("post", answer_for("post")),
        ("tasks", answer_for("tasks")),
        ("study", answer_for("study")),
        ("political_conduct", answer_for("political_conduct")),
        ("key_results", answer_for("key_results")),
    ]


async def test_updates_fetched_but_not_handled_survive_a_kill_9_and_apply_once(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    api = FakeBotApi()
    with bot_against(api, database_url, tmp_path) as bot:
        bot.start()
        user = RemoteUser(api, 42)
        register_and_start(user)

        # Freeze the bot while it sends its first acknowledgement: the first answer is
        # committed, the other two are fetched (and confirmed to Telegram) but not handled.
        api.hold_sends()
        ids = [user.push(answer_for(qid)) for qid in ("post", "tasks", "study")]
        api.wait_for(lambda a: a.attempted_sends >= 1 and a.confirmed_up_to >= ids[-1])
        assert api.pending_update_ids() == []  # Telegram will never send these again
        bot.kill()
        api.release_sends()
        assert len(await stored_answers(db)) == 1
        async with db.session() as session:
            inbox = (await session.exec(select(InboxUpdate.update_id))).all()
        # The committed answer left the inbox in its own transaction; the others wait there.
        assert sorted(inbox) == ids[1:]

        bot.start()
        user.wait_for_text("第 4/12 题")
        assert bot.stop() == 0, bot.log()
    assert await stored_answers(db) == [
        ("post", answer_for("post")),
        ("tasks", answer_for("tasks")),
        ("study", answer_for("study")),
    ]
    assert await current_question(db, 42) == "political_conduct"
    async with db.session() as session:
        assert (await session.exec(select(InboxUpdate))).all() == []
