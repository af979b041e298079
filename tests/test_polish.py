"""Polishing the wording: from the draft's button to the polished draft and back, against a
fake OpenAI-compatible server over real HTTP with the real client and the real rewriter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.config import Settings
from bot.rewrite.model import make_client
from bot.store.db import Database
from bot.store.models import (
    Cadre,
    Draft,
    Interview,
    RewriteJob,
    RewriteState,
    SectionWording,
    SubmissionVersion,
)
from bot.telegram.rewriter import Rewriter
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.openai_server import Delay, FakeOpenAI, Status, faithful
from tests.utils.clock import FakeClock
from tests.utils.journeys import questionnaire, script
from tests.utils.teams import completes_annual_report, joins, submits, supervisor_with_team
from tests.utils.telegram import FakeTelegram, FakeUser

POLISH = "润色措辞"
CADRE = 801


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


def with_llm(settings: Settings, server: FakeOpenAI, **extra: Any) -> Settings:
    """The test's settings with the fake endpoint configured."""
    values = {
        "telegram_bot_token": settings.telegram_bot_token,
        "database_url": settings.database_url,
        "data_dir": settings.data_dir,
        "default_language": "zh",
        "auto_migrate": False,
        "llm_base_url": server.base_url,
        "llm_model": "fake-model",
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def polished(body: dict[str, Any]) -> str:
    """A fluent rewrite that keeps every fact: the answers, opened and joined as prose."""
    return "一年来，" + faithful(body)


# The first answer names the unit and a person's own part, so that a rewrite can change them.
ORGANISATION_ANSWER = (
    "我任市教育局副局长，分管基础教育，联系全市38所学校，全年完成重点项目12个，较上年增长15%。"
)


@asynccontextmanager
async def polishing(
    settings: Settings,
    api: FakeBotApi,
    clock: FakeClock,
    server: FakeOpenAI,
    reply: Any,
    **extra: Any,
) -> AsyncIterator[FakeUser]:
    """A cadre who drafted and pressed Polish, with the model answering `reply` and the
    rewriter run until it has nothing left."""
    server.reply_with(reply)
    llm = with_llm(settings, server, **extra)
    async with FakeTelegram.running(llm, api, clock) as tg:
        user = tg.user(CADRE)
        await drafted(user)
        await user.presses(POLISH)
        await tg.rewrite(llm)
        yield user


async def drafted(user: FakeUser) -> None:
    """Register, answer every question (the first with the unit named), get the draft."""
    await user.registers(name="王芳", position="副局长", organisation="市教育局")
    await user.starts_report("年度述职报告")
    steps = script(questionnaire("annual", "zh"))
    steps[0] = ("say", ORGANISATION_ANSWER)
    for kind, value in steps:
        await (user.says(value) if kind == "say" else user.presses(value))
    await user.says("/draft")


def sections_in(requests: list[Any]) -> list[str]:
    """The section each request asked for."""
    found = [re.search(r"本部分：(.+)", r.user) for r in requests]
    return [match.group(1).strip() if match else "" for match in found]


def titles(section_ids: list[str]) -> list[str]:
    sections = {s.id: s.title for s in questionnaire("annual", "zh").sections}
    return [sections[section_id] for section_id in section_ids]


async def latest_body(db: Database) -> str:
    """The newest stored draft's text."""
    drafts = await stored(db, Draft)
    return str(drafts[-1].body)


async def stored(db: Database, model: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.exec(select(model).order_by(col(model.id)))).all())


async def test_unset_offers_nothing_and_calls_nothing(
    tg: FakeTelegram, server: FakeOpenAI, db: Database
) -> None:
    user = tg.user(CADRE)
    await drafted(user)
    assert user.documents, "no draft was sent"
    assert not any(POLISH in label for _, kb in user.keyboards() for label, _ in kb)
    # A press of the button all the same (an old message, a forged one) is answered, and
    # nothing is sent anywhere.
    interview = (await stored(db, Interview))[0]
    shown = await user.presses_data(f"v1:pol:{interview.id}::-1")
    assert any("没有开启措辞润色" in text for text in shown)
    assert server.requests == []
    assert await stored(db, RewriteJob) == []


async def test_polish_rewrites_each_section_and_the_draft_shows_it(
    settings: Settings, api: FakeBotApi, clock: FakeClock, server: FakeOpenAI, db: Database
) -> None:
    server.reply_with(polished)
    llm = with_llm(settings, server)
    async with FakeTelegram.running(llm, api, clock) as tg:
        user = tg.user(CADRE)
        await drafted(user)
        assert any("发送至 127.0.0.1" in label for label in user.labels())
        shown = await user.presses(POLISH)
        assert shown == [next(t for t in shown if "正在润色措辞：已完成 0/" in t)]
        progress_id = user.last_message_id()
        assert server.requests == [], "the model is called by the rewriter, not the handler"

        assert await tg.rewrite(llm) == 1
        jobs = await stored(db, RewriteJob)
        assert [job.state for job in jobs] == [RewriteState.TOLD]
        total = len(jobs[0].sections)
        assert len(server.requests) == total
        # Each request is one section's answers, in the report's order, with the model named.
        assert all(r.model == "fake-model" for r in server.requests)
        assert sections_in(server.requests) == titles(jobs[0].sections)
        # The progress message became the summary (edited, not a new message).
        assert user.last_message_id() == progress_id
        assert "润色完成（127.0.0.1）" in user.last_text
        assert user.last_text.count("已润色") == total

        await user.presses("查看稿子")
        chat = "\n".join(user.texts[-6:])
        assert "一年来，" in chat
        wordings = await stored(db, SectionWording)
        assert all(w.polished and w.chosen for w in wordings)
        # Both wordings are kept: the template draft before, the polished one after.
        drafts_shown = [t for t in user.texts if "初稿" in t]
        assert len(drafts_shown) >= 2


