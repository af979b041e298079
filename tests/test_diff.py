"""What changed between two submitted versions: sections, sentences, and one short message."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render.chat import utf16_len
from bot.render.diff import (
    ChangeKind,
    ChangeLabels,
    SectionChange,
    SectionStatus,
    SentenceChange,
    blocks_of,
    render_changes,
    section_changes,
    split_sentences,
)
from bot.render.document import Block, BlockKind

K = BlockKind
EN = ChangeLabels(heading="Changed since version 1")
ZH = ChangeLabels(
    heading="自第 1 版以来的修改",
    opening="开头部分",
    section_added="（新增部分）",
    section_removed="（已删除）",
    before="修改前：",
    after="修改后：",
    added="新增：",
    removed="删除：",
    more="另有 {count} 处修改",
    none="正文没有变化。",
)
FAMILY = "👨\u200d👩\u200d👧"  # one emoji, eight UTF-16 units
TAG = re.compile(r"</?([a-z]+)>")


def zh_report(
    *,
    figure: str = "12",
    shortcomings: Sequence[str] = ("一是理论学习不够深入。",),
    plans: Sequence[str] = ("一是加强理论学习。", "二是推进数字化改革。"),
    results_title: str = "主要工作及成效",
    date: str = "2026年12月20日",
) -> list[Block]:
    """A Chinese annual report, numbered as the template numbers it."""
    return [
        Block(K.TITLE, "2026年度述职报告"),
        Block(K.SUBTITLE, "市发展改革委副主任 张伟"),
        Block(K.SALUTATION, "各位领导、同志们："),
        Block(K.BODY, "根据组织安排，现将本人一年来的履职情况报告如下，请予评议。"),
        Block(K.HEADING1, f"一、{results_title}"),
        Block(K.HEADING2, "（一）重点项目"),
        Block(
            K.BODY, f"全年完成13项计划中的{figure}项，预算执行率98.6%。牵头推进“智慧政务”平台建设。"
        ),
        Block(K.HEADING1, "二、存在的不足"),
        *(Block(K.BODY, text) for text in shortcomings),
        Block(K.HEADING1, "三、下一步打算"),
        *(Block(K.BODY, text) for text in plans),
        Block(K.SIGNATURE, "张伟"),
        Block(K.SIGNATURE, date),
    ]


def en_report(
    *,
    figure: str = "12",
    shortcomings: Sequence[str] = ("1. Too little time on staff development.",),
    plans: Sequence[str] = ("1. Hire two analysts.", "2. Halve reporting time."),
    role_title: str = "Role and responsibilities",
) -> list[Block]:
    """An English annual report, numbered as the template numbers it."""
    return [
        Block(K.TITLE, "Annual Debriefing Report 2026"),
        Block(K.SUBTITLE, "Jane Smith, Head of Finance"),
        Block(K.HEADING1, f"1. {role_title}"),
        Block(K.BODY, "I have led the finance team of twelve since March 2024."),
        Block(K.HEADING1, "2. Results achieved"),
        Block(K.HEADING2, "2.1 Key results"),
        Block(
            K.BODY, f"I delivered {figure} of 13 planned projects. Spending was 98.6% of budget."
        ),
        Block(K.HEADING1, "3. Shortcomings"),
        *(Block(K.BODY, text) for text in shortcomings),
        Block(K.HEADING1, "4. Plans"),
        *(Block(K.BODY, text) for text in plans),
        Block(K.SIGNATURE, "Jane Smith"),
    ]


def stored(blocks: Sequence[Block]) -> str:
    """A draft body as the drafts service stores it."""
    return json.dumps([{"kind": b.kind, "text": b.text} for b in blocks], ensure_ascii=False)


def visible(message: str) -> str:
    return html.unescape(TAG.sub("", message))


def assert_telegram_html(message: str) -> None:
    """Only tags Telegram accepts, properly nested, and no stray < > or &."""
    stack: list[str] = []
    for match in TAG.finditer(message):
        name = match.group(1)
        assert name in {"b", "i", "s", "blockquote"}
        if match.group(0).startswith("</"):
            assert stack.pop() == name
        else:
            stack.append(name)
    assert stack == []
    text = TAG.sub("", message)
    assert "<" not in text
    assert ">" not in text
    assert "&" not in re.sub(r"&(?:amp|lt|gt);", "", text)


# --- sentences ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "全年完成12项，执行率98.6%。平台按期上线！还有问题吗？有；待解决……下一步",
            [
                "全年完成12项，执行率98.6%。",
                "平台按期上线！",
                "还有问题吗？",
                "有；",
                "待解决……",
                "下一步",
            ],
        ),
        ("他说：“按期完成。”随后上线。", ["他说：“按期完成。”", "随后上线。"]),
        (
            'Spending was 98.6% of budget. She said "done." Really?! Yes...',
            ["Spending was 98.6% of budget.", 'She said "done."', "Really?!", "Yes..."],
        ),
        (
            "Version 2.1 shipped (see example.com). Done",
            ["Version 2.1 shipped (see example.com).", "Done"],
        ),
    ],
)
def test_text_is_split_after_each_sentence_with_its_closing_quote(
    text: str, sentences: list[str]
) -> None:
    assert split_sentences(text) == sentences


# --- what changed -------------------------------------------------------------------------


def test_identical_versions_have_no_changes() -> None:
    assert section_changes(stored(zh_report()), stored(zh_report())) == ()
    assert render_changes((), ZH) == "<b>自第 1 版以来的修改</b>\n\n正文没有变化。"


def test_a_changed_figure_is_one_replaced_sentence_in_its_section() -> None:
    assert section_changes(zh_report(figure="12"), zh_report(figure="13")) == (
        SectionChange(
            "一、主要工作及成效",
            SectionStatus.CHANGED,
            (
                SentenceChange(
                    ChangeKind.REPLACED,
                    before="全年完成13项计划中的12项，预算执行率98.6%。",
                    after="全年完成13项计划中的13项，预算执行率98.6%。",
                ),
            ),
        ),
    )


def test_an_added_shortcoming_is_an_added_sentence() -> None:
    before = zh_report(shortcomings=["一是理论学习不够深入。"])
    after = zh_report(shortcomings=["一是理论学习不够深入。", "二是调查研究不够扎实。"])
    [section] = section_changes(stored(before), stored(after))
    assert section.title == "二、存在的不足"
    assert section.changes == (SentenceChange(ChangeKind.ADDED, after="二是调查研究不够扎实。"),)


def test_a_removed_plan_is_a_removed_sentence_and_renumbering_is_not_a_change() -> None:
    before = zh_report(plans=["一是加强理论学习。", "二是推进数字化改革。", "三是改进作风。"])
    after = zh_report(plans=["一是加强理论学习。", "二是改进作风。"])
    [section] = section_changes(before, after)
    assert section.title == "三、下一步打算"
    assert section.changes == (SentenceChange(ChangeKind.REMOVED, before="二是推进数字化改革。"),)


def test_a_renamed_section_is_removed_and_added_in_place() -> None:
    changes = section_changes(zh_report(), zh_report(results_title="主要工作和成绩"))
    assert [(c.title, c.status) for c in changes] == [
        ("一、主要工作及成效", SectionStatus.REMOVED),
        ("一、主要工作和成绩", SectionStatus.ADDED),
    ]
    assert changes[1].changes[0] == SentenceChange(ChangeKind.ADDED, after="（一）重点项目")


def test_a_section_inserted_before_others_does_not_make_them_changed() -> None:
    before = zh_report()
    extra = [Block(K.HEADING1, "二、廉洁自律"), Block(K.BODY, "严格遵守中央八项规定精神。")]
    after = [*before[:7], *extra, *before[7:]]
    # The later sections are renumbered "三、" and "四、" by the template.
    after = [
        Block(b.kind, b.text.replace("二、存在", "三、存在").replace("三、下一步", "四、下一步"))
        for b in after
    ]
    assert [(c.title, c.status) for c in section_changes(before, after)] == [
        ("二、廉洁自律", SectionStatus.ADDED)
    ]


def test_the_signature_date_is_not_a_change() -> None:
    assert section_changes(zh_report(date="2026年12月20日"), zh_report(date="2026年12月23日")) == ()


def test_the_opening_is_a_section_of_its_own() -> None:
    before = zh_report()
    after = [before[0], Block(K.SUBTITLE, "市发展改革委主任 张伟"), *before[2:]]
    [section] = section_changes(before, after)
    assert section.title is None
    assert "<b>开头部分</b>" in render_changes([section], ZH)
    [named] = section_changes(before, after, opening="开头")
    assert named.title == "开头"


def test_a_stored_body_parsed_or_not_gives_the_same_changes() -> None:
    before, after = stored(zh_report()), stored(zh_report(figure="13"))
    expected = section_changes(zh_report(), zh_report(figure="13"))
    assert section_changes(before, after) == expected
    assert section_changes(json.loads(before), json.loads(after)) == expected


def test_english_changes_are_found_sentence_by_sentence() -> None:
    before = en_report()
    after = en_report(
        figure="13",
        shortcomings=["1. Too little time on staff development.", "2. Late monthly reports."],
        plans=["1. Halve reporting time."],
        role_title="Responsibilities",
    )
    changes = section_changes(stored(before), stored(after))
    assert [(c.title, c.status) for c in changes] == [
        ("1. Role and responsibilities", SectionStatus.REMOVED),
        ("1. Responsibilities", SectionStatus.ADDED),
        ("2. Results achieved", SectionStatus.CHANGED),
        ("3. Shortcomings", SectionStatus.CHANGED),
        ("4. Plans", SectionStatus.CHANGED),
    ]
    assert [c.changes for c in changes[2:]] == [
        (
            SentenceChange(
                ChangeKind.REPLACED,
                before="I delivered 12 of 13 planned projects.",
                after="I delivered 13 of 13 planned projects.",
            ),
        ),
        (SentenceChange(ChangeKind.ADDED, after="2. Late monthly reports."),),
        (SentenceChange(ChangeKind.REMOVED, before="1. Hire two analysts."),),
    ]


def test_a_change_late_in_a_long_sentence_stays_in_view() -> None:
    lead = "牵头推进“智慧政务”平台建设，" * 10
    before = [Block(K.HEADING1, "一、工作"), Block(K.BODY, f"{lead}全年完成12项，群众满意。")]
    after = [Block(K.HEADING1, "一、工作"), Block(K.BODY, f"{lead}全年完成13项，群众满意。")]
    [section] = section_changes(before, after)
    [change] = section.changes
    assert len(change.before) <= 100
    assert len(change.after) <= 100
    assert change.before.startswith("…")
    assert "12项" in change.before
    assert "13项" in change.after


def test_many_changes_show_the_first_five_and_count_the_rest() -> None:
    before = [Block(K.HEADING1, "一、工作"), *(Block(K.BODY, f"第{i}件事。") for i in range(8))]
    after = [
        Block(K.HEADING1, "一、工作"),
        *(Block(K.BODY, f"第{i}件事办好了。") for i in range(8)),
    ]
    [section] = section_changes(before, after)
    assert len(section.changes) == 5
    assert section.more == 3
    message = render_changes([section], ZH)
    assert message.endswith("<i>另有 3 处修改</i>")
    # A catalogue line without the count is used as it is.
    plain = render_changes([section], ChangeLabels(more="and more"))
    assert plain.endswith("<i>and more</i>")


def test_a_stored_body_that_is_not_a_draft_is_refused() -> None:
    with pytest.raises(ValueError):
        blocks_of('{"kind": "body"}')
    with pytest.raises(ValueError):
        blocks_of('[{"kind": "poem", "text": "x"}]')


# --- the message --------------------------------------------------------------------------


def test_the_message_reads_as_a_short_before_and_after() -> None:
    message = render_changes(section_changes(zh_report(), zh_report(figure="13")), ZH)
    assert message == (
        "<b>自第 1 版以来的修改</b>\n\n"
        "<b>一、主要工作及成效</b>\n"
        "<i>修改前：</i>全年完成13项计划中的12项，预算执行率98.6%。\n"
        "<i>修改后：</i>全年完成13项计划中的13项，预算执行率98.6%。"
    )
    english = render_changes(section_changes(en_report(), en_report(plans=[])), EN)
    assert english == (
        "<b>Changed since version 1</b>\n\n"
        "<b>4. Plans</b>\n"
        "<i>Removed:</i> <s>1. Hire two analysts.</s>\n"
        "<i>Removed:</i> <s>2. Halve reporting time.</s>"
    )


def test_user_text_is_escaped() -> None:
    before = [Block(K.HEADING1, "一、<b>工作</b>"), Block(K.BODY, "完成了。")]
    after = [
        Block(K.HEADING1, "一、<b>工作</b>"),
        Block(K.BODY, "完成了。"),
        Block(K.BODY, "<script>alert('x')</script> & <i>"),
    ]
    message = render_changes(section_changes(before, after), EN)
    assert_telegram_html(message)
    assert "<script>" not in message
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;i&gt;" in message
    assert "<b>一、&lt;b&gt;工作&lt;/b&gt;</b>" in message


def huge_diff() -> tuple[SectionChange, ...]:
    before = []
    after = []
    for n in range(60):
        before += [Block(K.HEADING1, f"{n}. Section {n}"), Block(K.BODY, f"Old {FAMILY} text {n}.")]
        after += [Block(K.HEADING1, f"{n}. Section {n}"), Block(K.BODY, f"New {FAMILY} text {n}.")]
        after += [Block(K.BODY, f"Added <{n}> & more. " * 30)]
    return section_changes(before, after)


@pytest.mark.parametrize("limit", [4096, 1000, 120])
def test_a_huge_diff_is_cut_to_the_limit_in_utf16_units(limit: int) -> None:
    message = render_changes(huge_diff(), EN, limit=limit)
    assert utf16_len(message) <= limit
    assert message.endswith("\n…")
    assert_telegram_html(message)
    # Whole items only: every section shown has its first change with it.
    assert message.count("<b>") - 1 == message.count("<i>Before:</i>")


def test_emoji_count_as_two_units_against_the_limit() -> None:
    changes = huge_diff()[:2]
    whole = render_changes(changes, EN, limit=100_000)
    assert FAMILY in whole
    assert utf16_len(whole) > len(whole)
    assert render_changes(changes, EN, limit=utf16_len(whole)) == whole
    # A limit that counted code points would let this through; in UTF-16 units it is too long.
    cut = render_changes(changes, EN, limit=len(whole))
    assert cut != whole
    assert utf16_len(cut) <= len(whole)


def test_a_limit_that_cannot_hold_the_heading_is_refused() -> None:
    with pytest.raises(ValueError):
        render_changes(huge_diff(), EN, limit=20)


@settings(max_examples=60, deadline=None)
@given(
    old=st.lists(st.text(min_size=1, max_size=80), max_size=12),
    new=st.lists(st.text(min_size=1, max_size=80), max_size=12),
    limit=st.integers(min_value=60, max_value=1500),
)
def test_any_diff_fits_and_is_valid_telegram_html(
    old: list[str], new: list[str], limit: int
) -> None:
    def report(texts: list[str]) -> list[Block]:
        return [Block(K.HEADING1, "一、工作"), *(Block(K.BODY, t) for t in texts if t.strip())]

    message = render_changes(section_changes(report(old), report(new)), ZH, limit=limit)
    assert utf16_len(message) <= limit
    assert_telegram_html(message)
    assert visible(message).startswith("自第 1 版以来的修改")
