"""Everything else a cadre might send gets a deliberate reply and loses nothing."""

from __future__ import annotations

import io

import pytest
from docx import Document
from sqlmodel import select

from bot.store.db import Database
from bot.store.models import Answer
from tests.test_cadre_interview import answers_of, current_question, registered_in_annual
from tests.utils import updates
from tests.utils.journeys import answer_for
from tests.utils.telegram import FakeTelegram


@pytest.mark.parametrize(
    "make",
    [
        updates.sticker_update,
        updates.photo_update,
        updates.voice_update,
        updates.document_update,
        updates.location_update,
    ],
    ids=["sticker", "photo", "voice", "document", "location"],
)
async def test_non_text_is_refused_and_the_question_repeated(
    tg: FakeTelegram, db: Database, make: object
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    replies = await user.sends(make(42))  # type: ignore[operator]
    assert "只能读取文字" in replies[0]
    assert "第 2/12 题" in replies[-1]
    assert await current_question(db, 42) == "tasks"
    assert (await answers_of(db, 42)).keys() == {"post"}


async def test_non_text_before_registration_still_gets_an_answer(tg: FakeTelegram) -> None:
    replies = await tg.user(5).sends(updates.sticker_update(5))
    assert replies and "只能读取文字" in replies[0]


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n", "\x00\x07\x1b"])
async def test_an_empty_message_is_refused_and_the_question_stays(
    tg: FakeTelegram, db: Database, text: str
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    replies = await user.says(text)
    assert "空的" in replies[0]
    assert await current_question(db, 42) == "post"
    assert await answers_of(db, 42) == {}


async def test_fifty_thousand_characters_are_refused_whole_never_cut(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    replies = await user.says("很" * 50_000)
    assert "50,000" in replies[0] and "4,096" in replies[0] and "未保存" in replies[0]
    assert "第 1/12 题" in replies[-1]
    assert await answers_of(db, 42) == {}


async def test_an_answer_at_the_limit_is_kept_whole(tg: FakeTelegram, db: Database) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    text = "分管工作共32人。" + "很" * (4096 - 9)
    assert len(text) == 4096
    await user.says(text)
    assert (await answers_of(db, 42))["post"] == [text]


async def test_a_long_answer_shown_again_is_cut_with_a_note_and_kept_whole(
    tg: FakeTelegram, db: Database
) -> None:
    """Back and /edit quote the answer: a 4,096-character one would not fit in one message
    beside the question, so its beginning is quoted and the cut said; nothing is lost."""
    user = tg.user(42)
    await registered_in_annual(user)
    text = "分管工作共32人。" + "😀" * 2000 + "很" * (4096 - 9 - 2000)
    await user.says(text)

    shown = await user.presses("‹ 上一题")
    assert "第 1/12 题" in shown[-1] and "只显示前" in shown[-1] and "共 4,096 字" in shown[-1]
    await user.says("/edit")
    shown = await user.presses("现任职务与分管工作")
    assert "只显示前" in shown[-1]
    assert all(len(t.encode("utf-16-le")) // 2 <= 4096 for t in tg.api.texts(42))
    assert (await answers_of(db, 42))["post"] == [text]


async def test_control_characters_are_dropped_and_emoji_kept(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says("分管\x00办公室\x1b和财务科👍，共32人\r\n任职三年")
    assert (await answers_of(db, 42))["post"] == ["分管办公室和财务科👍，共32人\n任职三年"]


async def test_characters_a_word_file_cannot_hold_are_dropped_and_the_draft_builds(
    tg: FakeTelegram, db: Database
) -> None:
    """U+FFFF, U+FFFE and lone surrogates are invalid in XML: kept, they would break
    every .docx of the interview."""
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says("分管办公室\uffff和财务科\ufffe，共32人\ud800")
    assert (await answers_of(db, 42))["post"] == ["分管办公室和财务科，共32人"]
    await user.says("/draft")
    ((_name, content),) = user.documents
    assert "分管办公室和财务科，共32人" in docx_text(content)


async def test_a_word_file_that_cannot_be_built_still_leaves_the_chat_draft(
    tg: FakeTelegram, db: Database
) -> None:
    """An answer stored before characters were cleaned (or by another tool) cannot go into
    a .docx; the chat draft still arrives, with a notice instead of the file."""
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    async with db.session() as session:
        row = (await session.exec(select(Answer))).one()
        row.text = "旧数据\uffff" + row.text
        session.add(row)
        await session.commit()
    replies = await user.says("/draft")
    assert any("旧数据" in r for r in replies)
    assert "Word 文档这次没能生成" in replies[-1]
    assert user.documents == []


async def test_a_command_in_the_middle_is_not_taken_as_an_answer(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    replies = await user.says("/nonsense")
    assert "/status" in replies[0]  # unknown commands get the help
    assert await answers_of(db, 42) == {}
    assert await current_question(db, 42) == "post"


async def test_a_group_chat_is_told_to_talk_in_private(tg: FakeTelegram, db: Database) -> None:
    await tg.process(updates.group_text_update(42, "/start"))
    group_texts = tg.api.texts(updates.GROUP_CHAT_ID)
    assert group_texts and "私聊" in group_texts[-1]
    assert tg.api.texts(42) == []


async def test_an_edited_message_changes_nothing_and_says_how_to_edit(
    tg: FakeTelegram, db: Database
) -> None:
    user = tg.user(42)
    await registered_in_annual(user)
    await user.says(answer_for("post"))
    replies = await user.sends(updates.edited_text_update(42, "changed text"))
    assert "/edit" in replies[0]
    assert (await answers_of(db, 42))["post"] == [answer_for("post")]


async def test_a_cadre_who_blocked_the_bot_is_marked_and_unmarked_on_return(
    tg: FakeTelegram, db: Database
) -> None:
    from sqlmodel import select

    from bot.store.models import Cadre

    user = tg.user(42)
    await registered_in_annual(user)
    tg.api.block(42)
    await user.says(answer_for("post"))
    async with db.session() as session:
        assert (await session.exec(select(Cadre))).one().blocked_at is not None
    assert (await answers_of(db, 42)) == {"post": [answer_for("post")]}
    tg.api.unblock(42)
    await user.says(answer_for("tasks"))
    async with db.session() as session:
        assert (await session.exec(select(Cadre))).one().blocked_at is None


def docx_text(content: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