async def test_a_rewrite_that_changes_facts_is_retried_once_then_kept(
    settings: Settings, api: FakeBotApi, clock: FakeClock, server: FakeOpenAI, db: Database
) -> None:
    inventions: list[str] = []

    def inventive(body: dict[str, Any]) -> str:
        # Every section gains a figure the cadre never gave.
        inventions.append(json.dumps(body, ensure_ascii=False))
        return faithful(body) + "全年节约经费987万元。"

    async with polishing(settings, api, clock, server, inventive) as user:
        jobs = await stored(db, RewriteJob)
        total = len(jobs[0].sections)
        # One try and one retry per section; the retry names what was wrong.
        assert len(server.requests) == 2 * total
        retries = server.requests[1::2]
        assert all("987" in r.user and "上一稿的问题" in r.user for r in retries)
        # The same fault everywhere: one line says so, and the draft keeps its wording.
        summary = user.last_text
        assert "润色没有完成（新增了原文没有的数字“987万元”）" in summary
        assert "已润色" not in summary
        before = len(user.texts)
        await user.presses("查看稿子")
        assert user.texts[before:] and not any("987" in t for t in user.texts[before:])


@pytest.mark.parametrize(
    ("adversary", "caught"),
    [
        (lambda body: faithful(body).replace("12个", "13个"), "新增了原文没有的数字“13个”"),
        (lambda body: faithful(body).replace("15%", ""), "缺少“15%”"),
        (lambda body: faithful(body).replace("市教育局", "县教育局"), "缺少“市教育局”"),
        (lambda body: "我们" + faithful(body).replace("我", "我们"), "“我们”出现次数多于原文"),
        (
            lambda body: faithful(body) + "In addition, the work was widely praised by all.",
            "中文部分汉字不足90%",
        ),
        (lambda body: "", "润色服务没有返回可用的文字"),
    ],
    ids=["invented figure", "dropped figure", "changed name", "we for I", "English", "empty"],
)
async def test_adversarial_replies_are_caught(
    settings: Settings,
    api: FakeBotApi,
    clock: FakeClock,
    server: FakeOpenAI,
    db: Database,
    adversary: Any,
    caught: str,
) -> None:
    async with polishing(settings, api, clock, server, adversary) as user:
        kept = {w.section_id for w in await stored(db, SectionWording) if not w.polished}
        assert "duties" in kept, "the section whose facts were changed was not kept"
        assert caught in user.last_text, user.last_text
        # The draft keeps the cadre's own words for it (or, all sections kept, is unchanged).
        before = len(user.texts)
        await user.presses("查看稿子")
        assert any(
            ORGANISATION_ANSWER in text or "回答没有变化" in text for text in user.texts[before:]
        )


async def test_a_timeout_keeps_the_draft_and_says_so_in_one_line(
    settings: Settings, api: FakeBotApi, clock: FakeClock, server: FakeOpenAI, db: Database
) -> None:
    server.delay(5.0)
    async with polishing(settings, api, clock, server, faithful, llm_timeout=0.3) as user:
        # The endpoint failed: no further section is sent to it (max_retries=0, one call).
        assert len(server.requests) == 1
        assert "润色没有完成（润色服务超时）" in user.last_text
        assert user.last_text.count("\n") == 0
        assert not any(w.polished for w in await stored(db, SectionWording))


@pytest.mark.parametrize(("code", "why"), [(429, "润色服务繁忙"), (500, "润色服务出错")])
async def test_endpoint_errors_keep_the_draft(
    settings: Settings,
    api: FakeBotApi,
    clock: FakeClock,
    server: FakeOpenAI,
    code: int,
    why: str,
) -> None:
    async with polishing(settings, api, clock, server, lambda body: Status(code)) as user:
        assert len(server.requests) == 1
        assert why in user.last_text


async def test_a_section_switched_back_shows_the_cadres_own_wording(
    settings: Settings, api: FakeBotApi, clock: FakeClock, server: FakeOpenAI, db: Database
) -> None:
    async with polishing(settings, api, clock, server, polished) as user:
        summary_id = user.last_message_id()
        first = user.labels()[0]
        assert "换回原话" in first
        await user.presses(first)
        assert user.last_message_id() == summary_id, "the summary is updated in place"
        assert "用您自己的原话" in user.last_text
        assert "用润色稿" in user.labels()[0]
        wordings = await stored(db, SectionWording)
        assert [w.chosen for w in wordings].count(False) == 1


