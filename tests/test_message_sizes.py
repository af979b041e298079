"""Every message of the team side fits Telegram's 4,096 characters whatever people typed:
long names, long comments, many warnings, many notifications (the fake refuses a longer
message as Telegram does, and then the person would see nothing)."""

from __future__ import annotations

from bot.render.chat import utf16_len
from bot.services.reviews import COMMENT_LIMIT
from tests.fakes.bot_api import FakeBotApi
from tests.utils.teams import completes_annual_report, joins, submits, supervisor_with_team
from tests.utils.telegram import FakeTelegram

LONG_NAME = "欧阳" * 100  # 200 characters, the longest a name may be
AREAS = [
    "教育",
    "卫生",
    "交通",
    "水利",
    "农业",
    "林业",
    "环保",
    "文化",
    "旅游",
    "体育",
    "民政",
    "就业",
    "住房",
    "消防",
    "应急",
    "统计",
    "审计",
    "信访",
    "档案",
    "保密",
]


def no_refusals(api: FakeBotApi) -> None:
    refused = [c for c in api.calls if c.status == 400 and "too long" in str(c.params)]
    too_long = [
        c for c in api.calls if c.method in ("sendMessage", "editMessageText") and c.status != 200
    ]
    assert not refused and not too_long, [c.params.get("text", "")[:80] for c in too_long]


async def test_long_names_fit_the_member_list_the_board_and_a_digest(
    tg: FakeTelegram, api: FakeBotApi
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    for number in range(25):
        cadre = tg.user(100 + number)
        name = f"{number:02d}{LONG_NAME[2:]}"  # 200 characters, each name its own
        await cadre.registers(name=name, position=LONG_NAME, organisation=LONG_NAME)
        await joins(cadre, code)
    await tg.deliver()
    assert "25 条新通知" in boss.last_text
    await boss.says("/team")
    await boss.presses("成员")
    assert "（25 人）" in boss.last_text
    await boss.says("/team")
    await boss.presses("进度看板")
    await boss.presses("年度述职报告 · 2026")
    assert "共 25 人" in boss.last_text and "第 1/2 页" in boss.last_text
    await boss.presses("下一页")
    assert "第 2/2 页" in boss.last_text
    no_refusals(api)


async def test_a_comment_as_long_as_allowed_reaches_the_author_and_a_longer_one_is_refused(
    tg: FakeTelegram, api: FakeBotApi
) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers(name=LONG_NAME)
    await joins(cadre, code)
    await completes_annual_report(cadre)
    await submits(cadre)
    await tg.deliver()
    await boss.presses("退回")
    replies = await boss.says("意" * (COMMENT_LIMIT + 1))
    assert f"{COMMENT_LIMIT + 1:,}" in replies[-1] and "未保存" in replies[-1]
    await boss.says("意" * COMMENT_LIMIT)
    await tg.deliver()
    assert "意" * COMMENT_LIMIT in cadre.last_text
    assert utf16_len(cadre.last_text) <= 4096
    await cadre.says("/history")
    assert cadre.last_text.endswith("…")  # the comment is cut in the history line
    no_refusals(api)


async def test_many_warnings_fit_the_review_and_the_notification(
    tg: FakeTelegram, api: FakeBotApi
) -> None:
    boss, cadre = tg.user(1), tg.user(2)
    code = await supervisor_with_team(boss)
    await cadre.registers()
    await joins(cadre, code)
    await cadre.starts_report("年度述职报告")
    await cadre.says("2023年3月起任县农业农村局副局长，分管乡村振兴、农田建设和办公室工作。")
    await cadre.says("年初局党组明确由我牵头三项重点任务，新建高标准农田2.5万亩。")
    await cadre.says("全年参加局党组理论学习中心组学习12次，重点学习三农工作重要论述。")
    for area in AREAS:  # twenty results, none with a figure: a warning each
        await cadre.says(f"我们扎实推进{area}工作，取得了较好成绩，得到了领导的肯定和群众的认可。")
        if "保留原样" in " ".join(cadre.labels()):
            await cadre.presses("保留原样")
    await cadre.presses("下一题")
    while "全部问题已回答完毕" not in "\n".join(cadre.texts[-3:]):
        labels = cadre.labels()
        if "跳过" in labels:
            await cadre.presses("跳过")
        elif "下一题 ›" in labels:
            await cadre.presses("下一题")
        else:
            await cadre.says(
                "本人牵头完成相关工作，全年完成12项，较上年增长15%，今后每季度检查1次。"
            )
    replies = await cadre.says("/submit")
    assert "可能会就" in replies[-1] and "未列出" in replies[-1]
    await cadre.presses("仍然提交")
    await tg.deliver()
    assert boss.documents
    no_refusals(api)
