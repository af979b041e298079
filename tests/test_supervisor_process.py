"""The real bot process, as the README starts it, with a supervisor and two cadres over
HTTP: team, invite, join, interview, submit, return, resubmit, approve, board, export. It
is killed with SIGKILL between a submission and its notification, and between a decision
and its message to the cadre: each is delivered once after the restart."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sqlmodel import col, select

from bot.store.db import Database
from bot.store.models import Outbox, ReviewDecision, Submission
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.http_server import BotApiServer
from tests.utils.journeys import questionnaire, script
from tests.utils.process import RemoteUser, bot_process
from tests.utils.telegram import shown_texts

LINK = re.compile(r"start=([A-Za-z0-9_-]{16,})")


def step(user: RemoteUser, text: str, timeout: float = 30.0) -> None:
    """Send a text and wait for any reply."""
    before = len(shown_texts(user.api, user.id))
    user.push(text)
    user.api.wait_for(lambda api: len(shown_texts(api, user.id)) > before, timeout=timeout)


def press(user: RemoteUser, label: str, *, expect: str) -> None:
    user.presses(label, expect=expect)


def registers(user: RemoteUser, name: str, *, first: str = "/start", expect: str = "首先") -> None:
    user.says(first, expect=expect)
    press(user, "中文", expect="姓名")
    user.says(name, expect="职务")
    user.says("副局长", expect="单位")


def documents_to(api: FakeBotApi, chat_id: int) -> list[tuple[str, bytes]]:
    return api.documents(chat_id)


async def wait_for_rows(db: Database, model: type, count: int) -> None:
    """Until `count` rows of `model` are committed (the bot is in another process)."""
    async with asyncio.timeout(30):
        while True:
            async with db.session() as session:
                if len((await session.exec(select(model))).all()) >= count:
                    return
            await asyncio.sleep(0.05)


async def test_a_supervisor_and_two_cadres_with_the_real_process_and_two_kills(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    api = FakeBotApi()
    with (
        BotApiServer(api) as server,
        bot_process(
            base_url=server.base_url, token=TOKEN, database_url=database_url, workdir=tmp_path
        ) as bot,
    ):
        bot.start()
        boss, first, second = RemoteUser(api, 1), RemoteUser(api, 2), RemoteUser(api, 3)
        registers(boss, "李书记")
        boss.says("市教育局", expect="报告类型")
        boss.says("/newteam 市教育局述职组", expect="邀请链接")
        code = LINK.findall(boss.texts()[-1])[-1]

        registers(first, "张伟", first=f"/start {code}", expect="团队邀请")
        first.says("市教育局", expect="加入团队")
        press(first, "加入", expect="已加入")
        registers(second, "王芳", first=f"/start {code}", expect="团队邀请")
        second.says("市教育局", expect="加入团队")
        press(second, "加入", expect="已加入")
        boss.wait_for_text("王芳（副局长，市教育局）已加入")

        press(first, "年度述职报告", expect="第 1/12 题")
        for kind, value in script(questionnaire("annual", "zh")):
            if kind == "say":
                step(first, value)
            else:
                press(first, value, expect="题")
        first.wait_for_text("第 1 版初稿")
        press(second, "年度述职报告", expect="第 1/12 题")
        step(
            second, "2023年3月起任市教育局副局长，分管基础教育、教师队伍建设，联系三个科室共28人。"
        )

        first.says("/submit", expect="可能会就")
        # Kill 1: the submission is committed, its notification not yet delivered.
        api.hold_sends()
        first.push_press("仍然提交")
        await wait_for_rows(db, Submission, 1)
        bot.kill()
        api.release_sends()
        assert documents_to(api, 1) == []
        bot.start()
        api.wait_for(lambda a: len(documents_to(a, 1)) == 1, timeout=30)

        press(boss, "退回", expect="修改意见")
        boss.says("成效部分请补充与上年的对比。", expect="退回给张伟")
        first.wait_for_text("成效部分请补充与上年的对比。")
        first.says("/edit", expect="修改哪一条")
        press(first, "存在的不足及原因", expect="替换哪一项")
        press(first, "第 1 项", expect="新内容")
        first.says(
            "调查研究不够深入，主要原因是本人忙于日常事务，今后每季度蹲点调研不少于5天。",
            expect="已保存",
        )
        first.says("/submit", expect="可能会就")
        press(first, "仍然提交", expect="第 2 版")
        boss.wait_for_text("与第 1 版相比的改动")
        api.wait_for(lambda a: len(documents_to(a, 1)) == 2, timeout=30)

        # Kill 2: the approval is committed, the cadre not yet told.
        api.hold_sends()
        boss.push_press("通过")
        await wait_for_rows(db, ReviewDecision, 2)
        bot.kill()
        api.release_sends()
        bot.start()
        first.wait_for_text("审阅通过")

        boss.says("/team", expect="成员：2 人")
        press(boss, "进度看板", expect="已通过 1")
        assert "张伟 — 已通过（第 2 版）" in boss.texts()[-1]
        assert "王芳 — 撰写中 0/4 部分" in boss.texts()[-1]
        press(boss, "导出全部", expect="正在导出")
        api.wait_for(lambda a: any(n.endswith(".xlsx") for n, _ in documents_to(a, 1)))
        assert bot.stop() == 0, bot.log()

    assert sum("审阅通过" in t for t in first.texts()) == 1
    assert sum("与第 1 版相比" in t for t in boss.texts()) == 1
    async with db.session() as session:
        submission = (await session.exec(select(Submission))).one()
        unsent = (await session.exec(select(Outbox).where(col(Outbox.sent_at).is_(None)))).all()
    assert (submission.status, submission.version) == ("approved", 2)
    assert unsent == []
