"""The report as Telegram HTML messages: markup, escaping and splitting to the length limit."""

from __future__ import annotations

import html
import itertools
import random
import re

import pytest

from bot.render.chat import to_chat_messages, utf16_len
from bot.render.document import Block, BlockKind, ReportDocument

LIMIT = 4096
FAMILY = "👨\u200d👩\u200d👧"  # one visible emoji made of five code points, eight UTF-16 units


def report(*blocks: Block) -> ReportDocument:
    """A Chinese report made of the given blocks."""
    return ReportDocument(language="zh", title="述职报告", blocks=blocks)


def body(text: str) -> Block:
    return Block(BlockKind.BODY, text)


def visible(message: str) -> str:
    """The text a reader sees: our tags removed, entities decoded."""
    return html.unescape(re.sub(r"</?[bi]>", "", message))


def assert_well_formed(message: str) -> None:
    """Tags are balanced <b>/<i> pairs and every & starts a whole entity."""
    without_tags = re.sub(r"<([bi])>([^<]*)</\1>", r"\2", message)
    assert "<" not in without_tags
    assert ">" not in without_tags
    assert "&" not in re.sub(r"&(?:amp|lt|gt);", "", without_tags)


def pieces_of(text: str, *, limit: int = LIMIT, kind: BlockKind = BlockKind.BODY) -> list[str]:
    """The visible text of each message made from a single block."""
    messages = to_chat_messages(report(Block(kind, text)), limit=limit)
    for message in messages:
        assert utf16_len(message) <= limit
        assert_well_formed(message)
    return [visible(message) for message in messages]


def test_utf16_len_counts_characters_outside_the_bmp_twice() -> None:
    assert utf16_len("述职") == 2
    assert utf16_len("a😀") == 3
    assert utf16_len(FAMILY) == 8


def test_title_and_headings_are_bold_missing_italic_and_the_rest_plain() -> None:
    doc = report(
        Block(BlockKind.TITLE, "2026年度述职报告"),
        Block(BlockKind.SUBTITLE, "张伟"),
        Block(BlockKind.SALUTATION, "各位领导、同志们："),
        Block(BlockKind.HEADING1, "一、岗位职责"),
        Block(BlockKind.HEADING2, "（一）分管工作"),
        Block(BlockKind.HEADING3, "1. 财务"),
        body("负责财务工作。"),
        Block(BlockKind.MISSING, "【待补充：主要成果】"),
        Block(BlockKind.SIGNATURE, "张伟"),
        Block(BlockKind.SIGNATURE, "2026年12月20日"),
    )

    assert to_chat_messages(doc) == [
        "<b>2026年度述职报告</b>\n\n张伟\n\n各位领导、同志们：\n\n<b>一、岗位职责</b>\n\n"
        "<b>（一）分管工作</b>\n\n<b>1. 财务</b>\n\n负责财务工作。\n\n<i>【待补充：主要成果】</i>"
        "\n\n张伟\n\n2026年12月20日"
    ]


def test_user_text_cannot_become_markup() -> None:
    doc = report(body("<script>alert('x')</script> & <b>bold</b>"))

    [message] = to_chat_messages(doc)

    assert message == "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"


def test_blank_blocks_do_not_produce_empty_messages() -> None:
    assert to_chat_messages(report(body("  "), body("正文"), body("\n"))) == ["正文"]
    assert to_chat_messages(report()) == []


def test_long_report_is_split_between_paragraphs() -> None:
    paragraphs = [f"第{i}段。" + "工作" * 150 for i in range(40)]
    doc = report(*(body(text) for text in paragraphs))

    messages = to_chat_messages(doc)

    assert len(messages) > 1
    assert all(utf16_len(message) <= LIMIT for message in messages)
    assert [p for message in messages for p in message.split("\n\n")] == paragraphs


def test_a_message_is_closed_only_when_the_next_paragraph_does_not_fit() -> None:
    doc = report(*(body(f"第{i}段" + "好" * 997) for i in range(12)))

    messages = to_chat_messages(doc)

    for message, following in itertools.pairwise(messages):
        next_paragraph = following.split("\n\n")[0]
        assert utf16_len(message + "\n\n" + next_paragraph) > LIMIT


def test_counting_includes_entities_and_tags_as_sent() -> None:
    # 1,000 ampersands are 5,000 units once escaped: too long for one message.
    messages = to_chat_messages(report(body("&" * 1000)))

    assert len(messages) == 2
    assert all(utf16_len(message) <= LIMIT for message in messages)


def test_overlong_chinese_paragraph_is_split_at_sentence_ends_without_loss() -> None:
    sentences = [f"第{i}项工作已按期完成，" + "成效" * (i % 7 + 3) + "。" for i in range(700)]
    text = "".join(sentences)
    assert len(text) > 10_000

    pieces = pieces_of(text)

    assert len(pieces) > 2
    assert "".join(pieces) == text
    assert all(piece.endswith("。") for piece in pieces[:-1])


def test_overlong_paragraph_of_markup_characters_keeps_every_entity_whole() -> None:
    text = "<&>" * 2000 + "a<b>&amp;" * 500

    pieces = pieces_of(text)

    assert len(pieces) > 2
    assert "".join(pieces) == text


def test_emoji_count_as_two_units_and_are_never_halved() -> None:
    text = "😀" * 5000

    messages = to_chat_messages(report(body(text)))

    assert [utf16_len(message) for message in messages] == [4096, 4096, 1808]
    assert "".join(messages) == text
    for message in messages:
        message.encode("utf-8")  # a lone surrogate would raise here


