"""Polishing with the real process, as the README starts it: the fake Bot API and a fake
OpenAI-compatible endpoint over HTTP. The process is killed with SIGKILL while a section is
with the model; after the restart the job resumes at that section and the cadre gets one
summary in the message that showed the progress."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.store.db import Database
from bot.store.models import RewriteJob, RewriteState, SectionWording
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.http_server import BotApiServer
from tests.fakes.openai_server import Delay, FakeOpenAI, faithful
from tests.utils.journeys import questionnaire, script
from tests.utils.process import RemoteUser, bot_process
from tests.utils.telegram import buttons_of, messages_by_touch, plain


async def rows(db: Database, model: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.exec(select(model).order_by(col(model.id)))).all())


async def until(ready: Any, db: Database, model: Any, *, within: float, told: bool = False) -> None:
    """Until `ready()` holds and `model` has a row (with `told`: the job was reported)."""
    async with asyncio.timeout(within):
        while True:
            found = await rows(db, model)
            if ready() and found and (not told or found[0].state == RewriteState.TOLD):
                return
            await asyncio.sleep(0.05)


async def test_polish_in_the_real_process_survives_a_kill(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    api = FakeBotApi()
    asked: list[str] = []
    release = threading.Event()

    def model(body: dict[str, Any]) -> str | Delay:
        # The second section is held until the test lets it go (after the kill).
        asked.append(body["messages"][-1]["content"])
        if len(asked) == 2 and not release.is_set():
            return Delay(60.0)
        return "一年来，" + faithful(body)

    with (
        BotApiServer(api) as server,
        FakeOpenAI(model) as llm,
        bot_process(
            base_url=server.base_url, token=TOKEN, database_url=database_url, workdir=tmp_path
        ) as bot,
    ):
        bot.env |= {"LLM_BASE_URL": llm.base_url, "LLM_MODEL": "qwen2.5:7b-instruct"}
        bot.start()
        user = RemoteUser(api, 7)
        user.says("/start", expect="首先")
        user.presses("中文", expect="姓名")
        user.says("王芳", expect="职务")
        user.says("副局长", expect="单位")
        user.says("市教育局", expect="报告类型")
        user.presses("年度述职报告", expect="第 1/")
        for kind, value in script(questionnaire("annual", "zh")):
            if kind == "say":
                before = len(user.texts())
                user.push(value)
                api.wait_for(lambda a, n=before: len(user.texts()) > n, timeout=30)
            else:
                user.presses(value, expect="")
        # The draft, and under its .docx the button that names where the text would go.
        api.wait_for(
            lambda a: any(
                "润色措辞" in label
                for message in messages_by_touch(a, user.id)
                for label, _ in buttons_of(message)
            ),
            timeout=30,
        )
        user.presses("润色措辞（发送至 127.0.0.1）", expect="正在润色措辞：已完成 0/")
        progress = next(
            m["message_id"]
            for m in messages_by_touch(api, user.id)
            if "正在润色措辞" in plain(str(m.get("text") or ""))
        )

        # The first section comes back; the second is with the model when the bot dies.
        await until(lambda: len(asked) >= 2, db, SectionWording, within=30)
        bot.kill()
        release.set()
        assert len(await rows(db, SectionWording)) == 1

        bot.start()
        await until(lambda: True, db, RewriteJob, within=60, told=True)
        job = (await rows(db, RewriteJob))[0]
        sections = len(job.sections)
        # Each section asked once, and the one in flight at the kill once more.
        assert len(asked) == sections + 1
        user.wait_for_text("润色完成", timeout=10)
        summary = messages_by_touch(api, user.id)[-1]
        assert summary["message_id"] == progress, "the progress message became the summary"
        assert plain(summary["text"]).count("已润色") == sections

        user.presses("查看稿子", expect="第 2 版初稿")
        assert "一年来，" in "\n".join(user.texts()[-5:])
        assert bot.stop() == 0
