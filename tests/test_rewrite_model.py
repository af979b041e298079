"""The rewrite's one model call, against a fake OpenAI-compatible server with the real client:
what is sent, and every way the endpoint fails becoming one ModelFailed kind."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import PROJECT_DIR, Settings
from bot.rewrite.model import (
    MAX_TOKENS,
    TEMPERATURE,
    ModelFailed,
    RewritePromptsError,
    SectionRequest,
    load_rewrite_prompts,
    make_client,
    rewrite_section,
    tidy,
)
from tests.fakes.openai_server import FakeOpenAI, Say, Status, answers_in, faithful

MODEL = "qwen2.5:7b-instruct"
ZH = SectionRequest(
    language="zh",
    report_name="年度述职报告",
    section_title="主要工作及成效",
    answers=(
        (
            "请逐条说说今年最重要的工作成果。",
            ("完成13个项目中的12个，预算执行率98.6%", "牵头制定《教育发展规划（2026—2030）》"),
        ),
        ("遇到的最难的问题是什么？", ('推进"双减"落地\n三个月内覆盖全市42所学校',)),
    ),
    name="张伟",
    post="市教育局副局长",  # as the report says it: the unit once (post_in_unit)
    organisation="市教育局",
    period="2026年",
)
EN = SectionRequest(
    language="en",
    report_name="Annual debriefing report",
    section_title="Key results",
    answers=(("List your most important results.", ("Cut waiting times by 35% by June",)),),
    name="Jane Doe",
    post="Deputy Director, City Education Bureau",
    organisation="City Education Bureau",
    period="2026",
)
ENTRIES = [entry for _, entries in ZH.answers for entry in entries]


def settings_for(base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"llm_base_url": base_url, "llm_model": MODEL, **overrides}
    return Settings(_env_file=None, **values)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


async def rewrite(
    server: FakeOpenAI, request: SectionRequest = ZH, *, violations: tuple[str, ...] = (), **kw: Any
) -> str:
    """One rewrite through a fresh real client pointed at the fake."""
    async with make_client(settings_for(server.base_url, **kw)) as client:
        return await rewrite_section(client, MODEL, request, violations=violations)


async def failure(server: FakeOpenAI, **kw: Any) -> ModelFailed:
    with pytest.raises(ModelFailed) as caught:
        await rewrite(server, **kw)
    return caught.value


async def test_the_request_carries_the_model_the_rules_and_every_answer_entry(
    server: FakeOpenAI,
) -> None:
    text = await rewrite(server)
    (sent,) = server.requests
    assert sent.model == MODEL
    assert "第一人称" in sent.system and "只用中文写作" in sent.system
    assert "不要把“我”改成“我们”" in sent.system and "不新增任何数字" in sent.system
    for entry in ENTRIES:
        assert f"<answer>{entry}</answer>" in sent.user
    for fact in ("张伟", "副局长", "市教育局", "2026年", "年度述职报告", "主要工作及成效"):
        assert fact in sent.user
    assert "市教育局市教育局" not in sent.user  # the unit is said once
    assert "上一稿" not in sent.user
    assert sent.body["temperature"] == TEMPERATURE
    assert 0 < sent.body["max_tokens"] <= MAX_TOKENS
    assert sent.api_key == "unused"  # no LLM_API_KEY: a placeholder the client insists on
    # The fake's faithful rewrite keeps every line of every entry.
    assert answers_in(sent.body) == [(label, list(entries)) for label, entries in ZH.answers]
    assert text == faithful(sent.body)
    assert "预算执行率98.6%" in text and "\n\n" in text


async def test_an_english_report_asks_for_english_in_the_first_person(server: FakeOpenAI) -> None:
    text = await rewrite(server, EN)
    sent = server.requests[0]
    assert "English only" in sent.system and 'first person singular ("I")' in sent.system
    assert "<answer>Cut waiting times by 35% by June</answer>" in sent.user
    assert text == "Cut waiting times by 35% by June."


async def test_a_retry_names_the_previous_drafts_violations(server: FakeOpenAI) -> None:
    await rewrite(server, violations=("缺少数字98.6%", "把“我”写成了“我们”"))
    user = server.requests[0].user
    assert "上一稿的问题" in user and "请改正" in user
    assert "- 缺少数字98.6%" in user and "- 把“我”写成了“我们”" in user
    # The answers are still all there: the retry is a fresh request, not a follow-up.
    assert all(f"<answer>{entry}</answer>" in user for entry in ENTRIES)


async def test_the_configured_api_key_is_sent() -> None:
    async with FakeOpenAI(api_key="sk-local-1") as keyed:
        assert await rewrite(keyed, llm_api_key="sk-local-1")
        assert keyed.requests[0].api_key == "sk-local-1"
        assert (await failure(keyed)).kind == "refused"  # the placeholder is refused: 401


async def test_a_slow_endpoint_is_a_timeout_after_one_request(server: FakeOpenAI) -> None:
    server.delay(5)
    started = time.monotonic()
    failed = await failure(server, llm_timeout=0.3)
    assert failed.kind == "timeout"
    assert time.monotonic() - started < 2
    await asyncio.sleep(0.2)  # a retry, if the client made one, would have arrived
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, "rate_limited"),
        (500, "server_error"),
        (503, "server_error"),
        (400, "refused"),
        (404, "refused"),
        (408, "timeout"),
    ],
)
async def test_an_error_status_is_one_kind_after_one_request(
    server: FakeOpenAI, status: int, kind: str
) -> None:
    server.status(status, "The model `qwen` does not exist")
    failed = await failure(server)
    assert failed.kind == kind
    assert f"HTTP {status}" in failed.detail
    await asyncio.sleep(0.1)
    assert len(server.requests) == 1


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
async def test_a_body_that_is_not_json_is_empty(server: FakeOpenAI, content_type: str) -> None:
    server.garbage(content_type)
    assert (await failure(server)).kind == "empty"


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(lambda s: s.empty(""), id="blank"),
        pytest.param(lambda s: s.empty(" \n\n "), id="whitespace"),
        pytest.param(lambda s: s.empty(None), id="null"),
        pytest.param(lambda s: s.no_choices(), id="no choices"),
        pytest.param(lambda s: s.say("```\n\n```"), id="only a fence"),
        pytest.param(lambda s: s.say("<think>我想想……</think>"), id="only thinking"),
        pytest.param(
            lambda s: s.then(Say("我完成了13个项目中的", finish_reason="length")), id="cut off"
        ),
        # A Chinese report, answered in English.
        pytest.param(lambda s: s.say("I completed 12 of 13 projects."), id="wrong language"),
    ],
)
async def test_a_reply_without_usable_text_is_empty(server: FakeOpenAI, script: Any) -> None:
    script(server)
    assert (await failure(server)).kind == "empty"


async def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with make_client(settings_for(f"http://127.0.0.1:{port}/v1")) as client:
        with pytest.raises(ModelFailed) as caught:
            await rewrite_section(client, MODEL, ZH)
    assert caught.value.kind == "unreachable"


async def test_fences_thinking_and_an_echoed_heading_are_removed(server: FakeOpenAI) -> None:
    server.say(
        "<think>先列要点。</think>\n```markdown\n## 二、主要工作及成效\n\n"
        "**我**牵头完成13个项目中的12个。\n预算执行率98.6%。\n```"
    )
    assert await rewrite(server) == "我牵头完成13个项目中的12个。\n\n预算执行率98.6%。"


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        ("好的，以下是改写后的正文：\n\n我完成了12个项目。", "我完成了12个项目。"),
        ("主要工作及成效：\n我完成了12个项目。", "我完成了12个项目。"),
        ("- 我完成了12个项目。\n- 预算执行率98.6%。", "我完成了12个项目。\n\n预算执行率98.6%。"),
        ("根据组织安排，我完成了12个项目：\n一是…", "根据组织安排，我完成了12个项目：\n\n一是…"),
        ("我增长了1.5倍。", "我增长了1.5倍。"),
    ],
)
def test_tidy_removes_markup_and_lead_ins_but_no_words(reply: str, kept: str) -> None:
    assert tidy(reply, "主要工作及成效") == kept


async def test_answers_never_reach_the_log_even_at_debug(
    server: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the client's and httpx's debug lines too
    await rewrite(server)
    server.status(500)
    await failure(server)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "rewrite of zh/'主要工作及成效'" in logged and "server_error" in logged
    for entry in ENTRIES:
        assert entry.splitlines()[0] not in logged


def test_make_client_refuses_when_the_rewrite_is_off() -> None:
    with pytest.raises(ValueError, match="LLM_BASE_URL is not set"):
        make_client(Settings(_env_file=None))


def test_the_shipped_prompts_load_for_every_language() -> None:
    prompts = load_rewrite_prompts(PROJECT_DIR / "prompts")
    assert set(prompts.system) == set(prompts.user) == {"zh", "en"}


@pytest.mark.parametrize(
    ("user", "problem"),
    [
        ("{% for label, entries in answers %}{{ entries }}{% endfor %}", "<answer></answer>"),
        ("{{ answerz }}", "answerz"),
        (
            "{% for l, es in answers %}{% for e in es %}<answer>{{ e }}</answer>"
            "{% endfor %}{% endfor %}",
            "violations",
        ),
    ],
    ids=["no markers", "unknown variable", "violations dropped"],
)
def test_a_broken_prompt_file_is_refused_at_load(tmp_path: Path, user: str, problem: str) -> None:
    folder = tmp_path / "rewrite"
    folder.mkdir()
    for language in ("zh", "en"):
        source = (PROJECT_DIR / "prompts" / "rewrite" / f"{language}.yaml").read_text("utf-8")
        (folder / f"{language}.yaml").write_text(source, encoding="utf-8")
    (folder / "en.yaml").write_text(f"system: x\nuser: '{user}'\n", encoding="utf-8")
    with pytest.raises(RewritePromptsError, match=problem) as caught:
        load_rewrite_prompts(tmp_path)
    assert "en.yaml" in str(caught.value)


async def test_scripted_replies_come_in_order_then_the_responder(server: FakeOpenAI) -> None:
    server.reply_with(lambda body: Status(503)).say("我完成了12个项目。")
    assert await rewrite(server) == "我完成了12个项目。"
    assert (await failure(server)).kind == "server_error"
    assert (await failure(server)).kind == "server_error"


def test_the_fake_also_serves_from_a_thread_of_its_own() -> None:
    """For a bot in another process: the test's own thread may block meanwhile."""
    with FakeOpenAI() as fake:
        assert asyncio.run(rewrite(fake, EN)) == "Cut waiting times by 35% by June."
        assert len(fake.requests) == 1