def test_a_hard_cut_keeps_joined_emoji_sequences_whole() -> None:
    text = FAMILY * 50

    pieces = pieces_of(text, limit=60)

    assert "".join(pieces) == text
    assert all(piece == FAMILY * (len(piece) // len(FAMILY)) for piece in pieces)


def test_split_prefers_a_line_break() -> None:
    text = "甲" * 50 + "。" + "乙" * 20 + "\n" + "丙" * 80

    pieces = pieces_of(text, limit=100)

    assert pieces == ["甲" * 50 + "。" + "乙" * 20 + "\n", "丙" * 80]


def test_blank_lines_at_a_cut_never_make_an_empty_message() -> None:
    text = "甲" * 99 + "\n\n" + "乙" * 200

    messages = to_chat_messages(report(body(text)), limit=100)

    assert all(message.strip() for message in messages)
    assert "".join(messages) == text


def test_a_run_of_whitespace_longer_than_a_message_is_dropped_not_sent() -> None:
    messages = to_chat_messages(report(body("甲" + " " * 300 + "乙")), limit=100)

    assert all(message.strip() for message in messages)
    assert "".join(messages).replace(" ", "") == "甲乙"


def test_split_prefers_a_sentence_end_to_a_space() -> None:
    text = "甲" * 50 + "。" + "乙" * 30 + " " + "丙" * 80

    pieces = pieces_of(text, limit=100)

    assert pieces[0] == "甲" * 50 + "。"
    assert "".join(pieces) == text


def test_an_english_sentence_end_takes_its_space_with_it() -> None:
    text = "We delivered twelve projects. " * 10

    pieces = pieces_of(text, limit=100)

    assert "".join(pieces) == text
    assert all(piece.endswith("projects. ") for piece in pieces)


def test_a_decimal_point_is_not_a_sentence_end() -> None:
    text = "甲" * 90 + "98.6" + "乙" * 50

    pieces = pieces_of(text, limit=100)

    assert pieces[0] == "甲" * 90 + "98.6" + "乙" * 6
    assert "".join(pieces) == text


def test_split_falls_back_to_a_space_then_to_a_hard_cut() -> None:
    words = "budget " * 40
    assert all(piece.endswith(" ") for piece in pieces_of(words, limit=100)[:-1])

    assert pieces_of("甲" * 250, limit=100) == ["甲" * 100, "甲" * 100, "甲" * 50]


def test_a_split_heading_is_closed_and_reopened_in_every_message() -> None:
    text = "标题" * 3000

    messages = to_chat_messages(report(Block(BlockKind.HEADING1, text)))

    assert len(messages) == 2
    assert all(m.startswith("<b>") and m.endswith("</b>") for m in messages)
    assert all(utf16_len(message) <= LIMIT for message in messages)
    assert "".join(visible(message) for message in messages) == text


def test_pieces_of_a_split_paragraph_never_share_a_message_with_earlier_text() -> None:
    doc = report(body("开头。"), body("长" * 9000), body("结尾。"))

    messages = to_chat_messages(doc)

    assert messages[0] == "开头。"
    assert "".join(messages[1:-1]) + messages[-1].removesuffix("\n\n结尾。") == "长" * 9000
    assert messages[-1].endswith("\n\n结尾。")


def test_random_paragraphs_survive_splitting_whole() -> None:
    rng = random.Random(20261220)
    alphabet = "述职报告甲。！？.!? \n<>&a😀\u200d\u0301"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 600)))
        if not text.strip():
            continue
        limit = rng.randint(12, 200)
        kind = rng.choice([BlockKind.BODY, BlockKind.HEADING1, BlockKind.MISSING])

        pieces = pieces_of(text, limit=limit, kind=kind)

        assert all(piece.strip() for piece in pieces)
        # Only whitespace at a cut may go: with tiny limits a piece can be nothing else.
        assert re.fullmatch(r"\s*".join(re.escape(piece) for piece in pieces), text)


def test_a_limit_too_small_for_any_text_is_refused() -> None:
    with pytest.raises(ValueError):
        to_chat_messages(report(body("正文")), limit=8)


@pytest.mark.parametrize(
    "text",
    [
        "1. " + "In 2026 we delivered 12 projects & reviewed <every> contract; " * 70,
        "Deputy Director since 2023, leading 46 staff. " + "we reviewed every contract; " * 160,
        "第一项：\n" + "完成重点项目12个，惠及师生2.3万人，" * 300,
    ],
    ids=["list number", "one early sentence", "one early line"],
)
def test_a_long_paragraph_is_not_cut_at_an_early_break_leaving_a_scrap(text: str) -> None:
    """A cut prefers a line or sentence end, but not one so early that a few characters
    ("1.") would go as a message of their own."""
    messages = to_chat_messages(report(body(text)))
    assert len(messages) > 1
    assert all(utf16_len(m) <= LIMIT for m in messages)
    assert all(utf16_len(m) >= LIMIT // 2 for m in messages[:-1])
    assert "".join(visible(m) for m in messages).replace(" ", "") == text.replace(" ", "")


def test_a_lead_opens_the_first_message_when_the_report_begins_beside_it() -> None:
    doc = report(body("第一段。"), body("第二段。"))
    assert to_chat_messages(doc, lead="<b>初稿</b>") == ["<b>初稿</b>\n\n第一段。\n\n第二段。"]


def test_a_lead_is_a_message_of_its_own_when_the_first_paragraph_does_not_fit() -> None:
    first = "好" * (LIMIT - 10)
    messages = to_chat_messages(report(body(first), body("尾")), lead="<b>第 1 版初稿。</b>")
    assert messages == ["<b>第 1 版初稿。</b>", first + "\n\n尾"]
    assert all(utf16_len(m) <= LIMIT for m in messages)