async def test_a_changed_answer_drops_its_sections_polish(
    settings: Settings, api: FakeBotApi, clock: FakeClock, server: FakeOpenAI, db: Database
) -> None:
    async with polishing(settings, api, clock, server, polished) as user:
        await user.presses("查看稿子")
        assert (await latest_body(db)).count("一年来，") == 4
        # The first answer (of the first section) is replaced.
        await user.says("/edit")
        await user.presses(user.labels()[0])
        await user.says("我牵头修订学校安全管理制度8项，组织应急演练24次，全年零事故。")
        await user.says("/draft")
        body = await latest_body(db)
        assert "修订学校安全管理制度8项" in body
        assert body.count("一年来，") == 3
        # And polishing is offered again for it.
        assert any(POLISH in label for label in user.labels())


async def test_a_submission_records_each_sections_wording(
    settings: Settings, api: FakeBotApi, clock: FakeClock, server: FakeOpenAI, db: Database
) -> None:
    server.reply_with(polished)
    llm = with_llm(settings, server)
    async with FakeTelegram.running(llm, api, clock) as tg:
        boss, member = tg.user(901), tg.user(CADRE)
        code = await supervisor_with_team(boss)
        await joins(member, code, name="王芳", registered=False)
        await completes_annual_report(member)
        await member.says("/draft")
        await member.presses(POLISH)
        await tg.rewrite(llm)
        await member.presses(member.labels()[0])  # the first section back to own wording
        await submits(member)
        versions = await stored(db, SubmissionVersion)
        assert len(versions) == 1
        wording = versions[0].wording
        values = list(wording.values())
        assert values[0] == "own" and set(values[1:]) == {"polished"}
        body = versions[0].body
        assert body.count("一年来，") == len(values) - 1


async def test_a_restart_resumes_the_sections_left(
    settings: Settings, api: FakeBotApi, clock: FakeClock, server: FakeOpenAI, db: Database
) -> None:
    llm = with_llm(settings, server)
    async with FakeTelegram.running(llm, api, clock) as tg:
        user = tg.user(CADRE)
        await drafted(user)
        await user.presses(POLISH)
        # The first section is rewritten; the second hangs, and the process dies meanwhile.
        calls: list[str] = []

        def first_then_hang(body: dict[str, Any]) -> str | Delay:
            calls.append("")
            return polished(body) if len(calls) == 1 else Delay(60.0)

        server.reply_with(first_then_hang)
        rewriter = Rewriter(
            tg.app.bot, tg.deps, make_client(llm), model="fake-model", concurrency=2, timeout=60
        )
        working = asyncio.create_task(rewriter.work_once())
        await server.wait_for_requests(2)
        await asyncio.sleep(0.2)
        working.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await working
        done_before = await stored(db, SectionWording)
        assert len(done_before) == 1 and done_before[0].text.startswith("一年来，")
        asked_before = len(server.requests)
        server.reply_with(polished)

    # A new process on the same database: it takes the lease and resumes at once.
    async with FakeTelegram.running(llm, api, clock) as tg:
        rewriter = Rewriter(
            tg.app.bot, tg.deps, make_client(llm), model="fake-model", concurrency=2, timeout=60
        )
        stop, owner = asyncio.Event(), asyncio.Event()
        owner.set()
        running = asyncio.create_task(rewriter.run(stop, owner))
        for _ in range(200):
            jobs = await stored(db, RewriteJob)
            if jobs[0].state == RewriteState.TOLD:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await running
        jobs = await stored(db, RewriteJob)
        assert jobs[0].state == RewriteState.TOLD
        # Only the sections left were asked for again: the one in flight and those after.
        assert sections_in(server.requests[asked_before:]) == titles(jobs[0].sections[1:])
        wordings = await stored(db, SectionWording)
        assert sorted(w.section_id for w in wordings) == sorted(jobs[0].sections)
        assert "润色完成" in tg.user(CADRE).last_text


async def test_a_cadre_who_blocked_the_bot_is_marked_and_the_job_still_ends(
    settings: Settings, api: FakeBotApi, clock: FakeClock, server: FakeOpenAI, db: Database
) -> None:
    server.reply_with(polished)
    llm = with_llm(settings, server)
    async with FakeTelegram.running(llm, api, clock) as tg:
        user = tg.user(CADRE)
        await drafted(user)
        await user.presses(POLISH)
        # The progress message was not noted, and the cadre blocked the bot since: the
        # rewriter's own progress line is refused with 403.
        async with db.session() as session:
            await session.exec(update(RewriteJob).values(message_id=None))
            await session.commit()
        clock.advance(minutes=1)
        api.block(CADRE)
        await tg.rewrite(llm)
        job = (await stored(db, RewriteJob))[0]
        assert job.state == RewriteState.TOLD
        # Each section asked once, none again after a lease ran out.
        assert len(server.requests) == len(job.sections)
        assert len(await stored(db, SectionWording)) == len(job.sections)
        cadre = (await stored(db, Cadre))[0]
        assert cadre.blocked_at is not None
